"""Ack latency of `maple serve` under load, against a bare Bolt app that only acks.

10 rounds of 50 concurrent signed `/maple` goals (500 samples) are sent to each server. Maple's workers draft
every run meanwhile (fake Slack Web API and a stub OpenAI-compatible model, both local). Prints ack latency
p50/p99 in ms for both, the ratio, and completed runs per second.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import redis.asyncio as aioredis
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.openai_api import FakeOpenAI  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.harness import sign, spec_dict  # noqa: E402

SECRET = "bench-signing-secret"
ROUNDS, CONCURRENCY = 10, 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_up(url: str) -> None:
    for _ in range(300):
        try:
            async with aiohttp.ClientSession() as s, s.post(url, data="") as r:
                if r.status in (200, 400, 401):
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def load(url: str, user_prefix: str) -> list[float]:
    samples: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:
        async def one(i: int) -> None:
            body = urlencode({"command": "/maple", "text": f"run draft bench goal {i}", "user_id": f"{user_prefix}{i}",
                              "channel_id": "C0GENERAL", "team_id": "T0TEST", "trigger_id": uuid.uuid4().hex})
            headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)}
            start = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as r:
                await r.read()
                assert r.status == 200, r.status
            samples.append((time.perf_counter() - start) * 1000)

        for _round in range(ROUNDS):
            await asyncio.gather(*(one(i) for i in range(CONCURRENCY)))
    return samples


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def count_in_review(prefix: str) -> int:
    r = aioredis.from_url("redis://127.0.0.1:6379/0")
    try:
        done = 0
        async for key in r.scan_iter(match=prefix + "run:*", count=1000):
            doc = await r.hget(key, "doc")
            if doc and b'"state":"in_review"' in doc:
                done += 1
        return done
    finally:
        await r.aclose()


async def main() -> None:
    slack, model = FakeSlack(), FakeOpenAI()
    slack.add_channel("C0GENERAL")
    await slack.start()
    await model.start()
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    spec = spec_dict()
    spec["roles"]["user"] = ["*"]
    spec["limits"] = {**spec.get("limits", {}), "runs_per_user_per_minute": 0, "runs_per_team_per_minute": 0}
    cfg = Path(tempfile.mkdtemp()) / "maple.yaml"
    cfg.write_text(yaml.safe_dump(spec))
    maple_port, bolt_port = free_port(), free_port()
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url,
           "MAPLE_REDIS_PREFIX": prefix, "OPENAI_BASE_URL": model.url, "MAPLE_CONFIG": str(cfg),
           "MAPLE_TEST_OPENAI_KEY": "sk-bench", "PORT": str(maple_port), "MAPLE_HOST": "127.0.0.1",
           "MAPLE_LOG_LEVEL": "WARNING", "MAPLE_WORKERS": os.environ.get("BENCH_WORKERS", "4"),
           "MAPLE_AUDIT_KEYS": "bench:bench-audit-key-0123456789abcdef"}
    procs = [subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=ROOT),
             subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "bare_bolt.py"), str(bolt_port)], env=env)]
    try:
        maple_url = f"http://127.0.0.1:{maple_port}/slack/events"
        bolt_url = f"http://127.0.0.1:{bolt_port}/slack/events"
        await wait_up(maple_url)
        await wait_up(bolt_url)
        await load(bolt_url, "UWARM")  # warm both servers up (imports, connections, pools)
        await load(maple_url, "UWARM")
        with_workers = os.environ.get("BENCH_WORKERS", "4") != "0"
        while with_workers and await count_in_review(prefix) < ROUNDS * CONCURRENCY:
            await asyncio.sleep(0.2)
        bare = await load(bolt_url, "UB")
        started = time.perf_counter()
        maple = await load(maple_url, "UM")
        total = ROUNDS * CONCURRENCY
        total += ROUNDS * CONCURRENCY  # the warm-up runs are counted in Redis too
        while with_workers and await count_in_review(prefix) < total and time.perf_counter() - started < 300:
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - started
        done = await count_in_review(prefix) - ROUNDS * CONCURRENCY
        total -= ROUNDS * CONCURRENCY
        print(f"samples: {len(maple)} Maple, {len(bare)} bare Bolt ({ROUNDS} rounds x {CONCURRENCY} concurrent)")
        print(f"bare Bolt ack   p50 {pct(bare, 50):7.1f} ms   p99 {pct(bare, 99):7.1f} ms")
        print(f"maple serve ack p50 {pct(maple, 50):7.1f} ms   p99 {pct(maple, 99):7.1f} ms")
        print(f"ratio p50 {pct(maple, 50) / pct(bare, 50):.2f}x   p99 {pct(maple, 99) / pct(bare, 99):.2f}x")
        print(f"completed runs: {done}/{total} in {elapsed:.1f} s = {done / elapsed:.1f} runs/s "
              f"(draft + review posts, workers in the same process)")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        r = aioredis.from_url("redis://127.0.0.1:6379/0")
        keys = [k async for k in r.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await r.delete(*keys)
        await r.aclose()
        await slack.stop()
        await model.stop()


if __name__ == "__main__":
    asyncio.run(main())
