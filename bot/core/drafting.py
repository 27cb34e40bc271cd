"""Producing a draft: run the workflow's steps — assess, tools, generate, check — and keep every decision on the run.

Sensitivity is assessed for every text that may reach a model or tool (the goal, tool output); the run's level is
the highest of them, and routing is fail-closed against it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.core import budget, knowledge, language, streaming, text
from bot.core.actions import MAX_PLANNED_CALLS
from bot.core.digest import condense
from bot.core.errors import ModelResponseError, NoEligibleModel, PolicyViolation, ToolDenied, ToolError
from bot.core.followups import asked
from bot.core.levels import Sensitivity
from bot.core.models import (
    Audience,
    ChatMessage,
    Citation,
    Completion,
    DraftVersion,
    PlannedCall,
    RouteDecision,
    Run,
    RunState,
    ToolCall,
    Usage,
)
from bot.core.policy import blocking, check_draft
from bot.core.ports import Passage
from bot.core.router import Plan
from bot.core.sensitivity import redact, restore
from bot.core.services import Services, ToolOutput
from bot.core.spec import TIER_RANK, SourceFloorSpec, StepSpec, WorkflowSpec
from bot.core.states import transition
from bot.core.status import local_time
from bot.core.tools.fence import fenced
from bot.core.tools.history import EMPTY_WINDOW, WINDOW_MAX_CHARS

DEFAULT_PROMPT = "You are Maple, a careful assistant inside a company's Slack. Do what the user asks, concisely."
CONTEXT_LIMIT = 12_000


@dataclass
class Work:
    """What the steps of one run build up before it is written back."""

    run: Run
    workflow: WorkflowSpec | None
    level: Sensitivity
    hits: dict[str, int]
    context: list[str] = field(default_factory=list)  # what tools returned, as models read it (untrusted: fenced)
    read: list[tuple[str | None, str]] = field(default_factory=list)  # the same, plain: (untrusted tool, text)
    draft: str | None = None
    model: str | None = None
    notes: list[str] = field(default_factory=list)
    routes: list[RouteDecision] = field(default_factory=list)
    policy: list[str] = field(default_factory=list)
    audience: Audience = field(default_factory=Audience)
    floor: Sensitivity = Sensitivity.PUBLIC  # the least level of what was read (its sources' floors)
    quiet: bool = False  # a schedule's period in which nothing was posted: no model is called
    planned: list[PlannedCall] = field(default_factory=list)  # side effects waiting for approval
    passages: list[Passage] = field(default_factory=list)  # retrieved, numbered from 1 in this order
    answered: bool = False  # Maple answered itself (nothing relevant was retrieved): no model is called
    sources_read: list[str] = field(default_factory=list)  # the conversations tools read
    truncated: bool = False  # the draft was cut short (the model's token limit, or the draft limit)
    live: streaming.LiveAnswer | None = None  # the answer streaming into its thread, when the run may stream

    def raise_level(self, level: Sensitivity, hits: dict[str, int]) -> None:
        self.level = max(self.level, level)
        for kind, count in hits.items():
            self.hits[kind] = self.hits.get(kind, 0) + count

    def take(self, out: ToolOutput, floors: SourceFloorSpec) -> None:
        """What a tool returned joins the run: its level (at least its source's floor and the tool's own) and its
        audience. A floor stays a floor: redaction masks detected values, never what a source or tool declares."""
        if out.planned is not None and len(self.planned) >= MAX_PLANNED_CALLS:
            raise ToolDenied(text.too_many_calls(MAX_PLANNED_CALLS))  # a reviewer is shown every call approval makes
        floor = Sensitivity(getattr(floors, out.source_kind)) if out.source_kind else Sensitivity.PUBLIC
        floor = max(floor, out.floor)
        self.floor = max(self.floor, floor)
        self.raise_level(max(out.level, floor), out.hits)
        if out.source is not None:
            self.audience = self.audience.narrowed(source=out.source, members=out.readers)
            if out.source not in self.sources_read:
                self.sources_read.append(out.source)
        if out.planned is not None:
            self.planned.append(out.planned)


def steps_of(workflow: WorkflowSpec | None) -> list[StepSpec]:
    steps = list(workflow.steps) if workflow else []
    return steps or [StepSpec(kind="generate", prompt=DEFAULT_PROMPT)]


def _prompt(step: StepSpec, work: Work) -> str:
    """The step's prompt and the language to write in: the goal's own unless the workflow says otherwise."""
    setting = work.workflow.language if work.workflow else "goal"
    return f"{(step.prompt or DEFAULT_PROMPT).strip()}\n{language.rule(work.run.goal, setting)}"


def build_messages(step: StepSpec, work: Work) -> list[ChatMessage]:
    if work.passages:  # retrieved text is fenced, under a rule that it is data
        nonce = knowledge.new_nonce()
        return [ChatMessage(role="system", content=knowledge.system_prompt(_prompt(step, work), nonce)),
                ChatMessage(role="user", content=knowledge.fenced(asked(work.run), work.passages, nonce=nonce))]
    user = asked(work.run)
    if work.context:
        joined = "\n\n".join(work.context)[:CONTEXT_LIMIT]
        user = f"{asked(work.run)}\n\n--- context ---\n{joined}"  # a revision: with its draft and follow-ups
    return [ChatMessage(role="system", content=_prompt(step, work)),
            ChatMessage(role="user", content=user)]


async def produce_draft(svc: Services, run: Run) -> Run:
    """Run the steps of a queued/drafting run and move it to review (or straight to approved)."""

    def to_drafting(r: Run) -> None:
        if not r.terminal:  # cancelled meanwhile: nothing more is done
            transition(r, RunState.DRAFTING)

    if run.state is not RunState.DRAFTING:  # the worker may have moved it already (to show its progress)
        run = await svc.mutate(run.id, to_drafting)
    if run.terminal:
        return run
    level, hits = svc.assessment(asked(run))  # a revision: the previous draft and the follow-ups too
    work = Work(run=run, workflow=svc.spec.workflow(run.workflow), level=level, hits=dict(hits),
                audience=run.audience)
    await svc.record("sensitivity.assessed", run, attrs={"maple.sensitivity.level": level.label,
                                                          "maple.sensitivity.hits": _hit_list(hits)})
    for step in steps_of(work.workflow):
        if step.kind in ("review", "deliver"):
            continue  # the worker's, after the draft
        with svc.stage(step.kind, run.id, **{"maple.step.kind": step.kind}):
            await _step(svc, work, step)
    if not work.draft:
        raise ModelResponseError("the workflow produced no draft")
    return await svc.mutate(run.id, _accept(svc, work))


async def _step(svc: Services, work: Work, step: StepSpec) -> None:
    if step.kind == "tool":
        await _tool(svc, work, step)
    elif step.kind == "generate":
        await _generate(svc, work, step)
    elif step.kind == "retrieve":
        await _retrieve(svc, work, step)
    elif step.kind == "check" and work.draft and not work.answered:
        await _check(svc, work)


async def _retrieve(svc: Services, work: Work, step: StepSpec) -> None:
    """Passages from the collections the requester may read join the run: their level (at least their collection's
    label) and their audience. Nothing relevant: Maple says so, and no model is called."""
    found = await knowledge.retrieve(svc, run=work.run, step=step, level=work.level, audience=work.audience)
    work.passages.extend(found.passages)
    work.floor = max(work.floor, found.floor)
    work.raise_level(found.level if found.passages else Sensitivity.PUBLIC, found.hits)
    work.audience = found.audience
    await svc.record("knowledge.retrieved", work.run, attrs={
        "maple.knowledge.collections": found.collections, "maple.knowledge.passages": len(found.passages),
        "maple.knowledge.passage.ids": [p.id[:128] for p in found.passages],
        "maple.sensitivity.level": work.level.label})
    if not work.passages:
        work.draft, work.model, work.answered = knowledge.not_covered(
            found.collections, language=_answer_language(svc, work)), "knowledge", True


def _answer_language(svc: Services, work: Work) -> str:
    """What Maple's own answer (not covered, quoted passages) is said in: the workflow's language, else the goal's,
    else the configured one."""
    setting = work.workflow.language if work.workflow else "goal"
    return setting if setting in ("en", "fr") else language.detect(work.run.goal) or svc.spec.language


def _citations(work: Work) -> list[Citation]:
    return knowledge.Retrieved(collections=[], passages=work.passages).citations


async def _check(svc: Services, work: Work) -> None:
    violations = check_draft(svc.spec.policy, workflow=work.run.workflow, draft=work.draft or "",
                             sources=[work.run.goal, *work.context, *(p.text for p in work.passages)],
                             assess=svc.assessment)
    await svc.record("policy.checked", work.run, attrs={
        "maple.policy.violations": [f"{v.rule}:{v.action}" for v in violations]})
    work.policy = [f"policy: {v.message}" for v in violations]
    blocked = blocking(violations)
    if blocked:
        raise PolicyViolation("; ".join(v.message for v in blocked))


def _hit_list(hits: dict[str, int]) -> list[str]:
    return [f"{kind}={count}" for kind, count in sorted(hits.items())]


async def _tool(svc: Services, work: Work, step: StepSpec) -> None:
    if svc.tools is None or not step.tool:
        raise ModelResponseError(f"tool {step.tool or '?'} is not available in this deployment")
    started = time.perf_counter()
    out = await svc.tools(name=step.tool, run=work.run, step=step, level=work.level, draft=work.draft)
    work.take(out, svc.spec.sensitivity.sources)
    work.quiet = out.text == EMPTY_WINDOW
    work.context.append(out.for_model(WINDOW_MAX_CHARS if out.count else CONTEXT_LIMIT))  # a period: whole
    work.read.append((out.untrusted, out.text))
    if out.planned is None or not work.draft:  # a planned call leaves the draft as it was
        work.draft, work.model = out.text, f"tool:{step.tool}"
    await svc.record("tool.called", work.run, attrs={
        "gen_ai.tool.name": step.tool, "maple.sensitivity.level": out.level.label,
        "maple.latency_ms": round((time.perf_counter() - started) * 1000, 1)})


def _prepare(svc: Services, work: Work, step: StepSpec) -> tuple[list[ChatMessage], Sensitivity, dict[str, str]]:
    """The messages to send and the level they carry. With ``redact: true`` detected values are replaced by
    placeholders first, so the text that leaves is assessed (and routed) without them."""
    messages = build_messages(step, work)
    if not (work.workflow and work.workflow.redact):
        sent, _hits = svc.assessment(messages[1].content)  # exactly the text that will leave
        return messages, max(work.level, sent), {}
    masked, mapping = redact(messages[1].content, patterns=svc.spec.sensitivity.patterns)
    level, _hits = svc.assessment(masked)
    level = max(level, work.floor)
    messages[1] = ChatMessage(role="user", content=masked)
    if mapping:
        work.notes.append(text.note("placeholders_note", count=len(mapping)))
    return messages, level, mapping


MAX_TOOL_ROUNDS = 3


async def _plan(svc: Services, work: Work, step: StepSpec, *, level: Sensitivity, messages: list[ChatMessage],
                tools: list[dict[str, Any]] | None) -> budget.Grant:
    """Route the step, then reserve its worst case: when the budget has no room for a paid model, the free
    models' plan is reserved instead, and with no free model the run is refused (BudgetExceeded)."""

    def route(free_only: bool) -> Plan:
        return svc.router.plan(step="generate", capability=step.capability, tier=step.tier, sensitivity=level,
                               free_only=free_only)

    try:
        plan = route(False)
    except NoEligibleModel as exc:
        if exc.msg == text.FROZEN_NO_MODEL:
            raise  # say the operators' freeze is why, not the data's level
        raise NoEligibleModel(text.no_eligible_model(level.label)) from exc
    grant = await budget.reserve(svc, run=work.run, plan=plan, free_plan=lambda: route(True), messages=messages,
                                 tools=tools)
    note = text.OVER_BUDGET_NOTE if grant.free_only else None
    if grant.capped is not None:
        note = text.budget_capped_note(grant.capped)
    if note and note not in work.notes:
        work.notes.append(note)
    return grant


async def _generate(svc: Services, work: Work, step: StepSpec) -> None:
    """Call the routed model; when it asks for tools (OpenAI tool calling), run them — validated, cleared — and
    call again, re-routing on the level of what the tools returned. A step carrying retrieved text is offered no
    tools, and a tool call nobody offered is ignored."""
    if work.answered:
        return
    if work.quiet:
        work.draft, work.model = quiet_period(svc, work.run), "tool:slack_history"
        return
    if step.capability == "summarize" and len("\n\n".join(work.context)) > CONTEXT_LIMIT:
        await _condense(svc, work, step)
    messages, level, mapping = _prepare(svc, work, step)
    if work.passages and knowledge.demo_only(svc, step, level):
        work.draft = await knowledge.extract(svc, query=work.run.goal, passages=work.passages,
                                             language=_answer_language(svc, work))
        work.model = "knowledge"
        work.notes.append(text.extract_note())
        return
    for round_no in range(MAX_TOOL_ROUNDS + 1):
        offer = svc.tools is not None and round_no < MAX_TOOL_ROUNDS and not work.passages
        tools = svc.tools.schemas() if svc.tools is not None and offer else None
        grant = await _plan(svc, work, step, level=level, messages=messages, tools=tools)
        plan = grant.plan
        await svc.record("route.decided", work.run, attrs={
            "maple.route.chosen": plan.decision.chosen, "maple.route.reason": plan.decision.reason,
            "maple.sensitivity.level": level.label, "maple.redaction.count": len(mapping)})
        live = await _live(svc, work, step, level=level, tools=tools, redacted=bool(mapping))
        completion, usage = await _call(svc, work, grant, messages, tools, sink=live)
        if not completion.tool_calls or tools is None:
            break
        messages.append(ChatMessage(role="assistant", content=completion.text, tool_calls=completion.tool_calls))
        for call in completion.tool_calls[:5]:
            content, level = await _run_requested(svc, work, call, level)
            messages.append(ChatMessage(role="tool", content=content, tool_call_id=call.id))
    whole = restore(completion.text.strip(), mapping)
    draft = whole[: svc.spec.limits.max_draft_chars]
    work.truncated = completion.finish_reason == "length" or len(whole) > len(draft)
    if not draft:
        raise ModelResponseError(f"{usage.model} returned an empty draft")
    if work.passages:
        draft, removed = knowledge.cite(draft, len(work.passages))
        if removed:
            work.notes.append(text.citations_removed(removed))
    chosen = next((m for m in plan.chain if m.name == usage.model), None)
    if chosen is not None and TIER_RANK[chosen.tier] < TIER_RANK[step.tier]:
        work.notes.append(text.weak_model_note(usage.model))
    work.draft, work.model = draft, usage.model


async def _live(svc: Services, work: Work, step: StepSpec, *, level: Sensitivity,
                tools: list[dict[str, Any]] | None, redacted: bool) -> streaming.LiveAnswer | None:
    """The sink this call streams into, when the run may stream (bot/core/streaming.py); once per run."""
    if work.live is not None:
        return None  # a second call (a tool round) is buffered: the first one streamed, or was stopped
    work.live = await streaming.gate(
        svc, run=work.run, workflow=work.workflow, step=step, level=max(level, work.level), audience=work.audience,
        sources=[work.run.goal, *work.context, *(p.text for p in work.passages)], tools=tools is not None,
        redacted=redacted, planned=bool(work.planned))
    return work.live


def quiet_period(svc: Services, run: Run) -> str:
    """A schedule's period with nothing posted: said in the configured language (a digest goes to a channel)."""
    zone = svc.spec.tools.timezone
    since, until = (local_time(datetime.fromtimestamp(t or 0, UTC), zone) for t in (run.origin.since, run.origin.until))
    said = text.msg("digest_nothing", channel=text.msg("the_channel"), since=since, until=until)
    return str(text.in_language(said, svc.spec.language))


async def _condense(svc: Services, work: Work, step: StepSpec) -> None:
    """More than one call can read (a busy period): summarize it in parts — each part of untrusted text fenced on
    its own — then draft from the summaries."""
    whole = "\n\n".join(text for _tool, text in work.read)
    untrusted = next((tool for tool, _text in work.read if tool), None)

    async def complete(messages: list[ChatMessage]) -> str:
        level = max(work.level, svc.assessment(messages[1].content)[0])
        grant = await _plan(svc, work, step, level=level, messages=messages, tools=None)
        completion, _usage = await _call(svc, work, grant, messages, None)
        return completion.text

    summaries, parts = await condense(whole, limit=CONTEXT_LIMIT - 500, complete=complete,
                                      wrap=lambda part: fenced(untrusted, part) if untrusted else part)
    lines = whole.count("\n") + 1
    work.context = [summaries]
    work.notes.append(text.note("digest_parts", messages=lines, parts=parts))


async def _run_requested(svc: Services, work: Work, call: ToolCall, level: Sensitivity) -> tuple[str, Sensitivity]:
    assert svc.tools is not None
    try:
        out = await svc.tools.requested(call=call, run=work.run, level=level)
        work.take(out, svc.spec.sensitivity.sources)
    except ToolError as exc:
        await svc.record("tool.refused", work.run, attrs={"gen_ai.tool.name": call.name[:64],
                                                          "error.type": type(exc).__name__})
        content = f"error: {exc}"  # may quote a server's own words: assessed like its output before it is sent
        work.raise_level(*svc.assessment(content))
        return content, max(level, work.level)
    work.context.append(out.for_model(CONTEXT_LIMIT))  # a later step reads it fenced too
    work.read.append((out.untrusted, out.text))
    await svc.record("tool.called", work.run, attrs={"gen_ai.tool.name": call.name, "maple.tool.requested_by": "model",
                                                     "maple.sensitivity.level": out.level.label})
    return out.for_model(8000), max(level, work.level)


async def _call(
    svc: Services, work: Work, grant: budget.Grant, messages: list[ChatMessage], tools: list[dict[str, Any]] | None,
    *, sink: streaming.LiveAnswer | None = None,
) -> tuple[Completion, Usage]:
    """One reserved call: the router runs the granted plan, the hold is settled with the real usage, and the
    usage goes on the run at once (so the run's tokens and cost match the ledger whatever happens next)."""
    started = time.perf_counter()
    completion, usage, decision = await budget.metered(svc, grant, messages=messages, tools=tools, sink=sink)
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    work.routes.append(decision)
    await budget.charge_run(svc, work.run.id, usage=usage)
    spec = next((m for m in grant.plan.chain if m.name == usage.model), None)
    provider = "llama.cpp" if spec is not None and spec.kind == "local-gguf" else "openai-compatible"
    await svc.record("model.called", work.run, attrs={
        "gen_ai.operation.name": "chat", "gen_ai.request.model": usage.model, "gen_ai.provider.name": provider,
        "maple.prompt.hmac": svc.audit.digest("\n".join(m.content for m in messages)),
        "gen_ai.response.model": completion.model, "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens, "maple.cost.usd": usage.cost_usd,
        "gen_ai.request.max_tokens": spec.max_tokens if spec is not None else None,
        "maple.budget.held": grant.hold.tokens if grant.hold is not None else None,
        "maple.latency_ms": latency_ms, "maple.tool_calls": len(completion.tool_calls)})
    return completion, usage


def _accept(svc: Services, work: Work) -> Callable[[Run], None]:
    draft = DraftVersion(text=work.draft or "", author=f"model:{work.model}", at=svc.clock.now(), model=work.model,
                         notes=work.notes, truncated=work.truncated)

    def apply(r: Run) -> None:
        if r.state is not RunState.DRAFTING:
            return
        r.drafts.append(draft)
        r.routes.extend(work.routes)
        r.sensitivity = max(r.sensitivity, work.level) if r.followups else work.level  # a revision never lowers it
        r.sensitivity_hits = dict(work.hits)
        r.audience = work.audience
        r.read_from = list(work.sources_read)
        r.citations = _citations(work)
        r.draft_version += 1
        r.drafts[-1].version = r.draft_version
        r.policy_notes = list(work.policy)
        r.calls.extend(c.model_copy(update={"version": r.draft_version}) for c in work.planned)
        needs_review = (work.workflow.review if work.workflow else True) or bool(work.planned)  # side effects: always
        transition(r, RunState.IN_REVIEW if needs_review else RunState.APPROVED)

    return apply
