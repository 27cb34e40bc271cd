"""Model routing. Clearance is a hard rule; capability and quality tier are preferences; price breaks ties.

The router owns retries and fallbacks: adapters make one attempt each and raise ModelUnavailable on 429, 5xx,
timeouts and connection errors. The chain never falls back to a model with lower clearance than the data needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core import text
from bot.core.errors import ModelResponseError, ModelUnavailable, NoEligibleModel, NoModelConfigured
from bot.core.levels import Sensitivity
from bot.core.models import ChatMessage, Completion, RouteDecision, Usage
from bot.core.ports import ChatModel, Controls
from bot.core.spec import TIER_RANK, Capability, ModelSpec, Tier


class Sink(Protocol):
    """Where a streamed generation's deltas go (bot/core/streaming.py's ``LiveAnswer``)."""

    async def delta(self, piece: str) -> None: ...

    async def done(self) -> None: ...

    async def interrupted(self, why: str) -> None:
        """The model failed after some deltas were given; none are given any more (the rest is buffered)."""


@dataclass(frozen=True, kw_only=True)
class Plan:
    """The ordered fallback chain for one step, and why."""

    chain: list[ModelSpec]
    decision: RouteDecision
    below_tier: bool


def estimate_cost(spec: ModelSpec, *, input_tokens: int, output_tokens: int) -> float:
    return (input_tokens * spec.price_in + output_tokens * spec.price_out) / 1_000_000


def plan_route(
    portfolio: Sequence[ModelSpec],
    *,
    step: str,
    capability: Capability,
    tier: Tier,
    sensitivity: Sensitivity,
    excluded: Mapping[str, str] | None = None,
) -> Plan:
    """Choose the fallback chain: cleared models with the capability, those meeting the tier first, cheapest first."""
    if not portfolio:
        raise NoModelConfigured("no model is configured")
    skipped: dict[str, str] = dict(excluded or {})
    eligible: list[ModelSpec] = []
    for spec in portfolio:
        if spec.name in skipped:
            continue
        if spec.clearance < sensitivity:
            skipped[spec.name] = f"clearance {spec.clearance.label} < {sensitivity.label}"
        elif capability not in spec.capabilities:
            skipped[spec.name] = f"no {capability} capability"
        else:
            eligible.append(spec)
    if not eligible:
        raise NoEligibleModel(f"no model cleared for {sensitivity.label} with {capability}; " + _why(skipped))
    wanted = TIER_RANK[tier]
    meets = sorted(
        (m for m in eligible if TIER_RANK[m.tier] >= wanted), key=lambda m: m.price_in + m.price_out
    )
    below = sorted((m for m in eligible if TIER_RANK[m.tier] < wanted), key=lambda m: -TIER_RANK[m.tier])
    chain = meets + below
    first = chain[0]
    for m in meets[1:] + below:
        skipped.setdefault(m.name, "fallback" if m in meets else f"tier {m.tier} below {tier}")
    if meets:
        reason = f"{first.name}: cheapest with {capability} at tier {tier} cleared for {sensitivity.label}"
    else:
        reason = f"{first.name}: best eligible for {capability} (tier {first.tier}; none reaches {tier})"
    return Plan(
        chain=chain,
        decision=RouteDecision(step=step, chosen=first.name, reason=reason, skipped=skipped),
        below_tier=not meets,
    )


def _why(skipped: Mapping[str, str]) -> str:
    return "; ".join(f"{name} skipped: {why}" for name, why in skipped.items()) or "portfolio empty"


@dataclass(kw_only=True)
class Router:
    portfolio: list[ModelSpec]
    clients: dict[str, ChatModel]
    backoff: float = 0.5
    attempts_per_model: int = 2
    unavailable: dict[str, str] = field(default_factory=dict)
    controls: Controls | None = None

    def frozen(self) -> bool:
        """Operators froze external models (``maple control freeze-external``)."""
        return self.controls is not None and self.controls.current().freeze_external

    def can_classify(self) -> bool:
        """Is a model better than demo quality available for classification?"""
        return any("classify" in m.capabilities and TIER_RANK[m.tier] >= TIER_RANK["basic"] for m in self.active())

    def active(self) -> list[ModelSpec]:
        return [m for m in self.portfolio if m.enabled and m.name in self.clients]

    def usable(self) -> list[ModelSpec]:
        """The active models a step may be routed to now: while external models are frozen, only those that
        never leave the deployment."""
        frozen = self.frozen()
        return [m for m in self.active() if not (frozen and m.leaves_deployment)]

    def plan(
        self, *, step: str, capability: Capability, tier: Tier, sensitivity: Sensitivity, free_only: bool = False
    ) -> Plan:
        inactive = {m.name: "not enabled" for m in self.portfolio if m not in self.active()}
        if free_only:
            inactive.update({m.name: "over budget: not free" for m in self.portfolio
                             if m.price_in + m.price_out > 0 and m.name not in inactive})
        if not self.active():
            raise NoModelConfigured("no model is configured")
        frozen = self.frozen()
        if frozen:  # fail closed: a step no in-deployment model can do is refused, never sent out
            inactive.update({m.name: "frozen by operators: leaves the deployment" for m in self.portfolio
                             if m.leaves_deployment and m.name not in inactive})
        try:
            return plan_route(self.portfolio, step=step, capability=capability, tier=tier,
                              sensitivity=sensitivity, excluded=inactive)
        except NoEligibleModel as exc:
            if frozen:
                raise NoEligibleModel(text.FROZEN_NO_MODEL) from exc
            raise

    async def generate(
        self,
        plan: Plan,
        *,
        messages: Sequence[ChatMessage],
        tools: Sequence[Mapping[str, Any]] | None = None,
        sink: Sink | None = None,
    ) -> tuple[Completion, Usage, RouteDecision]:
        """Run the chain: each model up to ``attempts_per_model`` times with backoff, then the next one. With a
        ``sink`` (and no tools) each attempt streams its deltas into it; an attempt that fails after some deltas
        interrupts the sink, and the attempts after it are buffered."""
        decision = plan.decision.model_copy(deep=True)
        failures: list[str] = []
        for spec in plan.chain:
            if spec.leaves_deployment and self.frozen():  # frozen since the plan was made
                failures.append(f"{spec.name}: frozen by operators")
                continue
            client = self.clients[spec.name]
            for attempt in range(self.attempts_per_model):
                if attempt and spec.leaves_deployment and self.frozen():  # frozen while it waited to retry
                    failures.append(f"{spec.name}: frozen by operators")
                    break
                given: list[bool] = []
                try:
                    if sink is not None and not tools:
                        done = await _streamed(client, spec, messages, sink, given)
                    else:
                        done = await client.complete(
                            messages=messages,
                            max_tokens=spec.max_tokens,
                            timeout=spec.timeout,
                            tools=tools if spec.tools else None,
                        )
                except (ModelUnavailable, ModelResponseError) as exc:
                    failures.append(f"{spec.name}: {exc}")
                    if sink is not None and given:
                        await sink.interrupted(str(exc))
                        sink = None
                    delay = getattr(exc, "retry_after", None) or self.backoff * (2**attempt)
                    if attempt + 1 < self.attempts_per_model:
                        await asyncio.sleep(min(delay, 10.0))
                    continue
                if failures:
                    decision.chosen = spec.name
                    decision.reason = f"{spec.name}: fallback after " + "; ".join(failures)
                usage = Usage(
                    model=spec.name,
                    input_tokens=done.input_tokens,
                    output_tokens=done.output_tokens,
                    cost_usd=estimate_cost(
                        spec, input_tokens=done.input_tokens, output_tokens=done.output_tokens
                    ),
                )
                return done, usage, decision
        if self.frozen() and all(m.leaves_deployment for m in plan.chain):
            raise NoEligibleModel(text.FROZEN_NO_MODEL)
        raise ModelUnavailable("every eligible model failed: " + "; ".join(failures))


async def _streamed(client: ChatModel, spec: ModelSpec, messages: Sequence[ChatMessage], sink: Sink,
                    given: list[bool]) -> Completion:
    """One streamed attempt: deltas into ``sink`` (``given`` says whether any was), the final Completion back."""
    done: Completion | None = None
    async for item in client.stream(messages=messages, max_tokens=spec.max_tokens, timeout=spec.timeout):
        if isinstance(item, Completion):
            done = item
        elif item:
            given.append(True)
            await sink.delta(item)
    if done is None:
        raise ModelResponseError(f"{spec.name}: the stream ended without an answer")
    await sink.done()
    return done
