"""The front door: one pipeline for every Slack request, whether it came over HTTP or Socket Mode.

The transports (handlers/http.py, handlers/socket_mode.py) verify where a request came from (the signature, or
the app-token socket), parse it once and check its shape (handlers/payloads.py). Then, here, in this order:

1. **Tenant** — the installation the request was delivered for (its team and enterprise ids, read as Bolt reads
   them) must be one Maple serves (bot/core/tenancy.py). Otherwise nothing runs: a slash command gets a clear
   ephemeral answer (HTTP 200, so Slack shows it), anything else a bare 200. While the installation is not
   known yet (``auth.test`` has not answered), requests are refused too: fail closed.
2. **Used once** — a slash command or an interaction (a click, a modal submission) is accepted once: by its
   signature over HTTP, by its envelope id over Socket Mode. A replay, even inside the 5-minute signature window,
   is refused with 401 and starts or decides nothing. A slash command whose goal a worker will place (the deferred
   intake) is checked by the run write itself — the same key, in the same script — so its ack costs one Redis
   round trip; one answered before any write (too long, intake paused: nothing done) is checked afterwards, and a
   replay of it gets 401 instead of that answer.
3. **Each event once** — Events API events are deduplicated by ``event_id`` instead (Slack's retries carry the
   same event, re-signed or not, with ``X-Slack-Retry-Num``). An event is claimed while it is processed and marked seen only after its
   listener returned (its work is durable); if processing fails (5xx) the claim is released and Slack's retry
   is processed. A retry that arrives while the first delivery is still in flight gets 503, so Slack tries again
   later (after about a minute, then five), by when the first delivery has either finished (the retry is then
   answered 200 without processing) or failed (the retry is processed). A claim expires after 30 seconds, so a
   process that died mid-delivery does not hold an event forever.
4. **Dispatch** to Bolt. A request no listener handles is answered 200 (a 404 counts as a failed delivery).
   ``/maple`` itself, the request the ack path exists for, is answered here by the same function Bolt's listener
   calls (handlers/listeners.py ``command_ack``), without Bolt's dispatch (its middleware chain and listener
   matching were about half of a command's CPU on the ack path); the checks above are the ones that matter for
   it, and a command has nothing else Bolt would do (no self-event filter, no assistant thread, no ``respond``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_bolt.util.utils import convert_to_dict_list

from bot.core import text
from bot.core.intake import UseOnce
from bot.core.tenancy import Tenancy
from bot.core.text import Msg
from handlers.mrkdwn import mrkdwn
from handlers.payloads import Payload

log = logging.getLogger("maple.front")
TenancySource = Callable[[], Awaitable[Tenancy | None]]
USE_ONCE = "maple_use_once"  # the Bolt context key of a command's UseOnce (handlers/listeners.py hands it on)
COMMAND = "/maple"
CommandAck = Callable[[Mapping[str, Any], UseOnce | None], Awaitable[dict[str, Any] | None]]


class Deliveries(Protocol):
    """What the front door remembers about deliveries (integrations/redis_deliveries.py)."""

    async def first_use(self, key: str) -> bool: ...

    async def claim(self, event_id: str) -> tuple[str, str]: ...

    async def settle(self, event_id: str, token: str) -> None: ...

    async def release(self, event_id: str, token: str) -> None: ...


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """One request from Slack: its checked payload, the Bolt request built from that same payload, the key that
    may be used once (the signature, or the Socket Mode envelope id) and Slack's retry number, if any."""

    payload: Payload
    request: AsyncBoltRequest
    once_key: str
    retry: str | None = None


def empty(status: int = 200) -> BoltResponse:
    return BoltResponse(status=status, body="")


def command_response(*, text: str, blocks: list[Any] | None = None, response_type: str = "ephemeral") -> BoltResponse:
    """A slash command's ack with a message, as Bolt's ``ack(text=…, blocks=…, response_type=…)`` builds it."""
    body: dict[str, Any] = {"text": text, "response_type": response_type}
    if blocks:
        body["blocks"] = convert_to_dict_list(blocks)
    return BoltResponse(status=200, body=body)


class FrontDoor:
    """``language`` is the configured one: a refusal before the person is known (a workspace Maple does not
    serve, or one it cannot confirm yet) is said in both official languages, that one first."""

    def __init__(self, *, bolt: AsyncApp, deliveries: Deliveries, tenancy: TenancySource,
                 language: str = "en", checked_in_write: Callable[[Payload], bool] = lambda _payload: False,
                 command: CommandAck | None = None) -> None:
        """``checked_in_write(payload)``: this slash command's own run write checks that it is used once.
        ``command(fields, once)``: ``/maple``'s ack parameters (None for a replay), answered without Bolt."""
        self._bolt = bolt
        self._command = command
        self._deliveries = deliveries
        self._tenancy = tenancy
        self._language = language
        self._checked_in_write = checked_in_write

    async def handle(self, delivery: Delivery) -> BoltResponse:
        kind = delivery.payload.kind
        if kind == "other":
            return empty()  # a payload type Maple has no use for
        if kind in ("verification", "ssl_check"):
            return await self._dispatch(delivery.request)
        refusal = await self._tenant_refusal(delivery)
        if refusal is not None:
            return refusal
        event_id = delivery.payload.data.get("event_id")
        if kind == "event" and isinstance(event_id, str) and event_id:
            return await self._once(delivery, event_id)
        if kind == "command" and self._checked_in_write(delivery.payload):
            return await self._used_in_write(delivery)
        if not await self._deliveries.first_use(delivery.once_key):
            log.warning("replayed request refused", extra={"kind": kind})
            return BoltResponse(status=401, body={"error": "request already used"})
        return await self._route(delivery)

    async def _tenant_refusal(self, delivery: Delivery) -> BoltResponse | None:
        tenancy = await self._tenancy()
        ctx = delivery.request.context
        if tenancy is not None and tenancy.admits(team=ctx.team_id, enterprise=ctx.enterprise_id):
            return None
        command = delivery.payload.kind == "command"
        if tenancy is None:
            log.warning("request refused: the installation is not known yet", extra={"kind": delivery.payload.kind})
            return self._ephemeral(text.WORKSPACE_UNKNOWN) if command else empty(503)
        log.warning("request from a workspace Maple does not serve refused",
                    extra={"kind": delivery.payload.kind, "team_id": ctx.team_id, "enterprise_id": ctx.enterprise_id})
        return self._ephemeral(text.FOREIGN_WORKSPACE) if command else empty()

    def _ephemeral(self, message: Msg) -> BoltResponse:
        said = text.in_both(message, self._language)  # nothing is known of this person: both official languages
        return BoltResponse(status=200, body={"response_type": "ephemeral", "text": mrkdwn(said)})

    async def _used_in_write(self, delivery: Delivery) -> BoltResponse:
        key = delivery.once_key
        once = UseOnce(key=key, mark=lambda: self._deliveries.first_use(key))
        delivery.request.context[USE_ONCE] = once
        try:
            response = await self._route(delivery)
        except BaseException:
            if not once.settled:
                await asyncio.shield(self._deliveries.first_use(key))
            raise
        if not once.settled:  # never reached the desk (nothing done): used once all the same
            once.replayed = not await self._deliveries.first_use(key)
        if once.replayed:
            log.warning("replayed request refused", extra={"kind": "command"})
            return BoltResponse(status=401, body={"error": "request already used"})
        return response

    async def _once(self, delivery: Delivery, event_id: str) -> BoltResponse:
        state, token = await self._deliveries.claim(event_id)
        if state == "done":
            log.info("duplicate event delivery ignored", extra={"event_id": event_id, "retry": delivery.retry})
            return empty()
        if state == "in_flight":
            log.info("event still in flight: retry later", extra={"event_id": event_id, "retry": delivery.retry})
            return BoltResponse(status=503, body={"error": "this event is being processed; retry later"})
        try:
            response = await self._dispatch(delivery.request)
        except BaseException:
            await asyncio.shield(self._deliveries.release(event_id, token))
            raise
        if response.status >= 500:
            log.warning("event processing failed: its retry will be processed", extra={"event_id": event_id})
            await self._deliveries.release(event_id, token)
        else:
            await self._deliveries.settle(event_id, token)
        return response

    async def _route(self, delivery: Delivery) -> BoltResponse:
        data = delivery.payload.data
        if self._command is None or delivery.payload.kind != "command" or data.get("command") != COMMAND:
            return await self._dispatch(delivery.request)
        try:
            params = await self._command(data, delivery.request.context.get(USE_ONCE))
        except Exception:  # as Bolt answers a listener that raised: logged, 500, nothing acked
            log.exception("the /maple command failed")
            return empty(500)
        return empty() if params is None else command_response(**params)

    async def _dispatch(self, request: AsyncBoltRequest) -> BoltResponse:
        response = await self._bolt.async_dispatch(request)
        return empty() if response.status == 404 else response

