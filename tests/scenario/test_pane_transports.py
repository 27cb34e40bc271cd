"""Every event and action of the assistant pane, follow-ups and feedback through both of Slack's transports:
signed HTTP requests to the running app, and envelopes over Socket Mode (the fake Slack's socket server delivers
them and records the acks). Each test runs once per transport, refusal paths included; forged and stale
signatures (HTTP) and replayed or foreign envelopes (Socket Mode) start nothing."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.harness import CHANNEL, OUTSIDER, REQUESTER, REVIEWER, Harness, sign
from tests.pane_kit import PANE, context_changed, said, started
from tests.scenario.test_followups import _run_in_thread, _version

_ENVELOPES = itertools.count(1)


class Transport:
    """Sends what Slack sends, over ``kind``: "http" (signed requests) or "socket" (Socket Mode envelopes)."""

    def __init__(self, h: Harness, kind: str) -> None:
        self.h, self.kind = h, kind
        self._handler: Any = None

    async def open(self) -> None:
        if self.kind == "socket":
            assert self.h.maple is not None
            self._handler = await self.h.maple.connect_socket_mode("xapp-1-test-app-token")
            await self.h.wait_for(lambda: self.h.slack.sockets, what="the socket connection")

    async def close(self) -> None:
        if self._handler is not None:
            await self._handler.close_async()

    async def event(self, event: dict[str, Any], *, team: str = "T0TEST") -> None:
        body = {"type": "event_callback", "team_id": team, "api_app_id": "A0MAPLE",
                "event_id": f"Ev{uuid.uuid4().hex[:10]}", "event_time": int(time.time()), "event": event}
        if self.kind == "http":
            status, _ = await self.h.post(json.dumps(body), content_type="application/json")
            assert status == 200
        else:
            await self.envelope("events_api", body)

    async def interact(self, payload: dict[str, Any], *, envelope_id: str | None = None) -> None:
        payload = {"team": {"id": "T0TEST"}, "api_app_id": "A0MAPLE", **payload}
        if self.kind == "http":
            status, _ = await self.h.interact(payload)
            assert status == 200
        else:
            await self.envelope("interactive", payload, envelope_id=envelope_id)

    async def envelope(self, kind: str, payload: dict[str, Any], *, envelope_id: str | None = None) -> None:
        envelope_id = envelope_id or f"env-{next(_ENVELOPES)}-{uuid.uuid4().hex[:6]}"
        acked = len([a for a in self.h.slack.socket_acks if a.get("envelope_id") == envelope_id])
        await self.h.slack.socket_send({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                        "accepts_response_payload": kind != "events_api"})
        await self.h.wait_for(lambda: len([a for a in self.h.slack.socket_acks
                                           if a.get("envelope_id") == envelope_id]) > acked, what="the ack")


@pytest.fixture(params=["http", "socket"])
async def via(request: pytest.FixtureRequest, harness: Harness) -> AsyncIterator[Transport]:
    transport = Transport(harness, request.param)
    await transport.open()
    yield transport
    await transport.close()


def feedback_click(user: str, value: str, *, channel: str = PANE, thread_ts: str = "") -> dict[str, Any]:
    return {"type": "block_actions", "user": {"id": user}, "trigger_id": f"trig-{uuid.uuid4().hex[:6]}",
            "channel": {"id": channel},
            "container": {"type": "message", "channel_id": channel, "message_ts": "1.1", "thread_ts": thread_ts},
            "actions": [{"type": "feedback_buttons", "action_id": "maple_feedback", "block_id": "feedback",
                         "value": value, "action_ts": "1.2"}]}


def mention(user: str, words: str, *, ts: str, thread_ts: str | None = None) -> dict[str, Any]:
    event = {"type": "app_mention", "user": user, "channel": CHANNEL, "ts": ts, "text": f"<@U0MAPLEBOT> {words}"}
    return {**event, "thread_ts": thread_ts} if thread_ts else event


def in_thread(h: Harness, thread_ts: str, channel: str = PANE) -> list[dict[str, Any]]:
    return [p for p in h.slack.posted(channel) if p.get("thread_ts") == thread_ts]


def ephemerals(h: Harness, user: str, mark: int = 0) -> list[str]:
    return [str(c.params.get("blocks") or c.params.get("text")) for c in h.slack.calls[mark:]
            if c.method == "chat.postEphemeral" and c.params.get("user") == user]


async def _open(h: Harness, via: Transport, user: str, thread_ts: str, *, viewing: str | None = None,
                channel: str = PANE) -> None:
    await via.event(started(user, thread_ts=thread_ts, viewing=viewing, channel=channel))
    await h.wait_for(lambda: in_thread(h, thread_ts, channel), what="the greeting")


async def test_thread_started_suggests_the_persons_prompts(harness: Harness, via: Transport) -> None:
    h = harness
    await _open(h, via, REQUESTER, "9000.000001", viewing=CHANNEL)
    prompts = h.slack.pane_calls("setSuggestedPrompts")
    assert [p["title"] for p in prompts[0]["prompts"]] == ["Draft", "Ask", "Summarize", "Calculate"]
    assert prompts[0]["thread_ts"] == "9000.000001"


async def test_a_message_in_an_assistant_thread_runs_the_goal(harness: Harness, via: Transport) -> None:
    h = harness
    await _open(h, via, REQUESTER, "9001.000001")
    await via.event(said(REQUESTER, "what is 17.5% of 2,340", thread_ts="9001.000001"))
    run = await h.wait_state(await _run_in_thread(h, "9001.000001"), "delivered")
    assert run.workflow == "calc" and run.origin.pane
    assert h.slack.pane_calls("setTitle")[0]["title"] == "what is 17.5% of 2,340"
    assert any("409.5" in str(p.get("blocks")) for p in in_thread(h, "9001.000001"))


async def test_a_changed_context_is_the_channel_a_summary_reads(harness: Harness, via: Transport) -> None:
    h = harness
    h.slack.add_channel("C0OTHER", member=True, members=[REQUESTER])
    h.slack.messages["C0OTHER"].append({"ts": "100.3", "user": REQUESTER, "text": "The other channel's news."})
    await _open(h, via, REQUESTER, "9002.000001", viewing=CHANNEL)
    await via.event(context_changed(REQUESTER, thread_ts="9002.000001", viewing="C0OTHER"))
    await via.event(said(REQUESTER, "summarize this channel", thread_ts="9002.000001"))
    run = await h.wait_state(await _run_in_thread(h, "9002.000001"), "in_review")
    assert run.origin.context_channel == "C0OTHER" and "The other channel's news." in h.openai.texts_received()


async def test_a_follow_up_reply_revises_the_draft(harness: Harness, via: Transport) -> None:
    h = harness
    await _open(h, via, REQUESTER, "9003.000001")
    await via.event(said(REQUESTER, "run draft a reply to the supplier", thread_ts="9003.000001"))
    run_id = await _run_in_thread(h, "9003.000001")
    await _version(h, run_id, 1)
    await via.event(said(REQUESTER, "more formal", thread_ts="9003.000001"))
    run = await _version(h, run_id, 2)
    assert run.followups[0].text == "more formal"


async def test_feedback_clicks_count_the_requesters_vote_alone(harness: Harness, via: Transport) -> None:
    h = harness
    await _open(h, via, REQUESTER, "9004.000001")
    await via.event(said(REQUESTER, "calculate 1200 * 1.13", thread_ts="9004.000001"))
    run_id = await _run_in_thread(h, "9004.000001")
    await h.wait_state(run_id, "delivered")
    await via.interact(feedback_click(REVIEWER, f"{run_id}:bad", thread_ts="9004.000001"))  # not the requester
    await h.wait_for(lambda: ephemerals(h, REVIEWER), what="the refusal")
    assert "only give feedback on a result you may see" in ephemerals(h, REVIEWER)[0]
    await via.interact(feedback_click(REQUESTER, f"{run_id}:good", thread_ts="9004.000001"))
    await h.wait_for(lambda: ephemerals(h, REQUESTER), what="the thanks")
    assert "recorded" in ephemerals(h, REQUESTER)[0]
    tallies = await h.svc.feedback.tallies()
    assert [(t.workflow, t.up, t.down) for t in tallies] == [("calc", 1, 0)]
    votes = [e for e in await h.svc.audit.timeline(run_id) if e.kind == "feedback.given"]
    assert [e.actor for e in votes] == [REQUESTER]


async def test_an_outsider_in_the_pane_gets_no_prompts_and_no_run(harness: Harness, via: Transport) -> None:
    h = harness
    await _open(h, via, OUTSIDER, "9005.000001", channel="D0OUTSIDE")
    assert h.slack.pane_calls("setSuggestedPrompts") == []
    await via.event(said(OUTSIDER, "summarize this channel", thread_ts="9005.000001", channel="D0OUTSIDE"))
    answers = await h.wait_for(lambda: in_thread(h, "9005.000001", "D0OUTSIDE")[1:], what="the refusal")
    assert "don't have access to Maple" in answers[0]["text"]
    assert await h.svc.store.since(h.svc.clock.now().replace(year=2000)) == []


async def test_a_follow_up_from_someone_who_may_not_run_the_workflow_is_refused(harness: Harness,
                                                                                 via: Transport) -> None:
    h = harness
    await via.event(mention(REQUESTER, "run draft a note about the office move", ts="9006.000001"))
    run_id = await _run_in_thread(h, "9006.000001")
    await _version(h, run_id, 1)
    await via.event(mention(OUTSIDER, "add that it is cancelled", ts="9006.000002", thread_ts="9006.000001"))
    refused = await h.wait_for(lambda: ephemerals(h, OUTSIDER), what="the refusal")
    assert "access" in refused[0]
    run = await h.run(run_id)
    assert run.draft_version == 1 and run.followups == [] and "cancelled" not in h.openai.texts_received()


async def test_forged_and_stale_signatures_start_nothing(harness: Harness) -> None:
    h = harness
    events = [started(REQUESTER, thread_ts="9007.000001"),
              context_changed(REQUESTER, thread_ts="9007.000001", viewing=CHANNEL),
              said(REQUESTER, "calculate 2 + 2", thread_ts="9007.000001"),
              mention(REQUESTER, "shorter", ts="9007.000003", thread_ts="9007.000002")]
    for event in events:
        body = json.dumps({"type": "event_callback", "team_id": "T0TEST", "api_app_id": "A0MAPLE",
                           "event_id": f"Ev{uuid.uuid4().hex[:8]}", "event_time": int(time.time()), "event": event})
        for headers in (sign(body, secret="not-the-signing-secret"), sign(body, ts=int(time.time()) - 600)):
            status, _ = await h.post(body, content_type="application/json", headers=headers)
            assert status == 401
    from urllib.parse import urlencode

    click = urlencode({"payload": json.dumps({"team": {"id": "T0TEST"}, **feedback_click(REQUESTER, "R-X:good")})})
    for headers in (sign(click, secret="not-the-signing-secret"), sign(click, ts=int(time.time()) - 600)):
        status, _ = await h.post(click, content_type="application/x-www-form-urlencoded", headers=headers)
        assert status == 401
    assert h.slack.calls_to("chat.postMessage") == [] and h.slack.calls_to("chat.postEphemeral") == []
    assert h.slack.pane_calls("setSuggestedPrompts") == [] and h.slack.pane_calls("setStatus") == []
    assert await h.svc.store.since(h.svc.clock.now().replace(year=2000)) == []


async def test_replayed_and_foreign_envelopes_start_nothing(harness: Harness) -> None:
    h = harness
    via = Transport(h, "socket")
    await via.open()
    try:
        await via.event(started(REQUESTER, thread_ts="9008.000001"), team="T0EVIL")
        await via.event(said(REQUESTER, "calculate 3 + 4", thread_ts="9008.000001"), team="T0EVIL")
        assert h.slack.pane_calls("setSuggestedPrompts") == [] and h.slack.posted(PANE) == []
        await _open(h, via, REQUESTER, "9008.000002")
        await via.event(said(REQUESTER, "calculate 3 + 4", thread_ts="9008.000002"))
        run_id = await _run_in_thread(h, "9008.000002")
        await h.wait_state(run_id, "delivered")
        click = feedback_click(REQUESTER, f"{run_id}:good", thread_ts="9008.000002")
        await via.interact(click, envelope_id="env-vote-once")
        await h.wait_for(lambda: ephemerals(h, REQUESTER), what="the thanks")
        await via.interact(click, envelope_id="env-vote-once")  # the same envelope again: used once
        await via.interact(click)  # the same click in a new envelope: Maple answers it
        answers = await h.wait_for(lambda: ephemerals(h, REQUESTER)[1:], what="the second answer")
        assert len(ephemerals(h, REQUESTER)) == 2 and "already gave feedback" in answers[0]  # the replay: nothing
        assert [(t.up, t.down) for t in await h.svc.feedback.tallies()] == [(1, 0)]
        assert len(await h.svc.store.since(h.svc.clock.now().replace(year=2000))) == 1
    finally:
        await via.close()
