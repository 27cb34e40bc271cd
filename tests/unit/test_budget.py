"""Token budgets in the core: reserve → call → settle for every model call, over the in-memory ledger."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from bot.core import intake, language, text
from bot.core.budget import CLASSIFY_MAX_TOKENS, MIN_OUTPUT_TOKENS, checked_usage, input_upper_bound
from bot.core.errors import ModelResponseError
from bot.core.models import ChatMessage, Completion, Origin, RunState, ToolCall
from bot.core.ports import ChatModel
from bot.core.services import Services
from integrations.compute import ProcessCompute
from tests.fakes.memory import MemoryLedger, ScriptedModel, unavailable
from tests.unit.core_env import make_services, make_spec
from tests.unit.test_core_flow import drain, goal

PAID = {"name": "openai", "kind": "openai-compatible", "tier": "standard", "clearance": "internal",
        "price_in": 1, "price_out": 1, "max_tokens": 200}
FREE = {"name": "local", "kind": "local-gguf", "tier": "demo", "clearance": "restricted", "max_tokens": 50}


def paid_services(*models: ChatModel, user_tokens: int = 10**6, team_tokens: int = 10**9,
                  portfolio: Sequence[dict[str, Any]] = (PAID,)) -> Services:
    spec = make_spec(models=list(portfolio),
                     budgets={"user_tokens_per_day": user_tokens, "team_tokens_per_day": team_tokens})
    return make_services(spec=spec, models={m.name: m for m in models})  # type: ignore[misc]


def ledger(svc: Services) -> MemoryLedger:
    assert isinstance(svc.ledger, MemoryLedger)
    return svc.ledger


def worst_case(svc: Services, text: str = "draft a note") -> int:
    """What one draft of ``text`` reserves with the paid model: its input bound plus its max_tokens."""
    step = svc.spec.workflow("draft").steps[0]  # type: ignore[union-attr]
    system = f"{(step.prompt or '').strip()}\n{language.rule(text, 'goal')}"  # the prompt and the language to use
    messages = [ChatMessage(role="system", content=system), ChatMessage(role="user", content=text)]
    return input_upper_bound(messages) + PAID["max_tokens"]  # type: ignore[operator]


class GatedModel(ChatModel):
    """A paid endpoint that holds every answer until ``gate`` opens, so calls overlap for as long as a test wants."""

    def __init__(self, name: str = "openai") -> None:
        self.name, self.gate, self.arrived = name, asyncio.Event(), 0

    async def complete(self, *, messages: Sequence[ChatMessage], max_tokens: int, timeout: float,
                       tools: Sequence[Mapping[str, Any]] | None = None) -> Completion:
        self.arrived += 1
        await self.gate.wait()
        return Completion(text="A draft.", model=self.name, input_tokens=30, output_tokens=max_tokens)


async def test_concurrent_drafts_hold_the_budget_while_their_calls_are_in_flight() -> None:
    model = GatedModel()
    svc = paid_services(model)
    svc = paid_services(model, user_tokens=2 * worst_case(svc) + worst_case(svc) // 2)
    runs = [await goal(svc) for _ in range(6)]
    jobs = [asyncio.create_task(drain_one(svc, run.id)) for run in runs]

    async def placed() -> bool:
        refused = [r for r in [await svc.store.get(run.id) for run in runs] if r.state is RunState.REFUSED]
        return model.arrived + len(refused) == len(runs)

    await until(placed)
    model.gate.set()
    await asyncio.gather(*jobs)
    states = [(await svc.store.get(run.id)).state for run in runs]
    assert model.arrived == 2 and states.count(RunState.REFUSED) == 4  # what is left after two is too little
    spent = await ledger(svc).spent(user="U0REQUEST", team="-")
    assert spent.user_tokens == 2 * (30 + PAID["max_tokens"]) and spent.user_reserved == 0  # type: ignore[operator]


async def drain_one(svc: Services, run_id: str) -> None:
    from bot.core.models import Job
    from bot.core.worker import handle_job

    svc.store.jobs[:] = [j for j in svc.store.jobs if j.run_id != run_id]  # type: ignore[attr-defined]
    await handle_job(svc, Job(run_id=run_id, kind="draft"))


async def until(check: Any, *, rounds: int = 2000) -> None:
    for _ in range(rounds):
        if await check():
            return
        await asyncio.sleep(0)
    raise AssertionError("the state was never reached")


async def test_a_call_that_does_not_fit_whole_is_capped_to_what_is_left() -> None:
    model = ScriptedModel("openai", "A short draft.")
    svc = paid_services(model)
    room = worst_case(svc) - PAID["max_tokens"] + 100  # type: ignore[operator]
    svc = paid_services(model, user_tokens=room)
    run = await goal(svc)
    await drain(svc)
    run = await svc.store.get(run.id)
    assert model.max_tokens == [100] and run.state is RunState.IN_REVIEW
    assert any("capped this answer at 100 tokens" in str(text.note_msg(n)) for n in run.drafts[0].notes)
    assert (await ledger(svc).spent(user="U0REQUEST", team="-")).user_tokens == 15


async def test_too_little_left_for_a_useful_answer_is_refused_without_a_call() -> None:
    model = ScriptedModel("openai")
    svc = paid_services(model)
    svc = paid_services(model, user_tokens=worst_case(svc) - PAID["max_tokens"] + MIN_OUTPUT_TOKENS - 1)  # type: ignore[operator]
    run = await goal(svc)
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.state is RunState.REFUSED and "budget" in (run.error or "") and model.seen == []


async def test_the_team_budget_holds_across_users() -> None:
    model = GatedModel()
    svc = paid_services(model)
    svc = paid_services(model, team_tokens=worst_case(svc))
    team = Origin(channel="C1", team="T1")
    runs = [await intake.submit(svc, intake.Intake(requester=user, origin=team, goal="draft a note",
                                                   workflow="draft")) for user in ("U1", "U2")]
    first = asyncio.create_task(drain_one(svc, runs[0].id))

    async def arrived() -> bool:
        return model.arrived == 1

    await until(arrived)
    await drain_one(svc, runs[1].id)  # another user of the same team, while the first call holds the team's room
    model.gate.set()
    await first
    assert [(await svc.store.get(r.id)).state for r in runs] == [RunState.IN_REVIEW, RunState.REFUSED]
    spent = await ledger(svc).spent(user="U2", team="T1")
    assert (spent.user_tokens, spent.team_tokens) == (0, 30 + PAID["max_tokens"])  # type: ignore[operator]


async def test_refused_paid_call_falls_back_to_a_free_model_and_counts_its_tokens() -> None:
    paid, free = ScriptedModel("openai"), ScriptedModel("local", "free draft")
    svc = paid_services(paid, free, user_tokens=0, portfolio=[PAID, FREE])
    run = await goal(svc)
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.drafts[0].text == "free draft" and paid.seen == []
    assert free.max_tokens == [FREE["max_tokens"]]
    assert (await ledger(svc).spent(user="U0REQUEST", team="-")).user_tokens == 15  # free, but counted
    assert "over budget: not free" in str(run.routes[0].skipped)


async def test_a_failed_call_releases_its_whole_hold() -> None:
    model = ScriptedModel("openai", unavailable(), unavailable())
    svc = paid_services(model)
    run = await goal(svc)
    with pytest.raises(Exception, match="every eligible model failed"):
        await drain(svc)
    spent = await ledger(svc).spent(user="U0REQUEST", team="-")
    assert (spent.user_tokens, spent.user_reserved) == (0, 0)
    assert [t for _, t, _ in ledger(svc).settled] == [0]
    assert (await svc.store.get(run.id)).usage == []


async def test_a_cancelled_call_releases_its_hold() -> None:
    model = GatedModel()
    svc = paid_services(model)
    run = await goal(svc)
    task = asyncio.create_task(drain_one(svc, run.id))

    async def arrived() -> bool:
        return model.arrived == 1

    await until(arrived)
    assert (await ledger(svc).spent(user="U0REQUEST", team="-")).user_reserved > 0
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await ledger(svc).spent(user="U0REQUEST", team="-")).user_reserved == 0


async def test_a_hold_whose_worker_died_lapses() -> None:
    model = ScriptedModel("openai")
    svc = paid_services(model)
    svc = paid_services(model, user_tokens=worst_case(svc))
    dead = await ledger(svc).reserve(user="U0REQUEST", team="-", tokens=worst_case(svc), at_least=1,
                                     user_limit=worst_case(svc), team_limit=None, ttl_seconds=120)
    assert dead is not None
    run = await goal(svc)
    await drain(svc)
    assert (await svc.store.get(run.id)).state is RunState.REFUSED
    svc.clock.advance(121)  # type: ignore[attr-defined]
    run = await goal(svc)
    await drain(svc)
    assert (await svc.store.get(run.id)).state is RunState.IN_REVIEW


async def test_every_tool_round_is_reserved_settled_and_on_the_run(compute: ProcessCompute) -> None:
    from tests.unit.test_tool_calling import asks, services

    call = asks(("calculator", '{"expression": "2*3"}')).model_copy(update={"input_tokens": 7, "output_tokens": 3})
    openai = ScriptedModel("openai", call, "It is 6.")
    svc = services(compute, openai, ScriptedModel("local"))
    run = await goal(svc, "draft a note with 2*3 worked out")
    await drain(svc)
    run = await svc.store.get(run.id)
    assert [(u.input_tokens, u.output_tokens) for u in run.usage] == [(7, 3), (10, 5)]
    assert [t for _, t, _ in ledger(svc).settled] == [10, 15]
    spent = await ledger(svc).spent(user="U0REQUEST", team="-")
    assert spent.user_tokens == run.total_tokens == 25
    assert spent.user_cost_usd == pytest.approx(run.total_cost) and run.total_cost == pytest.approx(25 / 1e6)


def clarify_services(model: ScriptedModel, *, user_tokens: int) -> Services:
    basic = {**PAID, "tier": "basic"}
    return paid_services(model, user_tokens=user_tokens, portfolio=[basic])


async def held(svc: Services, text: str = "do the thing for the supplier") -> str:
    run = await intake.hold(svc, intake.Intake(requester="U0REQUEST", origin=Origin(channel="C1"), goal=text,
                                               workflow=""), ask_model=True)
    return run.id


async def test_classification_is_reserved_metered_and_on_the_run() -> None:
    model = ScriptedModel("openai", "draft", "The draft.")
    svc = clarify_services(model, user_tokens=10**6)
    run_id = await held(svc)
    await drain(svc)
    run = await svc.store.get(run_id)
    assert run.workflow == "draft" and run.state is RunState.IN_REVIEW
    assert model.max_tokens == [CLASSIFY_MAX_TOKENS, PAID["max_tokens"]]
    assert [r.step for r in run.routes] == ["classify", "generate"] and run.total_tokens == 30
    assert (await ledger(svc).spent(user="U0REQUEST", team="-")).user_tokens == 30
    classified = next(e for e in svc.audit.events if e["kind"] == "run.classified")  # type: ignore[attr-defined]
    assert classified["gen_ai.usage.input_tokens"] == 10


async def test_classification_over_budget_asks_the_person_without_a_call() -> None:
    model = ScriptedModel("openai", "draft")
    svc = clarify_services(model, user_tokens=0)
    run_id = await held(svc)
    await drain(svc)
    assert model.seen == [] and (await svc.store.get(run_id)).workflow == ""
    assert [p["effect"] for p in svc.surface.posts] == ["clarify"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("counts", [(-5_000_000, 20), (40, -1), ("40", 20), (40.0, 20), (True, 20), (None, None),
                                    (40, 257), (10_000, 20)])
def test_implausible_usage_is_a_model_response_error(counts: tuple[object, object]) -> None:
    with pytest.raises(ModelResponseError, match="implausible token usage"):
        checked_usage(model="m", input_tokens=counts[0], output_tokens=counts[1], max_input=9_999, max_output=256)


def test_plausible_usage_passes() -> None:
    assert checked_usage(model="m", input_tokens=0, output_tokens=256, max_input=10, max_output=256) == (0, 256)


def test_the_input_bound_covers_every_byte_sent() -> None:
    messages = [ChatMessage(role="user", content="é" * 100),
                ChatMessage(role="assistant", content="", tool_calls=[ToolCall(id="c1", name="calc", arguments="{}")]),
                ChatMessage(role="tool", content="ok", tool_call_id="c1")]
    bare = input_upper_bound(messages)
    assert bare >= 200 + 4 + 2 + 2
    assert input_upper_bound(messages, [{"type": "function", "function": {"name": "x" * 300}}]) > bare + 300


async def test_the_ledger_never_takes_negative_usage() -> None:
    svc = make_services()
    hold = await ledger(svc).reserve(user="U", team="T", tokens=10, at_least=10, user_limit=None, team_limit=None,
                                     ttl_seconds=60)
    assert hold is not None
    with pytest.raises(ValueError):
        await ledger(svc).settle(hold, tokens=-5_000_000, cost=0.0)
    await ledger(svc).settle(hold, tokens=4, cost=0.0)
    await ledger(svc).settle(hold, tokens=4, cost=0.0)  # a second settle of one hold counts nothing
    assert (await ledger(svc).spent(user="U", team="T")).user_tokens == 4
