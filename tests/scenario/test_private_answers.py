"""Answers gated by a permission go to the person who asked, never to the whole channel."""

from __future__ import annotations

from tests.harness import ADMIN, CHANNEL, OUTSIDER, REQUESTER, Harness
from tests.scenario.test_loop import start_draft


def _calls_after(h: Harness, mark: int, method: str) -> list[dict]:
    return [c.params for c in h.slack.calls[mark:] if c.method == method and c.ok]


async def _mention(h: Harness, user: str, text: str, ts: str) -> None:
    status, _ = await h.event({"type": "app_mention", "user": user, "channel": CHANNEL, "ts": ts,
                               "text": f"<@U0MAPLEBOT> {text}"})
    assert status == 200


async def test_status_and_audit_mentions_answer_the_asker_alone(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)
    for user, command, ts in ((REQUESTER, "status", "1800.0001"), (ADMIN, "audit", "1800.0002")):
        mark = len(h.slack.calls)
        await _mention(h, user, f"{command} {run_id}", ts)
        ephemerals = await h.wait_for(lambda m=mark: _calls_after(h, m, "chat.postEphemeral"), what="ephemeral")
        assert ephemerals[0]["user"] == user and "thread_ts" not in ephemerals[0]
        assert run_id in str(ephemerals[0]["blocks"])
        posted = [p for p in _calls_after(h, mark, "chat.postMessage") if p.get("channel") == CHANNEL]
        assert not any(run_id in str(p) for p in posted), "the run's details were posted for the whole channel"


async def test_refusal_to_a_mention_is_not_posted_in_the_thread(harness: Harness) -> None:
    h = harness
    mark = len(h.slack.calls)
    await _mention(h, OUTSIDER, "draft a note to the team", "1800.0003")
    ephemerals = await h.wait_for(lambda: _calls_after(h, mark, "chat.postEphemeral"), what="ephemeral")
    assert ephemerals[0]["user"] == OUTSIDER and "access" in str(ephemerals[0]["blocks"])
    assert not [p for p in _calls_after(h, mark, "chat.postMessage") if p.get("channel") == CHANNEL]


async def test_a_refusal_slack_cannot_show_in_the_channel_goes_to_a_direct_message(harness: Harness) -> None:
    """Slack refuses the ephemeral message (Maple is not a member of that channel): the refusal goes to the
    person's direct messages with Maple, and still nothing is posted in the channel."""
    h = harness
    h.slack.fail_next("chat.postEphemeral", error="not_in_channel", status=200)
    mark = len(h.slack.calls)
    await _mention(h, OUTSIDER, "draft a note to the team", "1800.0004")
    told = await h.wait_for(lambda: [p for p in _calls_after(h, mark, "chat.postMessage")
                                     if p.get("channel", "").startswith("D") and "access" in str(p["blocks"])],
                            what="the refusal by DM")
    assert told and not [p for p in _calls_after(h, mark, "chat.postMessage") if p.get("channel") == CHANNEL]
    assert [c for c in h.slack.calls[mark:] if c.method == "chat.postEphemeral"]  # it was tried first
