"""Runs the real Maple app in-process on a local port, against real Redis, a fake Slack Web API and a fake
OpenAI-compatible server, and sends it Slack-signed requests."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from copy import deepcopy
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import yaml
from aiohttp import web

from bot.app import Maple, build
from bot.core.models import Run
from bot.core.spec import MapleSpec
from config.settings import DEFAULT_CONFIG, Settings
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack

SECRET = "test-signing-secret-0123456789"
TOKEN = "xoxb-test-token-secret-value"
REQUESTER, REVIEWER, REVIEWER2, OUTSIDER, ADMIN = "U0REQUEST", "U0REVIEW", "U0REVIEW2", "U0OUTSIDE", "U0ADMIN"
CHANNEL = "C0GENERAL"


def spec_dict(**changes: Any) -> dict[str, Any]:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["roles"] = {"user": [REQUESTER, REVIEWER, REVIEWER2, ADMIN], "reviewer": [REVIEWER, REVIEWER2],
                     "admin": [ADMIN]}
    data["models"] = [{"name": "openai", "kind": "openai-compatible", "api_key_env": "MAPLE_TEST_OPENAI_KEY",
                       "model": "gpt-test", "tier": "standard", "clearance": "internal", "price_in": 0.15,
                       "price_out": 0.6, "timeout": 5, "tools": False}]
    data.update(deepcopy(changes))
    return data


def sign(body: str, *, secret: str = SECRET, ts: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    mac = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={mac}"}


class Harness:
    def __init__(self, *, slack: FakeSlack, openai: FakeOpenAI, spec: dict[str, Any] | None = None,
                 workers: int = 1, visibility: float = 2.0, redis_url: str = "redis://127.0.0.1:6379/0",
                 streaming: bool = False, ack: str = "inline") -> None:
        self.slack, self.openai = slack, openai
        self.ack = ack  # inline unless a test is about the deferred intake (its own tests: test_deferred_ack.py)
        self.streaming = streaming  # off unless a test is about streaming: the others see answers posted whole
        self.prefix = f"test:{uuid.uuid4().hex[:10]}:"
        self.spec_data = spec or spec_dict()
        self.workers, self.visibility, self.redis_url = workers, visibility, redis_url
        self.maple: Maple | None = None
        self.anchor_file = Path(tempfile.gettempdir()) / f"maple-anchor-{self.prefix.replace(':', '-')}jsonl"
        self.url = ""
        self._runner: web.AppRunner | None = None

    def settings(self) -> Settings:
        return Settings(_env_file=None, SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
                        SLACK_API_URL=self.slack.url, REDIS_URL=self.redis_url, MAPLE_REDIS_PREFIX=self.prefix,
                        OPENAI_BASE_URL=self.openai.url, MAPLE_VISIBILITY_TIMEOUT=self.visibility,
                        MAPLE_SHUTDOWN_GRACE=5, MAPLE_AUDIT_KEY="test-audit-key-0123456789abcdef",
                        MAPLE_STREAMING=self.streaming, MAPLE_ACK=self.ack)

    async def start(self, *, workers: int | None = None) -> Harness:
        data = dict(self.spec_data)
        data["audit"] = {**data.get("audit", {}), "anchor_file": str(self.anchor_file)}
        self.maple = build(self.settings(), spec=MapleSpec.model_validate(data))
        for metered in self.maple.models.values():  # point the test model at the fake endpoint
            m = getattr(metered, "inner", metered)
            if hasattr(m, "_client"):
                m._client = m._client.with_options(base_url=self.openai.url)
        self._runner = web.AppRunner(self.maple.http, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        await self.maple.start_workers(self.workers if workers is None else workers)
        return self

    async def stop(self) -> None:
        """Stop the app. Bounded: a stop that does not end within 30 s is reported on stderr with every task's stack
        (so a shutdown that hangs is seen, and the suite goes on) rather than hanging the run."""
        try:
            await asyncio.wait_for(self._stop(), 30)
        except TimeoutError:
            import sys
            import traceback

            print("maple did not stop within 30 s; tasks still running:", file=sys.stderr)
            for task in asyncio.all_tasks():
                print(f"--- {task.get_name()}", file=sys.stderr)
                for frame in task.get_stack():
                    traceback.print_stack(frame, limit=1, file=sys.stderr)
        self.maple = None

    async def _stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
        if self.maple:
            await self.maple.stop()

    async def cleanup_redis(self) -> None:
        import redis.asyncio as aioredis

        self.anchor_file.unlink(missing_ok=True)

        r = aioredis.from_url(self.redis_url)
        try:
            keys = [k async for k in r.scan_iter(match=self.prefix + "*", count=500)]
            if keys:
                await r.delete(*keys)
        finally:
            await r.aclose()

    @property
    def svc(self) -> Any:
        assert self.maple
        return self.maple.svc

    async def post(self, body: str, *, content_type: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        hdrs = {"Content-Type": content_type, **(headers if headers is not None else sign(body))}
        async with aiohttp.ClientSession() as s, s.post(self.url + "/slack/events", data=body, headers=hdrs) as r:
            text = await r.text()
            try:
                return r.status, json.loads(text) if text else None
            except ValueError:
                return r.status, text

    async def slash(self, user: str, text: str, *, channel: str = CHANNEL, **fields: str) -> tuple[int, Any]:
        """A signed slash command. Like Slack, every invocation has its own trigger_id; ``fields`` override or
        add payload fields (team_id, enterprise_id, …)."""
        body = urlencode({"token": "x", "team_id": "T0TEST", "channel_id": channel, "user_id": user,
                          "command": "/maple", "text": text, "trigger_id": f"trig-{uuid.uuid4().hex[:8]}",
                          "response_url": "http://127.0.0.1:9/unused", "api_app_id": "A0MAPLE", **fields})
        return await self.post(body, content_type="application/x-www-form-urlencoded")

    async def interact(self, payload: dict[str, Any]) -> tuple[int, Any]:
        """A signed interaction; like Slack's, it names the workspace it comes from (``team``) unless given."""
        body = urlencode({"payload": json.dumps({"team": {"id": "T0TEST"}, **payload})})
        return await self.post(body, content_type="application/x-www-form-urlencoded")

    async def ref(self, run_id: str, version: int | None) -> str:
        """What a review button or modal carries: the run id and the draft version shown (default: the current)."""
        if version is None:
            try:
                version = (await self.run(run_id)).draft_version
            except Exception:  # noqa: BLE001 - an unknown run keeps a plausible version
                version = 1
        return f"{run_id}:{version}"

    async def click(self, user: str, action_id: str, run_id: str, *, channel: str = "D0REVIEW",
                    version: int | None = None) -> tuple[int, Any]:
        value = await self.ref(run_id, version)
        return await self.interact({
            "type": "block_actions", "user": {"id": user}, "team": {"id": "T0TEST"}, "api_app_id": "A0MAPLE",
            "trigger_id": f"trig-{uuid.uuid4().hex[:6]}", "channel": {"id": channel},
            "container": {"type": "message", "channel_id": channel, "message_ts": "1.1"},
            "actions": [{"action_id": action_id, "block_id": f"review:{value}", "value": value,
                         "type": "button", "action_ts": "1.2"}]})

    async def submit(self, user: str, callback_id: str, run_id: str, values: dict[str, str], *,
                     version: int | None = None) -> tuple[int, Any]:
        state = {block: {"text": {"type": "plain_text_input", "value": v}} for block, v in values.items()}
        ref = await self.ref(run_id, version)
        return await self.interact({
            "type": "view_submission", "user": {"id": user}, "team": {"id": "T0TEST"}, "api_app_id": "A0MAPLE",
            "view": {"id": "V1", "type": "modal", "callback_id": callback_id, "private_metadata": ref, "state": {"values": state}}})

    async def event(self, event: dict[str, Any], *, event_id: str | None = None,
                    headers: dict[str, str] | None = None) -> tuple[int, Any]:
        body = json.dumps({"type": "event_callback", "team_id": "T0TEST", "api_app_id": "A0MAPLE",
                           "event_id": event_id or f"Ev{uuid.uuid4().hex[:8]}", "event_time": int(time.time()),
                           "event": event})
        hdrs = {**sign(body), **(headers or {})}
        return await self.post(body, content_type="application/json", headers=hdrs)

    async def run(self, run_id: str) -> Run:
        return await self.svc.store.get(run_id)  # type: ignore[no-any-return]

    async def wait_for(self, check: Callable[[], Any], *, timeout: float = 120.0, what: str = "condition") -> Any:
        """Poll ``check`` (sync or async) until it returns something truthy. Not a timing assertion: the generous
        timeout only stops a broken test from hanging."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def wait_state(self, run_id: str, *states: str, timeout: float = 120.0) -> Run:
        async def check() -> Run | None:
            run = await self.run(run_id)
            return run if run.state.value in states else None

        return await self.wait_for(check, timeout=timeout, what=f"run {run_id} in {states}")  # type: ignore[no-any-return]
