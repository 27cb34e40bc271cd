"""Streaming an answer into its thread as the model writes it — only where nothing the checks decide on the whole
text could withhold what was already shown.

**Which runs stream** (``gate``): streaming is on (``MAPLE_STREAMING``); the workflow needs no review and the
draft plans no side effect; a person asked (not a schedule) and the result goes to a thread (a mention's, a DM's,
the assistant pane's: Slack streams replies only); the run's level on its inputs is public or internal and the
destination admits it (the one gate, ``destinations.refusal``); the call is offered no tools and nothing was
redacted (placeholders are restored on the whole text); no later step replaces the text; and the policy has **no
rule that can block** — no banned term with ``banned_action: block``, ``new_personal_data`` not ``block``,
``max_chars`` not below ``limits.max_draft_chars``. Everything else is buffered and posted whole after its
checks, as before. A draft that needs review is never streamed.

**Each chunk is checked** (``LiveAnswer``): the newest ``WINDOW`` characters are held back, and a chunk is cut at
a space, so a detector match up to ``WINDOW`` characters long, or a broadcast (``@here``), that straddles chunks
is seen whole before any of it is sent. Before every append, the whole text so far (held part included) is
assessed and policy-checked: a level above the run's (as assessed on its inputs) or above what the destination
admits, personal data the request did not contain, or a violation that blocks stops the stream. A stopped stream
is replaced by a notice, the generation goes on, and the whole answer takes the buffered path (checked, then
posted — or rerouted, or refused). So a reader can have seen only a prefix of the answer that ended ``WINDOW`` characters before the
newest text and that passed every check; when the run finishes, the streamed message is replaced by the checked
result (the same message a buffered run posts) or by the notice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.core import text
from bot.core.destinations import deliver_to, refusal
from bot.core.errors import MapleError, SurfaceError
from bot.core.levels import Sensitivity
from bot.core.models import Audience, Effect, Run, RunState
from bot.core.policy import check_draft
from bot.core.ports import MessageRef, View
from bot.core.sensitivity.normalise import normalise
from bot.core.services import Services
from bot.core.spec import StepSpec, WorkflowSpec
from bot.core.text import Msg

log = logging.getLogger("maple.streaming")

EFFECT = "stream:"  # the effects of a run's streamed messages: stream:1, stream:2 (a retry streams anew)
WINDOW = 200  # characters held back: a detector match up to this long is seen whole before any of it is sent
FLUSH_SECONDS = 0.4  # at most one append this often (and one more when the model is done)
MAX_LEVEL = Sensitivity.INTERNAL
TEXT_STEPS = ("generate", "tool")


def policy_may_block(svc: Services) -> bool:
    """Could the policy block a text on what it has not seen yet? Then nothing of it may be shown before the end."""
    policy, limits = svc.spec.policy, svc.spec.limits
    return ((bool(policy.banned_terms) and policy.banned_action == "block") or policy.new_personal_data == "block"
            or policy.max_chars < limits.max_draft_chars)


def _last_text_step(workflow: WorkflowSpec, step: StepSpec) -> bool:
    steps = list(workflow.steps)
    if step not in steps:
        return False
    later = steps[steps.index(step) + 1:]
    return not any(s.kind in TEXT_STEPS for s in later)


async def gate(svc: Services, *, run: Run, workflow: WorkflowSpec | None, step: StepSpec, level: Sensitivity,
               audience: Audience, sources: list[str], tools: bool, redacted: bool,
               planned: bool) -> LiveAnswer | None:
    """A ``LiveAnswer`` for this call when the run may stream (see the module docstring), else None (buffer)."""
    if not svc.streaming or workflow is None or tools or redacted or planned:
        return None
    if workflow.review or run.origin.kind == "schedule" or level > MAX_LEVEL or policy_may_block(svc):
        return None
    if not _last_text_step(workflow, step):
        return None
    channel, thread_ts, person = await deliver_to(svc, run)
    if not thread_ts:
        return None
    seen = run.model_copy(update={"sensitivity": level, "audience": audience})
    if await refusal(svc, run=seen, channel=channel, user=person) is not None:
        return None
    place = await svc.surface.place(channel=channel)
    ceiling = Sensitivity(getattr(svc.spec.channels, place.kind))
    # a chunk may be no more sensitive than what the gate let through (so no more than the destination admits)
    return LiveAnswer(svc=svc, run=run, channel=channel, thread_ts=thread_ts, sources=sources,
                      ceiling=min(ceiling, MAX_LEVEL, level), workflow=workflow.id)


@dataclass(kw_only=True)
class LiveAnswer:
    """The deltas of one generation, shown in the thread as far as they are checked (the router's sink)."""

    svc: Services
    run: Run
    channel: str
    thread_ts: str
    sources: list[str]
    ceiling: Sensitivity
    workflow: str
    written: str = ""  # everything the model wrote so far
    sent: int = 0  # how much of it was appended
    ref: MessageRef | None = None
    effect: str | None = None
    off: bool = False  # stopped (or never started): the rest is buffered
    stopped: str | None = None  # why it was stopped
    last: datetime | None = None
    _limit: int = field(default=0)

    def __post_init__(self) -> None:
        self._limit = self.svc.spec.limits.max_draft_chars

    async def delta(self, piece: str) -> None:
        if self.off:
            return
        self.written += piece
        now = self.svc.clock.now()
        if self.last is None or (now - self.last).total_seconds() >= FLUSH_SECONDS:
            await self._flush()

    async def done(self) -> None:
        """The model finished: append what is checked (the held-back part waits for the whole-text checks)."""
        if not self.off:
            await self._flush()

    async def interrupted(self, why: str) -> None:
        """The model failed after some deltas: stop here; the router tries again without streaming."""
        await self.stop("model", notice=text.msg("stream_interrupted"))

    def _cut(self) -> int:
        """Where the next chunk may end: ``WINDOW`` characters before the newest text, after a space. The window
        is counted in the characters the detectors read (``normalise``), so characters they drop (zero-width
        spaces, combining marks) padding a number never push its first digits out of the held-back part."""
        seen = normalise(self.written)
        held = seen.origin(len(seen.text) - WINDOW, len(seen.text))[0] if len(seen.text) > WINDOW else 0
        end = min(len(self.written) - WINDOW, self._limit, held)
        if end <= self.sent:
            return self.sent
        space = max(self.written.rfind(" ", self.sent, end), self.written.rfind("\n", self.sent, end))
        return space + 1 if space >= self.sent else self.sent

    def _clean(self) -> bool:
        """The whole text so far passes the checks a stream must pass (see the module docstring)."""
        level, _hits = self.svc.assessment(self.written)
        if level > self.ceiling:
            return False
        violations = check_draft(self.svc.spec.policy, workflow=self.workflow, draft=self.written,
                                 sources=self.sources, assess=self.svc.assessment)
        return not any(v.action == "block" or v.rule == "new_personal_data" for v in violations)

    async def _flush(self) -> None:
        end = self._cut()
        if end <= self.sent:
            return
        if not self._clean():
            await self.stop("checks", notice=text.msg("stream_withheld"))
            return
        try:
            if self.ref is None:
                await self._start()
            assert self.ref is not None
            await self.svc.surface.append_stream(ref=self.ref, text=self.written[self.sent:end])
        except SurfaceError as exc:  # Slack refused or kept rate-limiting: the answer is posted whole instead
            log.warning("stream failed; the answer is posted whole", extra={"run_id": self.run.id,
                                                                             "error": type(exc).__name__})
            await self.stop("surface", notice=text.msg("stream_interrupted"))
            return
        self.sent = end
        self.last = self.svc.clock.now()

    async def _start(self) -> None:
        """Record the stream's intent on the run, start it, then record where it is (record, then act)."""
        run = await self.svc.store.get(self.run.id)
        name = f"{EFFECT}{sum(1 for n in run.effects if n.startswith(EFFECT)) + 1}"

        def intend(r: Run) -> None:
            r.effects[name] = Effect(channel=self.channel, thread_ts=self.thread_ts)

        await self.svc.mutate(self.run.id, intend)
        self.effect = name
        ref = await self.svc.surface.start_stream(channel=self.channel, thread_ts=self.thread_ts, run_id=self.run.id,
                                                  recipient=self.run.requester, team=self.run.origin.team)

        def started(r: Run) -> None:
            r.effects[name] = Effect(channel=ref.channel, thread_ts=self.thread_ts, ts=ref.ts)

        run = await self.svc.mutate(self.run.id, started)
        self.ref = ref
        await self.svc.record("stream.started", run, attrs={"maple.destination": ref.channel})

    async def stop(self, reason: str, *, notice: Msg) -> None:
        """Stop showing this answer: the message (if any) is replaced by ``notice``; the rest is buffered."""
        if self.off:
            return
        self.off, self.stopped = True, reason
        if self.effect is not None:
            await retire(self.svc, self.run.id, reason=reason, notice=notice, shown=self.written[:self.sent])


def open_stream(run: Run) -> tuple[str, Effect] | None:
    """The run's streamed message that is neither finished as its result nor replaced by a notice."""
    found = [(n, e) for n, e in run.effects.items() if n.startswith(EFFECT) and not e.done and e.ts]
    return found[-1] if found else None


async def retire(svc: Services, run_id: str, *, reason: str, notice: Msg, shown: str | None = None) -> None:
    """End the run's open stream and replace its message by ``notice``; audited with what a reader could see.
    Cosmetic for the run: a Slack failure here is logged, never a reason to fail it."""
    run = await svc.store.get(run_id)
    current = open_stream(run)
    if current is None:
        return
    name, effect = current
    ref = MessageRef(channel=effect.channel, ts=effect.ts or "")
    try:
        await _stop_quietly(svc, ref)
        await svc.surface.update(ref=ref, view=View(kind="notice", text=notice))
    except SurfaceError as exc:
        log.warning("could not replace a stopped stream", extra={"run_id": run_id, "error": type(exc).__name__})

    def finish(r: Run) -> None:
        if name in r.effects:
            r.effects[name] = r.effects[name].model_copy(update={"done": True})

    run = await svc.mutate(run_id, finish)
    attrs: dict[str, object] = {"maple.stream.cause": reason, "maple.destination": ref.channel}
    if shown is not None:
        attrs.update(svc.audit.text_attrs("maple.stream.shown", shown))
    await svc.record("stream.stopped", run, attrs=attrs)


async def _stop_quietly(svc: Services, ref: MessageRef, *, run_id: str | None = None) -> None:
    try:
        await svc.surface.stop_stream(ref=ref, run_id=run_id, effect="result" if run_id else None)
    except SurfaceError as exc:  # already stopped (a retry), or Slack ended it: the update still replaces it
        log.info("stream already stopped", extra={"error": type(exc).__name__})


async def finish(svc: Services, run: Run, *, channel: str, thread_ts: str | None,
                 language: str = "en") -> tuple[Run, MessageRef] | None:
    """Make the open stream the run's result: stopped, then replaced by the checked result (the message a
    buffered run posts), recorded as the ``result`` effect. None when there is none for this destination (the
    caller posts the result as usual)."""
    current = open_stream(run)
    if current is None or "result" in run.effects:
        return None
    name, effect = current
    if (effect.channel, effect.thread_ts) != (channel, thread_ts):
        return None
    ref = MessageRef(channel=effect.channel, ts=effect.ts or "")
    await _stop_quietly(svc, ref, run_id=run.id)  # marked as the run's result, like a posted one
    await svc.surface.update(ref=ref, view=View(kind="result", run=run, language=language))  # idempotent: a retry updates again

    def done(r: Run) -> None:
        r.effects["result"] = Effect(channel=ref.channel, thread_ts=thread_ts, ts=ref.ts, done=True)
        r.effects[name] = r.effects[name].model_copy(update={"done": True})

    run = await svc.mutate(run.id, done)
    return run, ref


async def settle_open(svc: Services, run_id: str) -> None:
    """After a job on the run: a stream still open was not made the result — replace it by what happened."""
    try:
        run = await svc.store.get(run_id)
        if open_stream(run) is None or run.state is RunState.DELIVERED:
            return
        drafting = run.state in (RunState.QUEUED, RunState.DRAFTING)  # a retry follows: the answer comes whole
        notice = text.msg("stream_interrupted" if drafting else "stream_withheld")
        await retire(svc, run_id, reason=f"run_{run.state.value}", notice=notice)
    except MapleError as exc:
        log.warning("could not settle an open stream", extra={"run_id": run_id, "error": type(exc).__name__})
