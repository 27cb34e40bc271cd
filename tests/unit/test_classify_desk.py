"""What the desk does with the classifier's decision when a cleared classify model is available: a vague goal
is asked back to the person and never sent to the model; an uncertain one goes to the model; a clear one runs."""

from __future__ import annotations

from bot.core.classify import Classifier
from bot.core.desk import Desk
from bot.core.models import Origin, RunState
from tests.fakes.memory import ScriptedModel
from tests.unit.core_env import make_services, make_spec
from tests.unit.test_core_flow import drain

CLEARED = {"name": "openai", "kind": "openai-compatible", "tier": "basic", "clearance": "internal",
           "price_in": 0, "price_out": 0, "max_tokens": 200}


def desk_with(model: ScriptedModel) -> Desk:
    svc = make_services(spec=make_spec(models=[CLEARED]), models={"openai": model})
    assert svc.router.can_classify()
    return Desk(svc=svc, classifier=Classifier(svc.spec.workflows))


async def test_a_vague_goal_is_asked_back_and_never_reaches_the_model() -> None:
    model = ScriptedModel("openai", "draft")
    desk = desk_with(model)
    for goal in ("thoughts?", "can you help", "Acme", "do the thing"):
        answer = await desk.handle(user="U0REQUEST", origin=Origin(channel="C1"), raw=goal)
        assert answer.choices and not answer.queued
    await drain(desk.svc)
    assert model.seen == []


async def test_an_uncertain_goal_goes_to_the_model() -> None:
    model = ScriptedModel("openai", "draft", "The draft.")
    desk = desk_with(model)
    answer = await desk.handle(user="U0REQUEST", origin=Origin(channel="C1"),
                               raw="sort out the supplier situation before the audit")
    assert answer.queued and not answer.choices and answer.run_id
    await drain(desk.svc)
    assert "exactly one workflow id" in model.seen[0][0].content
    run = await desk.svc.store.get(answer.run_id)
    assert run.workflow == "draft" and run.state is RunState.IN_REVIEW


async def test_a_clear_goal_runs_without_asking_anyone() -> None:
    model = ScriptedModel("openai", "The answer.")
    desk = desk_with(model)
    answer = await desk.handle(user="U0REQUEST", origin=Origin(channel="C1"), raw="boil down the discussion in #ops")
    assert answer.queued and answer.run_id
    run = await desk.svc.store.get(answer.run_id)
    assert run.workflow == "summarize"
