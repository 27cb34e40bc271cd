"""The HTTP front door: aiohttp serving POST /slack/events and GET /healthz.

Before Bolt sees a request: the signature is verified (5-minute window → 401), the body is checked for shape
(→ 400, where Bolt would answer 500 and Slack would retry), and Events API retries of an event already taken
are answered 200 without processing. Requests Bolt has no listener for get 200, not 404 (Slack counts a 404
as a failed delivery and may disable the subscription).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger("maple.http")
MAX_BODY = 1_000_000
SeenBefore = Callable[[str], Awaitable[bool]]
Healthy = Callable[[], Awaitable[bool]]


def shape_error(body: str, content_type: str) -> str | None:
    """Why a signed body is not a Slack payload we can handle, or None when it looks right."""
    if content_type.startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            return "body is not valid JSON"
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            return "JSON body without a type"
        if data["type"] == "event_callback" and not isinstance(data.get("event"), dict):
            return "event_callback without an event"
        return None
    form = parse_qs(body, keep_blank_values=True)
    if "payload" in form:
        try:
            payload = json.loads(form["payload"][0])
        except ValueError:
            return "payload is not valid JSON"
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            return "payload without a type"
        if not isinstance(payload.get("user"), dict) or "id" not in payload["user"]:
            return "payload without a user"
        return _interaction_shape(payload)
    if "command" in form:
        if not form.get("user_id", [""])[0]:
            return "slash command without user_id"
        return None
    return "unrecognised Slack payload"


def _interaction_shape(payload: dict[str, object]) -> str | None:
    kind = payload["type"]
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not all(isinstance(a, dict) and "action_id" in a for a in actions):
            return "block_actions without valid actions"
    if kind in ("view_submission", "view_closed"):
        view = payload.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("type"), str) or "callback_id" not in view:
            return "view payload without a valid view"
    return None


def event_id_of(body: str, content_type: str) -> str | None:
    if not content_type.startswith("application/json"):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    value = data.get("event_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _signed(verifier: SignatureVerifier, body: bytes, timestamp: str, signature: str) -> bool:
    if not timestamp.isdigit() or not signature.startswith("v0="):
        return False
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)


def build_http_app(
    *, bolt: AsyncApp, signing_secret: str, seen_before: SeenBefore, healthy: Healthy
) -> web.Application:
    verifier = SignatureVerifier(signing_secret)

    async def events(request: web.Request) -> web.StreamResponse:
        if request.content_length and request.content_length > MAX_BODY:
            return web.json_response({"error": "body too large"}, status=413)
        raw = await request.read()
        body = raw.decode("utf-8", errors="replace")
        if not _signed(verifier, raw, request.headers.get("X-Slack-Request-Timestamp", ""),
                       request.headers.get("X-Slack-Signature", "")):
            log.warning("rejected request with invalid or stale signature")
            return web.json_response({"error": "invalid signature"}, status=401)
        ctype = request.headers.get("Content-Type", "")
        problem = shape_error(body, ctype)
        if problem:
            log.warning("rejected malformed payload", extra={"problem": problem})
            return web.json_response({"error": problem}, status=400)
        event_id = event_id_of(body, ctype)
        if event_id and await seen_before(event_id):
            log.info("duplicate event delivery ignored", extra={"event_id": event_id,
                                                                 "retry": request.headers.get("X-Slack-Retry-Num")})
            return web.Response(status=200)
        bolt_request = AsyncBoltRequest(body=body, query=request.query_string,
                                        headers=dict(request.headers))  # type: ignore[arg-type]
        bolt_response = await bolt.async_dispatch(bolt_request)
        if bolt_response.status == 404:
            return web.Response(status=200)
        return await to_aiohttp_response(bolt_response)

    async def healthz(_request: web.Request) -> web.Response:
        ok = await healthy()
        return web.json_response({"status": "ok" if ok else "redis unreachable"}, status=200 if ok else 503)

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    return app
