"""End-to-end load on the real app: `maple serve` with its worker processes, signed Slack requests, the fake Slack
Web API, a stub model, and reviews approved by signed button clicks so every run is delivered.

    python benchmarks/load.py [--goals 400] [--workers 1,2] [--concurrency 8] [--latency realistic|zero]
                              [--fault redis-restart|worker-kill|slack-429|model-5xx|model-drip]

For each worker-process count it starts a private Redis (`redis-server --port <free> --save '' --appendonly yes`:
the machine's Redis is shared, and a restart must keep what was written, as a production Redis with AOF does),
then `maple serve`, sends ``--goals`` goals from 50 people (the varied drafting goals of tests/data/goals.yaml that
Maple classifies without asking back; a goal answered "temporarily unavailable" is sent again, as a person would), clicks
Approve on every review message, and waits until every accepted run is delivered. It prints runs/s, the run latency
p50/p99 *excluding model time* (ack → review message and click → result, minus the stub's delay for that goal),
the resident memory of every process (serve and each worker) before and after, and the scaling from the first
worker-process count to the last. ``--latency realistic`` draws the stub model's delay per goal from a log-normal
between 0.3 and 3 s; ``zero`` answers at once.

A fault (``--fault``) runs during the whole load; each prints runs lost (accepted but never delivered, must be 0),
duplicate deliveries (a run's result posted more than once, must be 0) and the time to recover. The tests in
tests/scenario/test_faults_under_load.py run the same driver with few goals and assert 0 and 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.procstat import cpu_seconds, rss_mb, serve_family  # noqa: E402
from bot.core.classify import Classifier  # noqa: E402
from bot.core.spec import MapleSpec  # noqa: E402
from tests.fakes.openai_api import FakeOpenAI  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.harness import REVIEWER, sign, spec_dict  # noqa: E402

SECRET = "load-signing-secret"
SENDERS = 50
FAULTS = ("redis-restart", "worker-kill", "slack-429", "model-5xx", "model-drip")
RUN_ID = re.compile(r"R-[0-9A-Z]{16}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


@dataclass(kw_only=True)
class Options:
    goals: int = 400
    workers: int = 2
    concurrency: int = 8  # MAPLE_WORKER_CONCURRENCY: jobs each worker process runs at once
    latency: str = "realistic"  # or "zero"
    fault: str | None = None
    visibility: float = 5.0  # MAPLE_VISIBILITY_TIMEOUT: how soon a killed worker's job is taken over
    deadline: float = 600.0  # seconds to wait for every run to be delivered
    max_faults: int | None = None  # stop injecting after this many fault events (None: while runs are in flight)
    model_burst: int = 12  # model 5xx answers per burst, drips up to 4 (a run makes attempts_per_model × max_attempts
    # calls before it fails)
    quiet: bool = False


@dataclass(kw_only=True)
class Report:
    opts: Options
    accepted: int = 0
    delivered: int = 0
    lost: int = 0
    duplicates: int = 0
    resent: int = 0  # goals answered "unavailable" (or not at all) and sent again
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # ms, excluding model time
    waits: list[float] = field(default_factory=list)  # ms from the ack to a worker taking the run
    own: list[float] = field(default_factory=list)  # ms, excluding model time and the wait for a worker
    rss_before: dict[str, float] = field(default_factory=dict)
    rss_after: dict[str, float] = field(default_factory=dict)
    cpu_per_run: dict[str, float] = field(default_factory=dict)  # ms of CPU per delivered run, by process
    recover: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def runs_per_second(self) -> float:
        return self.delivered / self.elapsed if self.elapsed else 0.0


class RedisServer:
    """A private redis-server with AOF in a temp directory, restartable on the same port and data."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="maple-load-redis-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "everysec", "--dir", self.dir, "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
            await asyncio.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # a clean shutdown: the AOF is flushed
            await asyncio.to_thread(self.proc.wait, 30)

    async def restart(self, down: float) -> None:
        await self.stop()
        await asyncio.sleep(down)
        await self.start()

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class WatchedSlack(FakeSlack):
    """The fake Slack, telling the driver about every review message and result it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.on_post: Any = None

    def m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - the fake's naming
        out = super().m_chat_postMessage(p)
        if "error" not in out and self.on_post is not None:
            self.on_post(p, out)
        return out

    def fail_burst(self, times: int) -> None:
        self.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=1, times=times)


class StubModel(FakeOpenAI):
    """The stub model: the delay for a goal is fixed (so it can be taken out of the run's latency)."""

    def __init__(self, *, delays: dict[str, float]) -> None:
        super().__init__(reply="Hello team, here is the note you asked for. Thank you all.")
        self.delays = delays
        self.latency = self._delay

    def _delay(self, body: dict[str, Any]) -> float:
        prompt = json.dumps(body.get("messages", []))
        return next((d for goal, d in self.delays.items() if goal[:40] in prompt), 0.0)


def pick_goals(spec: MapleSpec) -> list[tuple[str, str]]:
    """Goals of the labelled set that Maple classifies as drafts without asking back (the whole path: a model call,
    a review, a click, a delivery), in plain text (so the stub finds each goal in its prompt)."""
    classifier = Classifier(spec.workflows)
    chosen = []
    for item in yaml.safe_load((ROOT / "tests" / "data" / "goals.yaml").read_text()):
        goal, label = item["goal"], item.get("workflow")
        if label != "draft" or not re.fullmatch(r"[A-Za-z0-9 ,.'?%+*/:-]+", goal):
            continue
        found = classifier.classify(goal)
        if found is not None and found.workflow == label and found.confidence >= spec.classify_threshold:
            chosen.append((goal, label))
    return chosen


def delays_for(goals: list[tuple[str, str]], latency: str) -> dict[str, float]:
    if latency == "zero":
        return {}
    out = {}
    for goal, label in goals:
        if label == "draft":
            draw = random.Random(goal).lognormvariate(math.log(0.9), 0.6)
            out[goal] = min(3.0, max(0.3, draw))
    return out


class Driver:
    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.report = Report(opts=opts)
        self.redis = RedisServer()
        self.slack = WatchedSlack()
        self.slack.add_channel("C0GENERAL", member=True)
        data = spec_dict()
        self.users = [f"U0LOAD{i:03d}" for i in range(SENDERS)]
        data["roles"] = {"user": [*self.users, REVIEWER], "reviewer": [REVIEWER], "admin": [REVIEWER]}
        data["limits"] = {**data.get("limits", {}), "runs_per_user_per_minute": 0, "runs_per_team_per_minute": 0}
        self.spec_data = data
        spec = MapleSpec.model_validate(data)
        self.goals = pick_goals(spec)
        self.model = StubModel(delays=delays_for(self.goals, opts.latency))
        self.acked: dict[str, float] = {}
        self.goal_of: dict[str, tuple[str, str]] = {}
        self.reviewed: dict[str, float] = {}
        self.taken: dict[str, float] = {}
        self.clicked: dict[str, float] = {}
        self.results: dict[str, list[float]] = defaultdict(list)
        self.click_tasks: set[asyncio.Task[None]] = set()
        self.session: aiohttp.ClientSession | None = None
        self.serve: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.sent_all = asyncio.Event()
        self.warm_runs = 0
        self.log = Path(tempfile.mkdtemp(prefix="maple-load-")) / "serve.log"

    # --- the app -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.redis.start()
        await self.slack.start()
        await self.model.start()
        self.slack.on_post = self._posted
        config = self.log.with_name("maple.yaml")
        config.write_text(yaml.safe_dump(self.spec_data))
        port = free_port()
        env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-load", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": self.slack.url, "REDIS_URL": self.redis.url, "MAPLE_REDIS_PREFIX": "maple-load:",
               "OPENAI_BASE_URL": self.model.url, "MAPLE_CONFIG": str(config), "MAPLE_TEST_OPENAI_KEY": "sk-load",
               "PORT": str(port), "MAPLE_HOST": "127.0.0.1", "MAPLE_LOG_LEVEL": "WARNING",
               "MAPLE_WORKERS": str(self.opts.workers), "MAPLE_WORKER_MODE": "process", "MAPLE_WORKER_NICE": "0",
               "MAPLE_WORKER_CONCURRENCY": str(self.opts.concurrency),
               "MAPLE_VISIBILITY_TIMEOUT": str(self.opts.visibility), "MAPLE_SHUTDOWN_GRACE": "10",
               "MAPLE_REDIS_MAX_CONNECTIONS": "256", "MAPLE_AUDIT_KEYS": "load:load-audit-key-0123456789abcdef"}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        with self.log.open("wb") as out:
            self.serve = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=ROOT,
                                          stdout=out, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=SENDERS + 50))
        deadline = time.monotonic() + 300
        while not await self._all_workers():
            if self.serve.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"maple serve did not become ready; see {self.log}")
            await asyncio.sleep(0.2)

    async def readyz(self) -> dict[str, Any]:
        """serve's own ``/readyz`` (the one that lists the processes it supervises): each probe is a new
        connection, so it lands on serve or one of its ack processes; an ack process's answer is asked again."""
        for _ in range(50):
            try:
                async with aiohttp.ClientSession() as s, s.get(self.url + "/readyz") as r:
                    body = await r.json()
            except (aiohttp.ClientError, ValueError):
                return {}
            if "worker_processes" in body:
                return body  # type: ignore[no-any-return]
        return {}

    async def _all_workers(self) -> bool:
        body = await self.readyz()
        procs, acks = body.get("worker_processes") or {}, body.get("ack_processes") or {}
        return bool(procs.get("alive") == self.opts.workers and (body.get("checks") or {}).get("workers")
                    and acks.get("alive", 0) == acks.get("expected", 0))

    async def pids(self) -> dict[str, int]:
        """serve, its ack processes and its worker processes, from /proc (``serve``, ``ack 1``, ``worker 1``…)."""
        assert self.serve is not None
        return serve_family(self.serve.pid)

    async def stop(self) -> None:
        for task in self.click_tasks:
            task.cancel()
        await asyncio.gather(*self.click_tasks, return_exceptions=True)
        if self.serve is not None and self.serve.poll() is None:
            self.serve.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.serve.wait, 60)
            except subprocess.TimeoutExpired:
                self.serve.kill()
        if self.session is not None:
            await self.session.close()
        await self.slack.stop()
        await self.model.stop()
        await self.redis.stop()
        self.redis.remove()

    # --- Slack's side ---------------------------------------------------------------------------------------
    async def _post(self, body: str) -> tuple[int, str]:
        assert self.session is not None
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)}
        try:
            async with self.session.post(self.url + "/slack/events", data=body, headers=headers,
                                         timeout=aiohttp.ClientTimeout(total=10)) as r:
                return r.status, await r.text()
        except (aiohttp.ClientError, TimeoutError):
            return 0, ""

    async def send(self, user: str, goal: str, label: str) -> None:
        """One goal, sent again (after a short pause) until Maple accepts it with a run id."""
        while True:
            body = urlencode({"command": "/maple", "text": goal, "user_id": user, "channel_id": "C0GENERAL",
                              "team_id": "T0TEST", "trigger_id": uuid.uuid4().hex, "api_app_id": "A0MAPLE",
                              "response_url": self.slack.response_url(uuid.uuid4().hex)})
            sent = time.monotonic()
            status, text = await self._post(body)
            found = RUN_ID.search(text) if status == 200 else None
            if found and "unavailable" not in text:
                self.acked[found.group(0)] = sent
                self.goal_of[found.group(0)] = (goal, label)
                return
            self.report.resent += 1
            await asyncio.sleep(0.5)

    def _posted(self, params: dict[str, Any], _out: dict[str, Any]) -> None:
        meta = params.get("metadata")
        meta = json.loads(meta) if isinstance(meta, str) else (meta or {})
        payload = meta.get("event_payload") or {}
        run_id, effect = payload.get("run_id"), str(payload.get("effect", ""))
        now = time.monotonic()
        if not run_id:
            return
        if effect == "result":
            self.results[run_id].append(now)
        elif effect == "progress":  # the requester's run message: posted when a worker takes the run
            self.taken.setdefault(run_id, now)
        elif effect.startswith("review:") and run_id not in self.reviewed:
            self.reviewed[run_id] = now
            value = _approve_value(params)
            if value:
                task = asyncio.get_running_loop().create_task(self._approve(run_id, value, params["channel"]))
                self.click_tasks.add(task)
                task.add_done_callback(self.click_tasks.discard)

    async def _approve(self, run_id: str, value: str, channel: str) -> None:
        """Approve as the reviewer the message went to; click again if no result came (a click lost to an outage
        is clicked again, as a person would; a second click on a decided run changes nothing)."""
        user = "U" + channel[1:]
        while not self.results.get(run_id):
            payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T0TEST"},
                       "api_app_id": "A0MAPLE", "trigger_id": uuid.uuid4().hex[:8], "channel": {"id": channel},
                       "container": {"type": "message", "channel_id": channel, "message_ts": "1.1"},
                       "actions": [{"action_id": "maple_approve", "block_id": f"review:{value}", "value": value,
                                    "type": "button", "action_ts": "1.2"}]}
            self.clicked.setdefault(run_id, time.monotonic())
            await self._post(urlencode({"payload": json.dumps(payload)}))
            for _ in range(100):  # up to 10 s for the result before clicking again
                if self.results.get(run_id):
                    return
                await asyncio.sleep(0.1)

    # --- the load -------------------------------------------------------------------------------------------
    async def warm_up(self) -> None:
        """A few runs of each kind per worker process, delivered and then forgotten: each process's first draft
        and first sum start its clients and its compute pool, which a running deployment has long done."""
        kinds = {label: goal for goal, label in self.goals}
        batch = [(goal, label) for label, goal in kinds.items() for _ in range(4 * self.opts.workers)]
        self.warm_runs = len(batch)
        await asyncio.gather(*(self.send(self.users[i % SENDERS], goal, label) for i, (goal, label) in
                               enumerate(batch)))
        deadline = time.monotonic() + 300
        while any(not self.results.get(r) for r in self.acked) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        for seen in (self.acked, self.goal_of, self.reviewed, self.clicked, self.results, self.taken):
            seen.clear()
        self.report.resent = 0

    async def run(self) -> Report:
        opts, report = self.opts, self.report
        await self.warm_up()
        pids = await self.pids()
        report.rss_before = {name: rss_mb(pid) for name, pid in pids.items()}
        cpu_before = self.cpu(pids)
        fault = asyncio.create_task(self.fault()) if opts.fault else None
        plan = [self.goals[i % len(self.goals)] for i in range(opts.goals)]
        work: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        for item in plan:
            work.put_nowait(item)
        started = time.monotonic()
        load_before = os.getloadavg()

        async def sender(user: str) -> None:
            while not work.empty():
                goal, label = work.get_nowait()
                await self.send(user, goal, label)

        await asyncio.gather(*(sender(u) for u in self.users))
        self.sent_all.set()
        deadline = time.monotonic() + opts.deadline
        while any(not self.results.get(r) for r in self.acked) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        last = max((times[0] for times in self.results.values()), default=time.monotonic())
        report.elapsed = last - started
        cpu_after = self.cpu(pids)
        load_after = os.getloadavg()
        report.load = tuple(round((a + b) / 2, 2) for a, b in zip(load_before, load_after, strict=True))  # type: ignore[assignment]
        if fault is not None:
            fault.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fault
        await asyncio.sleep(2.0)  # a late duplicate would show here
        report.accepted = len(self.acked)
        report.delivered = sum(1 for r in self.acked if self.results.get(r))
        report.lost = report.accepted - report.delivered
        await self._explain([r for r in self.acked if not self.results.get(r)])
        report.duplicates = sum(len(t) - 1 for t in self.results.values() if len(t) > 1)
        report.latencies = self._latencies()
        report.waits = [(self.taken[r] - self.acked[r]) * 1000 for r in self.acked if r in self.taken]
        report.own = self._latencies(from_taken=True)
        report.rss_after = {name: rss_mb(pid) for name, pid in (await self.pids()).items()}
        if report.delivered and not opts.fault:  # a restarted process's CPU would be missing
            report.cpu_per_run = {name: (cpu_after[name] - cpu_before[name]) * 1000 / report.delivered
                                  for name in cpu_before}
        return report

    def cpu(self, pids: dict[str, int]) -> dict[str, float]:
        """CPU seconds used so far by each process of the run: serve, its workers, Redis, and this one (the load
        driver with the fake Slack API and the stub model)."""
        assert self.redis.proc is not None
        return {**{name: cpu_seconds(pid) for name, pid in pids.items()}, "redis": cpu_seconds(self.redis.proc.pid),
                "driver and fakes": time.process_time()}

    async def _explain(self, lost: list[str]) -> None:
        """For a run never delivered: the state Redis holds and what the driver saw of it."""
        import redis.asyncio as aioredis

        r = aioredis.from_url(self.redis.url)
        try:
            for run_id in lost[:10]:
                doc = await r.hget(f"maple-load:run:{run_id}", "doc")
                state = json.loads(doc).get("state") if doc else "missing"
                self.report.notes.append(f"not delivered: {run_id} state {state}, review message "
                                         f"{'seen' if run_id in self.reviewed else 'not seen'}, "
                                         f"{'clicked' if run_id in self.clicked else 'not clicked'}")
        finally:
            await r.aclose()

    def _latencies(self, *, from_taken: bool = False) -> list[float]:
        """Per delivered run: ack → review message (minus the stub's delay for its goal) plus click → result; with
        ``from_taken``, from a worker taking the run instead of the ack (the wait for a free worker left out)."""
        out = []
        for run_id, sent in self.acked.items():
            results = self.results.get(run_id)
            if not results or (from_taken and run_id not in self.taken):
                continue
            sent = self.taken[run_id] if from_taken else sent
            goal, _label = self.goal_of[run_id]
            if run_id in self.reviewed and run_id in self.clicked:
                model = self.model.delays.get(goal, 0.0)
                out.append((self.reviewed[run_id] - sent - model) + (results[0] - self.clicked[run_id]))
        return [max(0.0, v) * 1000 for v in out]

    # --- faults ---------------------------------------------------------------------------------------------
    def pending(self) -> bool:
        return not self.sent_all.is_set() or any(not self.results.get(r) for r in self.acked)

    def more_faults(self) -> bool:
        limit = self.opts.max_faults
        return self.pending() and (limit is None or len(self.report.recover) < limit)

    async def fault(self) -> None:
        """Faults while runs are in flight: they begin once a tenth of the goals is accepted and go on until
        every accepted run is delivered (a fault that hit nothing is not counted)."""
        while len(self.acked) < max(1, self.opts.goals // 10):
            await asyncio.sleep(0.05)
        kind = self.opts.fault
        if kind == "redis-restart":
            await self._redis_restart()
        elif kind == "worker-kill":
            await self._worker_kills()
        elif kind == "slack-429":
            await self._bursts(lambda: self.slack.fail_burst(20), lambda: bool(self.slack.failures["chat.postMessage"]))
        elif kind == "model-5xx":
            await self._bursts(lambda: self.model.script.extend((["503", "500"] * self.opts.model_burst)[:self.opts.model_burst]), lambda: bool(self.model.script))
        elif kind == "model-drip":
            await self._bursts(lambda: self.model.script.extend(["drip"] * min(4, self.opts.model_burst)), lambda: bool(self.model.script))

    async def _redis_restart(self) -> None:
        """Redis stopped (cleanly) and started again 1 s later, a third of the way in and again at two thirds;
        recovery: from Redis being back to the next run delivered."""
        for third in (1, 2):
            while len(self.acked) < self.opts.goals * third // 3 and not self.sent_all.is_set():
                await asyncio.sleep(0.05)
            if not self.pending():
                return
            before = sum(len(t) for t in self.results.values())
            await self.redis.restart(down=1.0)
            back = time.monotonic()
            self.report.notes.append(f"Redis restarted with {sum(1 for r in self.acked if not self.results.get(r))} "
                                     "runs in flight")
            while sum(len(t) for t in self.results.values()) == before and self.pending():
                await asyncio.sleep(0.05)
            self.report.recover.append(time.monotonic() - back)

    async def _worker_kills(self) -> None:
        """SIGKILL a random worker process every 3 s while runs are in flight; recovery: until serve runs all of
        its worker processes again (the victim's jobs are taken over when their leases expire)."""
        rng = random.Random(7)
        while self.more_faults():
            pids = [pid for name, pid in (await self.pids()).items() if name.startswith("worker")]
            if pids:
                victim = rng.choice(pids)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(victim, signal.SIGKILL)
                killed = time.monotonic()
                while True:
                    procs = (await self.readyz()).get("worker_processes") or {}
                    if procs.get("alive") == self.opts.workers and victim not in procs.get("pids", []):
                        break
                    await asyncio.sleep(0.1)
                self.report.recover.append(time.monotonic() - killed)
            await asyncio.sleep(3.0)

    async def _bursts(self, inject: Any, unspent: Any) -> None:
        """A burst of failures, then 3 s of calm, while runs are in flight; recovery: from the burst's last
        failure being answered to the next result delivered."""
        while self.more_faults():
            inject()
            while unspent() and self.pending():
                await asyncio.sleep(0.02)
            if unspent():
                return  # the run ended before the burst was spent
            end = time.monotonic()
            count = sum(len(t) for t in self.results.values())
            while sum(len(t) for t in self.results.values()) == count and self.pending():
                await asyncio.sleep(0.05)
            self.report.recover.append(max(0.0, time.monotonic() - end))
            # The next burst waits for every run that was in flight when this one was spent: a run's retries
            # (attempts_per_model × max_attempts calls) then never span two bursts, so a burst shorter than
            # that budget cannot fail a run by chaining into the next one.
            hit = [r for r in self.acked if not self.results.get(r)]
            calm = time.monotonic() + 120.0
            while any(not self.results.get(r) for r in hit) and self.pending() and time.monotonic() < calm:
                await asyncio.sleep(0.05)
            await asyncio.sleep(3.0)


def _approve_value(params: dict[str, Any]) -> str | None:
    blocks = params.get("blocks")
    blocks = json.loads(blocks) if isinstance(blocks, str) else (blocks or [])
    for block in blocks:
        for element in block.get("elements", []) if isinstance(block, dict) else []:
            if isinstance(element, dict) and element.get("action_id") == "maple_approve":
                return str(element.get("value"))
    return None


async def drive(opts: Options) -> Report:
    driver = Driver(opts)
    try:
        await driver.start()
        return await driver.run()
    finally:
        await driver.stop()


def show(report: Report) -> None:
    o = report.opts
    rss = ", ".join(f"{name} {report.rss_before.get(name, 0):.0f}→{mb:.0f} MB"
                    for name, mb in sorted(report.rss_after.items()))
    print(f"\n{o.workers} worker process(es) x {o.concurrency} jobs at once, {o.goals} goals, model latency "
          f"{o.latency}{', fault ' + o.fault if o.fault else ''}  (load average {report.load[0]:.2f})")
    print(f"  delivered {report.delivered}/{report.accepted} in {report.elapsed:.1f} s = "
          f"{report.runs_per_second:.1f} runs/s")
    print(f"  run latency excluding model time: p50 {pct(report.latencies, 50):.0f} ms, "
          f"p99 {pct(report.latencies, 99):.0f} ms ({len(report.latencies)} runs); of which waiting for a free "
          f"worker slot p50 {pct(report.waits, 50):.0f} ms; from a worker taking the run (its deliver job may wait "
          f"for a slot again) p50 {pct(report.own, 50):.0f} ms, p99 {pct(report.own, 99):.0f} ms")
    print(f"  memory (RSS): {rss}")
    if report.cpu_per_run:
        total = sum(report.cpu_per_run.values())
        each = ", ".join(f"{name} {ms:.1f}" for name, ms in report.cpu_per_run.items())
        print(f"  CPU per run: {each}; total {total:.1f} ms (so at most {1000 * (os.cpu_count() or 1) / total:.0f} "
              f"runs/s on {os.cpu_count()} cores)")
    print(f"  runs lost: {report.lost}   duplicate deliveries: {report.duplicates}   goals sent again: "
          f"{report.resent}")
    for note in report.notes:
        print(f"  {note}")
    if o.fault:
        times = report.recover
        print(f"  time to recover: {len(times)} fault(s), mean {statistics.fmean(times) if times else 0:.1f} s, "
              f"max {max(times, default=0):.1f} s")


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--goals", type=int, default=400)
    p.add_argument("--workers", default="1,2", help="worker-process counts to measure, e.g. 1,2")
    p.add_argument("--concurrency", type=int, default=8, help="MAPLE_WORKER_CONCURRENCY (jobs per worker process)")
    p.add_argument("--latency", choices=["realistic", "zero"], default="realistic")
    p.add_argument("--fault", choices=FAULTS)
    p.add_argument("--visibility", type=float, default=5.0)
    p.add_argument("--max-faults", type=int, default=None, help="fault events at most (default: while runs are in flight)")
    args = p.parse_args()
    reports = []
    for workers in [int(w) for w in args.workers.split(",")]:
        report = await drive(Options(goals=args.goals, workers=workers, concurrency=args.concurrency,
                                     latency=args.latency, fault=args.fault, visibility=args.visibility,
                                     max_faults=args.max_faults))
        show(report)
        reports.append(report)
    if len(reports) > 1 and reports[0].runs_per_second:
        first, last = reports[0], reports[-1]
        print(f"\nscaling {first.opts.workers} → {last.opts.workers} worker processes: "
              f"{last.runs_per_second / first.runs_per_second:.2f}x runs/s")
    counts = Counter(r.lost for r in reports)
    if any(r.lost or r.duplicates for r in reports):
        print(f"FAILED: runs lost or delivered twice ({dict(counts)})")
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
