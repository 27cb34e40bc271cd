"""The front desk: everything a person can type after ``/maple`` (or in a mention or DM), answered.

Slack-free: handlers turn a Slack payload into ``(user, origin, raw)`` and render the ``Answer``. Nothing here
waits for a model; a goal becomes a persisted, queued run (the ack path).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.core import commands, intake, text
from bot.core.classify import Classifier
from bot.core.errors import AccessDenied, InputError, MapleError, NotFound, StoreUnavailable
from bot.core.models import Origin
from bot.core.services import Services

log = logging.getLogger("maple.desk")


@dataclass(frozen=True)
class Answer:
    """What Maple answers at once. ``choices`` (workflow id, label) ask back which workflow was meant;
    ``queued`` means a worker follows up in the conversation; a private answer is for the asker alone."""

    text: str
    choices: list[tuple[str, str]] = field(default_factory=list)
    run_id: str | None = None
    queued: bool = False
    private: bool = True


@dataclass(kw_only=True)
class Desk:
    svc: Services
    classifier: Classifier | None = None

    async def handle(self, *, user: str, origin: Origin, raw: str) -> Answer:
        """Never raises for user-facing problems: they become the answer."""
        try:
            return await self._dispatch(user=user, origin=origin, cmd=commands.parse(raw))
        except StoreUnavailable:
            return Answer(text.UNAVAILABLE)
        except (InputError, AccessDenied) as exc:
            return Answer(str(exc))

    async def _dispatch(self, *, user: str, origin: Origin, cmd: commands.Command) -> Answer:
        if cmd.kind in ("usage", "help"):
            extra = "\n" + text.ADMIN_USAGE if await self.svc.access.is_admin(user) else ""
            return Answer(text.USAGE + extra)
        if cmd.kind == "unknown":
            return Answer(text.unknown_command(cmd.text))
        if cmd.kind == "workflows":
            return Answer(await self.workflows(user))
        if cmd.kind == "status":
            return Answer(await self.status(user, cmd.run_id))
        if cmd.kind == "audit":
            return Answer(await self.audit(user, cmd.run_id))
        if cmd.kind == "run":
            if not cmd.workflow or not cmd.text:
                return Answer(text.RUN_USAGE)
            return await self._submit(user=user, origin=origin, goal=cmd.text, workflow=cmd.workflow)
        return await self._goal(user=user, origin=origin, goal=cmd.text)

    async def _goal(self, *, user: str, origin: Origin, goal: str) -> Answer:
        intake.check_goal(self.svc, goal)
        roles = await self.svc.access.roles_of(user)  # resolved once per request
        if not roles:
            return Answer(text.NOT_ALLOWED_ANY)
        mine = [wf for wf in self.svc.spec.workflows if roles.intersection(wf.run_roles)]
        if not mine:
            return Answer(text.NO_WORKFLOWS)
        found = self.classifier.classify(goal) if self.classifier else None
        if found is not None and found.workflow and found.confidence >= self.svc.spec.classify_threshold:
            return await self._submit(user=user, origin=origin, goal=goal, workflow=found.workflow)
        ranked = [wf for wf, _score in (found.ranked if found else [])]
        options = sorted(mine, key=lambda wf: ranked.index(wf.id) if wf.id in ranked else len(ranked))[:3]
        ask_model = found is not None and found.workflow is not None and self.svc.router.can_classify()
        run = await intake.hold(self.svc, intake.Intake(requester=user, origin=origin, goal=goal, workflow=""),
                                ask_model=ask_model)
        if ask_model:
            return Answer(text.working_out(run.id), run_id=run.id, queued=True)
        queued = origin.kind in ("mention", "dm")  # a worker asks in the thread
        return Answer(text.ASK_BACK, choices=[(wf.id, wf.label) for wf in options], run_id=run.id, queued=queued)

    async def _submit(self, *, user: str, origin: Origin, goal: str, workflow: str) -> Answer:
        run = await intake.submit(self.svc, intake.Intake(requester=user, origin=origin, goal=goal, workflow=workflow))
        wf = self.svc.spec.workflow(workflow)
        say = text.working_on_it if wf is None or wf.review else text.working_no_review
        return Answer(say(run.id), run_id=run.id, queued=True)

    async def workflows(self, user: str) -> str:
        lines = [f"• *{wf.label}* (`{wf.id}`) — {wf.description}" for wf in self.svc.spec.workflows
                 if await self.svc.access.may_run(user, wf)]
        return "Workflows you may run:\n" + "\n".join(lines) if lines else text.NO_WORKFLOWS

    async def status(self, user: str, run_id: str) -> str:
        try:
            run = await self.svc.store.get(run_id)
        except NotFound:
            return text.RUN_NOT_FOUND.format(run_id=run_id)
        if not await self.svc.access.may_view(user, run, self.svc.spec.workflow(run.workflow)):
            return text.STATUS_DENIED
        return commands.status_lines(
            run_id=run.id, state=run.state.value, workflow=run.workflow, requester=run.requester,
            created=run.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            routes=[(r.step, r.reason + _skips(r.skipped)) for r in run.routes],
            tokens=run.total_tokens, cost=run.total_cost, error=run.error,
        )

    async def audit(self, user: str, run_id: str) -> str:
        if not await self.svc.access.is_admin(user):
            return text.AUDIT_DENIED
        try:
            events = await self.svc.audit.timeline(run_id)
        except MapleError as exc:
            log.warning("audit timeline unavailable", extra={"run_id": run_id, "error": type(exc).__name__})
            return text.AUDIT_UNAVAILABLE
        if not events:
            return text.RUN_NOT_FOUND.format(run_id=run_id)
        lines = [f"• `{e.ts:%Y-%m-%d %H:%M:%S}` {e.kind}" + (f" by <@{e.actor}>" if e.actor else "")
                 for e in events[:40]]
        return f"*Audit timeline of {run_id}*\n" + "\n".join(lines)


def _skips(skipped: dict[str, str]) -> str:
    return "; " + "; ".join(f"{name} skipped: {why}" for name, why in skipped.items()) if skipped else ""
