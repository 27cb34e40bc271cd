"""Feedback on delivered answers through signed Slack requests: Slack's feedback buttons under every result, one
vote per person per run, recorded in the audit trail with the workflow and the model, counted per workflow and
model in the admins' ``/maple status`` — and refused for people who may not, and for runs not delivered."""

from __future__ import annotations

import uuid
from typing import Any

from tests.harness import ADMIN, CHANNEL, OUTSIDER, REQUESTER, REVIEWER, REVIEWER2, Harness
from tests.scenario.test_loop import run_id_of, start_draft


async def vote(h: Harness, user: str, run_id: str, value: str, *, channel: str = CHANNEL) -> list[dict[str, Any]]:
    """Click 👍 (``good``) or 👎 (``bad``) as Slack sends it; the ephemeral answers the voter got."""
    mark = len(h.slack.calls)
    status, _ = await h.interact({
        "type": "block_actions", "user": {"id": user}, "api_app_id": "A0MAPLE",
        "trigger_id": f"trig-{uuid.uuid4().hex[:6]}", "channel": {"id": channel},
        "container": {"type": "message", "channel_id": channel, "message_ts": "1.1"},
        "actions": [{"type": "feedback_buttons", "action_id": "maple_feedback", "block_id": f"feedback:{run_id}",
                     "value": f"{run_id}:{value}", "action_ts": "1.2"}]})
    assert status == 200
    return await h.wait_for(lambda: [c.params for c in h.slack.calls[mark:] if c.method == "chat.postEphemeral"],
                            what="the answer to the vote")


def result_post(h: Harness, run_id: str) -> dict[str, Any]:
    return next(p for p in h.slack.posted() if (p.get("metadata") or {}).get("event_payload", {}) ==
                {"run_id": run_id, "effect": "result"})


async def _calc(h: Harness) -> str:
    _, reply = await h.slash(REQUESTER, "what is 17.5% of 2,340")
    run_id = run_id_of(reply)
    await h.wait_state(run_id, "delivered")
    return run_id


async def test_a_delivered_answer_carries_feedback_buttons_and_a_vote_is_audited(harness: Harness) -> None:
    h = harness
    run_id = await _calc(h)
    blocks = result_post(h, run_id)["blocks"]
    assert blocks[-1]["type"] == "context_actions"
    assert blocks[-1]["elements"][0]["type"] == "feedback_buttons"
    answer = await vote(h, REQUESTER, run_id, "good")
    assert answer[0]["user"] == REQUESTER and "recorded" in str(answer[0]["blocks"])
    events = [e for e in await h.svc.audit.timeline(run_id) if e.kind == "feedback.given"]
    assert len(events) == 1 and events[0].actor == REQUESTER
    assert events[0].attrs == {"maple.workflow": "calc", "maple.model": "tool:calculator", "maple.vote": "positive"}


async def test_one_vote_per_person_per_run(harness: Harness) -> None:
    h = harness
    run_id = await _calc(h)
    await vote(h, REQUESTER, run_id, "good")
    again = await vote(h, REQUESTER, run_id, "bad")
    assert "already gave feedback" in str(again[0]["blocks"])
    tallies = await h.svc.feedback.tallies()
    assert [(t.workflow, t.model, t.up, t.down) for t in tallies] == [("calc", "tool:calculator", 1, 0)]
    assert len([e for e in await h.svc.audit.timeline(run_id) if e.kind == "feedback.given"]) == 1


async def test_people_without_a_role_and_runs_not_delivered_are_refused(harness: Harness) -> None:
    h = harness
    run_id = await _calc(h)
    refused = await vote(h, OUTSIDER, run_id, "bad")
    assert "only give feedback on a result you may see" in str(refused[0]["blocks"])
    pending = await start_draft(h)
    not_yet = await vote(h, REQUESTER, pending, "good")
    assert "is in review" in str(not_yet[0]["blocks"])
    forged = await vote(h, REQUESTER, run_id, "excellent")
    assert "cannot be read" in str(forged[0]["blocks"])
    assert await h.svc.feedback.tallies() == []
    assert not [e for e in await h.svc.audit.timeline(run_id) if e.kind == "feedback.given"]


async def test_status_counts_votes_per_workflow_and_model_for_admins_alone(harness: Harness) -> None:
    h = harness
    calc = await _calc(h)
    draft = await start_draft(h)
    await h.click(REVIEWER, "maple_approve", draft)
    await h.wait_state(draft, "delivered")
    await vote(h, REQUESTER, calc, "good")
    await vote(h, ADMIN, calc, "bad")
    await vote(h, REQUESTER, draft, "bad")
    await vote(h, REVIEWER2, draft, "bad")
    _, reply = await h.slash(ADMIN, "status")
    assert "calc · tool:calculator: :+1: 1 · :-1: 1" in reply["text"]  # Slack's codes: drawn without an emoji font
    model = (await h.run(draft)).draft.model
    assert f"draft · {model}: :+1: 0 · :-1: 2" in reply["text"]
    _, reply = await h.slash(REQUESTER, "status")
    assert "Say which run" in reply["text"] and "👍" not in reply["text"]  # their runs and Maple's status, no votes
