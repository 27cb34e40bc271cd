"""Torture: several worker processes of several pools each, a visibility timeout shorter than every job, and
workers killed with SIGKILL at random — on real Redis.

The verdict depends on no timing. Every event (handler start / end / cancelled, a lease the pool reports lost,
a queue step that failed) goes to one Redis list, so events of all processes are totally ordered. Then:
- nothing is lost: every job ends, and the queue holds nothing (no job data, no lease, no owner, no dead letter);
- exactly one owner acts at a time: whenever a job starts, any other run of it still open belongs to a process
  that was killed, or is one whose pool reported its lease lost (and then stopped it);
- each job completes once: an end that is not the job's last must be excused the same way (its process was
  killed before it could ack, or its lease was lost before it settled).
A stall longer than the lease can only turn into an excused, reported lease loss — never a verdict flip.
"""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.core.models import Job
from integrations.redis_queue import RedisJobQueue

URL = "redis://127.0.0.1:6379/0"
JOBS, PROCESSES, POOLS, SLOTS, VISIBILITY, KILLS = 36, 3, 2, 2, 0.5, 4


@pytest.fixture
async def r() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(URL)
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    client.test_prefix = prefix  # type: ignore[attr-defined]
    yield client
    keys = [k async for k in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def spawn(prefix: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.integration.queue_worker", URL, prefix, str(POOLS),
                             str(SLOTS), str(VISIBILITY)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_torture(r: aioredis.Redis) -> None:
    prefix: str = r.test_prefix  # type: ignore[attr-defined]
    q = RedisJobQueue(redis=r, prefix=prefix)
    rng = random.Random(7)
    for n in range(JOBS):  # every job outlives the visibility timeout: 0.8 – 1.6 s against 0.5 s
        await q.enqueue(Job(run_id=f"R-{n}-{rng.randrange(800, 1600)}", kind="draft", user=f"U{n % 4}"))
    entries = {k.decode(): Job.model_validate_json(v).run_id for k, v in (await r.hgetall(q.data)).items()}
    procs = [spawn(prefix) for _ in range(PROCESSES)]
    killed: set[int] = set()
    try:
        deadline = time.monotonic() + 60  # a cap against hanging, not part of the verdict
        while len(killed) < KILLS and await q.depth() and time.monotonic() < deadline:
            await asyncio.sleep(rng.uniform(0.3, 0.9))
            victim = procs.pop(rng.randrange(len(procs)))
            victim.send_signal(signal.SIGKILL)
            await asyncio.to_thread(victim.wait)
            killed.add(victim.pid)
            procs.append(spawn(prefix))
        while await q.depth() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert len(killed) == KILLS, "the workers finished before all kills happened: make the jobs longer"
    events = [e.decode().split(" ", 2) for e in await r.lrange(f"{prefix}log", 0, -1)]
    violations = verdict(events, entries=entries, killed=killed)
    assert not violations, "\n".join(violations)
    left = await r.hgetall(q.data)
    assert not left, {"left": left, "leases": await r.zrange(f"{prefix}jobs:leases", 0, -1, withscores=True),
                      "owners": await r.hgetall(f"{prefix}jobs:owner"), "killed": killed}
    assert await r.zcard(f"{prefix}jobs:due") == 0
    assert await r.hlen(f"{prefix}jobs:owner") == 0 and await r.zcard(f"{prefix}jobs:leases") == 0
    assert await r.xlen(q.dead) == 0


def verdict(events: list[list[str]], *, entries: dict[str, str], killed: set[int]) -> list[str]:
    """The rules of the module docstring, over the ordered event list."""
    excused: set[tuple[str, str]] = set()  # (run, consumer) whose pool reported a lost lease or a failed step
    for kind, a, b in events:
        if kind in ("lost", "failed"):
            excused.add((entries.get(a, "?"), b.split("#")[0]))
        elif kind == "cancelled":
            excused.add((a, b))

    def dirty(run: str, consumer: str) -> bool:
        return int(consumer.split("-")[0]) in killed or (run, consumer) in excused

    problems: list[str] = []
    open_runs: dict[str, set[str]] = defaultdict(set)
    ends: dict[str, list[str]] = defaultdict(list)
    for kind, run, who in events:
        if kind == "start":
            problems += [f"{run}: {who} started while {o} still ran it" for o in open_runs[run] if not dirty(run, o)]
            open_runs[run].add(who)
        elif kind in ("end", "cancelled"):
            open_runs[run].discard(who)
            if kind == "end":
                ends[run].append(who)
        elif kind == "dead":
            problems.append(f"{run}: dead-lettered ({who})")
    for run in entries.values():
        if not ends[run]:
            problems.append(f"{run}: never completed")
        problems += [f"{run}: completed twice (first by {w})" for w in ends[run][:-1] if not dirty(run, w)]
    return problems
