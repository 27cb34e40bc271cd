"""The front desk: everything a person can type after ``/maple`` (or in a mention or DM), answered.

Slack-free: handlers turn a Slack payload into ``(user, origin, raw)`` and render the ``Answer``. Nothing here
waits for a model; a goal becomes a persisted, queued run (the ack path).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.core import commands, intake, reviewers, text
from bot.core.classify import Classifier
from bot.core.errors import AccessDenied, InputError, MapleError, NotFound, StoreUnavailable
from bot.core.knowledge import sources
from bot.core.models import Origin, Run, RunState
from bot.core.schedule_desk import ScheduleDesk, ScheduleRow
from bot.core.services import Services
from bot.core.spec import WorkflowSpec
from bot.core.text import Msg

log = logging.getLogger("maple.desk")


@dataclass(frozen=True)
class Answer:
    """What Maple answers at once. ``choices`` (workflow id, label) ask back which workflow was meant;
    ``queued`` means a worker follows up in the conversation; a private answer is for the asker alone."""

    text: Msg
    choices: list[tuple[str, str]] = field(default_factory=list)
    run_id: str | None = None
    queued: bool = False
    private: bool = True
    schedules: list[ScheduleRow] = field(default_factory=list)


@dataclass(kw_only=True)
class Desk:
    svc: Services
    classifier: Classifier | None = None
    schedules: ScheduleDesk | None = None

    async def handle(self, *, user: str, origin: Origin, raw: str) -> Answer:
        """Never raises for user-facing problems: they become the answer."""
        try:
            return await self._dispatch(user=user, origin=origin, cmd=commands.parse(raw))
        except StoreUnavailable:
            return Answer(text.UNAVAILABLE)
        except (InputError, AccessDenied) as exc:
            return Answer(text.as_msg(exc))

    async def _dispatch(self, *, user: str, origin: Origin, cmd: commands.Command) -> Answer:
        if cmd.kind in ("usage", "help"):
            admin = await self.svc.access.is_admin(user)
            return Answer(text.lines([text.USAGE, text.ADMIN_USAGE]) if admin else text.USAGE)
        if cmd.kind == "unknown":
            return Answer(text.unknown_command(cmd.text))
        if cmd.kind == "workflows":
            return Answer(await self.workflows(user))
        if cmd.kind == "sources":
            return Answer(await sources(self.svc, user))
        if cmd.kind == "status":
            return Answer(await self.status(user, cmd.run_id))
        if cmd.kind == "audit":
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
        intake.check_goal(self.svc, goal)
        roles = await self.svc.access.roles_of(user)  # resolved once per request
        if not roles:
            return Answer(self.ask_admin("not_allowed_any_named", text.NOT_ALLOWED_ANY))
        mine = [wf for wf in self.svc.spec.workflows if roles.intersection(wf.run_roles)]
        if not mine:
            return Answer(self.ask_admin("no_workflows_named", text.NO_WORKFLOWS))
        offered = [wf for wf in mine if not wf.unreviewed_text]  # the ask-back never offers unreviewed model text
        found = self.classifier.classify(goal) if self.classifier else None
        if found is not None and found.workflow and found.confidence >= self.svc.spec.classify_threshold:
            return await self._submit(user=user, origin=origin, goal=goal, workflow=found.workflow)
        ranked = [wf for wf, _score in (found.ranked if found else [])]
        options = sorted(offered, key=lambda wf: ranked.index(wf.id) if wf.id in ranked else len(ranked))[:3]
        ask_model = found is not None and found.workflow is not None and self.svc.router.can_classify()
        run = await intake.hold(self.svc, intake.Intake(requester=user, origin=origin, goal=goal, workflow=""),
                                ask_model=ask_model)
        if ask_model:
            return Answer(text.working_out(run.id), run_id=run.id, queued=True)
        queued = origin.kind in ("mention", "dm")  # a worker asks in the thread
        return Answer(text.ASK_BACK, choices=[(wf.id, wf.label) for wf in options], run_id=run.id, queued=queued)

    async def _submit(self, *, user: str, origin: Origin, goal: str, workflow: str) -> Answer:
        run = await intake.submit(self.svc, intake.Intake(requester=user, origin=origin, goal=goal, workflow=workflow))
        return Answer(working(self.svc, run), run_id=run.id, queued=True)

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
        parts = [text.msg("status_head", run=run.id, state=run.state.value.replace("_", " ")),
                 text.msg("status_workflow", workflow=run.workflow or "not chosen yet", user=text.User(run.requester),
                          at=f"{run.created_at:%Y-%m-%d %H:%M} UTC")]
        parts += await self._waiting(run)
        parts += [text.msg("status_route", step=r.step, reason=r.reason + _skips(r.skipped)) for r in run.routes]
        if run.total_tokens:
            parts.append(text.msg("status_usage", tokens=run.total_tokens, cost=f"{run.total_cost:.4f}"))
        if run.error:
            parts.append(text.msg("status_problem", error=run.error))
        return text.lines(parts)

    async def _waiting(self, run: Run) -> list[Msg]:
        """For a run in review: who may approve it now — or that nobody can (stuck), and what can be done."""
        if run.state is not RunState.IN_REVIEW:
            return []
        if await reviewers.is_stuck(self.svc, run):
            return [text.msg("status_stuck", why=await reviewers.stuck_reason(self.svc, run))]
        return [text.msg("status_waiting_for", who=text.people((await reviewers.able(self.svc, run))[:10]))]

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


def _skips(skipped: dict[str, str]) -> str:
    return "; " + "; ".join(f"{name} skipped: {why}" for name, why in skipped.items()) if skipped else ""
