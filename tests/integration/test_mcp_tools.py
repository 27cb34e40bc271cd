"""MCP tools against real MCP servers (the SDK's own server, over stdio and over streamable HTTP): listing and the
allowlist, schema violations, clearances, size caps, planned side effects, audit events, and servers that crash,
hang or answer garbage — each a clear tool error within the call's timeout, followed by a fresh connection."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.core.errors import ToolDenied, ToolError, ToolFailed, ToolOutcomeUnknown
from bot.core.levels import Sensitivity
from bot.core.models import Origin, Run, ToolCall
from bot.core.sensitivity import assessor
from bot.core.spec import MapleSpec
from bot.core.tools import ToolRegistry
from bot.core.tools.box import ToolBox
from integrations.mcp_tools import McpTools, build_mcp_tools, inspect
from tests.fakes.memory import FixedClock, MemoryAudit
from tests.mcp_env import LOG_ENV, TOKEN_ENV, HttpServer, http_server, received, stdio_server

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "received.jsonl"


@pytest.fixture
def http(log: Path) -> Iterator[HttpServer]:
    server = HttpServer(log).start()
    yield server
    server.stop()


def spec_with(server: dict[str, Any]) -> MapleSpec:
    return MapleSpec.model_validate({"tools": {"mcp": [server]}})


@pytest.fixture(params=["stdio", "streamable-http"])
async def mcp(request: pytest.FixtureRequest, log: Path, tmp_path: Path) -> AsyncIterator[tuple[McpTools, str]]:
    """The same tools, from a stdio server Maple spawns or from an HTTP server: (tools, prefix of their names)."""
    http_proc = None
    if request.param == "stdio":
        server = stdio_server()
    else:
        http_proc = HttpServer(log).start()
        server = http_server(http_proc.url)
    tools = build_mcp_tools(spec_with(server), environ={LOG_ENV: str(log), TOKEN_ENV: "Bearer s3cret-token"})
    await tools.open()
    yield tools, server["name"]
    await tools.close()
    if http_proc is not None:
        http_proc.stop()


def box_of(tools: McpTools, audit: MemoryAudit | None = None, frozen: Any = lambda: False) -> ToolBox:
    spec = MapleSpec()
    return ToolBox(registry=ToolRegistry(list(tools.tools)), assess=assessor(spec.sensitivity),
                   clock=FixedClock(NOW), timezone="UTC", audit=audit, frozen=frozen)


def a_run() -> Run:
    return Run(requester="U0REQUEST", origin=Origin(channel="C0GENERAL"), goal="look up tickets", workflow="ask",
               created_at=NOW, updated_at=NOW)


async def ask(box: ToolBox, name: str, arguments: str, level: Sensitivity = Sensitivity.INTERNAL) -> Any:
    return await box.requested(call=ToolCall(id="t1", name=name, arguments=arguments), run=a_run(), level=level)


async def test_config_check_lists_every_tool_and_which_are_allowed(log: Path) -> None:
    tools = build_mcp_tools(spec_with(stdio_server(allow=["search", "nonexistent"], side_effects=[])),
                            environ={LOG_ENV: str(log)})
    try:
        report = await inspect(tools.servers[0])
    finally:
        await tools.close()
    listed = {t["name"]: t for t in report["tools"]}
    assert report["connected"] and {"search", "create_ticket", "delete_all", "crash"} <= set(listed)
    assert listed["search"]["allowed"] and not listed["delete_all"]["allowed"]
    assert listed["search"]["maple_name"] == "tickets__search"
    assert report["missing"] == ["nonexistent"]
    assert listed["risky"]["problem"] and "backtrack" in listed["risky"]["problem"]


async def test_only_allowed_tools_exist_and_calls_reach_the_server(mcp: tuple[McpTools, str], log: Path) -> None:
    tools, server = mcp
    box = box_of(tools)
    assert f"{server}__delete_all" not in box.registry.names()  # listed by the server, never allowed
    with pytest.raises(ToolDenied, match="no tool called"):
        await ask(box, f"{server}__delete_all", "{}")
    out = await ask(box, f"{server}__search", '{"query": "vpn"}')
    assert "T-2 VPN drops" in out.text and out.untrusted == f"{server}__search"
    assert out.level >= Sensitivity.INTERNAL  # the server's floor
    assert [c["arguments"] for c in received(log)] == [{"query": "vpn"}]
    offered = {s["function"]["name"]: s["function"] for s in box.schemas()}
    assert offered[f"{server}__search"]["parameters"]["required"] == ["query"]
    assert f"{server}__risky" not in offered  # an unusable schema is never offered
    if server == "desk":  # the header came from the environment, never from the config
        assert received(log)[0]["auth"] == "Bearer s3cret-token"


@pytest.mark.parametrize(("tool", "arguments"), [
    ("create_ticket", '{"title": 7}'), ("create_ticket", '{"priority": 1}'),
    ("create_ticket", '{"title": "x", "priority": "high"}'), ("search", '"not an object"'), ("search", "{not json"),
    ("search", '{"query": "' + "y" * 30_000 + '"}')])
async def test_schema_violations_never_reach_the_server(mcp: tuple[McpTools, str], log: Path, tool: str,
                                                        arguments: str) -> None:
    tools, server = mcp
    with pytest.raises(ToolDenied, match="invalid arguments"):
        await ask(box_of(tools), f"{server}__{tool}", arguments)
    assert received(log) == []


async def test_a_pattern_that_backtracks_makes_the_tool_unusable(mcp: tuple[McpTools, str], log: Path) -> None:
    tools, server = mcp
    with pytest.raises(ToolDenied, match="cannot be used"):
        await ask(box_of(tools), f"{server}__risky", '{"code": "' + "a" * 40 + 'b"}')
    assert received(log) == []


async def test_frozen_external_parts_stop_calls_to_a_server_not_marked_inside(mcp: tuple[McpTools, str],
                                                                             log: Path) -> None:
    """``maple control freeze-external``: a server not marked ``external: false`` (stdio ones too) is not called,
    neither when the freeze was on before the call was prepared nor when it lands between prepare and run."""
    tools, server = mcp
    with pytest.raises(ToolDenied, match="frozen everything external"):
        await ask(box_of(tools, frozen=lambda: True), f"{server}__search", '{"query": "vpn"}')
    reads = iter([False, True])  # not frozen when prepared, frozen by the time it is made
    with pytest.raises(ToolDenied, match="frozen everything external"):
        await ask(box_of(tools, frozen=lambda: next(reads)), f"{server}__search", '{"query": "vpn"}')
    assert received(log) == []


async def test_a_server_marked_inside_the_deployment_is_called_while_frozen(log: Path) -> None:
    tools = build_mcp_tools(spec_with({**stdio_server(), "external": False}), environ={LOG_ENV: str(log)})
    await tools.open()
    try:
        server = tools.servers[0].name
        out = await ask(box_of(tools, frozen=lambda: True), f"{server}__search", '{"query": "vpn"}')
    finally:
        await tools.close()
    assert "T-2 VPN drops" in out.text and [c["arguments"] for c in received(log)] == [{"query": "vpn"}]


async def test_clearance_refuses_data_above_the_server(mcp: tuple[McpTools, str], log: Path) -> None:
    tools, server = mcp  # cleared for internal (the default)
    with pytest.raises(ToolDenied, match="cleared for internal"):
        await ask(box_of(tools), f"{server}__search", '{"query": "vpn"}', level=Sensitivity.CONFIDENTIAL)
    with pytest.raises(ToolDenied, match="these arguments are restricted"):  # the arguments are assessed too
        await ask(box_of(tools), f"{server}__search", '{"query": "SIN 545 807 307"}')
    assert received(log) == []


async def test_sensitive_output_raises_the_level(mcp: tuple[McpTools, str]) -> None:
    tools, server = mcp
    out = await ask(box_of(tools), f"{server}__patient", '{"record": "42"}')
    assert out.level is Sensitivity.RESTRICTED and out.hits.get("sin") == 1


async def test_output_is_capped(log: Path) -> None:
    tools = build_mcp_tools(spec_with(stdio_server(max_output_chars=1000)), environ={LOG_ENV: str(log)})
    try:
        out = await ask(box_of(tools), "tickets__big", '{"size": 50000}')
    finally:
        await tools.close()
    assert len(out.text) < 1100 and out.text.endswith("[… cut at 1,000 characters]")


async def test_a_side_effect_is_planned_not_made(mcp: tuple[McpTools, str], log: Path) -> None:
    tools, server = mcp
    audit = MemoryAudit()
    out = await ask(box_of(tools, audit), f"{server}__create_ticket", '{"title": "VPN down", "priority": 2}')
    assert out.planned is not None and out.planned.arguments == {"title": "VPN down", "priority": 2}
    assert "planned, not made" in out.text and received(log) == []
    assert [e["kind"] for e in audit.events] == ["mcp.planned"]


async def test_every_call_is_an_audit_event(mcp: tuple[McpTools, str]) -> None:
    tools, server = mcp
    audit = MemoryAudit()
    box = box_of(tools, audit)
    await ask(box, f"{server}__search", '{"query": "vpn"}')
    with pytest.raises(ToolError):
        await ask(box, f"{server}__search", '{"query": 5}')
    ok, refused = audit.events
    assert ok["kind"] == refused["kind"] == "mcp.called"
    assert ok["gen_ai.operation.name"] == "execute_tool" and ok["gen_ai.tool.name"] == f"{server}__search"
    assert ok["maple.mcp.server"] == server and ok["mcp.method.name"] == "tools/call"
    assert ok["gen_ai.tool.call.arguments.hmac"].startswith("test:") and "vpn" not in str(ok)
    assert ok["maple.tool.result.length"] > 0 and ok["maple.sensitivity.level"] == "internal"
    assert ok["error.type"] is None and refused["error.type"] == "ToolDenied"


@pytest.mark.parametrize("tool", ["crash", "hang", "garbage"])
async def test_a_server_that_crashes_hangs_or_answers_garbage(tool: str, log: Path) -> None:
    tools = build_mcp_tools(spec_with(stdio_server(timeout=1.5)), environ={LOG_ENV: str(log)})
    box = box_of(tools)
    try:
        started = time.monotonic()
        with pytest.raises(ToolOutcomeUnknown):
            await ask(box, f"tickets__{tool}", "{}")
        assert time.monotonic() - started < 30  # bounded by the call's timeout, never a hung worker
        out = await ask(box, "tickets__search", '{"query": "after"}')  # a fresh connection (a new process)
        assert "tickets match" in out.text
    finally:
        await tools.close()
    pids = {c["pid"] for c in received(log)}
    assert len(pids) == 2, "the broken server was replaced"


async def test_an_http_server_that_goes_away_and_comes_back(http: HttpServer, log: Path) -> None:
    tools = build_mcp_tools(spec_with(http_server(http.url, timeout=1.5, connect_timeout=3)),
                            environ={LOG_ENV: str(log), TOKEN_ENV: "Bearer t"})
    box = box_of(tools)
    try:
        with pytest.raises(ToolOutcomeUnknown):
            await ask(box, "desk__hang", "{}")
        with pytest.raises(ToolError):
            await ask(box, "desk__crash", "{}")  # the process exits during the call
        with pytest.raises(ToolFailed, match="cannot be reached"):
            await ask(box, "desk__search", '{"query": "down"}')
        http.start()
        out = await ask(box, "desk__search", '{"query": "back"}')
        assert "tickets match 'back'" in out.text
    finally:
        await tools.close()


async def test_a_missing_environment_variable_is_a_clear_error(log: Path) -> None:
    tools = build_mcp_tools(spec_with(http_server("http://127.0.0.1:9/mcp")), environ={})
    try:
        with pytest.raises(ToolFailed, match=f"{TOKEN_ENV} not set"):
            await ask(box_of(tools), "desk__search", '{"query": "x"}')
    finally:
        await tools.close()


@pytest.mark.parametrize("command", [["/nonexistent/mcp-server"], [sys.executable, "-c", "import time; time.sleep(600)"],
                                     [sys.executable, "-c", "print('hello, not MCP'); import time; time.sleep(600)"]])
async def test_a_server_that_never_starts_is_a_clear_error(command: list[str], log: Path) -> None:
    tools = build_mcp_tools(spec_with(stdio_server(command=command, connect_timeout=1.5)), environ={LOG_ENV: str(log)})
    try:
        started = time.monotonic()
        with pytest.raises(ToolFailed, match="cannot be reached"):
            await ask(box_of(tools), "tickets__search", '{"query": "x"}')
        assert time.monotonic() - started < 30
    finally:
        await tools.close()


async def test_a_server_slower_to_start_than_a_call_may_take_still_connects(log: Path) -> None:
    """Starting and ``initialize`` get ``connect_timeout``; ``timeout`` is for each call."""
    slow = [sys.executable, "-c", "import runpy, time; time.sleep(2); "
            "runpy.run_module('tests.fakes.mcp_server', run_name='__main__')"]
    tools = build_mcp_tools(spec_with(stdio_server(command=slow, timeout=1)), environ={LOG_ENV: str(log)})
    try:
        assert "tickets match" in (await ask(box_of(tools), "tickets__search", '{"query": "x"}')).text
    finally:
        await tools.close()
