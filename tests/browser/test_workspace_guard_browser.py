"""Another web page open in the same browser cannot act in the workspace: its form posts, no-cors fetches and
frames are refused by the browser or the workspace, and nothing reaches Maple."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from tests.browser.conftest import screenshot_path
from tests.browser.test_workspace_browser import open_page, type_in
from tests.unit.workspace_receiver import Receiver
from workspace import GENERAL, REQUESTER, Workspace

pytestmark = pytest.mark.browser
ATTACK = """<!doctype html><html><body><h1>Cute cats</h1>
<form id="f" method="post" action="{ws}/ui/send" enctype="text/plain">
  <input name='{{"user":"U0REQUEST","channel":"C0GENERAL","text":"/maple draft a memo","x":"' value='"}}'>
</form>
<iframe id="frame" src="{ws}/"></iframe>
<script>
  const goal = JSON.stringify({{user: "U0REQUEST", channel: "C0GENERAL", text: "/maple draft a memo"}});
  window.results = [];
  for (const [path, type] of [["/ui/send", "text/plain"], ["/ui/send", "application/json"],
                              ["/response/x", "text/plain"]]) {{
    window.results.push(fetch("{ws}" + path, {{method: "POST", mode: "no-cors", body: goal,
                                               headers: {{"Content-Type": type}}}})
      .then(() => "sent", () => "blocked"));
  }}
  Promise.all(window.results).then((r) => {{ window.done = r; }});
</script></body></html>"""


@pytest.fixture
async def evil_site(workspace: Workspace) -> AsyncIterator[str]:
    """A page on another origin (another port of 127.0.0.1: the closest a test can get to another site)."""
    page = ATTACK.format(ws=workspace.url)

    async def serve(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    await runner.cleanup()


@pytest.fixture
async def receiver(workspace: Workspace) -> AsyncIterator[Receiver]:
    """Stands in for Maple: records anything the workspace would send it."""
    maple = Receiver()
    await maple.start()
    workspace.maple_url = maple.url
    yield maple
    await maple.stop()


async def test_another_page_cannot_start_a_run(page: Any, workspace: Workspace, evil_site: str,
                                               receiver: Receiver) -> None:
    await open_page(page, workspace, REQUESTER)  # the person has the workspace open in another tab
    attacker = await page.context.new_page()
    posts: list[str] = []
    attacker.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    await attacker.goto(evil_site)
    await attacker.wait_for_function("window.done && window.done.length === 3")
    for frame in attacker.frames[1:]:  # the workspace may not be framed (clickjacking an Approve)
        assert await frame.locator("[data-testid=composer]").count() == 0
    await attacker.evaluate("document.getElementById('f').submit()")
    await attacker.wait_for_url(f"{workspace.url}/ui/send")  # the form post navigated to the workspace…
    assert "cross_origin_request" in await attacker.content()  # …which refused it
    await attacker.close()
    assert len(posts) == 4 and all(url.startswith(workspace.url) for url in posts)  # all four were sent…
    assert not receiver.received and not workspace.messages(GENERAL) and not workspace.ephemerals()  # …none did
    await type_in(page, "hello from the real page")  # the page itself still works
    await page.get_by_test_id("message").filter(has_text="hello from the real page").wait_for()
    await page.screenshot(path=screenshot_path("10-after-a-cross-site-attempt"))
    assert [m["text"] for m in workspace.messages(GENERAL)] == ["hello from the real page"]
