"""Sending Maple signed requests exactly as Slack does: ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature``
= ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the signing secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, NamedTuple
from urllib.parse import urlencode

import aiohttp

FORM = "application/x-www-form-urlencoded"


class Reply(NamedTuple):
    """Maple's HTTP answer: the status and the body (parsed JSON, text, or None when empty)."""

    status: int
    body: Any


def signature(secret: str, timestamp: str, body: str) -> str:
    mac = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={mac}"


def signed_headers(secret: str, body: str, *, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature(secret, stamp, body)}


class Signer:
    """Posts signed bodies to Maple's request URL (``http://127.0.0.1:<port>/slack/events``)."""

    def __init__(self, *, signing_secret: str, maple_url: str, timeout: float = 10.0) -> None:
        self.signing_secret, self.maple_url, self.timeout = signing_secret, maple_url, timeout
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, body: str, *, content_type: str, headers: dict[str, str] | None = None,
                   timestamp: int | None = None) -> Reply:
        if not self.maple_url:
            raise RuntimeError("the workspace has no Maple URL to send to")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        hdrs = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                **signed_headers(self.signing_secret, body, timestamp=timestamp), **(headers or {})}
        async with self._session.post(self.maple_url, data=body.encode(), headers=hdrs) as resp:
            text = await resp.text()
        if not text:
            return Reply(resp.status, None)
        try:
            return Reply(resp.status, json.loads(text))
        except ValueError:
            return Reply(resp.status, text)

    async def form(self, fields: dict[str, str]) -> Reply:
        return await self.send(urlencode(fields), content_type=FORM)

    async def interaction(self, payload: dict[str, Any]) -> Reply:
        return await self.form({"payload": json.dumps(payload)})

    async def event(self, envelope: dict[str, Any], *, retry_num: int | None = None) -> Reply:
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else None
        return await self.send(json.dumps(envelope), content_type="application/json", headers=headers)
