"""Approved side effects: the calls planned while drafting, made after approval — each at most once.

Record, then act, then mark done, as for Slack posts (bot/core/effects.py), except that a tool call has no
metadata to look for afterwards, so a call is never made twice:

- **start** — one compare-and-set moves the call from ``planned`` to ``started`` (with the time it must be over
  by). Only the delivery whose write made that move makes the call; a job delivered twice at once makes it once.
- **finish** — its answer (or error) is written on the run with its audit event (``mcp.called``, in the outbox,
  appended idempotently), and what it returned is assessed — an error too, which may quote the server's own
  words: the run's level rises before anything is posted.
- a delivery that finds a call ``started`` by another one waits for it (the job is retried) until the call's time
  is up; then the call is ``unknown`` — it may or may not have happened — and is not repeated. The person is told.

A call is made only if a person approved the very draft version it was planned with. An edit makes a new version,
so it *drops* the calls planned with the old one (the reviewer approves text, not calls they can no longer see);
a rejection makes none. Either way, nothing was called and the review message said so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.core.errors import MapleError
from bot.core.models import AuditIntent, PlannedCall, Run, RunState
from bot.core.services import Performed, Services

GRACE_SECONDS = 30
MAX_PLANNED_CALLS = 10  # what one review message shows: a reviewer sees every call approval makes
MAX_SHOWN_ARGUMENTS = 2_000  # characters of a call's shown arguments: shown whole, so longer is not planned


def shown_arguments(arguments: dict[str, Any]) -> str:
    """A planned call's arguments as the reviewer is shown them (whole: see ``MAX_SHOWN_ARGUMENTS``)."""
    return json.dumps(arguments, indent=1, ensure_ascii=False, sort_keys=True)


class CallInProgress(MapleError):
    """Another delivery of this run is making the call now: the job is tried again later."""


def approved_calls(run: Run) -> list[PlannedCall]:
    """The calls the current draft version carries (those a reviewer sees and approves)."""
    return [c for c in run.calls if c.version == run.draft_version and c.state != "dropped"]


def dropped_calls(run: Run) -> list[PlannedCall]:
    return [c for c in run.calls if c.version != run.draft_version or c.state == "dropped"]


async def make_approved_calls(svc: Services, run: Run) -> Run:
    """Make every approved call of ``run`` that is not finished; drop the others. Raises CallInProgress."""
    for call in list(run.calls):
        if not call.finished:
            run = await _make(svc, run, call.id)
    return run


def _find(run: Run, call_id: str) -> PlannedCall:
    return next(c for c in run.calls if c.id == call_id)


def _may_make(run: Run, call: PlannedCall) -> bool:
    decided = run.decision is not None and run.decision.kind == "approve"
    return run.state is RunState.APPROVED and decided and call.version == run.draft_version


async def _make(svc: Services, run: Run, call_id: str) -> Run:
    now = svc.clock.now()
    limit = svc.tools.time_limit(_find(run, call_id).tool) if svc.tools is not None else 0.0
    won: list[bool] = []

    def start(r: Run) -> None:
        won.clear()
        call = _find(r, call_id)
        if call.state != "planned":
            return
        if not _may_make(r, call) or svc.tools is None:
            call.state = "dropped"
            return
        call.state, call.until = "started", now + timedelta(seconds=limit + GRACE_SECONDS)
        won.append(True)

    run = await svc.mutate(run.id, start)
    call = _find(run, call_id)
    if won and svc.tools is not None:
        performed = await svc.tools.perform(call=call, run=run, level=run.sensitivity)
        return await svc.mutate(run.id, _finish(call_id, performed))
    if call.state == "started":
        if call.until is not None and now < call.until:
            raise CallInProgress(f"{call.tool} is being called by another delivery of {run.id}")
        lost = Performed(output=None, unknown=True, error="no answer was recorded", attrs={
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": call.tool[:64],
            "gen_ai.tool.call.id": call.id, "error.type": "ToolOutcomeUnknown"})
        return await svc.mutate(run.id, _finish(call_id, lost))
    return run


def _finish(call_id: str, performed: Performed) -> Callable[[Run], None]:
    def finish(r: Run) -> None:
        call = _find(r, call_id)
        if call.state not in ("started", "unknown"):
            return
        out = performed.output
        if out is not None:
            call.state, call.result, call.level = "done", out.text, out.level
            level, hits = out.level, out.hits
        else:
            call.state, call.error = ("unknown" if performed.unknown else "failed"), performed.error
            level, hits = performed.level, performed.hits or {}
        r.sensitivity = max(r.sensitivity, level)  # what the call answered (its error too) is shown with the result
        for kind, count in hits.items():
            r.sensitivity_hits[kind] = r.sensitivity_hits.get(kind, 0) + count
        attrs = {**(performed.attrs or {}), "maple.tool.call.state": call.state}
        r.outbox.append(AuditIntent(id=f"{r.id}:mcp:{call_id}:{call.state}", kind="mcp.called", attrs=attrs))

    return finish
