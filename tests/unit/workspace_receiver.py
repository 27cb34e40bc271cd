"""What the workspace tests share: a small receiver standing in for Maple's request URL, and the page's token."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from workspace import Workspace

SECRET = "workspace-test-signing-secret"
TOKEN = "xoxb-workspace-test-token"


class Receiver:
    """Stands in for Maple's /slack/events: verifies signatures with slack_sdk and answers what a test sets."""

    def __init__(self) -> None:
        self.verifier = SignatureVerifier(SECRET)
        self.received: list[tuple[bool, str, str]] = []
        self.answer: Any = None
        self.status = 200
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = (await request.read()).decode()
        valid = self.verifier.is_valid(body=body, timestamp=request.headers["X-Slack-Request-Timestamp"],
                                       signature=request.headers["X-Slack-Signature"])
        self.received.append((valid, request.content_type, body))
        if self.answer is None:
            return web.Response(status=self.status)
        return web.json_response(self.answer, status=self.status)

    def last_form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.received[-1][2]).items()}

    def last_event(self) -> dict[str, Any]:
        return json.loads(self.received[-1][2])["event"]  # type: ignore[no-any-return]

    def last_payload(self) -> dict[str, Any]:
        return json.loads(self.last_form()["payload"])  # type: ignore[no-any-return]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/slack/events", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/slack/events"

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()


async def page_headers(session: aiohttp.ClientSession, ws: Workspace) -> dict[str, str]:
    """What the page sends with each request: the token it was served with."""
    async with session.get(ws.url + "/") as r:
        assert r.status == 200 and "text/html" in r.content_type
        found = re.search(r'<meta name="workspace-token" content="([^"]+)">', await r.text())
    assert found
    return {"X-Workspace-Token": found.group(1)}
