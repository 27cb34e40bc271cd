"""The HTTP front door: aiohttp serving POST /slack/events, and for operators GET /healthz (liveness: the process
answers), GET /readyz (ready for traffic: Redis, a live worker, an eligible model) and GET /metrics (Prometheus).

Before the pipeline (handlers/front.py) sees a request: a body over 1 MB gets 413, a forged or stale signature
(5-minute window) 401, and a signed body that is not a well-formed Slack payload 400 (where Bolt would answer 500
and Slack would retry). The body is parsed once (handlers/payloads.py) and Bolt dispatches that same parsed
payload, so what was checked is what runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from handlers.front import Delivery, FrontDoor
from handlers.payloads import classify, parse_body, shape_error
from integrations import metrics

__all__ = ["build_http_app", "shape_error"]
log = logging.getLogger("maple.http")
MAX_BODY = 1_000_000
PROBE_WAIT = 1.0  # seconds a probe or a scrape waits on Redis: a hung Redis must not make them miss their deadline
Healthy = Callable[[], Awaitable[bool]]
Ready = Callable[[], Awaitable[Mapping[str, bool]]]  # each check's name → whether it passes
Details = Callable[[], Mapping[str, object]]  # more for /readyz's body (the worker processes: alive, expected…)
Refresh = Callable[[], Awaitable[None]]
Startup = Callable[[], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class Previous:
    """The signing secret being rotated out, accepted until ``until`` (then refused like any other)."""

    secret: str
    until: datetime


def _signed(verifier: SignatureVerifier, body: bytes, timestamp: str, signature: str) -> bool:
    if not timestamp.isdigit() or not signature.startswith("v0="):
        return False
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)


def _signed_previous(previous: tuple[SignatureVerifier, datetime] | None, body: bytes, timestamp: str,
                     signature: str) -> bool:
    if previous is None or datetime.now(UTC) >= previous[1]:
        return False
    if not _signed(previous[0], body, timestamp, signature):
        return False
    log.info("request signed with the previous signing secret (accepted until %s)", previous[1].isoformat())
    return True


def _bad(problem: str) -> web.Response:
    log.warning("rejected malformed payload", extra={"problem": problem})
    return web.json_response({"error": problem}, status=400)


def build_http_app(
    *, front: FrontDoor, signing_secret: str, healthy: Healthy, on_startup: Startup | None = None,
    ready: Ready | None = None, refresh: Refresh | None = None, previous: Previous | None = None,
    details: Details | None = None,
) -> web.Application:
    """``healthy``: liveness (Redis answers); ``ready``: the readiness checks; ``refresh``: update the gauges read
    from Redis before a scrape; ``previous``: a rotated-out signing secret still accepted for a while."""
    verifier = SignatureVerifier(signing_secret)
    old = (SignatureVerifier(previous.secret), previous.until) if previous is not None else None

    async def events(request: web.Request) -> web.StreamResponse:
        started, seen = time.perf_counter(), ["unsigned"]
        response = await _events(request, seen)
        kind = seen[0]
        metrics.ACKS.labels(kind, str(response.status)).inc()
        metrics.ACK_SECONDS.labels(kind).observe(time.perf_counter() - started)
        return response

    async def _events(request: web.Request, seen: list[str]) -> web.StreamResponse:
        if request.content_length and request.content_length > MAX_BODY:
            return web.json_response({"error": "body too large"}, status=413)
        raw = await request.read()
        signature = request.headers.get("X-Slack-Signature", "")
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not (_signed(verifier, raw, stamp, signature) or _signed_previous(old, raw, stamp, signature)):
            log.warning("rejected request with invalid or stale signature")
            return web.json_response({"error": "invalid signature"}, status=401)
        seen[0] = "malformed"
        data = parse_body(raw.decode("utf-8", errors="replace"), request.headers.get("Content-Type", ""))
        payload = classify(data) if isinstance(data, dict) else data
        if isinstance(payload, str):
            return _bad(payload)
        seen[0] = payload.kind
        try:
            # Bolt takes an already parsed body only in its socket_mode mode; the mode's one other effect is to
            # skip Bolt's signature check, which was done above.
            bolt_request = AsyncBoltRequest(body=payload.data, mode="socket_mode", query=request.query_string,
                                            headers=dict(request.headers))  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - Bolt could not read the payload's ids: a malformed request
            return _bad("payload with ids of the wrong type")
        response = await front.handle(Delivery(payload=payload, request=bolt_request, once_key=signature,
                                               retry=request.headers.get("X-Slack-Retry-Num")))
        return await to_aiohttp_response(response)

    async def healthz(_request: web.Request) -> web.Response:
        """Liveness: this process serves requests. Redis being down or hung is a readiness problem (restarting
        Maple would not fix it), so it is reported here (within ``PROBE_WAIT``) but answered 200."""
        try:
            redis_ok = await asyncio.wait_for(healthy(), PROBE_WAIT)
        except TimeoutError:
            redis_ok = False
        return web.json_response({"status": "ok", "redis": "ok" if redis_ok else "unreachable"})

    async def readyz(_request: web.Request) -> web.Response:
        try:
            checks = dict(await asyncio.wait_for(ready() if ready is not None else _redis_only(), PROBE_WAIT))
        except TimeoutError:
            checks = {"redis": False}  # Redis did not answer in time
        ok = all(checks.values())
        body = {"status": "ready" if ok else "not ready", "checks": checks, **(details() if details else {})}
        return web.json_response(body, status=200 if ok else 503)

    async def _redis_only() -> Mapping[str, bool]:
        return {"redis": await healthy()}

    async def metrics_page(_request: web.Request) -> web.Response:
        body, content_type = await metrics.exposition(refresh, wait=PROBE_WAIT)
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    if on_startup is not None:
        async def startup(_app: web.Application) -> None:
            await on_startup()

        app.on_startup.append(startup)
    return app
