"""The ack path's core: validate and authorize a goal, persist the run, enqueue it. Nothing slow happens here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core import text
from bot.core.errors import (
    AccessDenied,
    AlreadyUsed,
    InputError,
    InvalidTransition,
    NotFound,
    RateLimited,
    StoreUnavailable,
)
from bot.core.models import AuditIntent, Job, Origin, Run, RunState
from bot.core.ports import Bucket
from bot.core.services import Services
from bot.core.spec import WorkflowSpec
from bot.core.states import transition


@dataclass(frozen=True, kw_only=True)
class Intake:
    """A goal as it arrived, before it becomes a run."""

    requester: str
    origin: Origin
    goal: str
    workflow: str
    run_id: str | None = None  # a schedule's firing names its run (the same id in every process)
    audit: tuple[AuditIntent, ...] = ()  # events written with the run itself
    timezone: str | None = None  # the requester's zone and locale (users.info), when known
    locale: str | None = None
    offered: list[str] | None = None  # a held goal: the workflows to offer (bot/core/askback.py)


@dataclass(kw_only=True)
class UseOnce:
    """A request that may be used once (its signature, or its Socket Mode envelope id), handed to a deferred
    intake by the front door: the run write checks and marks the key in the same atomic step, so the ack makes one
    Redis round trip, not two. ``used``: the key is taken (by the write, or by ``use``); ``replayed``: it had been
    used, nothing was written; ``tried``: the write was sent and failed (it may have run: the key is not looked at
    again, and the request is answered as the failure was). ``mark``: the front door's own check (True the first
    time), for a request answered before any write."""

    key: str
    mark: Callable[[], Awaitable[bool]] | None = None
    used: bool = False
    replayed: bool = False
    tried: bool = False

    @property
    def settled(self) -> bool:
        return self.used or self.replayed or self.tried

    async def use(self) -> None:
        """Use the request up without a write (it was answered before one): AlreadyUsed for a replay, which is
        then not answered. Whichever copy's mark reaches Redis first is the one answered."""
        if self.settled or self.mark is None:
            return
        if await self.mark():
            self.used = True
            return
        self.replayed = True
        raise AlreadyUsed(self.key)


def check_goal(svc: Services, goal: str) -> str:
    goal = goal.strip()
    if not goal:
        raise InputError(text.USAGE)
    limit = svc.spec.limits.max_goal_chars
    if len(goal) > limit:
        raise InputError(text.goal_too_long(limit, len(goal), goal))
    return goal


def check_open(svc: Services, intake: Intake) -> None:
    """Operators paused intake (``maple control pause-intake``): nothing new starts, and people are told so.
    Schedules keep firing: they are configuration, and pausing them is ``/maple schedules``' job."""
    if intake.origin.kind != "schedule" and svc.control_state().intake_paused:
        raise InputError(text.INTAKE_PAUSED)


async def authorize_run(svc: Services, *, user: str, workflow: WorkflowSpec) -> None:
    if not await svc.access.may_run(user, workflow):
        admins = sorted({m for role in svc.spec.admin_roles for m in svc.spec.roles.get(role, [])
                         if m.startswith(("U", "W"))})  # named by id: no look-ups on the ack path
        raise AccessDenied(text.msg("not_allowed_run_named", workflow=workflow.label, who=text.people(admins[:5]))
                           if admins else text.not_allowed_run(workflow.label))


async def throttle(svc: Services, intake: Intake) -> None:
    """The start limits for a goal as it arrived (``limit_starts``). A schedule's own firings are not throttled:
    they are configuration, not input (a person's "Run now" click is input, and takes its own limits)."""
    if intake.origin.kind == "schedule":
        return
    await limit_starts(svc, user=intake.requester, team=intake.origin.team)


async def limit_starts(svc: Services, *, user: str, team: str | None, run_id: str | None = None) -> None:
    """Per-user and per-team rate limits on starting runs (``limits:``), taken atomically from shared buckets.
    Raises RateLimited — before anything is persisted — with when to try again. ``run_id``: the run this start is
    (a deferred placement): counted once however many deliveries of its job take it."""
    limits = svc.spec.limits
    if svc.limiter is None:
        return
    buckets = [Bucket(key=f"user:{user}", capacity=limits.runs_per_user_per_minute, per_seconds=60,
                      scope="user"),
               Bucket(key=f"team:{team or '-'}", capacity=limits.runs_per_team_per_minute,
                      per_seconds=60, scope="team")]
    buckets = [b for b in buckets if b.capacity > 0]
    if not buckets:
        return
    verdict = await svc.limiter.take(buckets, once=run_id)
    if not verdict.allowed:
        limit = next(b.capacity for b in buckets if b.scope == verdict.scope)
        raise RateLimited(text.throttled(scope=verdict.scope, limit=limit, retry_after=verdict.retry_after),
                          retry_after=verdict.retry_after)


def bind(run: Run, workflow: WorkflowSpec) -> None:
    """Give a run its workflow — and with it everything the workflow decides for the run (its quorum)."""
    run.workflow = workflow.id
    run.quorum = workflow.quorum


def _new_run(svc: Services, intake: Intake, goal: str, workflow: WorkflowSpec | None) -> Run:
    now = svc.clock.now()
    run = Run(requester=intake.requester, origin=intake.origin, goal=goal, workflow="", created_at=now,
              updated_at=now, sensitivity=svc.spec.sensitivity.default, outbox=list(intake.audit),
              timezone=intake.timezone, locale=intake.locale, offered=list(intake.offered or []))
    if intake.run_id is not None:
        run.id = intake.run_id
    if workflow is not None:
        bind(run, workflow)
    return run


async def hold(svc: Services, intake: Intake, *, ask_model: bool = False) -> Run:
    """Persist a goal whose workflow is not decided yet; the requester is asked which one they meant.
    A mention or DM gets the question posted in its thread by a worker (a ``clarify`` job)."""
    goal = check_goal(svc, intake.goal)
    check_open(svc, intake)
    await throttle(svc, intake)
    run = _new_run(svc, intake, goal, None)
    queued = ask_model or intake.origin.kind in ("mention", "dm")
    job = Job(run_id=run.id, kind="clarify") if queued else None
    return await _persist(svc, run, job)


async def accept(svc: Services, intake: Intake, *, reply_url: str, once: UseOnce | None = None) -> Run:
    """A deferred intake (``MAPLE_ACK=deferred``): persist the goal, held, with an ``intake`` job — one write, which
    also uses ``once`` up (AlreadyUsed for a replay); a worker places the goal (classify, authorize, throttle) and
    answers through ``reply_url`` (bot/core/deferred.py)."""
    goal = check_goal(svc, intake.goal)
    check_open(svc, intake)
    run = _new_run(svc, intake, goal, None)
    run.reply_url, run.named_workflow = reply_url, intake.workflow or None
    return await _persist(svc, run, Job(run_id=run.id, kind="intake"), once=once)


async def choose(svc: Services, *, run_id: str, user: str, workflow_id: str, by: str = "requester") -> Run:
    """A workflow for a held goal — the requester picked it (``by``: or named it, or the classifier did):
    authorize, then queue it."""
    workflow = svc.spec.workflow(workflow_id)
    if workflow is None:
        raise InputError(text.unknown_workflow(workflow_id))
    run = await svc.store.get(run_id)
    if run.requester != user:
        raise AccessDenied(text.ONLY_REQUESTER_CHOOSES)
    check_open(svc, Intake(requester=user, origin=run.origin, goal=run.goal, workflow=workflow.id))  # work starts now
    await authorize_run(svc, user=user, workflow=workflow)

    def pick(r: Run) -> None:
        if r.workflow:
            raise InvalidTransition(text.already_running(r.id, r.workflow))
        if r.terminal:  # cancelled or refused meanwhile: nothing starts
            raise InvalidTransition(text.already_decided(r.state.value))
        bind(r, workflow)

    run = await svc.mutate(run_id, pick, job=Job(run_id=run_id, kind="draft"))
    await svc.record("run.classified", run, actor=user, attrs={"maple.workflow": workflow.id,
                                                                 "maple.classify.by": by})
    return run


async def submit(svc: Services, intake: Intake) -> Run:
    """Persist a new run and enqueue its draft job. Raises InputError, AccessDenied, StoreUnavailable."""
    goal = check_goal(svc, intake.goal)
    workflow = svc.spec.workflow(intake.workflow)
    if workflow is None:
        raise InputError(text.unknown_workflow(intake.workflow))
    check_open(svc, intake)
    await authorize_run(svc, user=intake.requester, workflow=workflow)
    await throttle(svc, intake)
    run = _new_run(svc, intake, goal, workflow)
    return await _persist(svc, run, Job(run_id=run.id, kind="draft"))


async def _persist(svc: Services, run: Run, job: Job | None, *, once: UseOnce | None = None) -> Run:
    """The ack's own work: persist the run with its first job, in one atomic write. With tracing on, this is the
    run's ``ack`` span, and its context is kept on the run so every later stage (in any process) joins its trace.
    A write whose answer was lost (the store unreachable on the way back) is looked for before it is called lost:
    the run written is the run started, and the person is told so rather than "temporarily unavailable"."""
    with svc.stage("ack", run.id, **{"maple.origin": run.origin.kind, "maple.workflow": run.workflow or "-"}):
        run.trace = svc.trace_context()
        if once is not None:
            once.tried = True
        try:
            saved = await svc.store.create(run, job=svc.stamped(job, run), once=once.key if once else None)
        except AlreadyUsed:
            if once is not None:
                once.replayed = True
            raise
        except StoreUnavailable as lost:
            saved = await _written_after_all(svc, run.id, lost)
        if once is not None:
            once.used = True
        return saved


async def _written_after_all(svc: Services, run_id: str, lost: StoreUnavailable) -> Run:
    try:
        return await svc.store.get(run_id)
    except (StoreUnavailable, NotFound):
        raise lost from None


async def revise(svc: Services, *, run_id: str, user: str, goal: str) -> Run:
    """The requester resubmits a rejected (or cancelled) run with a revised goal: a new run of the same workflow,
    from the same place, checked like any other."""
    old = await svc.store.get(run_id)
    if old.requester != user:
        raise AccessDenied(text.msg("revise_not_yours"))
    if old.state not in (RunState.REJECTED, RunState.CANCELLED):
        raise InvalidTransition(text.msg("revise_not_rejected", state=old.state.value.replace("_", " ")))
    run = await submit(svc, Intake(requester=user, origin=old.origin, goal=goal, workflow=old.workflow,
                                 timezone=old.timezone, locale=old.locale))
    await svc.record("run.revised", run, actor=user, attrs={"maple.run.revises": old.id})
    return run


DISMISSED = text.msg("dismissed_reason")


async def dismiss(svc: Services, *, run_id: str, user: str) -> Run:
    """The requester answered *None of these* to an ask-back: the held goal ends, nothing runs."""
    run = await svc.store.get(run_id)
    if run.requester != user:
        raise AccessDenied(text.ONLY_REQUESTER_DISMISSES)

    def drop(r: Run) -> None:
        if r.terminal:
            raise InvalidTransition(text.already_decided(r.state.value))
        if r.workflow:
            raise InvalidTransition(text.already_running(r.id, r.workflow))
        transition(r, RunState.REFUSED)
        r.error = str(text.in_language(DISMISSED, text.language_of(r.locale, svc.spec.language)))  # as they read it

    run = await svc.mutate(run_id, drop)
    await svc.record("run.dismissed", run, actor=user)
    return run
