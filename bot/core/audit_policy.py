"""Retention policy of the audit trail, as pure functions over events, heads, reports and checkpoints.

Trimming removes old events only at a signed checkpoint (the chain point the remaining events link to), only
from shards that verify, and removes a whole shard only once its day is over. Adapters read and write; what may
go is decided here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.core.audit import AuditEvent, ChainPoint, shard_day
from bot.core.audit_verify import ShardReport


@dataclass(frozen=True)
class TrimPlan:
    point: ChainPoint  # the signed checkpoint to write before removing anything
    cut: int  # how many stored events, from the start of the stream, go
    whole: bool  # the whole shard goes (stream, head and its name)


def aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("audit time bounds must be timezone-aware")
    return moment.astimezone(UTC)


def trim_candidates(shards: Iterable[str], before: datetime) -> list[tuple[str, date]]:
    """Shards whose day is not after ``before``'s day (younger shards hold nothing older than ``before``)."""
    bound = aware(before).date()
    return [(shard, day) for shard in shards if (day := shard_day(shard)) is not None and day <= bound]


def export_days(shards: Iterable[str], since: datetime) -> list[tuple[date, list[str]]]:
    """The shards that may hold events at or after ``since``, grouped by UTC day, oldest day first."""
    bound = aware(since).date()
    days: dict[date, list[str]] = {}
    for shard in sorted(shards):
        day = shard_day(shard)
        if day is not None and day >= bound:
            days.setdefault(day, []).append(shard)
    return sorted(days.items())


def event_order(event: AuditEvent) -> tuple[datetime, str, int]:
    """Time order across shards (ties broken by shard and seq)."""
    return event.ts, event.shard, event.seq


def why_not_trim(report: ShardReport) -> str | None:
    """A shard that does not verify is left alone: trimming it would sign a checkpoint over damage."""
    return report.problems[0].what if report.problems else None


def plan_trim(
    *, events: Sequence[AuditEvent], report: ShardReport, head: ChainPoint | None, day: date,
    before: datetime, now: datetime,
) -> TrimPlan | None:
    """What to remove from a verified shard (events in stream order): the events above the current checkpoint
    older than ``before``, up to the first younger one. None when nothing may go."""
    before, base = aware(before), report.base_seq
    cut = next((i for i, e in enumerate(events) if e.seq > base and e.ts >= before), len(events))
    whole = cut == len(events) and day < min(before.date(), aware(now).date() - timedelta(days=1))
    fresh = [e.point() for e in events[:cut] if e.seq > base]
    if whole and head is not None:
        return TrimPlan(point=head, cut=cut, whole=True)
    if not fresh:
        return None
    return TrimPlan(point=fresh[-1], cut=cut, whole=False)
