"""A run an operator cancelled stays cancelled: ``maple runs retry`` (run over every failed run, say, in an
incident) must not start it again, nor deliver it when it had been approved — over in-memory fakes of the ports."""

from __future__ import annotations

import pytest

from bot.core import operate, text
from bot.core.errors import InvalidTransition
from bot.core.models import RunState
from bot.core.review import decide
from bot.core.worker import fail
from tests.unit.core_env import make_services
from tests.unit.test_core_flow import drain, goal


async def test_a_run_an_operator_cancelled_is_not_retried() -> None:
    svc = make_services()
    run = await goal(svc)
    await drain(svc)
    await operate.cancel(svc, run.id, by="ops@example")
    with pytest.raises(InvalidTransition, match="cancelled"):
        await operate.retry(svc, run.id, by="ops@example")
    await drain(svc)
    after = await svc.store.get(run.id)
    assert after.state is RunState.FAILED and len(after.drafts) == 1


async def test_an_approved_run_an_operator_cancelled_is_not_delivered_by_a_retry() -> None:
    svc = make_services()
    run = await goal(svc)
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.state is RunState.IN_REVIEW
    await decide(svc, run_id=run.id, user="U0REVIEW", kind="approve", seen_version=run.draft_version)
    await operate.cancel(svc, run.id, by="ops@example")  # before its delivery job ran
    with pytest.raises(InvalidTransition):
        await operate.retry(svc, run.id, by="ops@example")
    await drain(svc)
    assert (await svc.store.get(run.id)).state is RunState.FAILED
    assert not [p for p in svc.surface.posts if p["effect"] == "result"]


async def test_a_retry_is_refused_when_the_requester_may_no_longer_run_the_workflow() -> None:
    """Runs of someone whose account was deactivated since (or who lost their role) are not drafted again and
    delivered in their name by an operator's retry — a bulk retry after an incident, say."""
    svc = make_services()
    run = await goal(svc)
    await drain(svc)
    await fail(svc, run.id, why=text.GAVE_UP)
    svc.surface.external.add(run.requester)  # type: ignore[attr-defined]  # deactivated: no longer local
    with pytest.raises(InvalidTransition, match="may no longer run"):
        await operate.retry(svc, run.id, by="ops@example")
    assert (await svc.store.get(run.id)).state is RunState.FAILED
