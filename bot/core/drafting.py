"""Producing a draft: plan the route for the generate step, call the chain, keep the decision on the run."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.core import text
from bot.core.errors import ModelResponseError
from bot.core.models import ChatMessage, DraftVersion, RouteDecision, Run, RunState, Usage
from bot.core.router import Plan
from bot.core.services import Services
from bot.core.spec import StepSpec, WorkflowSpec
from bot.core.states import transition

DEFAULT_PROMPT = (
    "You are Maple, a careful assistant inside a company's Slack. Do what the user asks, concisely."
)


def generate_step(workflow: WorkflowSpec | None) -> StepSpec:
    steps = [s for s in (workflow.steps if workflow else []) if s.kind == "generate"]
    return steps[0] if steps else StepSpec(kind="generate", prompt=DEFAULT_PROMPT)


def build_messages(step: StepSpec, run: Run) -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content=(step.prompt or DEFAULT_PROMPT).strip()),
        ChatMessage(role="user", content=run.goal),
    ]


async def produce_draft(svc: Services, run: Run) -> Run:
    """Generate the draft of a queued/drafting run and move it to review (or straight to approved)."""

    def to_drafting(r: Run) -> None:
        transition(r, RunState.DRAFTING)

    run = await svc.mutate(run.id, to_drafting)
    workflow = svc.spec.workflow(run.workflow)
    step = generate_step(workflow)
    plan = svc.router.plan(
        step="generate", capability=step.capability, tier=step.tier, sensitivity=run.sensitivity
    )
    await svc.record(
        "route.decided",
        run,
        attrs={"maple.route.chosen": plan.decision.chosen, "maple.route.reason": plan.decision.reason},
    )
    started = time.perf_counter()
    completion, usage, decision = await svc.router.generate(plan, messages=build_messages(step, run))
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    draft_text = completion.text.strip()[: svc.spec.limits.max_draft_chars]
    if not draft_text:
        raise ModelResponseError(f"{usage.model} returned an empty draft")
    await svc.record(
        "model.called",
        run,
        attrs={
            "gen_ai.request.model": completion.model,
            "maple.model": usage.model,
            "gen_ai.usage.input_tokens": usage.input_tokens,
            "gen_ai.usage.output_tokens": usage.output_tokens,
            "maple.cost.usd": usage.cost_usd,
            "maple.latency_ms": latency_ms,
        },
    )
    accept = _accept(
        draft_text=draft_text, plan=plan, usage=usage, decision=decision, svc=svc, workflow=workflow
    )
    return await svc.mutate(run.id, accept)


def _accept(
    *,
    draft_text: str,
    plan: Plan,
    usage: Usage,
    decision: RouteDecision,
    svc: Services,
    workflow: WorkflowSpec | None,
) -> Callable[[Run], None]:
    model = usage.model
    notes = [text.weak_model_note(model)] if plan.below_tier else []

    def apply(r: Run) -> None:
        if r.state is not RunState.DRAFTING:
            return
        r.drafts.append(
            DraftVersion(
                text=draft_text, author=f"model:{model}", at=svc.clock.now(), model=model, notes=notes
            )
        )
        r.routes.append(decision)
        r.usage.append(usage)
        needs_review = workflow.review if workflow else True
        transition(r, RunState.IN_REVIEW if needs_review else RunState.APPROVED)

    return apply
