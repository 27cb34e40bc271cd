from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core import review
from bot.core.errors import InputError
from bot.core.levels import Sensitivity
from bot.core.models import RunState
from bot.core.policy import check_draft
from bot.core.spec import PolicySpec
from tests.fakes.memory import ScriptedModel
from tests.unit.core_env import current, make_services, make_spec
from tests.unit.test_core_flow import drain, goal


def emails(text: str):  # type: ignore[no-untyped-def]
    n = text.count("@example.com")
    return (Sensitivity.CONFIDENTIAL, {"email": n}) if n else (Sensitivity.INTERNAL, {})


def test_rules() -> None:
    policy = PolicySpec(banned_terms=["guarantee", "Project Falcon"], banned_action="block",
                        new_personal_data="annotate", require_citations=["ask"], max_chars=100)
    found = check_draft(policy, workflow="ask", draft="We guarantee a@example.com gets project falcon news.",
                        sources=["tell them"], assess=emails)
    rules = {(v.rule, v.action) for v in found}
    assert rules == {("new_personal_data", "annotate"), ("banned_terms", "block"), ("citations", "annotate")}
    assert not check_draft(policy, workflow="ask", draft="Per [1], yes. Write to a@example.com",
                           sources=["a@example.com"], assess=emails)
    assert check_draft(policy, workflow="draft", draft="x" * 101, sources=[], assess=emails)[0].rule == "length"
    assert not check_draft(policy, workflow="draft", draft="guaranteed", sources=[], assess=emails)  # whole words


async def test_blocking_violation_refuses_before_review() -> None:
    spec = make_spec(policy={"banned_terms": ["guarantee"], "banned_action": "block"})
    svc = make_services(spec=spec, models={"local": ScriptedModel("local", "We guarantee it.")})
    run = await goal(svc)
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.state is RunState.REFUSED and "guarantee" in (run.error or "")
    assert not [p for p in svc.surface.posts if p["effect"].startswith("review:")]


async def test_annotation_reaches_the_reviewer() -> None:
    svc = replace(make_services(models={"local": ScriptedModel("local", "Mail bob@example.com")}), assess=emails)
    run = await goal(svc)
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.state is RunState.IN_REVIEW and "personal data" in run.policy_notes[0]


async def test_edited_draft_is_checked_again() -> None:
    spec = make_spec(policy={"banned_terms": ["guarantee"]})
    svc = replace(make_services(spec=spec), assess=emails)
    run = await goal(svc)
    await drain(svc)
    with pytest.raises(InputError, match="guarantee"):
        await review.edit(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", new_text="We guarantee it")
    run = await review.edit(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", new_text="write to eve@example.com")
    assert run.sensitivity is Sensitivity.CONFIDENTIAL and run.policy_notes


async def test_redaction_lets_an_external_model_draft_without_seeing_values() -> None:
    from bot.core.sensitivity import assessor

    spec = make_spec(workflows=[{"id": "draft", "redact": True, "steps": [{"kind": "generate"}]}],
                     models=[{"name": "openai", "kind": "openai-compatible", "clearance": "internal"}])
    seen = ScriptedModel("openai", "Dear ⟦EMAIL_1⟧, your SIN ⟦SIN_1⟧ is fixed.")
    svc = replace(make_services(spec=spec, models={"openai": seen}), assess=assessor(spec.sensitivity))
    run = await goal(svc, "draft a note to ann@example.com about SIN 130 692 544")
    await drain(svc)
    run = await svc.store.get(run.id)
    sent = seen.seen[0][1].content
    assert "ann@example.com" not in sent and "130 692 544" not in sent and "⟦EMAIL_1⟧" in sent
    assert run.drafts[0].text == "Dear ann@example.com, your SIN 130 692 544 is fixed."
    assert run.sensitivity is Sensitivity.RESTRICTED  # the run itself is still restricted for delivery
