"""Socket Mode: with an app token, Slack's requests arrive over a WebSocket and are acked on it."""

from __future__ import annotations

from tests.harness import REQUESTER, REVIEWER, Harness
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
