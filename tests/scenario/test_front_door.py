"""The front door over signed HTTP: an event is marked seen only after its work is done, a signed request is used
once, the body Bolt dispatches is the body that was checked, and Maple never acts on bots' messages."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import BOT_USER, FakeSlack
from tests.harness import ADMIN, CHANNEL, REQUESTER, REVIEWER, REVIEWER2, Harness, sign, spec_dict
from tests.scenario.test_bad_input import runs_in_redis
from tests.scenario.test_loop import run_id_of, start_draft

FORM = "application/x-www-form-urlencoded"
RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


def slash_body(user: str, text: str) -> str:
    return urlencode({"command": "/maple", "text": text, "user_id": user, "channel_id": CHANNEL, "team_id": "T0TEST",
                      "trigger_id": f"trig-{uuid.uuid4().hex[:8]}", "response_url": "http://127.0.0.1:9/x"})


async def test_event_whose_processing_failed_is_processed_on_slacks_retry(harness: Harness) -> None:
    h = harness
    assert h.maple is not None
    seen: list[str] = []

    @h.maple.bolt.event("reaction_added")
    async def fails_once(event: dict[str, Any]) -> None:  # a listener hit by a passing failure
        seen.append(event["reaction"])
        if len(seen) == 1:
            raise RuntimeError("a passing failure")

    event = {"type": "reaction_added", "user": REQUESTER, "reaction": "tada", "item": {"type": "message"}}
    status, _ = await h.event(event, event_id="EvFAILS1")
    assert status == 500  # Slack retries a 5xx
    status, _ = await h.event(event, event_id="EvFAILS1", headers=RETRY)
    assert status == 200 and len(seen) == 2, "the retry of a failed delivery must be processed"
    status, _ = await h.event(event, event_id="EvFAILS1", headers={**RETRY, "X-Slack-Retry-Num": "2"})
    assert status == 200 and len(seen) == 2, "once processed, later retries are not"


async def test_retry_while_the_first_delivery_is_in_flight_is_asked_to_come_back(harness: Harness) -> None:
    h = harness
    assert h.maple is not None
    started: list[str] = []
    release = asyncio.Event()

    @h.maple.bolt.event("reaction_removed")
    async def slow(event: dict[str, Any]) -> None:
        started.append(event["reaction"])
        await release.wait()

    event = {"type": "reaction_removed", "user": REQUESTER, "reaction": "tada", "item": {"type": "message"}}
    first = asyncio.create_task(h.event(event, event_id="EvSLOW1"))
    await h.wait_for(lambda: started, what="the first delivery to start")
    status, _ = await h.event(event, event_id="EvSLOW1", headers=RETRY)
    assert status == 503, "a retry must not be acked while the first delivery can still fail"
    release.set()
    status, _ = await first
    assert status == 200
    status, _ = await h.event(event, event_id="EvSLOW1", headers={**RETRY, "X-Slack-Retry-Num": "2"})
    assert status == 200 and started == ["tada"]


async def test_replayed_slash_command_starts_nothing(harness: Harness) -> None:
    h = harness
    body = slash_body(REQUESTER, "run draft a note about the offsite")
    headers = sign(body)
    status, reply = await h.post(body, content_type=FORM, headers=headers)
    assert status == 200 and "Working on it" in reply["text"]
    status, reply = await h.post(body, content_type=FORM, headers=headers)  # same body, same timestamp: a replay
    assert status == 401 and reply["error"]
    assert await runs_in_redis(h) == 1


async def test_replayed_modal_submission_decides_nothing(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)

    async def edit(user: str, draft: str) -> str:
        state = {"draft_0": {"text": {"type": "plain_text_input", "value": draft}}}
        return urlencode({"payload": json.dumps({
            "type": "view_submission", "user": {"id": user}, "team": {"id": "T0TEST"}, "api_app_id": "A0MAPLE",
            "view": {"id": "V1", "type": "modal", "callback_id": "maple_edit_view",
                     "private_metadata": await h.ref(run_id, None), "state": {"values": state}}})})

    first = await edit(REVIEWER, "Version one.")
    first_headers = sign(first)
    assert (await h.post(first, content_type=FORM, headers=first_headers))[0] == 200
    assert (await h.post(await edit(REVIEWER2, "Version two."), content_type=FORM))[0] == 200
    status, _ = await h.post(first, content_type=FORM, headers=first_headers)  # someone replays the first edit
    assert status == 401
    drafts = [d.text for d in (await h.run(run_id)).drafts]
    assert drafts[1:] == ["Version one.", "Version two."]


async def test_slash_command_mentioning_payload_is_understood(harness: Harness) -> None:
    """The body is parsed once and that parse is what Bolt dispatches: a goal with the word "payload" in it (which
    Bolt's own form parser mistakes for an interaction) still reaches the command listener."""
    status, reply = await harness.slash(REQUESTER, "run draft a note on the payload of the rocket")
    assert status == 200 and reply and "Working on it" in reply["text"]


async def test_a_field_given_twice_is_refused(harness: Harness) -> None:
    body = slash_body(REQUESTER, f"audit R-{'A' * 16}") + "&" + urlencode({"user_id": ADMIN})
    status, reply = await harness.post(body, content_type=FORM)
    assert status == 400 and "twice" in reply["error"]


async def test_bots_are_not_obeyed(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: Any) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    h = Harness(slack=slack, openai=openai_fake, spec=spec_dict(roles={"user": ["*"], "reviewer": [REVIEWER],
                                                                       "admin": [ADMIN]}))
    await h.start()
    try:
        goal = "<@U0MAPLEBOT> run draft a note nobody asked for"
        for n, extra in enumerate([{"user": "U0OTHERBOT", "bot_id": "B0OTHER"},
                                   {"user": REQUESTER, "bot_id": "B0OTHER", "bot_profile": {"id": "B0OTHER"}},
                                   {"user": "U0OTHERBOT", "subtype": "bot_message"},
                                   {"user": BOT_USER}]):
            status, _ = await h.event({"type": "app_mention", "channel": CHANNEL, "ts": f"2100.000{n}",
                                       "text": goal, **extra})
            assert status == 200
        for n, extra in enumerate([{"user": "U0OTHERBOT", "bot_id": "B0OTHER"}, {"user": BOT_USER}]):
            status, _ = await h.event({"type": "message", "channel_type": "im", "channel": "D0MAPLE",
                                       "ts": f"2200.000{n}", "text": "run draft spam", **extra})
            assert status == 200
        status, _ = await h.event({"type": "app_mention", "user": REQUESTER, "channel": CHANNEL,
                                   "ts": "2300.0001", "text": "<@U0MAPLEBOT> run draft a note from a person"})
        ack = await h.wait_for(lambda: [p for p in slack.posted(CHANNEL) if p.get("thread_ts") == "2300.0001"],
                               what="a person's mention answered")
        assert await runs_in_redis(h) == 1
        assert run_id_of({"text": ack[0]["text"]})
        assert not [p for p in slack.posted() if str(p.get("thread_ts", "")).startswith(("2100.", "2200."))]
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_slash_command_is_answered_by_the_front_door_without_bolts_dispatch(harness: Harness) -> None:
    """``/maple`` is the ack path's request: the front door answers it with the listener's own function, so
    Bolt's dispatch (its middleware chain and listener matching) is not on that path; everything else still
    goes through Bolt."""
    h = harness
    assert h.maple is not None
    dispatched: list[str] = []
    bolt_dispatch = h.maple.bolt.async_dispatch

    async def watched(request: Any) -> Any:
        dispatched.append(str(request.body.get("type") or request.body.get("command")))
        return await bolt_dispatch(request)

    h.maple.bolt.async_dispatch = watched  # type: ignore[method-assign]
    status, reply = await h.slash(REQUESTER, "run draft a note about the fire drill")
    assert status == 200 and reply["response_type"] == "ephemeral" and run_id_of(reply)
    assert dispatched == []
    event = {"type": "reaction_added", "user": REQUESTER, "reaction": "tada", "item": {"type": "message"}}
    assert (await h.event(event, event_id="EvBOLT1"))[0] == 200
    assert dispatched == ["event_callback"]


async def test_a_slash_command_whose_handling_fails_is_answered_500_and_starts_nothing(
    harness: Harness, monkeypatch: Any
) -> None:
    """As Bolt answers a listener that raised: logged, 500 (Slack shows the command failed), nothing written."""
    from bot.core.desk import Desk

    h = harness

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a defect in the desk")

    monkeypatch.setattr(Desk, "handle", broken)
    status, _ = await h.slash(REQUESTER, "run draft a note about the parking lot")
    assert status == 500
    assert await runs_in_redis(h) == 0
    monkeypatch.undo()
    status, reply = await h.slash(REQUESTER, "run draft a note about the parking lot")
    assert status == 200 and run_id_of(reply)


def test_the_front_doors_command_ack_is_the_one_bolt_builds() -> None:
    """The same status, headers and body as Bolt's ``ack(text=…, blocks=…, response_type=…)``."""
    from slack_bolt.context.ack.async_ack import AsyncAck

    from handlers.front import command_response

    block = {"type": "section", "text": {"type": "mrkdwn", "text": "*Pick one*"}}
    for params in ({"text": "On it — run R-1", "blocks": None, "response_type": "ephemeral"},
                   {"text": "Pick one", "blocks": [block], "response_type": "ephemeral"}):
        ack = AsyncAck()
        asyncio.run(ack(**params))
        bolt, ours = ack.response, command_response(**params)
        assert bolt is not None
        assert (ours.status, ours.headers, json.loads(ours.body)) == (bolt.status, bolt.headers, json.loads(bolt.body))


def test_the_front_doors_command_ack_with_nothing_to_say_is_the_one_bolt_builds() -> None:
    """Bolt's ``ack(text="", response_type=…)`` without blocks: the same body, empty text and all."""
    from slack_bolt.context.ack.async_ack import AsyncAck

    from handlers.front import command_response

    params: dict[str, Any] = {"text": "", "blocks": None, "response_type": "ephemeral"}
    ack = AsyncAck()
    asyncio.run(ack(**params))
    bolt, ours = ack.response, command_response(**params)
    assert bolt is not None
    assert (ours.status, ours.headers, ours.body) == (bolt.status, bolt.headers, bolt.body)


@pytest.mark.parametrize("hours, accepted", [(2.0, True), (-2.0, False)])
async def test_a_command_signed_with_the_previous_secret_is_answered_only_within_its_window(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, hours: float, accepted: bool
) -> None:
    """Signing-secret rotation on the ack path the front door answers itself: the old secret is honoured until
    MAPLE_SIGNING_SECRET_PREVIOUS_UNTIL and refused after it (401, nothing started); a replay is refused either way."""
    from datetime import UTC, datetime, timedelta

    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET_PREVIOUS", "the-old-signing-secret")
    monkeypatch.setenv("MAPLE_SIGNING_SECRET_PREVIOUS_UNTIL", (datetime.now(UTC) + timedelta(hours=hours)).isoformat())
    h = await Harness(slack=slack, openai=openai_fake).start(workers=0)
    try:
        body = urlencode({"token": "x", "team_id": "T0TEST", "channel_id": CHANNEL, "user_id": REQUESTER,
                          "command": "/maple", "text": "run draft a note about the rotation", "trigger_id": "trig-old",
                          "response_url": "http://127.0.0.1:9/unused", "api_app_id": "A0MAPLE"})
        signed = sign(body, secret="the-old-signing-secret")
        status, reply = await h.post(body, content_type="application/x-www-form-urlencoded", headers=signed)
        if accepted:
            assert status == 200 and run_id_of(reply)
        else:
            assert status == 401 and await runs_in_redis(h) == 0
        status, _ = await h.post(body, content_type="application/x-www-form-urlencoded", headers=signed)
        assert status == 401
        assert await runs_in_redis(h) == (1 if accepted else 0)
        status, reply = await h.slash(REQUESTER, "run draft a note about the new secret")
        assert status == 200 and run_id_of(reply)
    finally:
        await h.stop()
        await h.cleanup_redis()
