"""The bundle of ports and spec the core's use cases run with (built by bot/app.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.access import Access
from bot.core.errors import ConflictError
from bot.core.models import Job, Run
from bot.core.ports import AuditLog, Clock, JobQueue, RunStore, Surface
from bot.core.router import Router
from bot.core.spec import MapleSpec

Mutation = Callable[[Run], None]


@dataclass(frozen=True, kw_only=True)
class Services:
    spec: MapleSpec
    store: RunStore
    queue: JobQueue
    surface: Surface
    router: Router
    access: Access
    audit: AuditLog
    clock: Clock

    async def mutate(
        self, run_id: str, change: Mutation, *, job: Job | None = None, attempts: int = 8
    ) -> Run:
        """Read, apply ``change`` and write with optimistic concurrency, re-reading on conflict.

        ``change`` may raise (e.g. InvalidTransition) to abort without writing.
        """
        for _ in range(attempts):
            run = await self.store.get(run_id)
            change(run)
            run.updated_at = self.clock.now()
            try:
                return await self.store.save(run, job=job)
            except ConflictError:
                continue
        raise ConflictError(f"run {run_id} kept changing under us")

    async def record(
        self, kind: str, run: Run | None, *, actor: str | None = None, attrs: Mapping[str, Any] | None = None
    ) -> None:
        await self.audit.append(kind=kind, run_id=run.id if run else None, actor=actor, attrs=attrs or {})


Step = Callable[[Services, Run], Awaitable[Run]]
