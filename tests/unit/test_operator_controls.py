"""Operator controls in the core: the external-model freeze, paused intake, backpressure notices, and the
operator's retry and cancel — over in-memory fakes of the ports."""

from __future__ import annotations

import dataclasses

import pytest

from bot.core import intake, operate, text
from bot.core.desk import Desk
from bot.core.errors import InputError, InvalidTransition
from bot.core.models import Origin, RunState
from bot.core.ports import ControlState, QueueStats
from bot.core.router import Router
from bot.core.services import Services
from bot.core.worker import fail
from tests.fakes.memory import MemoryControls, ScriptedModel
from tests.unit.core_env import make_services
from tests.unit.test_core_flow import drain, goal


def with_controls(svc: Services, controls: MemoryControls) -> Services:
    router = Router(portfolio=svc.router.portfolio, clients=svc.router.clients, backoff=0.0, controls=controls)
    return dataclasses.replace(svc, router=router, controls=controls)


def two_models() -> tuple[ScriptedModel, ScriptedModel]:
    return ScriptedModel("local"), ScriptedModel("openai")


async def test_freeze_external_routes_only_to_models_that_stay_in_the_deployment() -> None:
    local, openai = two_models()
    controls = MemoryControls()
    svc = with_controls(make_services(models={"local": local, "openai": openai}), controls)
    before = await goal(svc)
    await drain(svc)
    assert (await svc.store.get(before.id)).routes[0].chosen == "openai"  # the standard-tier model, unfrozen
    controls.state = ControlState(freeze_external=True)
    run = await goal(svc)
    calls = len(openai.seen)
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.routes[0].chosen == "local"
    assert "frozen by operators" in run.routes[0].skipped["openai"]
    assert len(openai.seen) == calls  # nothing went out


async def test_freeze_fails_closed_when_no_model_stays_in_the_deployment() -> None:
    openai = ScriptedModel("openai")
    svc = with_controls(make_services(models={"openai": openai}), MemoryControls(ControlState(freeze_external=True)))
    run = await goal(svc)
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.state is RunState.REFUSED and str(text.FROZEN_NO_MODEL) in (run.error or "")
    assert openai.seen == []
    assert svc.router.usable() == []


async def test_an_endpoint_marked_internal_stays_usable_while_frozen() -> None:
    svc = make_services(models={"openai": ScriptedModel("openai")})
    portfolio = [m.model_copy(update={"external": False}) for m in svc.router.portfolio]
    controls = MemoryControls(ControlState(freeze_external=True))
    router = Router(portfolio=portfolio, clients=svc.router.clients, backoff=0.0, controls=controls)
    assert [m.name for m in router.usable()] == ["openai"]


async def test_paused_intake_refuses_new_goals_with_a_clear_message_and_resumes() -> None:
    controls = MemoryControls(ControlState(intake_paused=True))
    svc = with_controls(make_services(), controls)
    with pytest.raises(InputError) as caught:
        await goal(svc)
    assert caught.value.msg == text.INTAKE_PAUSED
    assert not svc.store.docs  # nothing persisted
    answer = await Desk(svc=svc).handle(user="U0REQUEST", origin=Origin(channel="C1"), raw="run draft a note")
    assert str(answer.text) == str(text.INTAKE_PAUSED) and answer.run_id is None
    scheduled = await intake.submit(svc, intake.Intake(requester="U0REQUEST", origin=Origin(kind="schedule",
                                                       channel="C1"), goal="a note", workflow="draft"))
    assert scheduled.state is RunState.QUEUED  # schedules are configuration: they keep firing
    controls.state = ControlState()
    assert (await goal(svc)).state is RunState.QUEUED


async def test_backpressure_says_how_many_runs_are_ahead_and_drops_nothing() -> None:
    controls = MemoryControls(backlog=QueueStats(depth=9, waiting=7, oldest_seconds=95.0))
    svc = with_controls(make_services(), controls)
    desk = Desk(svc=svc)
    answer = await desk.handle(user="U0REQUEST", origin=Origin(channel="C1"), raw="run draft a note")
    assert "queued behind 7 others" in str(answer.text) and answer.run_id in str(answer.text)
    assert answer.run_id is not None and (await svc.store.get(answer.run_id)).state is RunState.QUEUED
    controls.stats = QueueStats(depth=9, waiting=7, oldest_seconds=svc.spec.limits.backpressure_seconds - 1)
    quiet = await desk.handle(user="U0REQUEST", origin=Origin(channel="C1"), raw="run draft another note")
    assert "queued behind" not in str(quiet.text)


async def test_maple_status_shows_the_controls_in_force() -> None:
    controls = MemoryControls(ControlState(freeze_external=True), QueueStats(depth=3, waiting=2, oldest_seconds=4))
    svc = with_controls(make_services(), controls)
    desk = Desk(svc=svc)
    shown = str((await desk.handle(user="U0REQUEST", origin=Origin(channel="C1"), raw="status")).text)
    assert str(text.CONTROL_FROZEN_NOTE) in shown and "2 run(s) waiting" in shown
    run = await goal(svc)
    of_run = str((await desk.handle(user="U0REQUEST", origin=Origin(channel="C1"), raw=f"status {run.id}")).text)
    assert run.id in of_run and str(text.CONTROL_FROZEN_NOTE) in of_run
    controls.state = ControlState()
    assert "No operator control" in str((await desk.handle(user="U0REQUEST", origin=Origin(channel="C1"),
                                                           raw="status")).text)


async def test_cancel_stops_a_run_tells_the_requester_and_is_audited() -> None:
    svc = make_services()
    run = await goal(svc)
    await operate.cancel(svc, run.id, by="ops@example")
    await drain(svc)  # its queued draft job finds it finished
    run = await svc.store.get(run.id)
    assert run.state is RunState.FAILED and run.drafts == []
    assert any("cancelled" in str(p["view"].text) for p in svc.surface.posts if p["effect"] == "notify:failed")
    assert [e for e in svc.audit.events if e["kind"] == "run.cancelled"][0]["actor"] == "ops@example"
    with pytest.raises(InvalidTransition):
        await operate.cancel(svc, run.id, by="ops@example")


async def test_retry_runs_a_failed_run_again_without_posting_twice() -> None:
    svc = make_services()
    run = await goal(svc)
    await drain(svc)
    reviews = [p for p in svc.surface.posts if p["effect"].startswith("review:")]
    await fail(svc, run.id, why=text.GAVE_UP)
    run = await operate.retry(svc, run.id, by="ops@example")
    assert run.state is RunState.QUEUED and run.error is None
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.state is RunState.IN_REVIEW
    assert [p for p in svc.surface.posts if p["effect"].startswith("review:")] == reviews  # not posted again
    assert any(e["kind"] == "run.retried" for e in svc.audit.events)
    with pytest.raises(InvalidTransition):
        await operate.retry(svc, run.id, by="ops@example")  # only a failed run
