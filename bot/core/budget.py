"""Token budgets: every model call — classification, each drafting round, each tool round — is reserved before it
is made and settled after, so concurrent runs cannot spend past a user's or a team's daily budget.

reserve → call → settle, the one path for every call:

- **reserve** the call's worst case: an upper bound of its input tokens (the UTF-8 bytes of what is sent plus
  framing — a byte-level tokenizer never yields more tokens than bytes) plus the ``max_tokens`` it may answer
  with. The ledger checks what is left of the user's and the team's budget — spent plus what calls in flight hold
  — and holds it in one atomic step, or refuses.
- when the whole worst case does not fit but the input and at least ``MIN_OUTPUT_TOKENS`` of answer do, the call
  is made with ``max_tokens`` **capped** to what is left (and the draft says so).
- when even that does not fit, a plan with paid models is **replaced by the free models' plan** (their tokens are
  held and counted too, but never refused); with no free model eligible the call is refused (BudgetExceeded).
- **settle** with the usage the endpoint reported (validated by the adapter with ``checked_usage``): the unused
  part of the hold is released. A call that fails releases all of it; a hold whose worker died lapses after the
  longest time the router can spend on the plan.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.core import text
from bot.core.errors import BudgetExceeded, MapleError, ModelResponseError, NoEligibleModel
from bot.core.models import ChatMessage, Completion, RouteDecision, Run, Usage
from bot.core.ports import Hold
from bot.core.router import Plan, Sink
from bot.core.services import Services

log = logging.getLogger("maple.budget")

FRAMING_TOKENS = 64  # chat template, priming, a default system prompt some templates add
MESSAGE_TOKENS = 16  # role markers and separators around each message (and "Tool result: " for the local model)
TOOLS_TOKENS = 64  # the framing around tool definitions
MIN_OUTPUT_TOKENS = 64  # a call capped below this is not worth making: it is refused instead
HOLD_MARGIN_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 10.0  # the router's cap on the wait between attempts
CLASSIFY_MAX_TOKENS = 16  # a workflow id, not an essay


def input_upper_bound(messages: Sequence[ChatMessage], tools: Sequence[Mapping[str, Any]] | None = None) -> int:
    """At least as many tokens as sending ``messages`` (and ``tools``) can cost."""
    total = FRAMING_TOKENS
    for m in messages:
        total += MESSAGE_TOKENS + len(m.content.encode()) + len((m.tool_call_id or "").encode())
        for call in m.tool_calls or []:
            total += MESSAGE_TOKENS + len(f"{call.id}{call.name}{call.arguments}".encode())
    if tools:
        total += TOOLS_TOKENS + sum(len(json.dumps(t).encode()) for t in tools)
    return total


def checked_usage(*, model: str, input_tokens: object, output_tokens: object, max_input: int,
                  max_output: int) -> tuple[int, int]:
    """The token counts an endpoint reported, if they are plausible: integers (not booleans, floats or strings),
    not negative, no more input than the upper bound of what was sent, no more output than ``max_tokens``.
    Anything else is an unusable answer (ModelResponseError): the router retries or falls back, and the call's
    reservation is released — an implausible count is never written to the ledger."""
    counts = (input_tokens, output_tokens)
    if any(type(n) is not int for n in counts):
        raise ModelResponseError(f"{model}: implausible token usage (not integers)")
    assert isinstance(input_tokens, int) and isinstance(output_tokens, int)
    if not (0 <= input_tokens <= max_input and 0 <= output_tokens <= max_output):
        raise ModelResponseError(f"{model}: implausible token usage ({input_tokens} in, {output_tokens} out)")
    return input_tokens, output_tokens


@dataclass(frozen=True, kw_only=True)
class Grant:
    """A reserved call: the plan to run (``max_tokens`` capped to what was held) and its hold."""

    plan: Plan
    hold: Hold | None
    free_only: bool = False  # paid models were refused: only free ones remain
    capped: int | None = None  # the remaining budget capped the answer at this many tokens


def _input(plan: Plan, messages: Sequence[ChatMessage], tools: Sequence[Mapping[str, Any]] | None) -> int:
    """The input bound of the plan's costliest model: tool definitions count only for models that are sent them."""
    return input_upper_bound(messages, tools if any(m.tools for m in plan.chain) else None)


def _output(plan: Plan, max_output: int | None) -> int:
    longest = max(m.max_tokens for m in plan.chain)
    return min(longest, max_output) if max_output else longest


def _capped(plan: Plan, output: int) -> Plan:
    chain = [m if m.max_tokens <= output else m.model_copy(update={"max_tokens": output}) for m in plan.chain]
    return replace(plan, chain=chain)


def _paid(plan: Plan) -> bool:
    return any(m.price_in + m.price_out > 0 for m in plan.chain)


def hold_seconds(svc: Services, plan: Plan) -> float:
    """The longest the router can spend on ``plan``; a hold outliving it belongs to a dead worker."""
    per_try = sum(m.timeout + MAX_BACKOFF_SECONDS for m in plan.chain)
    return svc.router.attempts_per_model * per_try + HOLD_MARGIN_SECONDS


async def _hold(svc: Services, run: Run, plan: Plan, *, tokens: int, at_least: int, checked: bool) -> Hold | None:
    assert svc.ledger is not None
    budgets = svc.spec.budgets
    return await svc.ledger.reserve(
        user=run.requester, team=run.origin.team or "-", tokens=tokens, at_least=at_least,
        user_limit=budgets.user_tokens_per_day if checked else None,
        team_limit=budgets.team_tokens_per_day if checked else None, ttl_seconds=hold_seconds(svc, plan))


async def reserve(svc: Services, *, run: Run, plan: Plan, free_plan: Callable[[], Plan],
                  messages: Sequence[ChatMessage], tools: Sequence[Mapping[str, Any]] | None = None,
                  max_output: int | None = None) -> Grant:
    """Reserve the worst case of calling ``plan``: all of it, or a capped answer, or — when the budget has no
    room for a paid call — ``free_plan()`` instead. Raise BudgetExceeded when no free model is eligible."""
    needed, output = _input(plan, messages, tools), _output(plan, max_output)
    if svc.ledger is None:
        return Grant(plan=_capped(plan, output), hold=None)
    floor = needed + min(output, MIN_OUTPUT_TOKENS)
    paid = _paid(plan)
    hold = await _hold(svc, run, plan, tokens=needed + output, at_least=floor, checked=paid)
    if hold is not None:
        allowed = hold.tokens - needed
        return Grant(plan=_capped(plan, allowed), hold=hold, capped=allowed if allowed < output else None)
    try:
        free = free_plan()
    except NoEligibleModel as exc:
        raise BudgetExceeded(text.BUDGET_SPENT) from exc
    needed, output = _input(free, messages, tools), _output(free, max_output)
    hold = await _hold(svc, run, free, tokens=needed + output, at_least=needed + output, checked=False)
    return Grant(plan=_capped(free, output), hold=hold, free_only=True)


async def settle(svc: Services, grant: Grant, usage: Usage | None) -> None:
    """Replace the grant's hold by the call's real usage; None releases it (the call failed)."""
    if svc.ledger is None or grant.hold is None:
        return
    tokens = usage.input_tokens + usage.output_tokens if usage else 0
    await svc.ledger.settle(grant.hold, tokens=tokens, cost=usage.cost_usd if usage else 0.0)


async def _release(svc: Services, grant: Grant) -> None:
    try:
        await settle(svc, grant, None)
    except MapleError as exc:  # the hold lapses on its own; the call's own error is the one to report
        log.warning("could not release a token hold", extra={"error": type(exc).__name__})


async def metered(svc: Services, grant: Grant, *, messages: Sequence[ChatMessage],
                  tools: Sequence[Mapping[str, Any]] | None = None,
                  sink: Sink | None = None) -> tuple[Completion, Usage, RouteDecision]:
    """Call the granted plan through the router and settle its hold: the real usage, or nothing on failure. A
    ``sink`` receives the deltas of a streamed call (the hold and the settling are the same)."""
    try:
        completion, usage, decision = await svc.router.generate(grant.plan, messages=messages, tools=tools,
                                                                sink=sink)
    except BaseException:
        await _release(svc, grant)
        raise
    await settle(svc, grant, usage)
    return completion, usage, decision


async def charge_run(svc: Services, run_id: str, *, usage: Usage, route: RouteDecision | None = None) -> Run:
    """Put a call's usage (and, for a call outside drafting, its route) on the run as soon as it is settled, so the
    run's tokens and cost match the ledger even when the run later fails or is retried."""

    def add(r: Run) -> None:
        r.usage.append(usage)
        if route is not None:
            r.routes.append(route)

    return await svc.mutate(run_id, add)
