"""Maple used by someone who wants more than they may have, through signed Slack requests against the running app:
a bystander steering someone else's draft, work started while intake is paused, goals with personal data shown
back where they stay."""

from __future__ import annotations

import redis.asyncio as aioredis

from integrations.redis_controls import RedisControls
from tests.harness import REQUESTER, REVIEWER, Harness
from tests.scenario.test_followups import _mention, _run_in_thread, _version
from tests.scenario.test_loop import review_posts


async def test_only_the_requester_can_revise_a_draft_with_a_follow_up(harness: Harness) -> None:
    """A reviewer (who may also run the workflow) replying in the requester's thread must not rewrite the draft —
    else they steer the text and then approve their own version, a review of one."""
    h = harness
    await _mention(h, REQUESTER, "run draft a note to the team about the budget", ts="8100.000001")
    run_id = await _run_in_thread(h, "8100.000001")
    await _version(h, run_id, 1)
    await h.wait_for(lambda: len(review_posts(h, run_id)) == 2, what="review posts")
    mark = len(h.slack.calls)
    asked = len(h.openai.requests)
    await _mention(h, REVIEWER, "add that the budget doubles next year", ts="8100.000002", thread_ts="8100.000001")
    refusals = await h.wait_for(lambda: [c.params for c in h.slack.calls[mark:]
                                         if c.method == "chat.postEphemeral" and c.params.get("user") == REVIEWER],
                                what="the refusal")
    assert "Only the person who asked" in str(refusals[0])
    run = await h.run(run_id)
    assert run.state.value == "in_review" and run.draft_version == 1 and run.followups == []
    assert len(h.openai.requests) == asked and "doubles" not in h.openai.texts_received()


async def test_a_follow_up_while_intake_is_paused_starts_no_new_draft(harness: Harness) -> None:
    h = harness
    await _mention(h, REQUESTER, "run draft a note about the office move", ts="8101.000001")
    run_id = await _run_in_thread(h, "8101.000001")
    await _version(h, run_id, 1)
    r = aioredis.from_url(h.redis_url)
    controls = RedisControls(redis=r, prefix=h.prefix)
    try:
        await controls.set("intake_paused", on=True, by="ops")
        await h.wait_for(lambda: h.svc.control_state().intake_paused, what="the pause seen")
        mark = len(h.slack.calls)
        await _mention(h, REQUESTER, "make it shorter", ts="8101.000002", thread_ts="8101.000001")
        told = await h.wait_for(lambda: [c.params for c in h.slack.calls[mark:]
                                         if c.method in ("chat.postEphemeral", "chat.postMessage")
                                         and "paused" in str(c.params)], what="the paused notice")
        assert told
        run = await h.run(run_id)
        assert run.state.value == "in_review" and run.followups == [] and run.draft_version == 1
    finally:
        await controls.set("intake_paused", on=False, by="ops")
        await r.aclose()
