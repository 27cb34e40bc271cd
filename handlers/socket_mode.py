"""Socket Mode through the same front door as HTTP.

Slack pushes envelopes over a WebSocket opened with the app token (``apps.connections.open``). Each envelope's
payload goes through the same shape checks and pipeline as an HTTP request (handlers/front.py) — tenant binding,
used once (by envelope id), each event once — before Bolt sees it. The envelope is acked unless processing failed
(5xx): then it is left unacked and Slack delivers it again. A malformed or refused envelope is acked with no
payload, so Slack does not redeliver it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from handlers.front import Delivery, FrontDoor, empty
from handlers.payloads import classify

log = logging.getLogger("maple.socket")


class FrontDoorSocketModeHandler(AsyncSocketModeHandler):
    def __init__(self, app: AsyncApp, app_token: str, *, front: FrontDoor) -> None:
        super().__init__(app, app_token)
        self._front = front

    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        response = await self._through_front_door(req)
        if response.status >= 500:
            log.warning("envelope not acked: Slack will deliver it again", extra={"status": response.status})
            return
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id,
                                                                  payload=_ack_payload(response)))

    async def _through_front_door(self, req: SocketModeRequest) -> BoltResponse:
        payload = classify(req.payload) if isinstance(req.payload, dict) else "envelope without a payload"
        if isinstance(payload, str):
            log.warning("rejected malformed envelope", extra={"problem": payload})
            return empty(400)
        try:
            bolt_request = AsyncBoltRequest(mode="socket_mode", body=payload.data, headers=build_headers(req))
        except Exception:  # noqa: BLE001 - Bolt could not read the payload's ids: a malformed envelope
            log.warning("rejected malformed envelope", extra={"problem": "ids of the wrong type"})
            return empty(400)
        retry = str(req.retry_attempt) if req.retry_attempt is not None else None
        return await self._front.handle(Delivery(payload=payload, request=bolt_request,
                                                 once_key=f"envelope:{req.envelope_id}", retry=retry))


def _ack_payload(response: BoltResponse) -> dict[str, Any] | None:
    if response.status != 200 or not response.body:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.startswith("application/json"):
        body = json.loads(response.body)
        return body if isinstance(body, dict) else None
    return {"text": response.body}
