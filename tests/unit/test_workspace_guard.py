"""Only the workspace's own page, at the loopback address it listens on, may act as its people: cross-origin
requests (CSRF), requests without the page's token and foreign Host names (DNS rebinding) are refused and start
nothing, while Maple's own Web API calls and response URLs keep working."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from tests.unit.workspace_receiver import SECRET, TOKEN, Receiver, page_headers
from workspace import GENERAL, REQUESTER, Workspace, build_workspace

GOAL = {"user": REQUESTER, "channel": GENERAL, "text": "/maple draft a reply to the supplier"}


@pytest.fixture
async def maple() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture
async def ws(maple: Receiver) -> AsyncIterator[Workspace]:
    async with build_workspace(signing_secret=SECRET, maple_url=maple.url, bot_token=TOKEN) as workspace:
        yield workspace


def nothing_started(ws: Workspace, maple: Receiver) -> bool:
    return not maple.received and not ws.people.sent and not ws.messages(GENERAL) and not ws.ephemerals()


async def test_a_cross_origin_post_is_refused(ws: Workspace, maple: Receiver) -> None:
    port = ws.url.rsplit(":", 1)[1]
    async with aiohttp.ClientSession() as s:
        token = await page_headers(s, ws)  # even with the token: the browser says where the request comes from
        for origin in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                       {"Origin": f"http://127.0.0.1:{int(port) + 1}"}, {"Sec-Fetch-Site": "cross-site"},
                       {"Origin": f"https://127.0.0.1:{port}"}):
            async with s.post(ws.url + "/ui/send", json=GOAL, headers={**token, **origin}) as r:
                assert (r.status, (await r.json())["error"]) == (403, "cross_origin_request"), origin
            async with s.post(ws.url + "/response/anything", json={"text": "hi"}, headers=origin) as r:
                assert r.status == 403, origin
    assert nothing_started(ws, maple)


async def test_a_text_plain_post_without_the_token_is_refused(ws: Workspace, maple: Receiver) -> None:
    """What a form or a no-CORS fetch on another page can send: no custom header, a "simple" content type."""
    async with aiohttp.ClientSession() as s:
        for path in ("/ui/send", "/ui/click", "/ui/submit", "/ui/home_opened", "/ui/dismiss", "/ui/close"):
            async with s.post(ws.url + path, data=json.dumps(GOAL), headers={"Content-Type": "text/plain"}) as r:
                assert (r.status, (await r.json())["error"]) == (403, "invalid_workspace_token"), path
        async with s.post(ws.url + "/ui/send", json=GOAL, headers={"X-Workspace-Token": "guessed"}) as r:
            assert r.status == 403
        token = await page_headers(s, ws)
        async with s.post(ws.url + "/ui/send", data=json.dumps(GOAL),
                          headers={**token, "Content-Type": "text/plain"}) as r:
            assert r.status == 415  # the page always sends JSON
    assert nothing_started(ws, maple)


async def test_reads_and_the_event_stream_need_the_token(ws: Workspace) -> None:
    async with aiohttp.ClientSession() as s:
        for path in (f"/ui/bootstrap?user={REQUESTER}", f"/ui/channel/{GENERAL}?user={REQUESTER}",
                     f"/ui/events?user={REQUESTER}", f"/ui/events?user={REQUESTER}&token=guessed"):
            async with s.get(ws.url + path) as r:
                assert r.status == 403, path
        token = (await page_headers(s, ws))["X-Workspace-Token"]
        async with s.get(ws.url + f"/ui/events?user={REQUESTER}&token={token}") as events:
            assert (await events.content.readline()).startswith(b"event: ready")


async def test_a_foreign_host_is_refused(ws: Workspace, maple: Receiver) -> None:
    """DNS rebinding: another site's name pointed at 127.0.0.1 reaches the port, but with its own Host."""
    port = ws.url.rsplit(":", 1)[1]
    async with aiohttp.ClientSession() as s:
        token = await page_headers(s, ws)
        for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1:{int(port) + 1}", f"127.0.0.2:{port}",
                     f"localhost.evil.example:{port}"):
            for path in ("/", "/static/app.js", f"/ui/bootstrap?user={REQUESTER}", "/api/auth.test"):
                async with s.get(ws.url + path, headers={**token, "Host": host}) as r:
                    assert r.status == 421, (host, path)
                    assert "workspace-token" not in await r.text()
            async with s.post(ws.url + "/ui/send", json=GOAL, headers={**token, "Host": host,
                                                                      "Origin": f"http://{host}"}) as r:
                assert r.status == 421
    assert nothing_started(ws, maple)


async def test_maple_and_the_page_itself_still_work(ws: Workspace, maple: Receiver) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=ws.api_url, timeout=5)
    assert (await client.auth_test())["ok"]  # Maple's Web API calls carry no Origin
    async with aiohttp.ClientSession() as s:
        headers = await page_headers(s, ws)
        same = {**headers, "Origin": ws.url, "Sec-Fetch-Site": "same-origin"}
        async with s.post(ws.url + "/ui/send", json=GOAL, headers=same) as r:
            assert r.status == 200
        async with s.post(maple.last_form()["response_url"], json={"text": "later news"}) as r:
            assert r.status == 200
        local = ws.url.replace("127.0.0.1", "localhost")
        async with s.get(local + f"/ui/bootstrap?user={REQUESTER}", headers=headers) as r:
            assert r.status == 200  # http://localhost:<port>/ is the same workspace
    assert [m["text"] for m in ws.ephemerals(REQUESTER)] == ["later news"]


async def test_pages_cannot_be_framed_and_response_urls_cannot_be_guessed(ws: Workspace, maple: Receiver) -> None:
    async with aiohttp.ClientSession() as s, s.get(ws.url + "/") as r:
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Cache-Control"] == "no-store"
    for _ in range(2):
        await ws.slash(REQUESTER, GENERAL, "help")
    first, second = (parse_qs(body)["response_url"][0].rsplit("/", 1)[1] for _ok, _type, body in maple.received)
    assert first != second and min(len(first), len(second)) >= 20


async def test_the_workspace_listens_only_on_loopback() -> None:
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.com"):
        with pytest.raises(ValueError, match="loopback"):
            await build_workspace(signing_secret=SECRET, maple_url="", bot_token=TOKEN).start(host, 0)
