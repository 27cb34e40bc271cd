"""Follow-ups: a reply in the thread of a run ("shorter", "more formal", "add the date") revises it as a new version
of the same run — while its draft waits for review, and after its answer was delivered.

Which run a thread belongs to is found through the thread index the run store writes with the run itself: the
thread the run started in (a mention's, a DM's, the assistant pane's), and the threads of Maple's messages about it
elsewhere (its delivered result, the requester's run message). A reply there never starts a new run by accident;
it gets a clear answer when the run cannot be revised: still being worked on, cancelled, rejected (Revise is the
way), or purged. A held goal (the ask-back), a run that ended without an answer (failed, refused) and an answer a
tool computed (a workflow with no model step, such as a calculation) take a reply as a new goal instead.

The reply is a goal like any other at intake — checked for size, refused while intake is paused, throttled, and
refused (``AccessDenied``) for anyone but the requester and for someone who may not run the run's workflow. Then,
in one compare-and-set: the run must still be in review or delivered; it goes back to drafting, the approvals
given so far are cleared (they were for the old text) and the follow-up is kept on the run. A delivered run opens
a new *round*: its decision and where it was aimed are cleared, and the effects of the delivery (its result,
review messages, notices) are kept under ``r{n}/{name}``, so the new version is reviewed (when the workflow
requires it) and delivered anew. A worker drafts again through the same steps — the whole request (the goal, the
previous draft, every follow-up) is assessed, routed, generated and checked again — and the new version goes to
the reviewers with what changed. A click made on an old version is refused (decisions bind to the version seen).
At most ``MAX_FOLLOWUPS`` follow-ups per run.
"""

from __future__ import annotations

import difflib
import re

from bot.core import intake, text
from bot.core.errors import AccessDenied, InputError, InvalidTransition, NotFound
from bot.core.models import AuditIntent, FollowUp, Job, Origin, Run, RunState
from bot.core.services import Services
from bot.core.states import transition

MAX_FOLLOWUPS = 5
REVISABLE = frozenset({RunState.IN_REVIEW, RunState.DELIVERED})
NEW_GOAL = frozenset({RunState.FAILED, RunState.REFUSED})  # ended without an answer: a reply is a new goal
ROUND_EFFECTS = ("result", "notify:approved", "notify:rerouted")  # one delivery's effects, and review:/escalate:
ROUND_PREFIXES = ("review:", "escalate:")
MAX_CHANGES = 6  # lines of "what changed" on a review message
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


async def thread_run(svc: Services, origin: Origin) -> Run | str | None:
    """The run a reply in this thread follows up; its id alone when it is gone (purged, expired); None when the
    reply is a new goal (not in a thread, no run there, or one a reply does not revise)."""
    if not origin.in_thread or not origin.thread_ts:
        return None
    run_id = await svc.store.thread_run(channel=origin.channel, thread_ts=origin.thread_ts)
    if run_id is None:
        return None
    try:
        run = await svc.store.get(run_id)
    except NotFound:
        return run_id
    workflow = svc.spec.workflow(run.workflow)
    if not run.workflow or run.state in NEW_GOAL or workflow is None:
        return None
    if workflow.steps and not any(s.kind == "generate" for s in workflow.steps):
        return None  # a tool's answer: asking again is a new goal
    return run


def asked(run: Run) -> str:
    """What the model is asked: the goal, and for a revision the previous draft and every follow-up."""
    if not run.followups:
        return run.goal
    previous = run.draft.text if run.draft else ""
    wants = "\n".join(f"- {f.text}" for f in run.followups)
    return f"{run.goal}\n\n--- the previous draft ---\n{previous}\n\n--- revise it as asked ---\n{wants}"


def not_revisable(run: Run) -> text.Msg:
    """Why a reply in this run's thread cannot revise it now."""
    if run.state is RunState.CANCELLED:
        return text.msg("followup_cancelled", run=run.id)
    if run.state is RunState.REJECTED:
        return text.msg("followup_rejected", run=run.id)
    if run.terminal:
        return text.msg("followup_ended", run=run.id, state=run.state.value.replace("_", " "))
    return text.msg("followup_busy", run=run.id, state=run.state.value.replace("_", " "))


async def revise(svc: Services, *, run: Run, user: str, instruction: str) -> Run:
    """Queue a new version of ``run`` as ``instruction`` asks. Raises InputError, AccessDenied, RateLimited,
    InvalidTransition (not in review nor delivered).

    Only the requester revises their run: anyone else replying in the thread (a reviewer above all, who could then
    approve the text they steered) is refused. Paused intake stops follow-ups too: each is new work for a model."""
    instruction = intake.check_goal(svc, instruction)
    workflow = svc.spec.workflow(run.workflow)
    if workflow is None:
        raise InputError(text.unknown_workflow(run.workflow))
    arrived = intake.Intake(requester=user, origin=run.origin, goal=instruction, workflow=workflow.id)
    intake.check_open(svc, arrived)  # operators paused intake: a follow-up starts new work too
    await intake.authorize_run(svc, user=user, workflow=workflow)
    if user != run.requester:
        raise AccessDenied(text.msg("revise_not_yours"))
    if run.state not in REVISABLE:
        raise InvalidTransition(not_revisable(run))
    await intake.throttle(svc, arrived)
    at = svc.clock.now()
    digest = svc.audit.text_attrs("maple.followup.text", instruction)

    def apply(r: Run) -> None:
        if r.state not in REVISABLE:
            raise InvalidTransition(not_revisable(r))
        if len(r.followups) >= MAX_FOLLOWUPS:
            raise InputError(text.msg("followups_max", count=MAX_FOLLOWUPS))
        delivered = r.state is RunState.DELIVERED
        transition(r, RunState.DRAFTING)
        if delivered:
            new_round(r)
        r.followups.append(FollowUp(by=user, text=instruction, at=at, version=r.draft_version))
        r.approvals.clear()
        r.outbox.append(AuditIntent(id=f"{r.id}:followup:{len(r.followups)}", kind="draft.followup", actor=user,
                                    attrs={"maple.draft.version": r.draft_version, "maple.run.round": r.round,
                                           **digest}))

    return await svc.mutate(run.id, apply, job=Job(run_id=run.id, kind="draft"))


def new_round(r: Run) -> None:
    """A delivered run reopened: the last delivery's decision, aim and effects are put aside (kept under
    ``r{n}/{name}``) so the next version is reviewed and delivered as if for the first time."""
    for name in [n for n in r.effects if n in ROUND_EFFECTS or n.startswith(ROUND_PREFIXES)]:
        r.effects[f"r{r.round}/{name}"] = r.effects.pop(name)
    r.round += 1
    r.decision = None
    r.target = None


def revision_of(run: Run) -> FollowUp | None:
    """The follow-up the current draft answers (None when it is not a revision, or was edited since)."""
    if not run.followups or run.draft is None:
        return None
    last = run.followups[-1]
    return last if run.draft.author.startswith("model:") and run.draft_version == last.version + 1 else None


def previous_text(run: Run) -> str | None:
    """The text of the version the current draft revised (None when it is not a revision)."""
    asked_for = revision_of(run)
    if asked_for is None:
        return None
    return next((d.text for d in run.drafts if d.version == asked_for.version), "")


def changes(before: str, after: str, *, limit: int = MAX_CHANGES) -> tuple[list[tuple[str, str]], int]:
    """What changed between two versions, sentence by sentence: up to ``limit`` ("-" removed | "+" added, sentence)
    and how many more changed sentences were left out."""
    old = [s for s in (p.strip() for p in _SENTENCE.split(before)) if s]
    new = [s for s in (p.strip() for p in _SENTENCE.split(after)) if s]
    found: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        found += [("-", s) for s in old[i1:i2]] + [("+", s) for s in new[j1:j2]]
    return found[:limit], max(0, len(found) - limit)
