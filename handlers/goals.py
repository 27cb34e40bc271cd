"""From a goal (slash command, mention or DM) to a run: classify, authorize, persist, enqueue — the ack path."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.core import commands, intake, text
from bot.core.classify import Classifier
from bot.core.errors import AccessDenied, InputError, MapleError, NotFound, StoreUnavailable
from bot.core.models import Origin
from bot.core.ports import View
from bot.core.services import Services
from handlers.blocks import Block, choice_blocks

log = logging.getLogger("maple.goals")


@dataclass(frozen=True)
class Reply:
    text: str
    blocks: list[Block] | None = None
    run_id: str | None = None


@dataclass(kw_only=True)
class GoalDesk:
    svc: Services
    classifier: Classifier | None = None

    async def handle(self, *, user: str, origin: Origin, raw: str) -> Reply:
        """Everything a user can type after /maple. Never raises for user-facing problems."""
        try:
            return await self._dispatch(user=user, origin=origin, cmd=commands.parse(raw))
        except StoreUnavailable:
            return Reply(text.UNAVAILABLE)
        except (InputError, AccessDenied) as exc:
            return Reply(str(exc))

    async def _dispatch(self, *, user: str, origin: Origin, cmd: commands.Command) -> Reply:
        if cmd.kind in ("usage", "help"):
            extra = "\n" + text.ADMIN_USAGE if await self.svc.access.is_admin(user) else ""
            return Reply(text.USAGE + extra)
        if cmd.kind == "unknown":
            return Reply(text.unknown_command(cmd.text))
        if cmd.kind == "workflows":
            return Reply(await self.workflows(user))
        if cmd.kind == "status":
            return Reply(await self.status(user, cmd.run_id))
        if cmd.kind == "audit":
            return Reply(await self.audit(user, cmd.run_id))
        if cmd.kind == "run":
            if not cmd.workflow or not cmd.text:
                return Reply(text.RUN_USAGE)
            return await self._submit(user=user, origin=origin, goal=cmd.text, workflow=cmd.workflow)
        return await self._goal(user=user, origin=origin, goal=cmd.text)

    async def _goal(self, *, user: str, origin: Origin, goal: str) -> Reply:
        intake.check_goal(self.svc, goal)
        roles = await self.svc.access.roles_of(user)  # resolved once per request
        if not roles:
            return Reply(text.NOT_ALLOWED_ANY)
        mine = [wf for wf in self.svc.spec.workflows if roles.intersection(wf.run_roles)]
        if not mine:
            return Reply(text.NO_WORKFLOWS)
        found = self.classifier.classify(goal) if self.classifier else None
        if found is not None and found.workflow and found.confidence >= self.svc.spec.classify_threshold:
            return await self._submit(user=user, origin=origin, goal=goal, workflow=found.workflow)
        ranked = [wf for wf, _score in (found.ranked if found else [])]
        options = sorted(mine, key=lambda wf: ranked.index(wf.id) if wf.id in ranked else len(ranked))[:3]
        ask_model = found is not None and found.workflow is not None and self.svc.router.can_classify()
        run = await intake.hold(self.svc, intake.Intake(requester=user, origin=origin, goal=goal, workflow=""),
                                ask_model=ask_model)
        if ask_model:
            return Reply(text.working_out(run.id), run_id=run.id)
        labels = [(wf.id, wf.label) for wf in options]
        return Reply(text.ASK_BACK, choice_blocks(run_id=run.id, question=text.ASK_BACK, options=labels), run.id)

    async def _submit(self, *, user: str, origin: Origin, goal: str, workflow: str) -> Reply:
        run = await intake.submit(self.svc, intake.Intake(requester=user, origin=origin, goal=goal, workflow=workflow))
        wf = self.svc.spec.workflow(workflow)
        say = text.working_on_it if wf is None or wf.review else text.working_no_review
        return Reply(say(run.id), run_id=run.id)

    async def reply_in_thread(self, *, origin: Origin, reply: Reply) -> None:
        """Answer a mention or DM that queued nothing (usage, status, a refusal) in its thread."""
        try:
            await self.svc.surface.post(channel=origin.channel, view=View(kind="notice", text=reply.text),
                                        run_id="", effect="reply", thread_ts=origin.thread_ts)
        except MapleError as exc:
            log.warning("could not reply in thread", extra={"error": type(exc).__name__})

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
            return "Only Maple admins can see audit timelines."
        timeline = getattr(self.svc.audit, "timeline", None)
        if timeline is None:
            return "The audit trail is not available in this deployment."
        try:
            events = await timeline(run_id)
        except MapleError as exc:
            return f"Could not read the audit trail: {exc}"
        if not events:
            return text.RUN_NOT_FOUND.format(run_id=run_id)
        return f"*Audit timeline of {run_id}*\n" + "\n".join(_event_line(e) for e in events[:40])


def _skips(skipped: dict[str, str]) -> str:
    return "; " + "; ".join(f"{name} skipped: {why}" for name, why in skipped.items()) if skipped else ""


def _event_line(event: Any) -> str:
    get = event.get if isinstance(event, dict) else lambda k, d=None: getattr(event, k, d)
    actor = get("actor")
    who = f" by <@{actor}>" if actor else ""
    return f"• `{str(get('ts', ''))[:19]}` {get('kind', '?')}{who}"
