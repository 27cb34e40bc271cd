"""What one run costs in Redis: the overhead benchmark's flow (``benchmarks/overhead.py``: intake → classify → assess →
route → a stub model → check → review wait → approve → deliver) over the real Redis adapters, counted — the run
record's writes (each the whole document through the compare-and-set script), the Lua script calls and the round
trips. The counts are exact: a change that adds a write to the run's path shows here first."""

from __future__ import annotations

import inspect
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from benchmarks.overhead import StubModel  # the benchmark's own stub: the same flow is counted
from bot.app import metered_models
from bot.core import intake, review
from bot.core.access import Access
from bot.core.audit_keys import Keyring
from bot.core.classify import Classifier
from bot.core.models import Job, Origin, RunState
from bot.core.ports import Clock, SystemClock
from bot.core.router import Router
from bot.core.sensitivity import assessor
from bot.core.services import Services
from bot.core.worker import handle_job
from integrations.metered import MeteredAudit, MeteredLedger, MeteredRunStore
from integrations.redis_audit import RedisAuditLog
from integrations.redis_feedback import RedisFeedback
from integrations.redis_queue import RedisJobQueue
from integrations.redis_usage import RedisUsageLedger
from tests.fakes.memory import MemorySurface
from tests.unit.core_env import make_spec

# One run, intake to delivered (see the README's Benchmarks and Known limits). The run writes: the new run; the
# state going to drafting; the run message's claim and its completion; the usage charged; the draft; where
# Approve will post; the review messages' claim and completion; the decision and the clean-up of its audit event;
# the result's (and notices') claim, and their completion with the delivered state.
RUN_WRITES = 13
SCRIPTS = 27
ROUND_TRIPS = 31


@dataclass
class Counts:
    round_trips: int = 0
    scripts: int = 0
    run_writes: int = 0
    writers: Counter[str] = field(default_factory=Counter)  # the core function behind each run write

    def clear(self) -> None:
        self.round_trips = self.scripts = self.run_writes = 0
        self.writers.clear()


def _writer() -> str:
    """The core function (outside services and the store) that asked for the run write."""
    for frame in inspect.stack()[2:]:
        module = frame.frame.f_globals.get("__name__", "")
        if module.startswith("bot.core") and module != "bot.core.services":
            return f"{module.rpartition('.')[2]}.{frame.function}"
    return "?"


def build(r: aioredis.Redis, *, clock: Clock | None = None, surface: MemorySurface | None = None,
          keys: Keyring | None = None, worker: str = "t") -> Services:
    """One process's services over the real Redis adapters, as the benchmark builds them; a second call on the same
    client is another process (its own caches) on the same data."""
    prefix = r.test_prefix  # type: ignore[attr-defined]
    spec = make_spec(limits={**make_spec().limits.model_dump(), "runs_per_user_per_minute": 0,
                             "runs_per_team_per_minute": 0})
    clock = clock or SystemClock()
    surface = surface or MemorySurface(groups={"S0REVIEWERS": {"U0REVIEW2"}})
    store = MeteredRunStore(redis=r, prefix=prefix, ttl_seconds=spec.audit.text_ttl_days * 86400)
    models = metered_models(spec, {"local": StubModel("local")})
    audit = MeteredAudit(RedisAuditLog(redis=r, keys=keys or KEYS, prefix=prefix, worker=worker, clock=clock))
    return Services(spec=spec, store=store, queue=RedisJobQueue(redis=r, prefix=prefix), surface=surface, clock=clock,
                    audit=audit, access=Access(spec, surface),
                    ledger=MeteredLedger(RedisUsageLedger(redis=r, prefix=prefix)),
                    router=Router(portfolio=[m for m in spec.models if m.name == "local"], clients=dict(models),
                                  backoff=0.0),
                    assess=assessor(spec.sensitivity), feedback=RedisFeedback(redis=r, prefix=prefix))


KEYS = Keyring([("t", secrets.token_bytes(32))])


@pytest.fixture
async def counted(r: aioredis.Redis, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Services, Counts]]:
    counts = Counts()
    svc = build(r)
    store = svc.store
    assert isinstance(store, MeteredRunStore)

    pool = r.connection_pool
    get_connection = pool.get_connection

    async def taken(*args: Any, **kwargs: Any) -> Any:  # once per round trip, grouped or not
        counts.round_trips += 1
        return await get_connection(*args, **kwargs)

    monkeypatch.setattr(pool, "get_connection", taken)
    for cls in (aioredis.Redis, Pipeline):
        real = cls.execute_command

        def execute(self: Any, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            if str(args[0]).upper() in ("EVALSHA", "EVAL"):
                counts.scripts += 1
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(cls, "execute_command", execute)
    cas = store._cas

    async def write(**kwargs: Any) -> Any:
        counts.run_writes += 1
        counts.writers[_writer()] += 1
        return await cas(**kwargs)

    store._cas = write  # type: ignore[assignment]
    yield svc, counts


async def start(svc: Services, i: int) -> str:
    goal = f"draft a reply to the supplier about the late shipment number {i}"
    found = Classifier(svc.spec.workflows).classify(goal)
    assert found.workflow == "draft", found
    run = await intake.submit(svc, intake.Intake(requester="U0REQUEST", origin=Origin(channel="C1", team="T1"),
                                                 goal=goal, workflow=found.workflow))
    return run.id


async def one_run(svc: Services, i: int) -> str:
    """One run of the benchmark's flow; each job is claimed off the real queue, handled and acked."""
    run_id = await start(svc, i)
    await work(svc, "draft")
    surface = svc.surface
    assert isinstance(surface, MemorySurface)
    posted = [p["view"] for p in surface.posts if p["run_id"] == run_id and p["effect"].startswith("review:")]
    version = posted[-1].run.draft_version  # the version the reviewer's click carries
    await review.decide(svc, run_id=run_id, user="U0REVIEW", kind="approve", seen_version=version)
    await work(svc, "deliver")
    return run_id


async def work(svc: Services, kind: str) -> None:
    queue = svc.queue
    assert isinstance(queue, RedisJobQueue)
    claim = await queue.claim("t-0", lease=30)
    assert claim is not None
    job = Job.model_validate_json(claim.payload)
    assert job.kind == kind, job
    await handle_job(svc, job)
    assert await queue.ack(claim)


async def test_one_run_costs_exactly_this_many_writes_scripts_and_round_trips(
        counted: tuple[Services, Counts]) -> None:
    svc, counts = counted
    await one_run(svc, 0)  # the scripts loaded, the connections made
    counts.clear()
    run_id = await one_run(svc, 1)
    seen = (counts.run_writes, counts.scripts, counts.round_trips)
    writers = dict(counts.writers)
    run = await svc.store.get(run_id)
    assert run.state is RunState.DELIVERED and not run.outbox
    assert (await svc.ledger.spent(user="U0REQUEST", team="T1")).user_tokens == 120  # type: ignore[union-attr]
    assert seen == (RUN_WRITES, SCRIPTS, ROUND_TRIPS), f"{seen} {writers}"
