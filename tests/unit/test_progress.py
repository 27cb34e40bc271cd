"""One requester message updated through the run's life, runs named by their goal, Cancel while pending, Revise
after a rejection, and a direct message never named as a channel."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core import intake, review, text
from bot.core.errors import AccessDenied
from bot.core.models import RunState
from handlers.blocks import render
from tests.unit.core_env import current, make_services
from tests.unit.test_core_flow import _assess_confidential, drain, goal


def shown(view) -> str:  # type: ignore[no-untyped-def]
    return str(render(view)[1])


def actions(view) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["action_id"] for b in render(view)[1] if b["type"] == "actions" for e in b["elements"]]


async def test_one_message_follows_the_run_from_drafting_to_posted() -> None:
    svc = make_services()
    run = await goal(svc, "draft a note about the office move")
    await drain(svc)
    posted = [p for p in svc.surface.posts if p["effect"] == "progress"]
    assert len(posted) == 1 and posted[0]["channel"] == "D-U0REQUEST"
    assert "Drafting" in shown(posted[0]["view"]) and "office move" in shown(posted[0]["view"])
    assert "maple_cancel" in actions(posted[0]["view"])
    ref_ts = posted[0]["ts"]
    updates = [v for ref, v in svc.surface.updates if ref.ts == ref_ts]
    assert "With reviewers: <@U0REVIEW>, <@U0REVIEW2>" in shown(updates[-1])
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", kind="approve")
    await drain(svc)
    last = [v for ref, v in svc.surface.updates if ref.ts == ref_ts][-1]
    assert "Approved by <@U0REVIEW>" in shown(last) and "posted in <#C1>" not in shown(last)  # C1 is not an id
    assert "posted in" in shown(last) and not actions(last)
    assert len([p for p in svc.surface.posts if p["effect"] == "progress"]) == 1, "updated, never posted again"
    told = next(p for p in svc.surface.posts if p["effect"] == "notify:approved")
    assert told["thread_ts"] == ref_ts, "notices are replies to the run message"
    assert "office move" in str(told["view"].text), "named by its goal"


async def test_a_rejection_offers_revise_and_revising_starts_a_new_run() -> None:
    svc = make_services()
    run = await goal(svc, "draft a note about the office move")
    await drain(svc)
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", kind="reject",
                        reason="mention the date")
    await drain(svc)
    ts = next(p for p in svc.surface.posts if p["effect"] == "progress")["ts"]
    last = [v for ref, v in svc.surface.updates if ref.ts == ts][-1]
    assert "Rejected by <@U0REVIEW>" in shown(last) and "mention the date" in shown(last)
    assert actions(last) == ["maple_revise"]
    with pytest.raises(AccessDenied):
        await intake.revise(svc, run_id=run.id, user="U0REVIEW", goal="x")
    again = await intake.revise(svc, run_id=run.id, user="U0REQUEST", goal="draft a note about the move on May 3")
    assert again.id != run.id and again.workflow == run.workflow and again.origin == run.origin


async def test_a_confidential_result_never_names_the_dm_as_a_channel() -> None:
    svc = replace(make_services(), assess=_assess_confidential)
    run = await goal(svc, "draft a note to ann@example.com")
    await drain(svc)
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", kind="approve")
    await drain(svc)
    notices = [str(p["view"].text) for p in svc.surface.posts if p["effect"].startswith("notify:")]
    assert any("sent to you in a direct message" in n for n in notices)
    assert not any("<#D" in n for n in notices)
    assert (await svc.store.get(run.id)).state is RunState.DELIVERED


async def test_the_requester_cancels_a_pending_run() -> None:
    from bot.core import reviewers

    svc = make_services()
    run = await goal(svc)
    await drain(svc)
    await reviewers.cancel(svc, run_id=run.id, user="U0REQUEST")
    await drain(svc)
    ts = next(p for p in svc.surface.posts if p["effect"] == "progress")["ts"]
    last = [v for ref, v in svc.surface.updates if ref.ts == ts][-1]
    assert "Cancelled by <@U0REQUEST>" in shown(last) and actions(last) == ["maple_revise"]
    assert not [p for p in svc.surface.posts if p["effect"] == "notify:cancelled"], "no notice of their own click"


def test_run_names_cut_long_goals() -> None:
    name = str(text.run_name("R-X", "draft " * 40))
    assert name.startswith("“draft") and name.endswith("(R-X)") and len(name) < 90


async def test_ask_with_no_readable_collection_is_refused_privately_without_a_model() -> None:
    from tests.fakes.memory import ScriptedModel
    from tests.unit.core_env import make_spec

    model = ScriptedModel("local")
    spec = make_spec(collections={"handbook": {"roles": ["admin"], "label": "internal"}})
    svc = make_services(spec=spec, models={"local": model})
    run = await goal(svc, "what is the travel policy", workflow="ask")
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.state is RunState.REFUSED and not model.seen
    assert [p["channel"] for p in svc.surface.posts] == ["D-U0REQUEST"], "to the asker alone"
    assert "may not read any document collection" in str(svc.surface.posts[0]["view"].text)
