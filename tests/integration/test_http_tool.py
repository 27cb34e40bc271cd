"""The http tool against a local server: allowlist, SSRF refusals, redirects, size cap, timeout."""

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

    app = web.Application()
    for path, handler in (("/api/ok", ok), ("/api/big", big), ("/api/slow", slow), ("/api/hop", hop),
                          ("/api/hop-inside", hop_inside)):
        app.router.add_get(path, handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    await runner.cleanup()


def ctx(level: Sensitivity = Sensitivity.INTERNAL) -> ToolContext:
    return ToolContext(requester="U1", timezone="UTC", sensitivity=level, now=datetime.now(UTC))


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
