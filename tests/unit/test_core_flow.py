"""The core's use cases over in-memory fakes of the ports."""

from __future__ import annotations

import asyncio

import pytest

from bot.core import intake, review, text
from bot.core.errors import AccessDenied, InputError, InvalidTransition
from bot.core.models import Job, Origin, RunState
from bot.core.worker import handle_job
from tests.fakes.memory import MemorySurface, ScriptedModel
from tests.unit.core_env import current, make_services, make_spec


def goal(svc, text: str = "draft a note", user: str = "U0REQUEST", workflow: str = "draft"):  # type: ignore[no-untyped-def]
    return intake.submit(svc, intake.Intake(requester=user, origin=Origin(channel="C1"), goal=text, workflow=workflow))


async def drain(svc) -> None:  # type: ignore[no-untyped-def]
    store = svc.store
    while store.jobs:
        await handle_job(svc, store.jobs.pop(0))


async def test_submit_persists_and_enqueues_atomically() -> None:
    svc = make_services()
    run = await goal(svc)
    assert run.state is RunState.QUEUED and run.version == 1
    assert svc.store.jobs == [Job(run_id=run.id, kind="draft")]
    assert svc.audit.events == []  # nothing but the run write on the ack path
    await drain(svc)
    assert svc.audit.events[0]["kind"] == "run.created"


async def test_goal_limits() -> None:
    svc = make_services()
    with pytest.raises(InputError, match="4,001"):
        await goal(svc, "x" * 4001)
    with pytest.raises(InputError):
        await goal(svc, "   ")
    assert not svc.store.docs


async def test_unknown_user_has_no_access() -> None:
    svc = make_services(spec=make_spec(roles={"user": ["U0REQUEST"], "reviewer": ["U0REVIEW"], "admin": []}))
    with pytest.raises(AccessDenied):
        await goal(svc, user="U0STRANGER")


async def test_full_flow_and_weak_model_note() -> None:
    svc = make_services()
    run = await goal(svc)
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.state is RunState.IN_REVIEW
    assert "demo model" in str(text.note_msg(run.drafts[0].notes[0]))
    assert run.routes[0].chosen == "local" and "none reaches standard" in run.routes[0].reason
    channels = {p["channel"] for p in svc.surface.posts if p["effect"].startswith("review:")}
    assert channels == {"D-U0REVIEW", "D-U0REVIEW2"}  # user group expanded
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW2", kind="approve")
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.state is RunState.DELIVERED
    assert [p["effect"] for p in svc.surface.posts].count("result") == 1


async def test_concurrent_decisions_exactly_one_wins() -> None:
    svc = make_services()
    run = await goal(svc)
    await drain(svc)
    results = await asyncio.gather(
        review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", kind="approve"),
        review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW2", kind="reject", reason="no"),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1
    assert isinstance([r for r in results if isinstance(r, Exception)][0], InvalidTransition)
    assert len([j for j in svc.store.jobs if j.kind in ("deliver", "reject")]) == 1


async def test_retried_draft_job_does_not_post_twice() -> None:
    svc = make_services()
    run = await goal(svc)
    await drain(svc)
    await handle_job(svc, Job(run_id=run.id, kind="draft"))  # delivered again after a crash
    reviews = [p for p in svc.surface.posts if p["effect"].startswith("review:")]
    assert len(reviews) == 2


async def test_intent_without_result_is_reconciled() -> None:
    """A crash between posting and recording: the retry finds the message by its metadata."""
    svc = make_services()
    run = await goal(svc)
    await drain(svc)
    run = await svc.store.get(run.id)

    def forget(r):  # type: ignore[no-untyped-def]
        for e in r.effects.values():
            e.done, e.ts = False, None
    await svc.mutate(run.id, forget)
    await handle_job(svc, Job(run_id=run.id, kind="draft"))
    assert len([p for p in svc.surface.posts if p["effect"].startswith("review:")]) == 2


async def test_no_eligible_model_refuses_clearly() -> None:
    svc = make_services(models={})
    run = await goal(svc)
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.state is RunState.REFUSED and "No model is configured" in (run.error or "")


async def test_not_in_channel_fails_before_drafting() -> None:
    model = ScriptedModel("local")
    svc = make_services(models={"local": model}, surface=MemorySurface(not_member={"C1"}))
    run = await goal(svc)
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.state is RunState.FAILED and "/invite" in (run.error or "")
    assert not model.seen


async def test_edit_keeps_versions_and_editor_cannot_approve() -> None:
    svc = make_services()
    run = await goal(svc)
    await drain(svc)
    await review.edit(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", new_text="better words")
    run = await svc.store.get(run.id)
    assert [d.text for d in run.drafts] == ["A draft.", "better words"]
    with pytest.raises(AccessDenied, match="edited"):
        await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", kind="approve")
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW2", kind="approve")


async def test_reject_needs_reason_and_requester_is_told() -> None:
    svc = make_services()
    run = await goal(svc)
    await drain(svc)
    with pytest.raises(InputError):
        await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", kind="reject", reason=" ")
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", kind="reject", reason="off tone")
    await drain(svc)
    told = [p for p in svc.surface.posts if p["effect"] == "notify:rejected"]
    assert "off tone" in str(told[0]["view"].text)


async def test_self_approval_allowed_by_config() -> None:
    spec = make_spec(review={"channel": None, "allow_self_approval": True})
    svc = make_services(spec=spec)
    run = await goal(svc, user="U0REVIEW")
    await drain(svc)
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", kind="approve")


async def test_review_channel_from_config() -> None:
    svc = make_services(spec=make_spec(review={"channel": "C0REVIEW"}))
    run = await goal(svc)
    await drain(svc)
    assert {p["channel"] for p in svc.surface.posts if p["effect"].startswith("review:")} == {"C0REVIEW"}
    assert run.id


async def test_over_budget_uses_a_free_model_or_refuses() -> None:
    from tests.unit.core_env import make_spec as spec_with

    spec = spec_with(budgets={"user_tokens_per_day": 0, "team_tokens_per_day": 10**9}, models=[
        {"name": "local", "kind": "local-gguf", "tier": "demo", "clearance": "restricted"},
        {"name": "openai", "kind": "openai-compatible", "tier": "standard", "clearance": "internal",
         "price_in": 1, "price_out": 1}])
    paid = ScriptedModel("openai", "paid draft")
    free = ScriptedModel("local", "free draft")
    svc = make_services(spec=spec, models={"local": free, "openai": paid})
    run = await goal(svc)
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.drafts[0].text == "free draft" and not paid.seen
    assert any("over the daily token budget" in str(text.note_msg(n)) for n in run.drafts[0].notes)

    svc = make_services(spec=spec, models={"openai": paid})
    run = await goal(svc)
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.state is RunState.REFUSED and "budget" in (run.error or "")
    assert not paid.seen


async def test_usage_is_recorded_per_user_and_team() -> None:
    svc = make_services()
    run = await goal(svc)
    await drain(svc)
    spent = await svc.ledger.spent(user="U0REQUEST", team="-")
    assert (spent.user_tokens, spent.team_tokens, spent.user_reserved) == (15, 15, 0)
    assert (await svc.store.get(run.id)).total_tokens == 15


def _assess_confidential(text: str):  # type: ignore[no-untyped-def]
    from bot.core.levels import Sensitivity

    return (Sensitivity.CONFIDENTIAL, {"email": 1}) if "@" in text else (Sensitivity.INTERNAL, {})


async def test_confidential_result_goes_to_the_requester_not_a_public_channel() -> None:
    from dataclasses import replace

    svc = replace(make_services(), assess=_assess_confidential)
    run = await goal(svc, "draft a note to ann@example.com")
    await drain(svc)
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", kind="approve")
    await drain(svc)
    result = [p for p in svc.surface.posts if p["effect"] == "result"]
    assert [p["channel"] for p in result] == ["D-U0REQUEST"]
    assert any(p["effect"] == "notify:rerouted" for p in svc.surface.posts)
    assert (await svc.store.get(run.id)).sensitivity_hits == {"email": 1}


async def test_private_channel_takes_confidential_and_review_channel_falls_back_to_dms() -> None:
    from dataclasses import replace

    surface = MemorySurface(groups={"S0REVIEWERS": {"U0REVIEW2"}})
    surface.kinds.update({"C1": "private", "C0REVIEW": "shared"})
    svc = replace(make_services(spec=make_spec(review={"channel": "C0REVIEW"}), surface=surface),
                  assess=_assess_confidential)
    run = await goal(svc, "draft a note to ann@example.com")
    await drain(svc)
    reviews = {p["channel"] for p in surface.posts if p["effect"].startswith("review:")}
    assert reviews == {"D-U0REVIEW", "D-U0REVIEW2"}  # the shared review channel is not cleared
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", kind="approve")
    await drain(svc)
    assert [p["channel"] for p in surface.posts if p["effect"] == "result"] == ["C1"]


async def test_guest_requester_gets_nothing_above_public() -> None:
    from dataclasses import replace

    surface = MemorySurface()
    surface.guests_set.add("U0REQUEST")
    svc = replace(make_services(surface=surface), assess=_assess_confidential)
    run = await goal(svc, "draft a note to ann@example.com")
    await drain(svc)
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", kind="approve")
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.state is RunState.FAILED and not [p for p in surface.posts if p["effect"] == "result"]


async def test_roles_may_name_user_groups_and_channels() -> None:
    from bot.core.access import Access

    spec = make_spec(roles={"user": ["C0TEAM"], "reviewer": ["S0REVIEWERS", "U0REVIEW"], "admin": []})
    surface = MemorySurface(groups={"S0REVIEWERS": {"U0R2"}, "C0TEAM": {"U0A", "U0B"}})
    access = Access(spec, surface)
    draft = spec.workflow("draft")
    assert draft is not None
    assert await access.may_run("U0A", draft) and not await access.may_run("U0Z", draft)
    assert await access.is_approver("U0R2", draft) and not await access.is_admin("U0R2")
    assert await access.approvers(draft) == ["U0R2", "U0REVIEW"]
    surface.groups["S0REVIEWERS"] = set()  # membership changed: Access asks the directory every time
    assert not await access.is_approver("U0R2", draft)


async def test_quorum_needs_distinct_approvers_and_edits_reset_it() -> None:
    from handlers.blocks import review_blocks

    spec = make_spec(workflows=[{"id": "draft", "steps": [{"kind": "generate"}, {"kind": "review", "quorum": 2}]}],
                     roles={"user": ["*"], "reviewer": ["U0R1", "U0R2", "U0R3"], "admin": []})
    svc = make_services(spec=spec)
    run = await goal(svc)
    await drain(svc)
    run = await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0R1", kind="approve")
    assert run.state is RunState.IN_REVIEW and run.approvals == ["U0R1"] and run.quorum == 2
    assert "1 of 2 approvals" in str(review_blocks(run, banner=None, buttons=True))
    with pytest.raises(InvalidTransition, match="already approved"):
        await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0R1", kind="approve")
    await review.edit(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0R2", new_text="changed")
    assert (await svc.store.get(run.id)).approvals == []  # approvals were for the old text
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0R1", kind="approve")
    run = await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0R3", kind="approve")
    assert run.state is RunState.APPROVED and run.decision is not None and run.decision.by == "U0R3"
    assert [j.kind for j in svc.store.jobs][-1] == "deliver"


async def test_deliver_step_destination_from_the_workflow() -> None:
    spec = make_spec(workflows=[
        {"id": "draft", "steps": [{"kind": "generate"}, {"kind": "deliver", "to": "channel", "channel": "C0NEWS"}]},
        {"id": "ask", "review": False, "steps": [{"kind": "generate"}, {"kind": "deliver", "to": "dm"}]}])
    svc = make_services(spec=spec)
    run = await goal(svc)
    await drain(svc)
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", kind="approve")
    await drain(svc)
    asked = await goal(svc, "what is our policy", workflow="ask")
    await drain(svc)
    results = {p["run_id"]: p["channel"] for p in svc.surface.posts if p["effect"] == "result"}
    assert results == {run.id: "C0NEWS", asked.id: "D-U0REQUEST"}


async def test_review_timeout_escalates_once_to_approvers_and_admins() -> None:
    spec = make_spec(workflows=[{"id": "draft", "steps": [{"kind": "generate"},
                                                          {"kind": "review", "timeout_minutes": 30}]}])
    svc = make_services(spec=spec)
    run = await goal(svc)
    await drain(svc)
    (at, job), = svc.store.later
    assert job == Job(run_id=run.id, kind="review_timeout") and (at - svc.clock.now()).total_seconds() == 1800
    svc.clock.advance(1800)
    await handle_job(svc, job)
    await handle_job(svc, job)  # delivered twice: nobody is told twice
    told = sorted(p["channel"] for p in svc.surface.posts if p["effect"].startswith("escalate:"))
    assert told == ["D-U0ADMIN", "D-U0REVIEW", "D-U0REVIEW2"]
    assert "30 minutes" in next(str(p["view"].text) for p in svc.surface.posts if p["effect"].startswith("escalate:"))
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", kind="approve")
    before = len(svc.surface.posts)
    await handle_job(svc, job)  # decided meanwhile: nothing happens
    assert len(svc.surface.posts) == before


async def test_knowledge_collections_are_readable_only_by_their_roles() -> None:
    from bot.core.access import Access

    spec = make_spec(collections={"handbook": ["user"], "hr": ["admin"]})
    access = Access(spec, MemorySurface())
    assert await access.may_read("U0ANYONE", "handbook")
    assert not await access.may_read("U0ANYONE", "hr") and await access.may_read("U0ADMIN", "hr")
    assert not await access.may_read("U0ADMIN", "unknown-collection")
