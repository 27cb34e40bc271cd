"""Follow-ups on answers already delivered, through signed Slack requests: a reply in the thread of a delivered
draft or answer is a new version of the same run — drafted, checked, reviewed again when the workflow requires it,
with what changed on the review message — delivered anew; the thread index is written with the run, so a reply
under a result posted elsewhere finds it; runs that cannot be revised (still working, cancelled, purged) get a
clear answer and never a new run; people who may not run the workflow are refused privately."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

from tests.harness import CHANNEL, OUTSIDER, REQUESTER, REVIEWER, Harness, spec_dict
from tests.pane_kit import PANE, open_thread, said
from tests.scenario.test_feedback import vote
from tests.scenario.test_followups import _mention, _run_in_thread, _version
from tests.scenario.test_loop import review_posts, run_id_of

IDEA = {"id": "idea", "title": "Ideas", "description": "Brainstorm ideas, answered at once (no review).",
        "examples": ["brainstorm names for the new product"], "keywords": ["brainstorm", "ideas"], "review": False,
        "steps": [{"kind": "generate", "capability": "draft", "tier": "standard"}, {"kind": "check"},
                  {"kind": "deliver", "to": "origin"}]}


def with_ideas(h: Harness, **idea: Any) -> None:
    data = spec_dict()
    data["workflows"] = [*data["workflows"], {**IDEA, **idea}]
    h.spec_data = data


def results(h: Harness, run_id: str) -> list[dict[str, Any]]:
    found = []
    for p in h.slack.posted():
        payload = (p.get("metadata") or {}).get("event_payload") or {}
        if payload.get("run_id") == run_id and str(payload.get("effect", "")).startswith("result"):
            found.append(p)
    return found


async def _delivered_round(h: Harness, run_id: str, rnd: int) -> Any:
    async def check() -> Any:
        run = await h.run(run_id)
        return run if run.state.value == "delivered" and run.round == rnd else None

    return await h.wait_for(check, what=f"round {rnd} delivered")


def _said_to(h: Harness, user: str, mark: int) -> list[str]:
    return [str(c.params.get("blocks") or c.params.get("text")) for c in h.slack.calls[mark:]
            if c.method == "chat.postEphemeral" and c.params.get("user") == user]


async def test_a_follow_up_on_a_delivered_draft_is_reviewed_again_and_delivered_anew(harness: Harness) -> None:
    h = harness
    h.openai.reply = "Hello team. The release is on Friday. Please finish your reviews by Thursday."
    await _mention(h, REQUESTER, "run draft a note to the team about friday's release", ts="8100.000001")
    run_id = await _run_in_thread(h, "8100.000001")
    await _version(h, run_id, 1)
    await h.click(REVIEWER, "maple_approve", run_id)
    await h.wait_state(run_id, "delivered")
    first_reviews = {p["channel"] for p in review_posts(h, run_id)}
    h.openai.reply = "Hello team. The release is on Friday."
    mark = len(h.openai.requests)
    await _mention(h, REQUESTER, "shorter, drop the reviews line", ts="8100.000002", thread_ts="8100.000001")
    run = await _version(h, run_id, 2)
    assert run.round == 1 and run.decision is None and run.followups[0].text == "shorter, drop the reviews line"
    assert "Please finish your reviews by Thursday." in str(h.openai.requests[mark:])  # the model saw version 1
    await h.wait_for(lambda: len(review_posts(h, run_id)) == 2 * len(first_reviews), what="new review messages")
    revised = review_posts(h, run_id)[-1]["blocks"]
    shown = str(revised)
    assert "What changed" in shown and "~Please finish your reviews by Thursday.~" in shown
    assert "shorter, drop the reviews line" in shown
    await h.click(REVIEWER, "maple_approve", run_id, version=1)  # the version approved before: refused
    assert (await h.run(run_id)).state.value == "in_review"
    await h.click(REVIEWER, "maple_approve", run_id, version=2)
    run = await _delivered_round(h, run_id, 1)
    posted = results(h, run_id)
    assert [p["metadata"]["event_payload"]["effect"] for p in posted] == ["result", "result@r1"]
    assert all(p["channel"] == CHANNEL and p["thread_ts"] == "8100.000001" for p in posted)
    assert "Please finish" not in str(posted[1]["blocks"]) and "Version 2" in str(posted[1]["blocks"])
    assert "r0/result" in run.effects and run.effects["result"].ts != run.effects["r0/result"].ts
    kinds = [e.kind for e in await h.svc.audit.timeline(run_id)]
    assert kinds.count("run.delivered") == 2 and kinds.count("review.decided") >= 2 and "draft.followup" in kinds
    for step in ("sensitivity.assessed", "route.decided", "policy.checked", "review.requested"):
        assert kinds.count(step) >= 2, step  # assessed, routed, checked and reviewed again
    runs = await h.svc.store.since(h.svc.clock.now().replace(year=2000), limit=500)
    assert [r.id for r in runs] == [run_id]  # no second run


async def test_a_follow_up_on_an_unreviewed_answer_in_the_pane_is_answered_again_there(harness: Harness) -> None:
    h = harness
    with_ideas(h)
    await h.stop()
    await h.start()
    h.openai.reply = "Maple Leaf. Northwind. Bluebird. Aurora."
    await open_thread(h, REQUESTER, thread_ts="8101.000001")
    await h.event(said(REQUESTER, "run idea brainstorm names for the new product", thread_ts="8101.000001"))
    run_id = await _run_in_thread(h, "8101.000001")
    await _delivered_round(h, run_id, 0)
    h.openai.reply = "Maple Leaf. Aurora."
    await h.event(said(REQUESTER, "only two of them", thread_ts="8101.000001"))
    run = await _delivered_round(h, run_id, 1)
    assert run.draft_version == 2 and run.drafts[0].text == "Maple Leaf. Northwind. Bluebird. Aurora."
    posted = results(h, run_id)
    assert [(p["channel"], p.get("thread_ts")) for p in posted] == [(PANE, "8101.000001")] * 2  # the pane's thread
    revising = [p for p in h.slack.posted(PANE) if "Revising run" in str(p.get("text"))]
    assert revising and "posted where the last one was" in revising[0]["text"]
    assert "feedback:" + run_id + "@r1" in str(posted[1]["blocks"])  # the new answer's buttons name its round
    old = await vote(h, REQUESTER, run_id, "bad", channel=PANE)
    assert "revised since" in str(old[0]["blocks"])  # the earlier answer's buttons: a vote binds to what was seen
    new = await vote(h, REQUESTER, f"{run_id}@r1", "good", channel=PANE)
    assert "recorded" in str(new[0]["blocks"])
    votes = [e for e in await h.svc.audit.timeline(run_id) if e.kind == "feedback.given"]
    assert [e.attrs["maple.vote"] for e in votes] == ["positive"]


async def test_a_reply_under_a_result_posted_at_the_top_of_a_channel_finds_its_run(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, "run draft a note about the parking rules")
    run_id = run_id_of(reply)
    await h.wait_state(run_id, "in_review")
    await h.click(REVIEWER, "maple_approve", run_id)
    run = await h.wait_state(run_id, "delivered")
    result = run.effects["result"]
    assert result.thread_ts is None and result.ts
    r = aioredis.from_url(h.redis_url)
    try:  # written with the run, by the same atomic write that recorded where the result is
        assert (await r.get(f"{h.prefix}thread:{CHANNEL}:{result.ts}")).decode() == run_id
    finally:
        await r.aclose()
    await _mention(h, REQUESTER, "add the date", ts="8102.000002", thread_ts=result.ts)
    run = await _version(h, run_id, 2)
    assert run.round == 1 and run.followups[0].text == "add the date"


async def test_a_run_still_working_cancelled_or_purged_gets_a_clear_answer(harness: Harness) -> None:
    h = harness
    h.openai.gate = asyncio.Event()  # the model does not answer yet: the run stays in drafting
    await _mention(h, REQUESTER, "run draft a note about the new badges", ts="8103.000001")
    run_id = await _run_in_thread(h, "8103.000001")
    await h.wait_for(lambda: h.openai.requests, what="the model asked")
    mark = len(h.slack.calls)
    await _mention(h, REQUESTER, "shorter", ts="8103.000002", thread_ts="8103.000001")
    told = await h.wait_for(lambda: _said_to(h, REQUESTER, mark), what="the answer")
    assert "still being worked on (drafting)" in told[0]
    h.openai.gate.set()
    await _version(h, run_id, 1)
    await h.interact({"type": "block_actions", "user": {"id": REQUESTER}, "trigger_id": "trig-cancel",
                      "channel": {"id": "D0REQUEST"}, "container": {"type": "message", "channel_id": "D0REQUEST"},
                      "actions": [{"action_id": "maple_cancel", "block_id": f"progress:{run_id}", "value": run_id,
                                   "type": "button"}]})
    await h.wait_state(run_id, "cancelled")
    mark = len(h.slack.calls)
    await _mention(h, REQUESTER, "shorter", ts="8103.000003", thread_ts="8103.000001")
    told = await h.wait_for(lambda: _said_to(h, REQUESTER, mark), what="the answer")
    assert "was cancelled" in told[0]
    assert await h.svc.store.erase(run_id)  # maple purge
    mark = len(h.slack.calls)
    await _mention(h, REQUESTER, "shorter", ts="8103.000004", thread_ts="8103.000001")
    told = await h.wait_for(lambda: _said_to(h, REQUESTER, mark), what="the answer")
    assert "no longer kept" in told[0] and run_id in told[0]
    assert await h.svc.store.since(h.svc.clock.now().replace(year=2000), limit=500) == []  # no new run, ever


async def test_follow_ups_on_a_delivered_answer_from_people_who_may_not_run_it_are_refused(harness: Harness) -> None:
    h = harness
    with_ideas(h, run_roles=["reviewer"])
    await h.stop()
    await h.start()
    await _mention(h, REVIEWER, "run idea brainstorm a team name", ts="8104.000001")
    run_id = await _run_in_thread(h, "8104.000001")
    await _delivered_round(h, run_id, 0)
    asked = len(h.openai.requests)
    for n, who in enumerate((OUTSIDER, REQUESTER)):  # no role at all; a role that may not run this workflow
        mark = len(h.slack.calls)
        await _mention(h, who, "make them funnier", ts=f"8104.00001{n}", thread_ts="8104.000001")
        told = await h.wait_for(lambda w=who, m=mark: _said_to(h, w, m), what="the refusal")  # type: ignore[misc]
        assert "access" in told[0]
        assert not [c for c in h.slack.calls[mark:] if c.method == "chat.postMessage"]  # privately, nothing posted
    run = await h.run(run_id)
    assert run.state.value == "delivered" and run.followups == [] and run.round == 0
    assert len(h.openai.requests) == asked


async def test_a_follow_up_in_a_direct_message_thread_revises_the_delivered_draft(harness: Harness) -> None:
    h = harness
    status, _ = await h.event({"type": "message", "channel_type": "im", "user": REQUESTER, "channel": PANE,
                               "ts": "8105.000001", "text": "run draft a note thanking the support team",
                               "team": "T0TEST"})
    assert status == 200
    run_id = await _run_in_thread(h, "8105.000001")
    await _version(h, run_id, 1)
    await h.click(REVIEWER, "maple_approve", run_id)
    await _delivered_round(h, run_id, 0)
    await h.event(said(REQUESTER, "add the date", thread_ts="8105.000001"))  # a reply in that DM's thread
    run = await _version(h, run_id, 2)
    assert run.round == 1 and run.followups[0].text == "add the date"
    await h.click(REVIEWER, "maple_approve", run_id)
    await _delivered_round(h, run_id, 1)
    assert [(p["channel"], p.get("thread_ts")) for p in results(h, run_id)] == [(PANE, "8105.000001")] * 2
