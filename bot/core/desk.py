"""The front desk: everything a person can type after ``/maple`` (or in a mention or DM), answered.

Slack-free: handlers turn a Slack payload into ``(user, origin, raw)`` and render the ``Answer``. Nothing here
waits for a model; a goal becomes a persisted, queued run (the ack path).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import timedelta

from bot.core import askback, commands, feedback, followups, intake, reviewers, status, text
from bot.core.classify import Classifier
from bot.core.errors import (
    AccessDenied,
    InputError,
    InvalidTransition,
    MapleError,
    NotFound,
    StoreUnavailable,
)
from bot.core.knowledge import sources
from bot.core.models import Origin, Run, RunState
from bot.core.ports import People, Person
from bot.core.schedule_desk import ScheduleDesk, ScheduleRow
from bot.core.services import Services
from bot.core.spec import WorkflowSpec
from bot.core.text import Msg

log = logging.getLogger("maple.desk")


@dataclass(frozen=True)
class Answer:
    """What Maple answers at once. ``choices`` (workflow id, title, description) ask back which workflow was meant;
    ``queued`` means a worker follows up in the conversation; a private answer is for the asker alone."""

    text: Msg
    choices: list[tuple[str, str, str]] = field(default_factory=list)
    run_id: str | None = None
    queued: bool = False
    private: bool = True
    schedules: list[ScheduleRow] = field(default_factory=list)
    language: str = "en"  # what the text is said in (and the buttons beside it)


@dataclass(frozen=True)
class Placement:
    """Where a goal goes, decided before anything is written: refused (``refusal``), a workflow (``workflow``),
    or asked back — of a cleared model first (``ask_model``), else of the person, offering ``offer``."""

    refusal: Msg | None = None
    workflow: str | None = None
    offer: list[str] = field(default_factory=list)
    ask_model: bool = False


@dataclass(kw_only=True)
class Desk:
    """``deferred`` (``MAPLE_ACK=deferred``): a slash command's goal is acked at once with a fixed message and
    placed by a worker, which answers through the command's response_url (bot/core/deferred.py)."""

    svc: Services
    classifier: Classifier | None = None
    schedules: ScheduleDesk | None = None
    people: People | None = None
    deferred: bool = False

    async def person(self, user: str) -> Person:
        """The person's zone and locale (users.info), or nothing known: the configured defaults apply."""
        return await self.people.person(user) if self.people is not None else Person()

    def zone_of(self, person: Person) -> str:
        return person.timezone or self.svc.spec.tools.timezone

    def language_of(self, person: Person) -> str:
        return text.language_of(person.locale, self.svc.spec.language)

    async def language(self, user: str) -> str:
        """The language Maple speaks to ``user``: their Slack locale's, else the configured one."""
        return self.language_of(await self.person(user))

    def defers(self, raw: str, reply_url: str | None) -> bool:
        """A slash command whose goal a worker places (``deferred``): its ack is one write, and that write also
        checks that the request is used once (the front door hands it a ``UseOnce``)."""
        return self._defers(commands.parse(raw), reply_url)

    def _defers(self, cmd: commands.Command, reply_url: str | None) -> bool:
        return self.deferred and bool(reply_url) and _placeable(cmd)

    async def handle(self, *, user: str, origin: Origin, raw: str, reply_url: str | None = None,
                     once: intake.UseOnce | None = None) -> Answer:
        """Never raises for user-facing problems: they become the answer, in the person's language. ``reply_url``:
        the slash command's response_url, where a deferred intake is answered; ``once``: the request, used up by
        that intake's write (a replay raises AlreadyUsed: nothing happened, and there is nothing to answer)."""
        cmd = commands.parse(raw)
        deferred = origin.kind == "command" and self._defers(cmd, reply_url)
        try:
            if deferred:
                try:
                    answer = await self._accept(user=user, origin=origin, cmd=cmd, reply_url=reply_url or "",
                                                once=once)
                except (InputError, AccessDenied):  # answered before any write: the request is used all the same
                    if once is not None:
                        await once.use()
                    raise
            else:
                answer = await self._dispatch(user=user, origin=origin, cmd=cmd)
        except StoreUnavailable:
            answer = Answer(text.UNAVAILABLE)
        except (InputError, AccessDenied) as exc:
            answer = Answer(text.as_msg(exc))
        lang = self.language_of(self.known(user) or Person()) if deferred else await self.language(user)
        return replace(answer, text=text.in_language(answer.text, lang), language=lang)

    def known(self, user: str) -> Person | None:
        """The person as already known, without waiting for Slack (a deferred ack never waits for it)."""
        return self.people.known(user) if self.people is not None else None

    async def _dispatch(self, *, user: str, origin: Origin, cmd: commands.Command) -> Answer:
        if cmd.kind in ("usage", "help"):
            admin = await self.svc.access.is_admin(user)
            limit = text.msg("goal_limit_note", limit=self.svc.spec.limits.max_goal_chars)
            return Answer(text.lines([text.USAGE, limit, *([text.ADMIN_USAGE] if admin else [])]))
        if cmd.kind == "unknown":
            return Answer(text.unknown_command(cmd.text))
        if cmd.kind == "workflows":
            return Answer(await self.workflows(user))
        if cmd.kind == "sources":
            return Answer(await sources(self.svc, user))
        if cmd.kind == "status":
            if cmd.run_id:
                return Answer(text.lines([await self.status(user, cmd.run_id), *self.control_notes()]))
            if cmd.text:  # not a run id: say what one looks like
                return Answer(await self._which_run(user, cmd))
            parts = [await self._which_run(user, cmd), self.maple_status()]
            if await self.svc.access.is_admin(user):  # the votes per workflow and model
                parts.append(await feedback.report(self.svc, user))
            return Answer(text.lines(parts))
        if cmd.kind == "audit":
            if not cmd.run_id:
                return Answer(_not_a_run_id(cmd.text) if cmd.text else text.msg("audit_which"))
            return Answer(await self.audit(user, cmd.run_id))
        if cmd.kind in ("schedule", "schedules"):
            return await self._schedules(user=user, origin=origin, cmd=cmd)
        if cmd.kind == "run":
            if not cmd.workflow or not cmd.text:
                return Answer(text.RUN_USAGE)
            return await self._submit(user=user, origin=origin, goal=cmd.text, workflow=cmd.workflow)
        return await self._goal(user=user, origin=origin, goal=cmd.text)

    async def _schedules(self, *, user: str, origin: Origin, cmd: commands.Command) -> Answer:
        if self.schedules is None:
            return Answer(text.UNAVAILABLE)
        if cmd.kind == "schedules":
            header, rows = await self.schedules.listing(user)
            return Answer(header, schedules=rows)
        if not cmd.text:
            return Answer(text.SCHEDULE_USAGE)
        return Answer(await self.schedules.create(user=user, origin=origin, raw=cmd.text))

    async def _goal(self, *, user: str, origin: Origin, goal: str) -> Answer:
        with self.svc.stage("request", **{"maple.origin": origin.kind}):  # classify and ack: one trace
            return await self._goal_traced(user=user, origin=origin, goal=goal)

    async def _goal_traced(self, *, user: str, origin: Origin, goal: str) -> Answer:
        intake.check_goal(self.svc, goal)
        followed = await followups.thread_run(self.svc, origin)
        if followed is not None:  # a reply in the thread of a run or of its answer: a new version of that run
            return await self._follow_up(user=user, origin=origin, found=followed, instruction=goal)
        placed = await self.place(user, goal)
        if placed.refusal is not None:
            return Answer(placed.refusal)
        if placed.workflow is not None:
            return await self._submit(user=user, origin=origin, goal=goal, workflow=placed.workflow)
        who = await self.person(user)
        run = await intake.hold(self.svc, intake.Intake(requester=user, origin=origin, goal=goal, workflow="",
                                                        timezone=who.timezone, locale=who.locale,
                                                        offered=placed.offer), ask_model=placed.ask_model)
        if placed.ask_model:
            return Answer(text.working_out(run.id), run_id=run.id, queued=True)
        queued = origin.kind in ("mention", "dm")  # a worker asks in the thread: the same question, the same offer
        return self.asked_back(run, placed.offer, queued=queued)

    async def place(self, user: str, goal: str) -> Placement:
        """Which workflow a goal is for, among those ``user`` may run: the local classifier's pick when it is
        confident; otherwise ask back (a cleared model first, when the classifier had a guess)."""
        roles = await self.svc.access.roles_of(user)  # resolved once per request
        if not roles:
            return Placement(refusal=self.ask_admin("not_allowed_any_named", text.NOT_ALLOWED_ANY))
        mine = [wf for wf in self.svc.spec.workflows if roles.intersection(wf.run_roles)]
        if not mine:
            return Placement(refusal=self.ask_admin("no_workflows_named", text.NO_WORKFLOWS))
        offered = [wf for wf in mine if not wf.unreviewed_text]  # the ask-back never offers unreviewed model text
        with self.svc.stage("classify", **{"maple.classify.by": "local"}):
            found = self.classifier.classify(goal) if self.classifier else None
        if found is not None and found.workflow and found.confidence >= self.svc.spec.classify_threshold:
            return Placement(workflow=found.workflow)
        return Placement(offer=askback.offered(offered, found.ranked if found else []),  # never unreviewed text
                         ask_model=found is not None and found.workflow is not None and self.svc.router.can_classify())

    def asked_back(self, run: Run, offer: list[str], *, queued: bool = False) -> Answer:
        """The question for a held goal, with a button for each workflow offered (the goal is not repeated back
        when it holds a detected value)."""
        withhold = bool(self.svc.assessment(run.goal)[1])
        return Answer(text.ask_back(run.goal, withhold=withhold), choices=askback.choices(offer, self.svc.spec.workflows),
                      run_id=run.id, queued=queued)

    async def _accept(self, *, user: str, origin: Origin, cmd: commands.Command, reply_url: str,
                      once: intake.UseOnce | None) -> Answer:
        """A deferred intake's ack: the cheap checks (length, intake paused, a named workflow that exists), then
        one write — the goal, held, with its ``intake`` job — and a fixed answer that never repeats the goal."""
        named = cmd.workflow if cmd.kind == "run" else None
        if named is not None and self.svc.spec.workflow(named) is None:
            raise InputError(text.unknown_workflow(named))
        who = self.known(user) or Person()  # not known yet: the worker looks the person up
        run = await intake.accept(self.svc, intake.Intake(requester=user, origin=origin, goal=cmd.text,
                                                          workflow=named or "", timezone=who.timezone,
                                                          locale=who.locale), reply_url=reply_url, once=once)
        return Answer(text.msg("intake_accepted", run=run.id), run_id=run.id, queued=True)

    async def _follow_up(self, *, user: str, origin: Origin, found: Run | str, instruction: str) -> Answer:
        private = origin.kind != "dm"
        if isinstance(found, str):  # purged, or expired
            return Answer(text.msg("followup_gone", run=found), private=private)
        try:
            run = await followups.revise(self.svc, run=found, user=user, instruction=instruction)
        except InvalidTransition as exc:
            return Answer(text.as_msg(exc), private=private)
        workflow = self.svc.spec.workflow(run.workflow)
        key = "revising" if workflow is None or workflow.review else "revising_answer"
        return Answer(text.msg(key, run=run.id, version=run.draft_version + 1), run_id=run.id, private=private)

    async def _submit(self, *, user: str, origin: Origin, goal: str, workflow: str) -> Answer:
        who = await self.person(user)
        run = await intake.submit(self.svc, intake.Intake(requester=user, origin=origin, goal=goal, workflow=workflow,
                                                          timezone=who.timezone, locale=who.locale))
        return Answer(self.behind(working(self.svc, run)), run_id=run.id, queued=True)

    def behind(self, said: Msg) -> Msg:
        """Backpressure: when the queue's oldest job waited longer than ``limits.backpressure_seconds``, say how
        many runs are ahead (the queue as seen within the last seconds). Nothing is refused or dropped."""
        backlog = self.svc.controls.backlog() if self.svc.controls is not None else None
        if backlog is None or backlog.waiting <= 0:
            return said
        if backlog.oldest_seconds < self.svc.spec.limits.backpressure_seconds:
            return said
        return text.queued_behind(said, backlog.waiting)

    def control_notes(self) -> list[Msg]:
        state = self.svc.control_state()
        return ([text.CONTROL_FROZEN_NOTE] if state.freeze_external else []) + (
            [text.CONTROL_PAUSED_NOTE] if state.intake_paused else [])

    def maple_status(self) -> Msg:
        """``/maple status``: the operator controls in force and how busy the queue is."""
        backlog = self.svc.controls.backlog() if self.svc.controls is not None else None
        parts = self.control_notes() or [text.msg("control_none")]
        if backlog is not None:
            parts.append(text.msg("status_queue", waiting=backlog.waiting, oldest=int(backlog.oldest_seconds)))
        return text.lines([text.msg("maple_status_head"), *parts])


    async def suggestions(self, user: str, *, limit: int = 4) -> list[tuple[str, str]]:
        """Suggested prompts for the assistant pane, as (title, goal): the first example of each workflow this
        person may run, in the config's order — never a workflow they may not run."""
        found: list[tuple[str, str]] = []
        for wf in self.svc.spec.workflows:
            if len(found) >= limit:
                break
            if wf.examples and await self.svc.access.may_run(user, wf):
                found.append((wf.label, wf.examples[0]))
        return found

    async def workflows(self, user: str) -> Msg:
        mine = [text.msg("workflow_line", title=wf.label, id=wf.id, description=wf.description)
                for wf in self.svc.spec.workflows if await self.svc.access.may_run(user, wf)]
        if not mine:
            return self.ask_admin("no_workflows_named", text.NO_WORKFLOWS)
        return text.lines([text.msg("workflows_header"), *mine])

    def ask_admin(self, key: str, unnamed: Msg, **args: text.Arg) -> Msg:
        """A refusal that sends the person to the admins names them (when the config names any)."""
        admins = reviewers.named_admins(self.svc)  # the ack path: no look-ups
        return text.msg(key, who=text.people(admins[:5]), **args) if admins else unnamed

    async def status(self, user: str, run_id: str) -> Msg:
        try:
            run = await self.svc.store.get(run_id)
        except NotFound:
            return text.run_not_found(run_id)
        if not await self.svc.access.may_view(user, run, self.svc.spec.workflow(run.workflow)):
            return text.STATUS_DENIED
        workflow = self.svc.spec.workflow(run.workflow)
        zone = self.zone_of(await self.person(user))
        report = status.report(run, zone=zone, now=self.svc.clock.now(), label=workflow.label if workflow else None,
                               withhold_goal=bool(self.svc.assessment(run.goal)[1]), reader=user)
        stuck = await self._stuck(run)
        return text.lines([report, *stuck]) if stuck else report

    async def _which_run(self, user: str, cmd: commands.Command) -> Msg:
        """A bare ``/maple status`` names the asker's latest runs; a malformed id says what an id looks like."""
        if cmd.text:
            return _not_a_run_id(cmd.text)
        recent = await self.svc.store.since(self.svc.clock.now() - timedelta(days=7), limit=2000)
        mine = [text.msg("raw", text=r.id) for r in reversed(recent) if r.requester == user][:3]
        latest = text.msg("status_recent", runs=text.lines(mine, sep=", ")) if mine else text.msg("raw", text="")
        return text.msg("status_which", recent=latest)

    async def _stuck(self, run: Run) -> list[Msg]:
        """For a run in review that nobody left can approve: why, and what can be done."""
        if run.state is not RunState.IN_REVIEW or not await reviewers.is_stuck(self.svc, run):
            return []
        return [text.msg("status_stuck", why=await reviewers.stuck_reason(self.svc, run))]

    async def audit(self, user: str, run_id: str) -> Msg:
        if not await self.svc.access.is_admin(user):
            return text.AUDIT_DENIED
        try:
            events = await self.svc.audit.timeline(run_id)
        except MapleError as exc:
            log.warning("audit timeline unavailable", extra={"run_id": run_id, "error": type(exc).__name__})
            return text.AUDIT_UNAVAILABLE
        if not events:
            return text.run_not_found(run_id)
        rows = [text.msg("audit_line_by", at=f"{e.ts:%Y-%m-%d %H:%M:%S}", kind=e.kind, user=text.User(e.actor))
                if e.actor else text.msg("audit_line", at=f"{e.ts:%Y-%m-%d %H:%M:%S}", kind=e.kind)
                for e in events[:40]]
        return text.lines([text.msg("audit_head", run=run_id), *rows])


def _placeable(cmd: commands.Command) -> bool:
    """A goal, or ``/maple run <workflow> <goal>`` in full: what a deferred intake acks before placing."""
    return cmd.kind == "goal" or (cmd.kind == "run" and bool(cmd.workflow) and bool(cmd.text))


def working(svc: Services, run: Run) -> Msg:
    """The first answer to a queued run: a review is promised only when there will be one."""
    wf = svc.spec.workflow(run.workflow)
    if wf is not None and private_result(run, wf):
        return text.msg("working_private", run=run.id)
    if wf is None or wf.review:
        return text.msg("working_tracked", run=run.id)  # the ack is logged by Bolt at debug: no goal in it
    return text.working_no_review(run.id)


def run_name(svc: Services, run: Run) -> Msg:
    """A run named by its goal — by its id alone when the goal holds a detected value (a SIN, a card…), which
    Maple never repeats back."""
    return text.msg("raw", text=run.id) if svc.assessment(run.goal)[1] else text.run_name(run.id, run.goal)


def private_result(run: Run, workflow: WorkflowSpec) -> bool:
    """Unreviewed text a model wrote, started by a person: it goes to them alone, never to a channel."""
    return workflow.unreviewed_text and run.origin.kind != "schedule"


def _not_a_run_id(said: str) -> Msg:
    return text.msg("not_a_run_id", text=text.Quote(said, 40))
