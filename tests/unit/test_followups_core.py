"""Follow-ups in the core: what changed between versions, the bound on follow-ups, and a delivered run reopened
as a new round (its delivery's effects kept aside, its decision cleared)."""

from __future__ import annotations

import pytest

from bot.core import followups, review
from bot.core.errors import InputError, InvalidTransition
from bot.core.models import RunState
from tests.unit.core_env import current, make_services
from tests.unit.test_core_flow import drain, goal


def test_changes_are_sentences_removed_and_added() -> None:
    found, more = followups.changes("Hello team. The release is Friday. Reviews by Thursday.",
                                    "Hello team. The release is Monday.")
    assert found == [("-", "The release is Friday."), ("-", "Reviews by Thursday."), ("+", "The release is Monday.")]
    assert more == 0
    assert followups.changes("Same text.", "Same text.") == ([], 0)
    many, more = followups.changes(" ".join(f"Old {i}." for i in range(10)), "New.", limit=4)
    assert len(many) == 4 and more == 7


async def _delivered(svc, run_id: str) -> None:  # type: ignore[no-untyped-def]
    await drain(svc)
    await review.decide(svc, seen_version=await current(svc, run_id), run_id=run_id, user="U0REVIEW", kind="approve")
    await drain(svc)
    assert (await svc.store.get(run_id)).state is RunState.DELIVERED


async def test_a_delivered_run_is_revised_in_rounds_and_follow_ups_are_bounded() -> None:
    svc = make_services()
    run = await goal(svc)
    await _delivered(svc, run.id)
    for n in range(1, followups.MAX_FOLLOWUPS + 1):
        revised = await followups.revise(svc, run=await svc.store.get(run.id), user="U0REQUEST", instruction="shorter")
        assert revised.state is RunState.DRAFTING and revised.round == n and revised.decision is None
        assert f"r{n - 1}/result" in revised.effects and "result" not in revised.effects
        await _delivered(svc, run.id)
    done = await svc.store.get(run.id)
    assert done.draft_version == followups.MAX_FOLLOWUPS + 1
    assert [p["effect"] for p in svc.surface.posts].count("result") == 1  # the first; then result@r1 …
    assert {p["effect"] for p in svc.surface.posts} >= {f"result@r{n}" for n in range(1, followups.MAX_FOLLOWUPS + 1)}
    with pytest.raises(InputError, match="already had 5 follow-ups"):
        await followups.revise(svc, run=done, user="U0REQUEST", instruction="shorter still")


async def test_a_run_still_drafting_is_not_revised() -> None:
    svc = make_services()
    run = await goal(svc)
    with pytest.raises(InvalidTransition, match="still being worked on"):
        await followups.revise(svc, run=run, user="U0REQUEST", instruction="shorter")
