"""Routing: clearance is a hard rule, tier and capability preferences, price breaks ties; fallbacks."""

from __future__ import annotations

import pytest

from bot.core.errors import ModelResponseError, ModelUnavailable, NoEligibleModel, NoModelConfigured
from bot.core.levels import Sensitivity as S
from bot.core.models import ChatMessage
from bot.core.router import Router, plan_route
from bot.core.spec import ModelSpec
from tests.fakes.memory import ScriptedModel


def m(name: str, *, tier: str = "standard", clearance: str = "internal", price: float = 1.0,
      caps: tuple[str, ...] = ("draft", "summarize", "reason", "classify")) -> ModelSpec:
    return ModelSpec(name=name, kind="openai-compatible", tier=tier, clearance=clearance, price_in=price,
                     price_out=price, capabilities=list(caps))


LOCAL = m("local", tier="demo", clearance="restricted", price=0)
PRIVATE = m("private", tier="standard", clearance="confidential", price=0.1)
OPENAI = m("openai", tier="standard", clearance="internal", price=0.5)
FRONTIER = m("frontier", tier="frontier", clearance="internal", price=5)
PORTFOLIO = [LOCAL, PRIVATE, OPENAI, FRONTIER]

CASES = [
    # (portfolio, capability, tier, sensitivity, expected first, expected chain)
    ([LOCAL, OPENAI], "draft", "standard", S.INTERNAL, "openai", ["openai", "local"]),
    ([LOCAL, OPENAI], "draft", "standard", S.CONFIDENTIAL, "local", ["local"]),
    ([LOCAL, OPENAI], "draft", "standard", S.RESTRICTED, "local", ["local"]),
    ([LOCAL, OPENAI], "draft", "demo", S.PUBLIC, "local", ["local", "openai"]),
    (PORTFOLIO, "draft", "standard", S.INTERNAL, "private", ["private", "openai", "frontier", "local"]),
    (PORTFOLIO, "draft", "frontier", S.INTERNAL, "frontier", ["frontier", "private", "openai", "local"]),
    (PORTFOLIO, "draft", "frontier", S.CONFIDENTIAL, "private", ["private", "local"]),
    (PORTFOLIO, "draft", "standard", S.RESTRICTED, "local", ["local"]),
    ([LOCAL], "draft", "standard", S.INTERNAL, "local", ["local"]),
    ([m("summ", caps=("summarize",)), OPENAI], "draft", "standard", S.INTERNAL, "openai", ["openai"]),
]


@pytest.mark.parametrize(("portfolio", "cap", "tier", "level", "first", "chain"), CASES)
def test_plan_table(portfolio, cap, tier, level, first, chain) -> None:  # type: ignore[no-untyped-def]
    plan = plan_route(portfolio, step="generate", capability=cap, tier=tier, sensitivity=level)
    assert plan.decision.chosen == first
    assert [x.name for x in plan.chain] == chain
    assert all(x.clearance >= level for x in plan.chain)  # never a model below the data's level


def test_no_cleared_model_refuses() -> None:
    with pytest.raises(NoEligibleModel, match="openai skipped: clearance internal < restricted"):
        plan_route([OPENAI, FRONTIER], step="g", capability="draft", tier="standard", sensitivity=S.RESTRICTED)


def test_empty_portfolio() -> None:
    with pytest.raises(NoModelConfigured):
        plan_route([], step="g", capability="draft", tier="standard", sensitivity=S.PUBLIC)


def test_reason_names_skips() -> None:
    plan = plan_route([LOCAL, OPENAI], step="generate", capability="draft", tier="standard", sensitivity=S.INTERNAL)
    assert plan.decision.reason.startswith("openai: cheapest with draft at tier standard")
    assert plan.decision.skipped["local"] == "tier demo below standard"


MSG = [ChatMessage(role="user", content="hi")]


async def test_fallback_on_unavailable_then_next_model() -> None:
    openai = ScriptedModel("openai", ModelUnavailable("429"), ModelUnavailable("500"))
    local = ScriptedModel("local", "from local")
    router = Router(portfolio=[LOCAL, OPENAI], clients={"openai": openai, "local": local}, backoff=0)
    plan = router.plan(step="generate", capability="draft", tier="standard", sensitivity=S.INTERNAL)
    done, usage, decision = await router.generate(plan, messages=MSG)
    assert done.text == "from local" and usage.model == "local"
    assert "fallback after openai: 429; openai: 500" in decision.reason


async def test_garbage_counts_as_failure() -> None:
    openai = ScriptedModel("openai", ModelResponseError("garbage"), "second try ok")
    router = Router(portfolio=[OPENAI], clients={"openai": openai}, backoff=0)
    plan = router.plan(step="generate", capability="draft", tier="standard", sensitivity=S.INTERNAL)
    done, _usage, _decision = await router.generate(plan, messages=MSG)
    assert done.text == "second try ok"


async def test_all_fail_raises_unavailable() -> None:
    openai = ScriptedModel("openai", *[ModelUnavailable("500")] * 4)
    router = Router(portfolio=[OPENAI], clients={"openai": openai}, backoff=0)
    plan = router.plan(step="generate", capability="draft", tier="standard", sensitivity=S.INTERNAL)
    with pytest.raises(ModelUnavailable, match="every eligible model failed"):
        await router.generate(plan, messages=MSG)


async def test_sensitive_run_never_falls_back_to_uncleared() -> None:
    local = ScriptedModel("local", *[ModelUnavailable("down")] * 4)
    openai = ScriptedModel("openai", "should never be called")
    router = Router(portfolio=[LOCAL, OPENAI], clients={"local": local, "openai": openai}, backoff=0)
    plan = router.plan(step="generate", capability="draft", tier="standard", sensitivity=S.CONFIDENTIAL)
    with pytest.raises(ModelUnavailable):
        await router.generate(plan, messages=MSG)
    assert openai.seen == []


def test_cost_estimate() -> None:
    from bot.core.router import estimate_cost

    assert estimate_cost(OPENAI, input_tokens=1_000_000, output_tokens=0) == pytest.approx(0.5)
