"""Maple used by someone who wants more than they may have, through signed Slack requests against the running app:
a bystander steering someone else's draft, work started while intake is paused, goals with personal data shown
back where they stay."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from integrations.redis_controls import RedisControls
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import ADMIN, OUTSIDER, REQUESTER, REVIEWER, Harness, spec_dict
from tests.pane_kit import open_thread, said
from tests.scenario.test_audience import PRIVATE_MODEL
from tests.scenario.test_audience import SECRET as SECRET_CHANNEL
from tests.scenario.test_followups import _mention, _run_in_thread, _version
from tests.scenario.test_loop import review_posts, run_id_of, start_draft

SIN = "130 692 544"
SIN_GOAL = f"run draft a letter to Luc Tremblay about his SIN {SIN} being on the wrong form"


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


@pytest.fixture
async def cleared(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    """Maple whose model is cleared for restricted data: a goal with a SIN is drafted and goes to review."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    data = spec_dict()
    data["models"][0]["clearance"] = "restricted"
    h = Harness(slack=slack, openai=openai_fake, spec=data)
    await h.start()
    yield h
    await h.stop()
    await h.cleanup_redis()


async def _home(h: Harness, user: str) -> str:
    before = len(h.slack.calls_to("views.publish"))
    await h.event({"type": "app_home_opened", "user": user, "tab": "home"})
    published = await h.wait_for(lambda: h.slack.calls_to("views.publish")[before:], what=f"home of {user}")
    return str(published[-1].params["view"])


async def test_a_goal_with_a_sin_is_never_shown_back_in_status_app_home_nor_on_cancel(cleared: Harness) -> None:
    """The README's promise: a goal holding a detected value is never repeated back — `/maple status R-…`, App
    Home (kept by Slack, shown to the requester, the reviewers and the admins) and the notices of a click included."""
    h = cleared
    _, reply = await h.slash(REQUESTER, SIN_GOAL)
    run_id = run_id_of(reply)
    await h.wait_state(run_id, "in_review")
    for user in (REQUESTER, REVIEWER):
        _, said_back = await h.slash(user, f"status {run_id}")
        assert run_id in said_back["text"] and SIN not in str(said_back), f"the status shown to {user}"
    for user in (REQUESTER, REVIEWER):
        home = await _home(h, user)
        assert run_id in home, f"the run is listed for {user}"
        assert SIN not in home and "Luc Tremblay" not in home, f"the goal is shown back to {user}"
    mark = len(h.slack.calls)
    await h.interact({"type": "block_actions", "user": {"id": REQUESTER}, "trigger_id": "trig-c1",
                      "channel": {"id": "D0REQUEST"},
                      "container": {"type": "message", "channel_id": "D0REQUEST", "message_ts": "1.1"},
                      "actions": [{"action_id": "maple_cancel", "block_id": f"run:{run_id}", "value": run_id,
                                   "type": "button", "action_ts": "1.2"}]})
    await h.wait_state(run_id, "cancelled")
    told = await h.wait_for(lambda: [c.params for c in h.slack.calls[mark:] if run_id in str(c.params)
                                     and c.method in ("chat.postEphemeral", "chat.postMessage")], what="the notice")
    assert SIN not in str(told)


async def test_a_goal_with_a_sin_is_not_the_pane_threads_title(cleared: Harness) -> None:
    h = cleared
    await open_thread(h, REQUESTER, thread_ts="8102.000001")
    await h.event(said(REQUESTER, SIN_GOAL, thread_ts="8102.000001"))
    run_id = await _run_in_thread(h, "8102.000001")
    await h.wait_state(run_id, "in_review")
    titles = [c["title"] for c in h.slack.pane_calls("setTitle")]
    assert titles and all(SIN not in t and "Tremblay" not in t for t in titles), titles


async def test_an_admin_cannot_take_the_review_of_a_run_that_is_not_stuck(harness: Harness) -> None:
    """*Review it myself* is the way out for a run nobody left can approve; clicked on a run its reviewers can still
    decide (a button left from when it was stuck, say), it would let an admin with no reviewer role approve it."""
    h = harness
    run_id = await start_draft(h)
    mark = len(h.slack.calls)
    await h.interact({"type": "block_actions", "user": {"id": ADMIN}, "channel": {"id": "D0ADMIN"},
                      "trigger_id": "t-take", "actions": [{"action_id": "maple_take", "value": run_id,
                                                           "type": "button", "action_ts": "1.2"}]})
    told = await h.wait_for(lambda: [c.params for c in h.slack.calls[mark:] if c.method == "chat.postEphemeral"
                                     and c.params.get("user") == ADMIN], what="the admin's answer")
    assert "can still" in str(told[0]) and run_id in str(told[0])
    assert (await h.run(run_id)).assigned == []
    await h.click(ADMIN, "maple_approve", run_id, channel="D0ADMIN")
    assert (await h.run(run_id)).state.value == "in_review"


@pytest.fixture
async def private_source(slack: FakeSlack, openai_fake: FakeOpenAI,
                         monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    """A private channel of which the requester and one reviewer (ADMIN) are members; REVIEWER is not."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    spec = spec_dict()
    spec["roles"]["reviewer"] = [REVIEWER, ADMIN]
    spec["models"].append(PRIVATE_MODEL)
    slack.add_channel(SECRET_CHANNEL, member=True, private=True, members=[REQUESTER, ADMIN])
    slack.messages[SECRET_CHANNEL].append({"ts": "100.2", "user": ADMIN, "text": "The exec team agreed the layoffs."})
    h = Harness(slack=slack, openai=openai_fake, spec=spec)
    await h.start()
    yield h
    await h.stop()
    await h.cleanup_redis()


async def test_a_rejection_reason_of_a_private_run_is_withheld_from_status_outside_its_audience(
        private_source: Harness) -> None:
    """The reviewer inside the channel may quote it in their reason; `/maple status R-…` by a reviewer of the
    workflow who cannot read the channel must not show it (the ops digest withholds it too)."""
    h = private_source
    _, reply = await h.slash(REQUESTER, f"summarize the discussion in <#{SECRET_CHANNEL}|exec>")
    run_id = run_id_of(reply)
    await h.wait_state(run_id, "in_review")
    await h.submit(ADMIN, "maple_reject_view", run_id, {"reason": "Leave out the layoffs in Ottawa"})
    await h.wait_state(run_id, "rejected")
    _, inside = await h.slash(REQUESTER, f"status {run_id}")
    assert "layoffs in Ottawa" in inside["text"]  # the requester reads the channel
    _, outside = await h.slash(REVIEWER, f"status {run_id}")
    assert run_id in outside["text"] and "Rejected" in outside["text"]
    assert "Ottawa" not in str(outside)


async def test_a_reviewer_outside_a_runs_audience_cannot_decide_it_and_does_not_count_as_able(
        private_source: Harness) -> None:
    """The draft of a private channel's summary never reached REVIEWER (not a member); a click of theirs (a
    forged payload) must not approve what they could not read, and they are no reviewer left to approve it: when
    the one reviewer inside edits, the run is stuck (and said to be)."""
    h = private_source
    _, reply = await h.slash(REQUESTER, f"summarize the discussion in <#{SECRET_CHANNEL}|exec>")
    run_id = run_id_of(reply)
    await h.wait_state(run_id, "in_review")
    await h.click(REVIEWER, "maple_approve", run_id)
    run = await h.run(run_id)
    assert run.state.value == "in_review" and REVIEWER not in run.approvals
    opened = len(h.slack.calls_to("views.open"))
    await h.click(REVIEWER, "maple_edit", run_id)  # the edit form holds the draft
    await h.click(REVIEWER, "maple_reject", run_id)
    assert len(h.slack.calls_to("views.open")) == opened
    assert run_id not in await _home(h, REVIEWER)  # not "waiting for my review"
    await h.submit(ADMIN, "maple_edit_view", run_id, {"draft_0": "The exec team met."})
    await h.wait_for(lambda: h.run(run_id), what="the edit")
    async def edited() -> bool:
        return (await h.run(run_id)).draft_version == 2
    await h.wait_for(edited, what="version 2")
    _, said_back = await h.slash(REQUESTER, f"status {run_id}")
    assert "Stuck" in said_back["text"]


async def test_picking_a_workflow_for_a_held_goal_while_intake_is_paused_starts_nothing(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, "Acme")
    run_id = run_id_of({"text": str(reply["blocks"])})
    r = aioredis.from_url(h.redis_url)
    controls = RedisControls(redis=r, prefix=h.prefix)
    try:
        await controls.set("intake_paused", on=True, by="ops")
        await h.wait_for(lambda: h.svc.control_state().intake_paused, what="the pause seen")
        mark = len(h.slack.calls)
        await h.interact({"type": "block_actions", "user": {"id": REQUESTER}, "channel": {"id": "C0GENERAL"},
                          "trigger_id": "t-pick", "actions": [{"action_id": "maple_pick_draft",
                                                               "value": f"{run_id}:draft"}]})
        told = await h.wait_for(lambda: [c.params for c in h.slack.calls[mark:] if "paused" in str(c.params)],
                                what="the paused notice")
        assert told
        run = await h.run(run_id)
        assert run.workflow == "" and run.state.value == "queued" and not h.openai.requests
    finally:
        await controls.set("intake_paused", on=False, by="ops")
        await r.aclose()


async def test_a_vote_from_someone_who_may_not_see_the_run_learns_nothing_about_it(harness: Harness) -> None:
    """A crafted 👍 on a run id from an outsider is refused before anything about the run — whether it exists,
    its state — is said."""
    from tests.scenario.test_feedback import vote

    h = harness
    run_id = await start_draft(h)
    answers = await vote(h, OUTSIDER, run_id, "good")
    assert "in review" not in str(answers) and "You can only give feedback" in str(answers)
    assert [e.kind for e in await h.svc.audit.timeline(run_id)].count("feedback.given") == 0


async def test_an_ask_back_in_a_channel_does_not_quote_a_goal_with_a_sin(harness: Harness) -> None:
    """A vague mention holding a SIN is asked back to its asker alone, in the channel (Slack shows it on
    their screen, in a channel where others look over shoulders): the question must not repeat the number, and
    nothing of it is posted in the channel."""
    h = harness
    await _mention(h, REQUESTER, f"do the thing with SIN {SIN}", ts="8103.000001")
    asked = await h.wait_for(lambda: [c.params for c in h.slack.calls_to("chat.postEphemeral")
                                      if c.ok and "maple_pick_" in str(c.params.get("blocks"))], what="ask-back")
    assert asked[0]["channel"] == "C0GENERAL" and asked[0]["user"] == REQUESTER
    assert SIN not in str(asked)
    assert not [p for p in h.slack.posted("C0GENERAL") if SIN in str(p)]
    _, reply = await h.slash(REQUESTER, f"do the thing with SIN {SIN}")
    assert SIN not in str(reply)


async def test_purge_erases_a_persons_run_that_outlived_its_place_in_the_runs_index(harness: Harness) -> None:
    """A run's text lives `text_ttl_days` after its *last change*, but its entry in the runs index is trimmed by
    its *creation* time: a run created 40 days ago and changed since was missed by `maple purge --user`, its goal
    and drafts left in Redis after the purge said it was done."""
    from datetime import timedelta

    from bot.core.models import Origin, Run
    from tests.scenario.test_operations import cli

    h = harness
    old = h.svc.clock.now() - timedelta(days=40)
    kept = await h.svc.store.create(Run(requester=REQUESTER, origin=Origin(channel="C0GENERAL"),
                                        goal="an old goal with my address", workflow="draft", created_at=old,
                                        updated_at=old))
    await start_draft(h)  # a new run trims the index of runs created before the retention
    assert kept.id not in await h.svc.store.ids_since(old - timedelta(days=1))
    done = await cli(h, "purge", "--user", REQUESTER, "--by", "dpo")
    assert done.returncode == 0, done.stdout + done.stderr
    r = aioredis.from_url(h.redis_url)
    try:
        assert not await r.exists(h.svc.store.run_key(kept.id))
    finally:
        await r.aclose()
