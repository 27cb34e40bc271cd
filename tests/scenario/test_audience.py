"""Text keeps its audience: what is read from a private channel reaches only people who can read that channel —
reviewers included — and never a wider destination, whatever the detectors say."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import ADMIN, CHANNEL, REQUESTER, REVIEWER, Harness, spec_dict
from tests.scenario.test_loop import run_id_of

SECRET = "G0SECRET"
PRIVATE_MODEL = {"name": "private", "kind": "openai-compatible", "api_key_env": "MAPLE_TEST_OPENAI_KEY",
                 "model": "private-llm", "tier": "standard", "clearance": "confidential", "price_in": 0.02,
                 "price_out": 0.02, "timeout": 5}


@pytest.fixture
async def h(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    spec = spec_dict()
    spec["roles"]["reviewer"] = [REVIEWER, ADMIN]
    spec["models"].append(PRIVATE_MODEL)
    slack.add_channel(SECRET, member=True, private=True, members=[REQUESTER, ADMIN])
    slack.messages[SECRET].append({"ts": "100.2", "user": ADMIN, "text": "The exec team agreed the Q3 layoffs."})
    harness = Harness(slack=slack, openai=openai_fake, spec=spec)
    await harness.start()
    yield harness
    await harness.stop()
    await harness.cleanup_redis()


def _effect(post: dict) -> str:
    return str((post.get("metadata") or {}).get("event_payload", {}).get("effect", ""))


async def test_summary_of_a_private_channel_is_reviewed_and_delivered_only_inside_its_audience(h: Harness) -> None:
    _, reply = await h.slash(REQUESTER, f"summarize the discussion in <#{SECRET}|exec>")
    run_id = run_id_of(reply)
    run = await h.wait_state(run_id, "in_review")
    assert run.audience.members == sorted([REQUESTER, ADMIN]) and run.audience.sources == [SECRET]
    assert run.sensitivity.label == "confidential"  # a private channel's floor, whatever the detectors say
    assert {r["model"] for r in h.openai.requests} == {"private-llm"}  # not the model cleared for internal only
    reviews = await h.wait_for(lambda: [p for p in h.slack.posted() if _effect(p).startswith("review:")],
                               what="review post")
    assert {_effect(p) for p in reviews} == {f"review:{ADMIN}"}  # the reviewer outside #exec gets nothing
    await h.click(ADMIN, "maple_approve", run_id)
    await h.wait_state(run_id, "delivered")
    results = [p for p in h.slack.posted() if _effect(p) == "result"]
    assert len(results) == 1 and results[0]["channel"] == "D0REQUEST"  # not public #general
    assert not [p for p in h.slack.posted(CHANNEL) if "layoffs" in str(p)]
    rerouted = [p for p in h.slack.posted("D0REQUEST") if _effect(p) == "notify:rerouted"]
    assert rerouted and "confidential" in str(rerouted[0]["blocks"])


async def test_audience_holds_even_when_the_level_would_allow_the_destination(
        slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    """With private channels' floor lowered to internal, the level no longer stops the result; the audience does."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    spec = spec_dict(sensitivity={"default": "internal", "sources": {"private": "internal"}})
    spec["roles"]["reviewer"] = [REVIEWER, ADMIN]
    slack.add_channel(SECRET, member=True, private=True, members=[REQUESTER, ADMIN])
    slack.messages[SECRET].append({"ts": "100.2", "user": ADMIN, "text": "The exec team agreed the Q3 layoffs."})
    h = await Harness(slack=slack, openai=openai_fake, spec=spec).start()
    try:
        _, reply = await h.slash(REQUESTER, f"summarize the discussion in <#{SECRET}|exec>")
        run_id = run_id_of(reply)
        run = await h.wait_state(run_id, "in_review")
        assert run.sensitivity.label == "internal" and run.audience.members == sorted([REQUESTER, ADMIN])
        reviews = await h.wait_for(lambda: [p for p in h.slack.posted() if _effect(p).startswith("review:")],
                                   what="review post")
        assert {_effect(p) for p in reviews} == {f"review:{ADMIN}"}
        await h.click(ADMIN, "maple_approve", run_id)
        await h.wait_state(run_id, "delivered")
        assert [p["channel"] for p in h.slack.posted() if _effect(p) == "result"] == ["D0REQUEST"]
        rerouted = [p for p in h.slack.posted("D0REQUEST") if _effect(p) == "notify:rerouted"]
        assert "not everyone there can read" in str(rerouted[0]["blocks"])
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_unreviewed_digest_of_a_private_channel_is_not_posted_in_public(h: Harness) -> None:
    _, reply = await h.slash(REQUESTER, f"run digest the week in <#{SECRET}|exec>")
    run_id = run_id_of(reply)
    await h.wait_state(run_id, "delivered")
    results = [p for p in h.slack.posted() if _effect(p) == "result"]
    assert [p["channel"] for p in results] == ["D0REQUEST"]
    assert not [p for p in h.slack.posted(CHANNEL) if _effect(p) == "result"]


async def test_confidential_result_is_not_delivered_into_a_channel_with_a_guest(h: Harness) -> None:
    h.slack.add_channel("G0TEAM", member=True, private=True, members=[REQUESTER, ADMIN, "U0GUEST"])
    h.slack.guests.add("U0GUEST")
    _, reply = await h.slash(REQUESTER, "run draft a note about project plans for Ann at ann@example.com",
                             channel="G0TEAM")
    run_id = run_id_of(reply)
    run = await h.wait_state(run_id, "in_review")
    assert run.sensitivity.label == "confidential"
    await h.click(ADMIN, "maple_approve", run_id)
    await h.wait_state(run_id, "delivered")
    results = [p for p in h.slack.posted() if _effect(p) == "result"]
    assert [p["channel"] for p in results] == ["D0REQUEST"]
    rerouted = [p for p in h.slack.posted("D0REQUEST") if _effect(p) == "notify:rerouted"]
    assert "guest" in str(rerouted[0]["blocks"])
