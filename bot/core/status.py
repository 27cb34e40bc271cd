"""``/maple status R-…`` in plain words: what the run is waiting for and on whom, since when, which model wrote it
and why — in the reader's own time zone, without the router's vocabulary (that stays in the audit trail).

Pure: everything is read from the run as stored (who received the review is in its effects), nothing is looked up.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core import text
from bot.core.models import Run, RunState
from bot.core.text import Msg

MAX_REVIEWERS = 5


def local_time(at: datetime, zone: str) -> Msg:
    """A time as a person in ``zone`` reads it, day and month named in the reader's language: Mon 23 Nov 2026
    15:04 EST, lun. 23 nov. 2026 15:04 EST."""
    here = at.astimezone(ZoneInfo(zone))
    return text.local_time(here.weekday(), here.day, here.month, here.year, f"{here:%H:%M}", here.strftime("%Z"))


def duration(span: timedelta) -> Msg:
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes < 1:
        return text.msg("less_than_a_minute")
    if minutes < 120:
        return text.msg("minutes", n=minutes) if minutes != 1 else text.msg("one_minute")
    hours = minutes // 60
    if hours < 48:
        return text.msg("hours", n=hours)
    return text.msg("days", n=hours // 24)


def report(run: Run, *, zone: str, now: datetime, label: str | None, withhold_goal: bool = False,
           reader: str | None = None) -> Msg:
    """The whole status of ``run`` for ``reader`` in ``zone``; ``label`` is its workflow's title (None: none yet).
    ``withhold_goal``: the goal holds a detected value (a SIN, a card…), which is never repeated back. A reader
    outside the run's audience (it read a conversation they cannot) is not shown a rejection reason, which may
    quote it."""
    goal = text.msg("goal_withheld") if withhold_goal else text.Quote(run.goal, 120)
    inside = reader is None or run.audience.admits(frozenset({reader}))
    parts = [text.msg("status_title", goal=goal, run=run.id), _state(run, zone=zone, now=now, inside=inside)]
    asked = local_time(run.created_at, zone)
    parts.append(text.msg("status_asked", workflow=label, user=text.User(run.requester), at=asked) if label
                 else text.msg("status_asked_unchosen", user=text.User(run.requester), at=asked))
    parts += [line for line in (_route(run, r.step, r.chosen, r.reason) for r in run.routes) if line is not None]
    if run.total_tokens:
        spent = run.total_cost
        cost = f"{spent:.4f}" if spent >= 0.0001 or not spent else f"{spent:.6f}"
        parts.append(text.msg("status_usage", tokens=run.total_tokens, cost=cost))
    parts.append(text.msg("status_zone", zone=zone))
    return text.lines(parts)


def _state(run: Run, *, zone: str, now: datetime, inside: bool = True) -> Msg:
    state, decision = run.state, run.decision
    if state is RunState.QUEUED:
        return text.msg("status_queued", wait=duration(now - run.created_at))
    if state is RunState.DRAFTING:
        return text.msg("status_drafting", wait=duration(now - run.created_at))
    if state is RunState.IN_REVIEW:
        return _in_review(run, zone=zone, now=now)
    if decision is not None and state in (RunState.APPROVED, RunState.DELIVERED):
        key = "status_delivered" if state is RunState.DELIVERED else "status_approved"
        return text.msg(key, user=text.User(decision.by), at=local_time(decision.at, zone))
    if state is RunState.DELIVERED:
        return text.msg("status_delivered_unreviewed", at=local_time(run.updated_at, zone))
    if decision is not None and state is RunState.REJECTED:
        return text.msg("status_rejected", user=text.User(decision.by), at=local_time(decision.at, zone),
                        reason=text.Quote(decision.reason or "", 500) if inside else text.msg("reason_withheld"))
    key = "status_refused" if state is RunState.REFUSED else "status_failed"
    return text.msg(key, error=text.Quote(run.error or "", 500))


def _in_review(run: Run, *, zone: str, now: datetime) -> Msg:
    sent = [(name.partition(":")[2], effect) for name, effect in run.effects.items() if name.startswith("review:")]
    since = min((e.claimed_at for _n, e in sent if e.claimed_at), default=None) or (
        run.draft.at if run.draft else run.updated_at)
    people = [text.msg("raw", text=text.User(who)) for who, _e in sent if who.startswith(("U", "W"))]
    places = [text.msg("raw", text=text.Channel(e.channel)) for who, e in sent if not who.startswith(("U", "W"))]
    shown = (places + people)[:MAX_REVIEWERS]
    more = len(places) + len(people) - len(shown)
    who = text.lines(shown, sep=", ") if shown else text.msg("status_nobody_yet")
    if more:
        who = who + text.msg("and_more", n=more)
    parts = [text.msg("status_in_review", who=who, wait=duration(now - since), at=local_time(since, zone))]
    if run.quorum > 1:
        parts.append(text.msg("status_approvals", count=len(run.approvals), quorum=run.quorum))
    return text.lines(parts, sep=" ")


def _route(run: Run, step: str, chosen: str | None, reason: str) -> Msg | None:
    if chosen is None:
        return None
    if step == "classify":
        return text.msg("status_classified", model=chosen)
    level = run.sensitivity.label
    why = (text.msg("route_fallback") if "fallback after" in reason
           else text.msg("route_best_available", level=level) if "none reaches" in reason
           else text.msg("route_cheapest", level=level))
    return text.msg("status_model", model=chosen, why=why)
