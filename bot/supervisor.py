"""`maple serve`'s child processes: spawned, watched, restarted when they crash, stopped when serve stops.

The ack path keeps serve's event loop to itself; the work runs in ``count`` child processes, each a
``maple worker --count 1`` (one pool of ``MAPLE_WORKER_CONCURRENCY`` slots) on the same settings and Redis. The
same supervision runs serve's extra ack processes (``maple front``, ``MAPLE_ACK_PROCESSES - 1`` of them), which
answer Slack's requests on serve's port beside it (``SO_REUSEPORT``: the kernel spreads connections over them).

- **Restarts.** A child that exits while serve is not stopping is started again after a backoff (1 s, doubling to
  30 s; back to 1 s once a child has lived a minute). Each restart is logged and counted
  (``maple_worker_restarts_total``). Its jobs are safe meanwhile: their leases expire and another worker takes
  them (integrations/worker_pool.py).
- **Stopping.** ``stop(grace)`` sends SIGTERM to every child, each finishes its in-flight jobs within the grace (the
  child's own ``MAPLE_SHUTDOWN_GRACE``), and whatever is still running a few seconds after that is killed.
- **The ack path first.** The children run at a lower CPU priority (``MAPLE_WORKER_NICE``, default 10): on a box
  whose cores the workers keep busy, a Slack request is still answered at once (the work waits a little instead).
- **No orphans.** Each child asks the kernel for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``), so a serve
  that is killed outright takes its workers with it; a child whose parent is already gone at start exits at once.
- **Hung children.** Each child touches its own heartbeat file (``MAPLE_HEARTBEAT_FILE``) every second from its
  event loop once it is up. A child whose heartbeat has not moved for ``hang_seconds`` (``MAPLE_HANG_SECONDS``,
  default 30) is alive but not answering — an ack process with a stuck event loop would still take its share of
  Slack's connections and time them out — so it is killed (SIGKILL), logged, and started again like a crashed one.
- **Metrics.** The children write their samples into serve's private ``PROMETHEUS_MULTIPROC_DIR`` (made by
  ``bot.cli.metrics_dir`` before anything imports ``prometheus_client``); an exited child's live gauges are dropped (``mark_process_dead``), its counters stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from integrations import metrics

log = logging.getLogger("maple.supervisor")
PR_SET_PDEATHSIG = 1
BACKOFF_FIRST, BACKOFF_MAX, STEADY_SECONDS = 1.0, 30.0, 60.0
KILL_AFTER_GRACE = 5.0  # seconds past the grace before a child that has not exited is killed
HEARTBEAT_ENV = "MAPLE_HEARTBEAT_FILE"  # set for each child: the file it touches every HEARTBEAT_EVERY seconds
HEARTBEAT_EVERY = 1.0
HANG_SECONDS = 30.0
WATCH_GAP = 5 * HEARTBEAT_EVERY  # a watchdog tick this late means serve was not running meanwhile


def _child_setup(parent: int, nice: int) -> None:
    """Runs in the child between fork and exec: a lower CPU priority (the ack path comes first on a shared box),
    SIGTERM when the parent dies, and exit if it already has."""
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


@dataclass
class Child:
    slot: int
    process: asyncio.subprocess.Process | None = None
    started: float = 0.0
    restarts: int = 0
    beat: float | None = None  # the heartbeat file's mtime last seen (None: not up yet)
    beat_seen: float = 0.0  # when (monotonic) it was last seen to move


@dataclass(kw_only=True)
class Supervisor:
    """``count`` worker processes running ``argv`` with ``env`` (or, with ``role="ack"``, ack processes)."""

    count: int
    argv: list[str] = field(default_factory=lambda: [sys.executable, "-m", "bot.cli", "worker", "--count", "1"])
    env: Mapping[str, str] | None = None
    backoff_first: float = BACKOFF_FIRST
    nice: int = 0  # added to the children's niceness (MAPLE_WORKER_NICE)
    role: str = "worker"  # for logs and metrics: "worker" or "ack"
    hang_seconds: float = HANG_SECONDS  # a child whose heartbeat stood still this long is killed (0: never)
    _children: list[Child] = field(default_factory=list)
    _watchers: list[asyncio.Task[None]] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _beats: str = ""  # the directory of the children's heartbeat files

    async def start(self) -> None:
        self._beats = tempfile.mkdtemp(prefix=f"maple-{self.role}-beats-")
        for slot in range(self.count):
            child = Child(slot)
            self._children.append(child)
            await self._spawn(child)
            self._watchers.append(asyncio.create_task(self._watch(child), name=f"maple-worker-{slot}"))
        if self.hang_seconds > 0:
            self._watchers.append(asyncio.create_task(self._watchdog(), name=f"maple-{self.role}-watchdog"))
        self._gauge().set(self.alive())

    def _beat_file(self, child: Child) -> str:
        return os.path.join(self._beats, f"{self.role}-{child.slot}")

    def _gauge(self) -> metrics.Gauge:
        return metrics.ACK_PROCESSES if self.role == "ack" else metrics.WORKER_PROCESSES

    def alive(self) -> int:
        return sum(1 for c in self._children if c.process is not None and c.process.returncode is None)

    def pids(self) -> list[int]:
        return [c.process.pid for c in self._children if c.process is not None and c.process.returncode is None]

    def report(self) -> dict[str, object]:
        """For ``/readyz``: how many of these processes run, of how many, their pids and restarts."""
        return {"alive": self.alive(), "expected": self.count, "pids": self.pids(),
                "restarts": sum(c.restarts for c in self._children)}

    async def _spawn(self, child: Child) -> None:
        env = dict(os.environ if self.env is None else self.env)  # with serve's PROMETHEUS_MULTIPROC_DIR
        beat = self._beat_file(child)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(beat)  # the new child says it is up by creating it
        env[HEARTBEAT_ENV] = beat
        child.beat = None
        parent = os.getpid()
        child.process = await asyncio.create_subprocess_exec(
            *self.argv, env=env, stdin=asyncio.subprocess.DEVNULL, preexec_fn=lambda: _child_setup(parent, self.nice))
        child.started = time.monotonic()
        log.info(f"{self.role} process started", extra={"slot": child.slot, "pid": child.process.pid})

    async def _watch(self, child: Child) -> None:
        backoff = self.backoff_first
        while True:
            assert child.process is not None
            code = await child.process.wait()
            metrics.mark_dead(child.process.pid)
            self._gauge().set(self.alive())
            if self._stopping.is_set():
                return
            lived = time.monotonic() - child.started
            if lived >= STEADY_SECONDS:
                backoff = self.backoff_first
            log.error(f"{self.role} process exited; restarting it", extra={
                "slot": child.slot, "pid": child.process.pid, "exit": code, "lived_seconds": round(lived, 1),
                "restart_in": backoff})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), backoff)
            if self._stopping.is_set():
                return
            backoff = min(backoff * 2, BACKOFF_MAX)
            child.restarts += 1
            (metrics.ACK_RESTARTS if self.role == "ack" else metrics.WORKER_RESTARTS).inc()
            try:
                await self._spawn(child)
            except OSError as exc:  # could not fork/exec: try again after the next backoff
                log.error(f"could not start a {self.role} process", extra={"slot": child.slot, "error": str(exc)})
                continue
            self._gauge().set(self.alive())

    async def _watchdog(self) -> None:
        """Kill a child that is up (it has touched its heartbeat file) but whose heartbeat stood still for
        ``hang_seconds``: its event loop is stuck. Its watcher then starts it again, as after a crash."""
        last = time.monotonic()
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), HEARTBEAT_EVERY)
            now = time.monotonic()
            watched, last = last, now
            if now - watched > WATCH_GAP:  # serve itself did not run (frozen with its children, or stalled):
                for child in self._children:  # only the silence it watched counts
                    child.beat_seen = now
            for child in self._children:
                process = child.process
                if self._stopping.is_set() or process is None or process.returncode is not None:
                    continue
                try:
                    mtime = os.stat(self._beat_file(child)).st_mtime
                except OSError:
                    continue  # not up yet: starting can take a while (imports, Redis down)
                if mtime != child.beat:
                    child.beat, child.beat_seen = mtime, now
                elif now - child.beat_seen > self.hang_seconds:
                    log.error(f"{self.role} process stopped answering (no heartbeat); killing it", extra={
                        "slot": child.slot, "pid": process.pid, "silent_seconds": round(now - child.beat_seen, 1)})
                    child.beat = None
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()

    async def stop(self, *, grace: float) -> None:
        """SIGTERM to every child; wait for them up to ``grace`` + a few seconds; kill what is left."""
        self._stopping.set()
        running = [c.process for c in self._children if c.process is not None and c.process.returncode is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        waits = [asyncio.create_task(p.wait()) for p in running]
        if waits:
            _done, pending = await asyncio.wait(waits, timeout=grace + KILL_AFTER_GRACE)
            for process in running:
                if process.returncode is None:
                    log.error(f"{self.role} process did not stop within the grace; killing it", extra={"pid": process.pid})
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
            await asyncio.gather(*(p.wait() for p in running))
            for task in pending:
                task.cancel()
        for task in self._watchers:
            task.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        for process in running:
            metrics.mark_dead(process.pid)
        self._gauge().set(0)
        if self._beats:
            shutil.rmtree(self._beats, ignore_errors=True)


async def heartbeat(path: str | None) -> None:
    """In a supervised child: touch ``path`` every second from this event loop (nothing when unsupervised). A
    loop that stops running stops the heartbeat, and the supervisor kills the process."""
    if not path:
        return
    while True:
        try:
            os.utime(path)
        except FileNotFoundError:  # the first beat creates it (nothing, when the supervisor's directory is gone)
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError:
            pass
        await asyncio.sleep(HEARTBEAT_EVERY)
