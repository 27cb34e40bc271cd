"""The http tool against a local server: allowlist on canonical paths, SSRF refusals, redirects, size cap, timeout,
POST as a side effect refused while drafting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web

from bot.core.errors import ToolDenied, ToolFailed
from bot.core.levels import Sensitivity
from bot.core.spec import HttpTarget
from bot.core.tools import ToolContext
from integrations.http_tool import HttpArgs, HttpTool, forbidden


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def ok(_r: web.Request) -> web.Response:
        return web.Response(text="status: green")

    async def big(_r: web.Request) -> web.Response:
        return web.Response(text="x" * 50_000)

    async def slow(_r: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    async def hop(_r: web.Request) -> web.Response:
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data")

    async def hop_inside(r: web.Request) -> web.Response:
        raise web.HTTPFound("/api/ok")

    async def to_admin(r: web.Request) -> web.Response:
        raise web.HTTPFound("/admin/secret")

    async def secret(r: web.Request) -> web.Response:
        HITS.append(f"{r.method} {r.path}")
        return web.Response(text="the admin secret")

    async def write(r: web.Request) -> web.Response:
        HITS.append(f"{r.method} {r.path}")
        return web.Response(text="written")

    app = web.Application()
    for path, handler in (("/api/ok", ok), ("/api/big", big), ("/api/slow", slow), ("/api/hop", hop),
                          ("/api/hop-inside", hop_inside), ("/api/to-admin", to_admin), ("/admin/secret", secret), ("/admin", secret),
                          ("/apiary", secret)):
        app.router.add_get(path, handler)
    app.router.add_post("/api/write", write)
    HITS.clear()
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    await runner.cleanup()


HITS: list[str] = []


def ctx(level: Sensitivity = Sensitivity.INTERNAL, *, frozen: bool = False) -> ToolContext:
    return ToolContext(requester="U1", timezone="UTC", sensitivity=level, now=datetime.now(UTC), frozen=frozen)


def tool(base: str, **target: object) -> HttpTool:
    spec = HttpTarget(name="status", url=f"{base}/api/", **target)  # type: ignore[arg-type]
    return HttpTool(targets=[spec], timeout=0.5, max_bytes=10_000)


async def test_allowed_call(server: str) -> None:
    result = await tool(server, allow_private=True).run(HttpArgs(url=f"{server}/api/ok"), ctx=ctx())
    assert result.text == "status: green" and result.data["status"] == 200


async def test_loopback_refused_without_allow_private(server: str) -> None:
    with pytest.raises(ToolDenied, match="loopback"):
        await tool(server).run(HttpArgs(url=f"{server}/api/ok"), ctx=ctx())


async def test_size_cap_and_timeout(server: str) -> None:
    t = tool(server, allow_private=True)
    with pytest.raises(ToolFailed, match="larger than"):
        await t.run(HttpArgs(url=f"{server}/api/big"), ctx=ctx())
    with pytest.raises(ToolFailed, match="did not answer"):
        await t.run(HttpArgs(url=f"{server}/api/slow"), ctx=ctx())


async def test_redirects(server: str) -> None:
    with pytest.raises(ToolDenied, match="redirect"):
        await tool(server, allow_private=True).run(HttpArgs(url=f"{server}/api/hop-inside"), ctx=ctx())
    t = tool(server, allow_private=True, allow_redirects=True)
    assert (await t.run(HttpArgs(url=f"{server}/api/hop-inside"), ctx=ctx())).text == "status: green"
    with pytest.raises(ToolDenied, match="allowlist"):
        await t.run(HttpArgs(url=f"{server}/api/hop"), ctx=ctx())  # off the allowlist: metadata address


async def test_frozen_external_parts_stop_targets_not_marked_inside(server: str) -> None:
    """While operators freeze external parts, a target not marked ``external: false`` is never called, and a
    redirect from an inside target to one that is not is refused before it is followed."""
    with pytest.raises(ToolDenied, match="frozen everything external"):
        await tool(server, allow_private=True).run(HttpArgs(url=f"{server}/api/ok"), ctx=ctx(frozen=True))
    inside = HttpTarget(name="status", url=f"{server}/api/", allow_private=True, allow_redirects=True,
                        external=False)
    outside = HttpTarget(name="admin", url=f"{server}/admin/", allow_private=True)
    both = HttpTool(targets=[inside, outside], timeout=0.5, max_bytes=10_000)
    assert (await both.run(HttpArgs(url=f"{server}/api/ok"), ctx=ctx(frozen=True))).text == "status: green"
    with pytest.raises(ToolDenied, match="frozen everything external"):
        await both.run(HttpArgs(url=f"{server}/api/to-admin"), ctx=ctx(frozen=True))
    assert HITS == []  # neither the first call nor the redirect's target was reached
    assert (await both.run(HttpArgs(url=f"{server}/api/to-admin"), ctx=ctx())).text == "the admin secret"


async def test_allowlist_method_and_clearance(server: str) -> None:
    t = tool(server, allow_private=True)
    for url in ("http://169.254.169.254/latest/meta-data", "http://127.0.0.1:6379/", "http://[::1]/",
                "http://0x7f000001/", "http://2130706433/", f"{server}/admin", "file:///etc/passwd",
                f"http://user:pw@{server.split('//')[1]}/api/ok"):
        with pytest.raises(ToolDenied):
            await t.run(HttpArgs(url=url), ctx=ctx())
    with pytest.raises(ToolDenied, match="POST"):
        await t.run(HttpArgs(url=f"{server}/api/ok", method="POST"), ctx=ctx())
    with pytest.raises(ToolDenied, match="cleared"):
        await t.run(HttpArgs(url=f"{server}/api/ok"), ctx=ctx(Sensitivity.RESTRICTED))


async def test_dns_names_resolving_to_private_addresses_are_refused() -> None:
    async def rebinding(host: str, port: int) -> list[str]:
        return {"api.internal.example": ["10.0.0.5"], "meta.example": ["169.254.169.254"],
                "mapped.example": ["::ffff:127.0.0.1"]}[host]

    for host in ("api.internal.example", "meta.example", "mapped.example"):
        spec = HttpTarget(name="x", url=f"http://{host}/")
        t = HttpTool(targets=[spec], timeout=0.5, max_bytes=1000, resolve=rebinding)
        with pytest.raises(ToolDenied, match="resolves to"):
            await t.run(HttpArgs(url=f"http://{host}/v1"), ctx=ctx())


def test_address_classes() -> None:
    assert forbidden("8.8.8.8") is None
    for address in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "::1",
                    "fe80::1", "fc00::1", "224.0.0.1", "::ffff:10.0.0.1"):
        assert forbidden(address), address


@pytest.mark.parametrize("path", [
    "/api/../admin/secret", "/api/%2e%2e/admin/secret", "/api/%2E%2E/admin", "/api/..%2fadmin/secret",
    "/api%2f..%2fadmin/secret", "/api/./../admin", "//api/../admin", "/api/x/../../admin/secret", "/apiary",
    "/api/..;/admin/secret", "/api/%252e%252e/admin/secret", "/api/%2e%2e%2fadmin", "/API/../admin",
])
async def test_paths_outside_the_prefix_never_reach_the_server(server: str, path: str) -> None:
    t = tool(server, allow_private=True)
    with pytest.raises(ToolDenied):
        await t.run(HttpArgs(url=server + path), ctx=ctx())
    assert HITS == []


@pytest.mark.parametrize("path", ["/api/ok", "/api//ok", "/api/./ok", "/api/x/../ok", "/api/%6Fk", "/api/ok#frag"])
async def test_equivalent_paths_inside_the_prefix_are_sent_in_canonical_form(server: str, path: str) -> None:
    result = await tool(server, allow_private=True).run(HttpArgs(url=server + path), ctx=ctx())
    assert result.text == "status: green"


def test_scheme_host_and_default_port_compare_canonically() -> None:
    t = HttpTool(targets=[HttpTarget(name="s", url="https://Status.Example.com/api")], timeout=1, max_bytes=10)
    for url in ("HTTPS://status.example.com/api/v1", "https://STATUS.example.com.:443/api/v1",
                "https://status.example.com/api"):
        target, canon = t.target_for(url, "GET")
        assert target.name == "s" and canon.url.startswith("https://status.example.com/api")
    for url in ("http://status.example.com/api/v1", "https://status.example.com:8443/api/v1",
                "https://status.example.com.evil.net/api", "https://status.example.com/apiary",
                "https://user@status.example.com/api", "https://status.example.com/api\\..\\admin"):
        with pytest.raises(ToolDenied):
            t.target_for(url, "GET")


@pytest.mark.parametrize("address", [
    "100.64.0.1", "100.100.100.200", "2002:c0a8:101::1", "2002:7f00:1::1", "2002:a9fe:a9fe::1", "::ffff:127.0.0.1",
    "::127.0.0.1", "::10.0.0.1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "2001::1", "fec0::1",
    "ff02::1", "224.0.1.1", "255.255.255.255", "240.0.0.1", "198.18.0.1", "192.0.2.1", "2001:db8::1", "fd00:ec2::254",
    "::ffff:0:10.0.0.1", "not-an-address",
])
def test_non_global_addresses_and_their_ipv6_disguises_are_refused(address: str) -> None:
    assert forbidden(address), address


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "2002:808:808::1", "64:ff9b::808:808"])
def test_global_addresses_are_allowed(address: str) -> None:
    assert forbidden(address) is None


def test_allow_private_never_opens_metadata_or_link_local() -> None:
    assert forbidden("10.0.0.5", allow_private=True) is None and forbidden("127.0.0.1", allow_private=True) is None
    for address in ("169.254.169.254", "100.100.100.200", "::ffff:169.254.169.254", "fe80::1", "0.0.0.0",
                    "2002:a9fe:a9fe::1", "fd00:ec2::254"):
        assert forbidden(address, allow_private=True), address


async def test_a_post_is_a_side_effect_refused_before_approval(server: str) -> None:
    from bot.core.tools import ToolRegistry

    t = tool(server, allow_private=True, methods=["GET", "POST"])
    registry = ToolRegistry([t])
    with pytest.raises(ToolDenied, match=r"HTTP POST.*after approval"):
        await registry.call("http", {"url": f"{server}/api/write", "method": "POST", "body": "x"}, ctx=ctx())
    assert HITS == []
    assert (await registry.call("http", {"url": f"{server}/api/ok"}, ctx=ctx())).text == "status: green"
    assert (await registry.call("http", {"url": f"{server}/api/write", "method": "POST"}, ctx=ctx(),
                                approved=True)).text == "written"
    assert HITS == ["POST /api/write"]


async def test_a_model_cannot_post_while_drafting(server: str) -> None:
    """A model's tool call asking for a POST during drafting gets a clear tool error; nothing reaches the server."""
    from dataclasses import replace

    from bot.core.models import Completion, RunState, ToolCall
    from bot.core.tools import ToolRegistry
    from bot.core.tools.box import ToolBox
    from tests.fakes.memory import FixedClock, ScriptedModel
    from tests.unit.core_env import make_services, make_spec
    from tests.unit.test_core_flow import drain, goal

    spec = make_spec(models=[{"name": "openai", "kind": "openai-compatible", "tier": "standard",
                              "clearance": "internal", "tools": True}])
    post = ToolCall(id="c1", name="http", arguments=f'{{"url": "{server}/api/write", "method": "POST"}}')
    model = ScriptedModel("openai", Completion(text="", model="openai", tool_calls=[post]), "Done.")
    box = ToolBox(registry=ToolRegistry([tool(server, allow_private=True, methods=["GET", "POST"])]),
                  assess=lambda _t: (Sensitivity.INTERNAL, {}), clock=FixedClock(), timezone="UTC")
    svc = replace(make_services(spec=spec, models={"openai": model}), tools=box)
    run = await goal(svc, "draft a note and record it")
    await drain(svc)
    assert (await svc.store.get(run.id)).state is RunState.IN_REVIEW
    reply = [m.content for m in model.seen[1] if m.role == "tool"][0]
    assert "after approval" in reply and HITS == []
