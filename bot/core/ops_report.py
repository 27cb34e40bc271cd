"""The operations digest: what Maple did over a period, computed from Maple's own data — no model is called.

Runs by workflow and state, drafts waiting for review longer than their workflow's timeout, rejections with their
reasons (a reason lives on its run, never in the audit trail; it is shown only for runs whose text anyone may
read), dead letters, tokens and cost by model, user and team, and today's budget use. Admins only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from bot.core import text
from bot.core.access import Access
from bot.core.errors import ToolDenied
from bot.core.models import Run, RunState
from bot.core.ports import Clock, RunStore, UsageLedger
from bot.core.spec import MapleSpec
from bot.core.tools import Tool, ToolContext, ToolResult

OPEN_LOOKBACK = timedelta(days=14)  # drafts still in review are looked for this far back
MAX_RUNS = 5000


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime


async def report(*, runs: list[Run], waiting: list[Run], failed: list[Run], spec: MapleSpec, now: datetime,
                 period: Period, ledger: UsageLedger | None) -> str:
    lines = [f"Operations digest, {period.since:%Y-%m-%d %H:%M} to {period.until:%Y-%m-%d %H:%M} UTC",
             "", f"Runs: {len(runs)}"]
    lines += _by_workflow(runs)
    lines += ["", "Drafts waiting for review longer than their timeout:"] + (_overdue(waiting, spec, now) or ["  none"])
    lines += ["", "Rejections:"] + (_rejections(runs) or ["  none"])
    lines += ["", f"Dead letters: {len(failed)}"] + [
        f"  {r.id} ({r.workflow or 'no workflow'}): {(r.error or 'failed')[:200]}" for r in failed[:20]]
    lines += ["", "Tokens and cost:"] + _usage(runs)
    lines += ["", "Budget use today:"] + await _budgets(runs, spec, ledger)
    return "\n".join(lines)


def _by_workflow(runs: list[Run]) -> list[str]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for run in runs:
        counts[run.workflow or "(not chosen)"][run.state.value.replace("_", " ")] += 1
    return [f"  {wf}: " + ", ".join(f"{state} {n}" for state, n in sorted(c.items())) for wf, c in sorted(counts.items())]


def _overdue(waiting: list[Run], spec: MapleSpec, now: datetime) -> list[str]:
    out = []
    for run in waiting:
        workflow = spec.workflow(run.workflow)
        step = workflow.review_step if workflow else None
        if run.state is not RunState.IN_REVIEW or step is None or not step.timeout_minutes:
            continue
        since = run.drafts[-1].at if run.drafts else run.created_at
        waited = int((now - since).total_seconds() // 60)
        if waited > step.timeout_minutes:
            out.append(f"  {run.id} ({run.workflow}) by {run.requester}: {waited} min (timeout {step.timeout_minutes})")
    return out[:30]


def _rejections(runs: list[Run]) -> list[str]:
    out = []
    for run in runs:
        if run.state is not RunState.REJECTED or run.decision is None:
            continue
        reason = (run.decision.reason or "(no reason given)")[:300] if run.audience.open else "(private run: withheld)"
        out.append(f"  {run.id} ({run.workflow}) rejected by {run.decision.by}: {reason}")
    return out[:30]


def _usage(runs: list[Run]) -> list[str]:
    tables: dict[str, dict[str, list[float]]] = {"model": {}, "user": {}, "team": {}}
    for run in runs:
        for use in run.usage:
            tokens = use.input_tokens + use.output_tokens
            for table, key in (("model", use.model), ("user", run.requester), ("team", run.origin.team or "-")):
                row = tables[table].setdefault(key, [0, 0.0])
                row[0] += tokens
                row[1] += use.cost_usd
    if not any(tables.values()):
        return ["  no model calls"]
    out = []
    for table, rows in tables.items():
        ranked = sorted(rows.items(), key=lambda kv: -kv[1][0])[:15]
        out.append(f"  by {table}: " + "; ".join(f"{k} {int(v[0]):,} tokens ${v[1]:.4f}" for k, v in ranked))
    return out


async def _budgets(runs: list[Run], spec: MapleSpec, ledger: UsageLedger | None) -> list[str]:
    if ledger is None:
        return ["  not tracked"]
    users = sorted({(r.requester, r.origin.team or "-") for r in runs})[:20]
    out, teams = [], {}
    limit_u, limit_t = spec.budgets.user_tokens_per_day, spec.budgets.team_tokens_per_day
    for user, team in users:
        spent = await ledger.spent(user=user, team=team)
        out.append(f"  {user}: {spent.user_tokens:,} of {limit_u:,} tokens ({_pct(spent.user_tokens, limit_u)})")
        teams[team] = spent.team_tokens
    out += [f"  team {team}: {tokens:,} of {limit_t:,} tokens ({_pct(tokens, limit_t)})" for team, tokens in teams.items()]
    return out or ["  nobody used a model"]


def _pct(used: int, limit: int) -> str:
    return f"{100 * used / limit:.0f}%" if limit else "no limit"


class OpsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: float | None = Field(None, ge=0, description="period start (epoch seconds); default: a day ago")
    until: float | None = Field(None, ge=0)


class OpsReport(Tool):
    """The ``ops_report`` tool step of the shipped ``ops-digest`` workflow (never offered to models)."""

    name = "ops_report"
    description = "Maple's operations digest for admins (runs, reviews, rejections, dead letters, usage)."
    args_model = OpsArgs
    model_visible = False  # only the workflow's own step calls it

    def __init__(self, *, store: RunStore, ledger: UsageLedger | None, spec: MapleSpec, access: Access,
                 clock: Clock) -> None:
        self._store, self._ledger, self._spec, self._access, self._clock = store, ledger, spec, access, clock

    async def run(self, args: OpsArgs, *, ctx: ToolContext) -> ToolResult:
        if not await self._access.is_admin(ctx.requester):
            raise ToolDenied(text.OPS_DIGEST_ADMINS)
        now = self._clock.now()
        since = datetime.fromtimestamp(args.since, now.tzinfo) if args.since else now - timedelta(days=1)
        until = datetime.fromtimestamp(args.until, now.tzinfo) if args.until else now
        recent = await self._store.since(min(since, now - OPEN_LOOKBACK), limit=MAX_RUNS)
        runs = [r for r in recent if since <= r.created_at < until]
        waiting = [r for r in recent if r.state is RunState.IN_REVIEW]
        body = await report(runs=runs, waiting=waiting, failed=await self._store.list_failed(limit=20),
                            spec=self._spec, now=now, period=Period(since, until), ledger=self._ledger)
        # Other people's runs, rejection reasons and spend: for the admins' eyes only. The digest's audience is the
        # admins, so the destination gate posts it only where every reader is an admin (else to the asker's DM).
        admins = await self._access.readers_of(list(self._spec.admin_roles))
        return ToolResult(text=body, data={"runs": len(runs)}, source="maple:operations", readers=admins)
