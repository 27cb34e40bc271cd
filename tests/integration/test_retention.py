"""Retention and erasure on the real Redis adapters: after ``maple purge`` (``erase_run``) or the retention sweep, no
text of a run's goal or draft remains anywhere under the deployment's prefix — every key is scanned, whatever its
type — Maple's Slack messages of the run are deleted, and the audit chain still verifies. Before that, the only key
holding the text is the run record, and it carries a TTL no longer than the retention."""

from __future__ import annotations

import secrets

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY, generate_latest

from bot.core import intake, retention, review
from bot.core.access import Access
from bot.core.audit_keys import Keyring
from bot.core.models import Job, Origin, RunState
from bot.core.router import Router
from bot.core.sensitivity import assessor
from bot.core.services import Services
from bot.core.worker import handle_job
from integrations.metered import MeteredRunStore
from integrations.redis_audit import RedisAuditLog
from integrations.redis_feedback import RedisFeedback
from integrations.redis_queue import RedisJobQueue
from integrations.redis_usage import RedisUsageLedger
from tests.fakes.memory import FixedClock, MemorySurface, ScriptedModel
from tests.unit.core_env import make_spec

GOAL = "draft a note to the team about the Zanzibar warehouse move"
DRAFT = "Team, the quokka-shaped warehouse moves on Friday."
MARKERS = (b"Zanzibar", b"quokka")
THREAD = Origin(channel="C0GENERAL", kind="mention", thread_ts="1700000000.000100", team="T1")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def svc(r: aioredis.Redis, clock: FixedClock) -> Services:
    spec = make_spec()
    prefix: str = r.test_prefix  # type: ignore[attr-defined]
    model = ScriptedModel("local", default=DRAFT)
    surface = MemorySurface(groups={"S0REVIEWERS": {"U0REVIEW2"}})
    return Services(spec=spec, clock=clock, surface=surface, access=Access(spec, surface),
                    store=MeteredRunStore(redis=r, prefix=prefix, ttl_seconds=spec.audit.text_ttl_days * 86400),
                    queue=RedisJobQueue(redis=r, prefix=prefix),
                    router=Router(portfolio=[m for m in spec.models if m.name == "local"], clients={"local": model},
                                  backoff=0.0),
                    audit=RedisAuditLog(redis=r, keys=Keyring([("k1", secrets.token_bytes(32))]), prefix=prefix,
                                        worker="w1", clock=clock),
                    ledger=RedisUsageLedger(redis=r, prefix=prefix), assess=assessor(spec.sensitivity),
                    feedback=RedisFeedback(redis=r, prefix=prefix))


async def drain(svc: Services) -> None:
    """Run every queued job as a worker would: claim, handle, ack."""
    queue = svc.queue
    assert isinstance(queue, RedisJobQueue)
    while (claim := await queue.claim("w1-0", lease=30)) is not None:
        await handle_job(svc, Job.model_validate_json(claim.payload))
        assert await queue.ack(claim)


async def delivered_run(svc: Services) -> str:
    run = await intake.submit(svc, intake.Intake(requester="U0REQUEST", origin=THREAD, goal=GOAL, workflow="draft"))
    await drain(svc)
    drafted = await svc.store.get(run.id)
    assert drafted.state is RunState.IN_REVIEW
    await review.decide(svc, run_id=run.id, user="U0REVIEW", kind="approve", seen_version=drafted.draft_version)
    await drain(svc)
    done = await svc.store.get(run.id)
    assert done.state is RunState.DELIVERED and any(DRAFT in str(p["view"].run.draft.text) for p in
                                                     svc.surface.posts if p["effect"] == "result")  # type: ignore[attr-defined]
    assert svc.feedback is not None
    await svc.feedback.vote(run_id=run.id, user="U0REQUEST", workflow="draft", model="local", positive=True)
    return run.id


async def holders(r: aioredis.Redis) -> dict[str, str]:
    """Every key under the test's prefix whose name or content holds a marker of the run's text → its type."""
    found: dict[str, str] = {}
    async for key in r.scan_iter(match=r.test_prefix + "*", count=500):  # type: ignore[attr-defined]
        kind = (await r.type(key)).decode()
        if kind == "string":
            values = [await r.get(key)]
        elif kind == "hash":
            values = [b for pair in (await r.hgetall(key)).items() for b in pair]
        elif kind == "list":
            values = await r.lrange(key, 0, -1)
        elif kind == "set":
            values = list(await r.smembers(key))
        elif kind == "zset":
            values = [m for m, _ in await r.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            values = [b for _id, fields in await r.xrange(key) for pair in fields.items() for b in pair]
        else:
            raise AssertionError(f"a key of a type this scan does not read: {key!r} {kind}")
        blob = key + b"".join(v for v in values if isinstance(v, bytes))
        if any(m in blob for m in MARKERS):
            found[key.decode()] = kind
    return found


async def dead_letter_of(svc: Services, run_id: str) -> None:
    """A job of the run that failed for good: the dead letters keep its id and why, never the run's text."""
    queue = svc.queue
    assert isinstance(queue, RedisJobQueue)
    await queue.enqueue(Job(run_id=run_id, kind="refresh_reviews", user="U0REQUEST"))
    claim = await queue.claim("w1-0", lease=30)
    assert claim is not None and await queue.bury(claim, why="failed 3 times: ModelUnavailable")


async def test_only_the_run_record_holds_the_text_and_it_expires_within_the_retention(
        svc: Services, r: aioredis.Redis) -> None:
    run_id = await delivered_run(svc)
    await dead_letter_of(svc, run_id)
    store = svc.store
    assert isinstance(store, MeteredRunStore)
    assert await holders(r) == {store.run_key(run_id): "hash"}  # thread index, audit, feedback, queue, ledger: none
    ttl = await r.ttl(store.run_key(run_id))
    assert 0 < ttl <= svc.spec.audit.text_ttl_days * 86400
    assert await r.ttl(f"{r.test_prefix}thread:{THREAD.channel}:{THREAD.thread_ts}") > 0  # type: ignore[attr-defined]
    assert not any(m in generate_latest(REGISTRY) for m in MARKERS)  # metrics labels carry ids and names only


async def test_purge_leaves_no_text_under_the_prefix_deletes_the_messages_and_the_chain_verifies(
        svc: Services, r: aioredis.Redis) -> None:
    run_id = await delivered_run(svc)
    kept = await intake.submit(svc, intake.Intake(requester="U0OTHER", origin=Origin(channel="C0GENERAL"),
                                                  goal="write an announcement for the office move", workflow="draft"))
    await dead_letter_of(svc, run_id)
    posted = {(p["channel"], p["ts"]) for p in svc.surface.posts if p["run_id"] == run_id}  # type: ignore[attr-defined]
    assert len(posted) >= 4  # progress, two review messages, the result, the requester told

    erased, deleted = await retention.erase_run(svc, run_id)

    assert erased and deleted == len(posted)
    assert {(m.channel, m.ts) for m in svc.surface.deleted} == posted  # type: ignore[attr-defined]
    assert await holders(r) == {}
    thread = f"{r.test_prefix}thread:{THREAD.channel}:{THREAD.thread_ts}"
    assert await r.ttl(thread) > 0  # type: ignore[attr-defined]  # a run id, no text: a reply there is told "no longer kept"
    assert (await svc.store.get(kept.id)).goal.startswith("write an announcement")  # another person's run stays
    assert (await retention.erase_run(svc, run_id)) == (False, 0)  # twice: nothing left, nothing deleted again
    report = await svc.audit.verify()  # type: ignore[attr-defined]
    assert report.ok, report.problems


async def test_the_sweep_erases_runs_past_their_retention_and_their_review_messages_only(
        svc: Services, r: aioredis.Redis, clock: FixedClock) -> None:
    old = await delivered_run(svc)
    reviews = {(e.channel, e.ts) for name, e in (await svc.store.get(old)).effects.items()
               if name.startswith("review:") and e.ts}
    clock.advance(svc.spec.audit.text_ttl_days * 86400 - 1800)  # within the sweep's margin of the retention
    fresh = await intake.submit(svc, intake.Intake(requester="U0REQUEST", origin=Origin(channel="C0GENERAL"),
                                                   goal="compose a reply about the Zanzibar invoice", workflow="draft"))
    assert await retention.sweep(svc) == 1

    assert {(m.channel, m.ts) for m in svc.surface.deleted} == reviews and len(reviews) == 2  # type: ignore[attr-defined]
    left = await holders(r)
    assert left == {svc.store.run_key(fresh.id): "hash"}, left  # type: ignore[attr-defined]
    assert await retention.sweep(svc) == 0
    report = await svc.audit.verify()  # type: ignore[attr-defined]
    assert report.ok, report.problems
