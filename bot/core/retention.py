"""Retention and erasure of what runs said: a run's goal, drafts, edits, review notes and the model inputs built
from them live in its run record, and Maple's Slack messages of the run (review messages, notices, the result)
show them. Nothing else Maple keeps holds that text: the audit trail keeps keyed digests, the thread index a run
id, feedback and the usage ledger counts, the queue and its dead letters ids, metrics and logs ids and names.

- ``erase_run`` (``maple purge``): delete every Slack message Maple posted for the run, then the run record and
  its thread index.
- ``sweep`` (every ``maple serve``, every ``SWEEP_SECONDS``): a run whose last change is older than the retention
  (``audit.text_ttl_days``) loses its review messages in Slack and its record, before Redis would expire the
  record anyway (the record's TTL stays the backstop, so a run no sweep reached still goes).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.core.errors import NotFound, SurfaceError
from bot.core.models import Run
from bot.core.ports import MessageRef
from bot.core.services import Services

log = logging.getLogger("maple.retention")
SWEEP_SECONDS = 600.0
MARGIN = timedelta(hours=1)  # the sweep takes a run this long before its record's TTL would


def retention(svc: Services) -> timedelta:
    return timedelta(days=svc.spec.audit.text_ttl_days)


def messages(run: Run, *, reviews_only: bool = False) -> list[MessageRef]:
    """Maple's own posted messages of ``run`` (those it holds a reference to)."""
    return [MessageRef(channel=e.channel, ts=e.ts) for name, e in run.effects.items()
            if e.ts and (not reviews_only or name.startswith("review:"))]


async def _delete(svc: Services, run: Run, refs: list[MessageRef]) -> int:
    """Delete ``refs``; a message that cannot be deleted is logged (by id) and the erasure goes on."""
    deleted = 0
    for ref in refs:
        try:
            await svc.surface.delete(ref=ref)
            deleted += 1
        except SurfaceError as exc:
            log.warning("could not delete a message of an erased run", extra={
                "run_id": run.id, "channel": ref.channel, "ts": ref.ts, "error": type(exc).__name__})
    return deleted


async def erase_run(svc: Services, run_id: str, *, reviews_only: bool = False) -> tuple[bool, int]:
    """Erase a run's content: its Slack messages (only its review messages with ``reviews_only``), then its
    record (its thread index entries, a run id each, expire with it). (erased, messages deleted); (False, 0) for a run that no longer exists."""
    try:
        run = await svc.store.get(run_id)
    except NotFound:
        return False, 0
    deleted = await _delete(svc, run, messages(run, reviews_only=reviews_only))
    return await svc.store.erase(run_id), deleted


async def sweep(svc: Services, *, now: datetime | None = None) -> int:
    """Erase every run whose last change is older than the retention (less ``MARGIN``); how many were."""
    now = now or svc.clock.now()
    cutoff = now - retention(svc) + MARGIN
    erased = 0
    for run_id in await svc.store.ids_created_before(cutoff):
        try:
            run = await svc.store.get(run_id)
        except NotFound:
            continue
        if run.updated_at > cutoff:
            continue  # changed since: it keeps its retention from its last change
        done, _ = await erase_run(svc, run.id, reviews_only=True)
        erased += done
    if erased:
        log.info("retention sweep erased runs past their retention", extra={"count": erased})
        await svc.record("data.expired", None, attrs={"maple.retention.runs.count": erased,
                                                      "maple.retention.days": svc.spec.audit.text_ttl_days})
    return erased
