"""The App Home, per person: their own runs, the drafts waiting for their review (stuck ones marked), and — for
admins — what needs attention: runs nobody left can approve (with Review it myself / Cancel run), reviews waiting
past their timeout, and runs that failed. Runs are named by their goal — by their id alone when the goal
holds a detected value (App Home is kept by Slack and read by reviewers and admins too)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bot.core import reviewers, text
from bot.core.access import edited_last_by
from bot.core.desk import run_name
from bot.core.models import Run, RunState
from bot.core.review import may_review
from bot.core.services import Services
from bot.core.text import Msg


@dataclass(frozen=True)
class HomeRuns:
    mine: list[Msg] = field(default_factory=list)
    waiting: list[Msg] = field(default_factory=list)
    admin: bool = False
    attention: list[Msg] = field(default_factory=list)
    stuck: list[tuple[Run, Msg]] = field(default_factory=list)  # for the admins' buttons


def _line(svc: Services, run: Run) -> Msg:
    return text.msg("home_run", run=run_name(svc, run), workflow=run.workflow or "—",
                    state=text.msg(f"state_{run.state.value}"))


def _overdue(svc: Services, run: Run) -> int | None:
    """Minutes a draft has waited past its review step's timeout (None when it has one and is within it)."""
    workflow = svc.spec.workflow(run.workflow)
    timeout = next((s.timeout_minutes for s in (workflow.steps if workflow else [])
                    if s.kind == "review" and s.timeout_minutes), None)
    since = run.drafts[-1].at if run.drafts else run.created_at
    waited = int((svc.clock.now() - since).total_seconds() // 60)
    return waited if timeout is not None and waited >= timeout else None


async def _waiting_line(svc: Services, run: Run, user: str, stuck: bool) -> Msg:
    name = run_name(svc, run)
    if stuck:
        return text.msg("home_run_stuck", run=name, workflow=run.workflow,
                        why=await reviewers.stuck_reason(svc, run))
    if edited_last_by(run) == user:
        return text.msg("home_run_yours_edit", run=name, workflow=run.workflow)
    return _line(svc, run)


async def home_runs(svc: Services, user: str, *, days: int = 7, limit: int = 10) -> HomeRuns:
    recent = list(reversed(await svc.store.since(svc.clock.now() - timedelta(days=days), limit=2000)))
    admin = await svc.access.is_admin(user)
    waiting: list[Msg] = []
    attention: list[Msg] = []
    stuck_runs: list[tuple[Run, Msg]] = []
    for run in recent:
        if run.state is RunState.IN_REVIEW:
            workflow = svc.spec.workflow(run.workflow)
            stuck = await reviewers.is_stuck(svc, run)
            if (workflow is not None and run.requester != user and user not in run.approvals
                    and run.audience.admits(frozenset({user})) and await may_review(svc, run, user, workflow)):
                waiting.append(await _waiting_line(svc, run, user, stuck))
            if admin and stuck:
                why = await reviewers.stuck_reason(svc, run)
                stuck_runs.append((run, text.msg("stuck_admins", run=run_name(svc, run), why=why)))
            elif admin and (minutes := _overdue(svc, run)) is not None:
                attention.append(text.msg("home_overdue", run=run_name(svc, run), minutes=minutes))
        elif admin and run.state is RunState.FAILED:
            attention.append(text.msg("home_failed", run=run_name(svc, run),
                                      why=text.Quote(run.error or "", 200)))
    mine = [_line(svc, run) for run in recent if run.requester == user]
    return HomeRuns(mine=mine[:limit], waiting=waiting[:limit], admin=admin, attention=attention[:limit],
                    stuck=stuck_runs[:5])
