"""Follow-ups in the thread of a draft waiting for review, through signed Slack requests: a new version of the same
run — assessed, routed, generated and checked again, back to the reviewers with what changed — and refused for
someone who may not run the workflow."""

from __future__ import annotations

from typing import Any

from tests.harness import CHANNEL, OUTSIDER, REQUESTER, REVIEWER, Harness
from tests.pane_kit import open_thread, said
from tests.scenario.test_loop import review_posts


async def _mention(h: Harness, user: str, words: str, *, ts: str, thread_ts: str | None = None) -> None:
    event: dict[str, Any] = {"type": "app_mention", "user": user, "channel": CHANNEL, "ts": ts,
                             "text": f"<@U0MAPLEBOT> {words}"}
    if thread_ts:
        event["thread_ts"] = thread_ts
    status, _ = await h.event(event)
    assert status == 200


async def _run_in_thread(h: Harness, thread_ts: str) -> str:
    async def find() -> str | None:
        runs = await h.svc.store.since(h.svc.clock.now().replace(year=2000), limit=500)
        return next((str(r.id) for r in runs if r.origin.thread_ts == thread_ts), None)

    return str(await h.wait_for(find, what="the thread's run"))


async def _version(h: Harness, run_id: str, version: int) -> Any:
    async def check() -> Any:
        run = await h.run(run_id)
        return run if run.state.value == "in_review" and run.draft_version == version else None

    return await h.wait_for(check, what=f"version {version} in review")


async def test_a_follow_up_revises_the_draft_as_a_new_version_of_the_same_run(harness: Harness) -> None:
    h = harness
    await _mention(h, REQUESTER, "run draft a note to the team about friday's release", ts="8000.000001")
    run_id = await _run_in_thread(h, "8000.000001")
    await _version(h, run_id, 1)
    await h.wait_for(lambda: len(review_posts(h, run_id)) == 2, what="review posts")
    first = (await h.run(run_id)).draft.text
    h.openai.reply = "Team: release on Friday."
    mark = len(h.openai.requests)
    await _mention(h, REQUESTER, "make it shorter", ts="8000.000002", thread_ts="8000.000001")
    run = await _version(h, run_id, 2)
    assert run.draft.text == "Team: release on Friday." and run.followups[0].text == "make it shorter"
    asked = str(h.openai.requests[mark:])
    assert "make it shorter" in asked and first in asked  # the model saw the previous draft and the follow-up
    kinds = [e.kind for e in await h.svc.audit.timeline(run_id)]
    assert "draft.followup" in kinds and kinds.count("route.decided") >= 2 and kinds.count("sensitivity.assessed") == 2
    def revised() -> list[dict[str, Any]]:
        found = [c.params for c in h.slack.calls_to("chat.update") if "follow-up" in str(c.params.get("blocks"))]
        return found if {u["channel"] for u in found} == {"D0REVIEW", "D0REVIEW2"} else []

    updated = await h.wait_for(revised, what="both reviewers' messages updated")
    assert "make it shorter" in str(updated[-1]["blocks"]) and "Team: release on Friday." in str(updated[-1]["blocks"])
    # a click on the version the reviewer saw before the follow-up is refused; on the new one it delivers
    await h.click(REVIEWER, "maple_approve", run_id, version=1)
    assert (await h.run(run_id)).state.value == "in_review"
    await h.click(REVIEWER, "maple_approve", run_id, version=2)
    await h.wait_state(run_id, "delivered")


async def test_a_follow_up_from_someone_who_may_not_run_the_workflow_is_refused(harness: Harness) -> None:
    h = harness
    await _mention(h, REQUESTER, "run draft a note about the office move", ts="8001.000001")
    run_id = await _run_in_thread(h, "8001.000001")
    await _version(h, run_id, 1)
    mark = len(h.slack.calls)
    await _mention(h, OUTSIDER, "add that the move is cancelled", ts="8001.000002", thread_ts="8001.000001")
    refusals = await h.wait_for(lambda: [c.params for c in h.slack.calls[mark:]
                                         if c.method == "chat.postEphemeral" and c.params.get("user") == OUTSIDER],
                                what="the refusal")
    assert "access" in str(refusals[0]["blocks"])
    run = await h.run(run_id)
    assert run.draft_version == 1 and run.followups == [] and run.state.value == "in_review"
    assert "cancelled" not in h.openai.texts_received()


async def test_a_follow_up_in_the_assistant_pane(harness: Harness) -> None:
    h = harness
    await open_thread(h, REQUESTER, thread_ts="8002.000001")
    await h.event(said(REQUESTER, "run draft a reply to the supplier about the late shipment", thread_ts="8002.000001"))
    run_id = await _run_in_thread(h, "8002.000001")
    await _version(h, run_id, 1)
    await h.event(said(REQUESTER, "more formal please", thread_ts="8002.000001"))
    run = await _version(h, run_id, 2)
    assert run.followups[0].text == "more formal please"
    runs = await h.svc.store.since(h.svc.clock.now().replace(year=2000), limit=500)
    assert [r.id for r in runs if r.origin.thread_ts == "8002.000001"] == [run_id]  # no second run
