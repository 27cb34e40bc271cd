"""Ack latency of `maple serve` under load, against a bare Bolt app that only acks, side by side in one run.

10 rounds of 50 concurrent signed `/maple <goal>` commands (500 samples) are sent to each server, alternating
round by round so both see the same machine. The goals are the labelled, varied goals of tests/data/goals.yaml
(drafts, questions, summaries, sums, vague ones), so Maple classifies each on its ack path; 50 people send them.
Maple's worker processes (`MAPLE_WORKERS`, default 2, supervised by serve) work on every run meanwhile against a
fake Slack Web API and a stub OpenAI-compatible model, both local. serve answers Slack with its default
``MAPLE_ACK_PROCESSES`` (2: serve and one ack process on the same port; ``BENCH_ACK_PROCESSES=1`` for serve alone).

Prints ack latency p50/p99 in ms for both, the ratio, the load average, the CPU time per ack of serve and its ack processes (less
sensitive to what else the machine runs than latency), and completed runs per second.
``BENCH_ACK=inline`` has serve classify, authorize and persist in the ack (the default, ``deferred``, acks after one
write and lets a worker place the goal and answer through the command's response_url, which every command carries
as Slack's do); ``BENCH_WORKERS=N`` sets the worker processes; ``BENCH_MODE=inprocess`` runs them as pools in serve's own process
(the layout before worker processes) for comparison; ``BENCH_PROFILE=FILE`` runs serve under pyinstrument and
writes its profile there.
"""

from __future__ import annotations

import asyncio
import json
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

from benchmarks.procstat import cpu_seconds, rss_mb, serve_family  # noqa: E402
from tests.harness import sign, spec_dict  # noqa: E402

SECRET = "bench-signing-secret"
ROUNDS, CONCURRENCY = 10, 50
GOALS = [g["goal"] for g in yaml.safe_load((ROOT / "tests" / "data" / "goals.yaml").read_text())]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_up(url: str) -> None:
    for _ in range(1200):
        try:
            async with aiohttp.ClientSession() as s, s.post(url, data="") as r:
                if r.status in (200, 400, 401):
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def wait_ready(url: str, workers: int, acks: int) -> None:
    """serve's worker processes and ack processes are up (each imports the model stack) before anything is
    measured. Each probe is a new connection, so it lands on serve or one of its ack processes (only serve's own
    answer lists the processes it supervises)."""
    for _ in range(3000):
        try:
            async with aiohttp.ClientSession() as s, s.get(url) as r:
                body = await r.json()
                if "worker_processes" in body or "ack_processes" in body:  # serve's own answer
                    alive = (body.get("worker_processes") or {}).get("alive", 0)
                    up = not workers or (alive >= workers and body["checks"]["workers"])
                    if up and (body.get("ack_processes") or {}).get("alive", 0) >= acks - 1:
                        return
        except (aiohttp.ClientError, ValueError, KeyError):
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} never had {workers} workers and {acks} ack processes")


class Load:
    """Rounds of ``CONCURRENCY`` signed slash commands, each a goal of the labelled set, from 50 people."""

    def __init__(self, url: str, responses: str) -> None:
        self.url, self.responses, self.sent = url, responses, 0
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY))

    async def round(self) -> list[float]:
        samples: list[float] = []

        async def one(i: int) -> None:
            goal = GOALS[self.sent % len(GOALS)]
            self.sent += 1
            body = urlencode({"command": "/maple", "text": goal, "user_id": f"UBENCH{i:03d}",
                              "channel_id": "C0GENERAL", "team_id": "T0TEST", "trigger_id": uuid.uuid4().hex,
                              "response_url": f"{self.responses}/response/{uuid.uuid4().hex}"})
            headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)}
            start = time.perf_counter()
            async with self.session.post(self.url, data=body, headers=headers) as r:
                await r.read()
                assert r.status == 200, r.status
            samples.append((time.perf_counter() - start) * 1000)

        await asyncio.gather(*(one(i) for i in range(CONCURRENCY)))
        return samples

    async def close(self) -> None:
        await self.session.close()


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def queue_left(prefix: str) -> int:
    """Jobs not finished by the workers yet (``jobs:data`` holds a job from enqueue until it is acked)."""
    r = aioredis.from_url("redis://127.0.0.1:6379/0")
    try:
        return int(await r.hlen(prefix + "jobs:data"))
    finally:
        await r.aclose()


async def main() -> None:
    fakes_nice = int(os.environ.get("BENCH_FAKES_NICE", "10"))
    fakes = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "fakes_process.py")], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE,  # their own process: they must not slow the load client
                             preexec_fn=lambda: os.nice(fakes_nice) if fakes_nice else None)
    assert fakes.stdout is not None and fakes.stdin is not None
    urls = json.loads(fakes.stdout.readline())
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    spec = spec_dict()
    spec["roles"]["user"] = ["*"]
    spec["limits"] = {**spec.get("limits", {}), "runs_per_user_per_minute": 0, "runs_per_team_per_minute": 0}
    cfg = Path(tempfile.mkdtemp()) / "maple.yaml"
    cfg.write_text(yaml.safe_dump(spec))
    maple_port, bolt_port = free_port(), free_port()
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    mode = os.environ.get("BENCH_MODE", "process")
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": urls["slack"],
           "MAPLE_REDIS_PREFIX": prefix, "OPENAI_BASE_URL": urls["openai"], "MAPLE_CONFIG": str(cfg),
           "MAPLE_TEST_OPENAI_KEY": "sk-bench", "PORT": str(maple_port), "MAPLE_HOST": "127.0.0.1",
           "MAPLE_LOG_LEVEL": "WARNING", "MAPLE_WORKERS": str(workers), "MAPLE_WORKER_MODE": mode,
           "MAPLE_AUDIT_KEYS": "bench:bench-audit-key-0123456789abcdef",
           "MAPLE_ACK": os.environ.get("BENCH_ACK", "deferred"),
           "MAPLE_ACK_PROCESSES": os.environ.get("BENCH_ACK_PROCESSES", "2")}
    profile = os.environ.get("BENCH_PROFILE")  # a file: serve runs under pyinstrument (pip install pyinstrument)
    serve = ([sys.executable, "-m", "pyinstrument", "-r", "text", "-p", "flat=true", "-p", "short_mode=false", "-o", profile, "-m", "bot.cli", "serve"]
             if profile else [sys.executable, "-m", "bot.cli", "serve"])
    procs = [subprocess.Popen(serve, env=env, cwd=ROOT),
             subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "bare_bolt.py"), str(bolt_port)], env=env)]
    maple_load = bare_load = None
    try:
        maple_url = f"http://127.0.0.1:{maple_port}/slack/events"
        bolt_url = f"http://127.0.0.1:{bolt_port}/slack/events"
        await wait_up(maple_url)
        await wait_up(bolt_url)
        acks = int(env["MAPLE_ACK_PROCESSES"]) if mode == "process" else 1
        if workers or acks > 1:
            await wait_ready(f"http://127.0.0.1:{maple_port}/readyz", workers if mode == "process" else 0, acks)
        acking = [pid for name, pid in serve_family(procs[0].pid).items() if not name.startswith("worker")]
        hooks = urls["slack"].removesuffix("/api/")  # where the fake Slack takes response_url posts
        maple_load, bare_load = Load(maple_url, hooks), Load(bolt_url, hooks)
        await bare_load.round()  # warm both servers up (imports, connections, pools, the 50 people's look-ups)
        await maple_load.round()
        while workers and await queue_left(prefix):
            await asyncio.sleep(0.2)
        load_before = os.getloadavg()
        cpu_before = sum(cpu_seconds(pid) for pid in acking)
        bare_cpu_before = cpu_seconds(procs[1].pid)
        maple: list[float] = []
        bare: list[float] = []
        started = time.perf_counter()
        for _round in range(ROUNDS):  # alternate, so both see the same machine
            bare += await bare_load.round()
            maple += await maple_load.round()
        acked = time.perf_counter() - started
        load_after = os.getloadavg()
        serve_cpu = (sum(cpu_seconds(pid) for pid in acking) - cpu_before) * 1000 / len(maple)
        bare_cpu = (cpu_seconds(procs[1].pid) - bare_cpu_before) * 1000 / len(bare)
        while workers and await queue_left(prefix) and time.perf_counter() - started < 300:
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - started
        layout = f"{workers} worker processes" if mode == "process" else f"{workers} in-process pools"
        layout += f", MAPLE_ACK={env['MAPLE_ACK']}, {len(acking)} ack process{'es' if len(acking) > 1 else ''}"
        print(f"samples: {len(maple)} Maple, {len(bare)} bare Bolt ({ROUNDS} rounds x {CONCURRENCY} concurrent, "
              f"alternating; {len(set(GOALS))} varied goals classified by Maple; {layout})")
        print(f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after the measured rounds")
        print(f"bare Bolt ack   p50 {pct(bare, 50):7.1f} ms   p99 {pct(bare, 99):7.1f} ms")
        print(f"maple serve ack p50 {pct(maple, 50):7.1f} ms   p99 {pct(maple, 99):7.1f} ms")
        print(f"maple serve CPU per ack {serve_cpu:.2f} ms (serve's and its ack processes', over the measured rounds; "
              f"steadier than latency on a shared machine); bare Bolt's {bare_cpu:.2f} ms")
        print(f"ratio p50 {pct(maple, 50) / pct(bare, 50):.2f}x   p99 {pct(maple, 99) / pct(bare, 99):.2f}x")
        print(f"goal: p99 <= 1.5x bare Bolt and < 50 ms: "
              f"{'met' if pct(maple, 99) <= 1.5 * pct(bare, 99) and pct(maple, 99) < 50 else 'NOT met'}")
        family = serve_family(procs[0].pid)
        print("memory (RSS): " + ", ".join(f"{name} {rss_mb(pid):.0f} MB" for name, pid in family.items()))
        if workers:
            left = await queue_left(prefix)
            print(f"worker jobs for the {ROUNDS * CONCURRENCY} goals: {'all done' if not left else f'{left} left'} "
                  f"{elapsed:.1f} s after the first measured round (the acks took {acked:.1f} s of it)")
    finally:
        for load in (maple_load, bare_load):
            if load is not None:
                await load.close()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
        r = aioredis.from_url("redis://127.0.0.1:6379/0")
        keys = [k async for k in r.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await r.delete(*keys)
        await r.aclose()
        fakes.stdin.close()
        fakes.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
