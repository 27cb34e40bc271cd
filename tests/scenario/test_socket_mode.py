"""Socket Mode: with an app token, Slack's requests arrive over a WebSocket and are acked on it."""

from __future__ import annotations

import logging
from typing import Any

from tests.harness import CHANNEL, REQUESTER, REVIEWER, Harness
from tests.scenario.test_bad_input import runs_in_redis
from tests.scenario.test_loop import review_posts, run_id_of


async def test_slash_command_and_click_over_socket_mode(harness: Harness) -> None:
    h = harness
    assert h.maple is not None
    handler = await h.maple.connect_socket_mode("xapp-1-test-app-token")
    try:
        await h.wait_for(lambda: h.slack.sockets, what="the socket connection")
        await h.slack.socket_send({"envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
                                   "payload": {"command": "/maple", "text": "run draft a note over the socket",
                                               "user_id": REQUESTER, "channel_id": "C0GENERAL", "team_id": "T0TEST",
                                               "trigger_id": "t", "response_url": "http://127.0.0.1:9/x"}})
        acks = await h.wait_for(lambda: [a for a in h.slack.socket_acks if a.get("envelope_id") == "env-1"],
                                what="the ack on the socket")
        assert "Working on it" in acks[0]["payload"]["text"]
        run_id = run_id_of(acks[0]["payload"])
        await h.wait_for(lambda: len(review_posts(h, run_id)) == 2, what="review posts")
        await h.slack.socket_send({"envelope_id": "env-2", "type": "interactive", "payload": {
            "type": "block_actions", "user": {"id": REVIEWER}, "team": {"id": "T0TEST"}, "trigger_id": "t2",
            "channel": {"id": "D0REVIEW"}, "container": {"type": "message"},
            "actions": [{"action_id": "maple_approve", "block_id": "b", "value": await h.ref(run_id, None), "type": "button"}]}})
        await h.wait_state(run_id, "delivered")
    finally:
        await handler.close_async()


def _mention_envelope(envelope_id: str, *, retry: int | None = None, team: str = "T0TEST") -> dict[str, Any]:
    envelope: dict[str, Any] = {"envelope_id": envelope_id, "type": "events_api", "accepts_response_payload": False,
                                "payload": {"type": "event_callback", "team_id": team, "api_app_id": "A0MAPLE",
                                            "event_id": "EvSOCKET1", "event_time": 1700000000,
                                            "event": {"type": "app_mention", "user": REQUESTER, "channel": CHANNEL,
                                                      "ts": "5000.0001",
                                                      "text": "<@U0MAPLEBOT> run draft once over the socket"}}}
    if retry is not None:
        envelope.update(retry_attempt=retry, retry_reason="timeout")
    return envelope


def _acked(h: Harness, envelope_id: str) -> Any:
    return lambda: [a for a in h.slack.socket_acks if a.get("envelope_id") == envelope_id]


async def test_socket_mode_goes_through_the_same_front_door(harness: Harness, caplog: Any) -> None:
    h = harness
    assert h.maple is not None
    handler = await h.maple.connect_socket_mode("xapp-1-test-app-token")
    try:
        await h.wait_for(lambda: h.slack.sockets, what="the socket connection")
        # an event and Slack's retry of it: processed once, both acked
        await h.slack.socket_send(_mention_envelope("env-a"))
        await h.wait_for(_acked(h, "env-a"), what="the event acked")
        await h.slack.socket_send(_mention_envelope("env-b", retry=1))
        await h.wait_for(_acked(h, "env-b"), what="the retry acked")
        # a slash command delivered twice in the same envelope: one run
        command = {"envelope_id": "env-c", "type": "slash_commands", "accepts_response_payload": True,
                   "payload": {"command": "/maple", "text": "run draft a second note", "user_id": REQUESTER,
                               "channel_id": CHANNEL, "team_id": "T0TEST", "trigger_id": "t3"}}
        await h.slack.socket_send(command)
        await h.wait_for(_acked(h, "env-c"), what="the command acked")
        await h.slack.socket_send(command)
        # a foreign workspace, and a malformed click: acked, nothing runs, no crash
        foreign = {**command, "envelope_id": "env-d", "payload": {**command["payload"], "team_id": "T0EVIL"}}
        await h.slack.socket_send(foreign)
        broken = {"envelope_id": "env-e", "type": "interactive", "payload": {
            "type": "block_actions", "user": {"id": REVIEWER}, "team": {"id": "T0TEST"}, "actions": "x"}}
        await h.slack.socket_send(broken)
        foreign_ack = await h.wait_for(_acked(h, "env-d"), what="the foreign command answered")
        assert "isn't set up for this workspace" in foreign_ack[0]["payload"]["text"]
        broken_ack = await h.wait_for(_acked(h, "env-e"), what="the malformed click acked")
        assert not broken_ack[0].get("payload")
        await h.wait_for(lambda: len(h.slack.socket_acks) >= 6, what="every envelope answered")
        assert await runs_in_redis(h) == 2, "one run for the event, one for the command"
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no listener crashed"
    finally:
        await handler.close_async()
