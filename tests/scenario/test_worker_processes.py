"""`maple serve` runs its work in worker processes it supervises: their counters reach serve's /metrics, a killed
one is started again, SIGTERM stops them all, and a serve that is killed outright takes them with it. Its ack
process answers Slack on serve's port beside it, and is supervised the same way."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import REQUESTER, REVIEWER2, SECRET, Harness
from tests.scenario.test_loop import run_id_of
from tests.scenario.test_shutdown import free_port

START_CAP = 180.0  # a generous cap for a loaded machine (each worker process imports llama-index), not a timing check


def spawn_serve(h: Harness, tmp_path: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    config = tmp_path / "maple.yaml"
    config.write_text(yaml.safe_dump(h.spec_data))
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if k not in ("MAPLE_WORKER_MODE", "PROMETHEUS_MULTIPROC_DIR")}
    full = {**inherited, "SLACK_BOT_TOKEN": "xoxb-test-token-secret-value", "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": h.slack.url, "REDIS_URL": h.redis_url, "MAPLE_REDIS_PREFIX": h.prefix,
            "OPENAI_BASE_URL": h.openai.url, "MAPLE_CONFIG": str(config), "MAPLE_VISIBILITY_TIMEOUT": "2",
            "MAPLE_SHUTDOWN_GRACE": "5", "PORT": str(port), "MAPLE_HOST": "127.0.0.1", "TMPDIR": str(tmp_path),
            "MAPLE_AUDIT_KEY": "test-audit-key-0123456789abcdef", "MAPLE_WORKERS": "2", **env}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=full, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


async def ready(url: str) -> dict[str, Any] | None:
    try:
        async with aiohttp.ClientSession() as s, s.get(url + "/readyz") as r:
            return await r.json()  # type: ignore[no-any-return]
    except (aiohttp.ClientError, ValueError):
        return None


async def scrape(url: str) -> str:
    async with aiohttp.ClientSession() as s, s.get(url + "/metrics") as r:
        return await r.text()


def sample(page: str, name: str) -> float:
    """The value of one series (``name`` with its labels, as written in the text format), 0 when absent."""
    for line in page.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def processes_of(report: dict[str, Any] | None, kind: str) -> list[int]:
    return list(((report or {}).get(kind) or {}).get("pids", []))


def processes(report: dict[str, Any] | None) -> dict[str, Any]:
    return (report or {}).get("worker_processes") or {}


def running(pid: int) -> bool:
    """Not gone and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


@pytest.fixture
async def offline(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A harness that serves nothing itself: it reads Redis and signs requests for the subprocess."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    h = Harness(slack=slack, openai=openai_fake)
    await h.start(workers=0)
    yield h
    await h.stop()
    await h.cleanup_redis()


async def test_work_runs_in_worker_processes_whose_counters_reach_serves_metrics(
    offline: Harness, tmp_path: Path
) -> None:
    h = offline
    proc, url = spawn_serve(h, tmp_path)
    try:
        report = await h.wait_for(lambda: _all_alive(url, 2), timeout=START_CAP, what="two worker processes")
        pids = processes(report)["pids"]
        assert proc.pid not in pids and len(set(pids)) == 2
        h.url = url
        _, reply = await h.slash(REQUESTER, "run draft a note about the fire drill")
        run_id = run_id_of(reply)
        await h.wait_state(run_id, "in_review")
        page = await h.wait_for(lambda: _with(url, 'maple_jobs_total{kind="draft",outcome="ok"}'),
                                what="the worker's finished job in serve's /metrics")
        # serve itself runs no worker pool: these were counted in a worker process and summed by serve
        assert sample(page, 'maple_model_calls_total{model="openai"}') == 1.0
        assert sample(page, 'maple_jobs_total{kind="draft",outcome="ok"}') == 1.0
        assert sample(page, "maple_worker_processes") == 2.0
        metrics_dirs = [p for p in tmp_path.iterdir() if p.name.startswith("maple-metrics-")]
        assert len(metrics_dirs) == 1 and any(metrics_dirs[0].iterdir())
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 60) == 0
        assert not [pid for pid in pids if running(pid)]
        assert not metrics_dirs[0].exists()  # the private directory is removed with serve
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_a_killed_worker_process_is_started_again(offline: Harness, tmp_path: Path) -> None:
    h = offline
    proc, url = spawn_serve(h, tmp_path)
    try:
        report = await h.wait_for(lambda: _all_alive(url, 2), timeout=START_CAP, what="two worker processes")
        victim = processes(report)["pids"][0]
        os.kill(victim, signal.SIGKILL)
        report = await h.wait_for(lambda: _restarted(url, victim), timeout=START_CAP, what="a restarted worker")
        assert processes(report)["restarts"] == 1 and report["checks"]["worker_processes"]
        page = await scrape(url)
        assert sample(page, "maple_worker_restarts_total") == 1.0
        h.url = url  # the restarted process works
        _, reply = await h.slash(REQUESTER, "run draft a note about the parking lot")
        await h.wait_state(run_id_of(reply), "in_review")
    finally:
        proc.kill()
        proc.wait()


async def test_ack_processes_answer_on_serves_port_and_are_started_again(offline: Harness, tmp_path: Path) -> None:
    """MAPLE_ACK_PROCESSES=2 (the default): serve and one `maple front` share the port; signed commands sent on new
    connections are acked by both (the ack process's own counters say so), and a killed one is started again."""
    h = offline
    proc, url = spawn_serve(h, tmp_path)
    try:
        report = await h.wait_for(lambda: _all_alive(url, 2), timeout=START_CAP, what="two worker processes")
        acks = report["ack_processes"]
        assert acks["expected"] == 1 and report["pid"] == proc.pid
        report = await h.wait_for(lambda: _fronts_alive(url, 1), timeout=START_CAP, what="the ack process")
        front = report["ack_processes"]["pids"][0]
        assert front not in processes(report)["pids"] and running(front)
        theirs = await h.wait_for(lambda: _answered_by(url, front), what="a probe answered by the ack process")
        assert theirs["status"] == "ready" and "worker_processes" not in theirs  # serve alone lists its children
        h.url = url
        people = [REQUESTER, REVIEWER2] * 8  # 16 goals within each person's rate limit; each on a new connection
        runs = [run_id_of((await h.slash(who, f"run draft a note about fire drill {i}"))[1])
                for i, who in enumerate(people)]
        for run_id in runs:
            await h.wait_state(run_id, "in_review")
        metrics_dir = next(p for p in tmp_path.iterdir() if p.name.startswith("maple-metrics-"))
        by_front = acked_by(metrics_dir, front)
        by_serve = acked_by(metrics_dir, proc.pid)
        assert by_front > 0 and by_serve > 0 and by_front + by_serve == len(runs)  # the kernel spread them (a 16-0
        # split has odds of 2 in 65,536)
        os.kill(front, signal.SIGKILL)
        report = await h.wait_for(lambda: _front_restarted(url, front), timeout=START_CAP,
                                  what="a restarted ack process")
        assert report["ack_processes"]["restarts"] == 1
        assert sample(await scrape(url), "maple_ack_restarts_total") == 1.0
        again = report["ack_processes"]["pids"][0]
        await h.wait_for(lambda: _answered_by(url, again), what="a probe answered by the new ack process")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 60) == 0
        assert not running(again)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def acked_by(metrics_dir: Path, pid: int) -> float:
    """Slash commands acked by one process, from its own files in the shared metrics directory."""
    from prometheus_client import CollectorRegistry, multiprocess

    own = metrics_dir.parent / f"only-{pid}"
    own.mkdir()
    for path in metrics_dir.glob(f"*_{pid}.db"):
        (own / path.name).write_bytes(path.read_bytes())
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(own))  # type: ignore[no-untyped-call]
    return sum(s.value for m in registry.collect() if m.name == "maple_acks"
               for s in m.samples if s.name == "maple_acks_total" and s.labels.get("kind") == "command")


async def test_a_killed_serve_takes_its_worker_processes_with_it(offline: Harness, tmp_path: Path) -> None:
    h = offline
    proc, url = spawn_serve(h, tmp_path)
    try:
        report = await h.wait_for(lambda: _all_alive(url, 2), timeout=START_CAP, what="two worker processes")
        report = await h.wait_for(lambda: _fronts_alive(url, 1), timeout=START_CAP, what="the ack process")
        pids = processes(report)["pids"] + report["ack_processes"]["pids"]
        proc.kill()  # no chance to stop them itself
        proc.wait()
        await h.wait_for(lambda: not [pid for pid in pids if running(pid)], timeout=180,  # SIGTERM: each drains first
                         what="the orphaned worker and ack processes to exit")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_in_process_mode_still_serves(offline: Harness, tmp_path: Path) -> None:
    """``MAPLE_WORKER_MODE=inprocess``: no worker processes, the pools run in serve and drafts still happen."""
    h = offline
    proc, url = spawn_serve(h, tmp_path, MAPLE_WORKER_MODE="inprocess", MAPLE_WORKERS="1")
    try:
        report = await h.wait_for(lambda: _ready(url), timeout=START_CAP, what="maple serve ready")
        assert "worker_processes" not in report and "worker_processes" not in report["checks"]
        h.url = url
        _, reply = await h.slash(REQUESTER, "run draft a note about the fire drill")
        await h.wait_state(run_id_of(reply), "in_review")
    finally:
        proc.kill()
        proc.wait()


async def _ready(url: str) -> dict[str, Any] | None:
    report = await ready(url)
    return report if report and report.get("status") == "ready" else None


async def _all_alive(url: str, count: int) -> dict[str, Any] | None:
    report = await ready(url)
    return report if processes(report).get("alive") == count and report and report["checks"]["workers"] else None


async def _restarted(url: str, victim: int) -> dict[str, Any] | None:
    report = await ready(url)
    found = processes(report)
    return report if found.get("alive") == 2 and victim not in found.get("pids", [victim]) else None


async def _fronts_alive(url: str, count: int) -> dict[str, Any] | None:
    report = await ready(url)
    return report if ((report or {}).get("ack_processes") or {}).get("alive") == count else None


async def _answered_by(url: str, pid: int) -> dict[str, Any] | None:
    report = await ready(url)  # a new connection each time: the kernel picks which process takes it
    return report if report and report.get("pid") == pid else None


async def _front_restarted(url: str, victim: int) -> dict[str, Any] | None:
    report = await ready(url)
    found = (report or {}).get("ack_processes") or {}
    return report if found.get("alive") == 1 and victim not in found.get("pids", [victim]) else None


async def _with(url: str, series: str) -> str | None:
    page = await scrape(url)
    return page if sample(page, series) > 0 else None


async def test_a_second_serve_on_the_same_port_refuses_to_start(offline: Harness, tmp_path: Path) -> None:
    """Serve binds its port with SO_REUSEPORT for its ack process; a second `maple serve` on that port (another
    deployment, say) must not silently join it and take part of Slack's requests: it exits, having started
    nothing, and the first one goes on answering."""
    h = offline
    proc, url = spawn_serve(h, tmp_path)
    second: subprocess.Popen[bytes] | None = None
    try:
        first = await h.wait_for(lambda: _fronts_alive(url, 1), timeout=START_CAP, what="the ack process")
        ours = (proc.pid, *processes_of(first, "ack_processes"))
        port = url.rsplit(":", 1)[1]
        other = tmp_path / "other"
        other.mkdir()
        second, _ = spawn_serve(h, other, PORT=port)
        assert await asyncio.to_thread(second.wait, START_CAP) == 1
        report = await ready(url)
        assert report is not None and report["pid"] in ours  # answered by the first serve or its ack process
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 60) == 0
    finally:
        for p in (proc, second):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


async def test_a_hung_ack_process_and_a_hung_worker_are_killed_and_started_again(
    offline: Harness, tmp_path: Path,
) -> None:
    """A child that is alive but whose event loop no longer runs (SIGSTOP stands in for a stuck loop) stops its
    heartbeat; past MAPLE_HANG_SECONDS serve kills it and starts a new one, as after a crash. An ack process so
    stuck would otherwise keep taking its share of Slack's connections and time them out."""
    h = offline
    proc, url = spawn_serve(h, tmp_path, MAPLE_HANG_SECONDS="3", MAPLE_WORKERS="1")
    stopped: list[int] = []
    try:
        report = await h.wait_for(lambda: _all_alive(url, 1), timeout=START_CAP, what="the worker process")
        report = await h.wait_for(lambda: _fronts_alive(url, 1), timeout=START_CAP, what="the ack process")
        front, worker = report["ack_processes"]["pids"][0], processes(report)["pids"][0]
        await h.wait_for(lambda: _answered_by(url, front), what="a probe answered by the ack process (it is up)")
        os.kill(front, signal.SIGSTOP)
        stopped.append(front)
        report = await h.wait_for(lambda: _front_restarted(url, front), timeout=START_CAP,
                                  what="the hung ack process replaced")
        assert not running(front) and report["ack_processes"]["restarts"] == 1
        again = report["ack_processes"]["pids"][0]
        await h.wait_for(lambda: _answered_by(url, again), what="a probe answered by the new ack process")
        os.kill(worker, signal.SIGSTOP)
        stopped.append(worker)
        report = await h.wait_for(lambda: _one_restarted(url, worker), timeout=START_CAP,
                                  what="the hung worker process replaced")
        assert not running(worker) and processes(report)["restarts"] == 1
        assert sample(await scrape(url), "maple_worker_restarts_total") == 1.0
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 60) == 0
    finally:
        for pid in stopped:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def _one_restarted(url: str, victim: int) -> dict[str, Any] | None:
    report = await _answered_by_serve(url)
    found = processes(report)
    return report if found.get("alive") == 1 and victim not in found.get("pids", [victim]) else None


async def _answered_by_serve(url: str) -> dict[str, Any] | None:
    report = await ready(url)
    return report if report and "worker_processes" in report else None



async def test_a_worker_finishing_its_jobs_on_sigterm_is_not_taken_for_hung(offline: Harness, tmp_path: Path) -> None:
    """A worker sent SIGTERM on its own (an operator draining it) finishes its in-flight jobs within its
    MAPLE_SHUTDOWN_GRACE; its event loop still runs meanwhile, so its heartbeat must go on. It stopped at the
    signal, and a drain longer than MAPLE_HANG_SECONDS was cut short by a SIGKILL (the job then done twice)."""
    h = offline
    h.openai.gate = asyncio.Event()  # the model answers when the test says so: the job stays in flight
    proc, url = spawn_serve(h, tmp_path, MAPLE_HANG_SECONDS="3", MAPLE_WORKERS="1", MAPLE_SHUTDOWN_GRACE="120",
                            MAPLE_ACK_PROCESSES="1")
    try:
        report = await h.wait_for(lambda: _all_alive(url, 1), timeout=START_CAP, what="the worker process")
        worker = processes(report)["pids"][0]
        await h.wait_for(lambda: [p for d in tmp_path.glob("maple-worker-beats-*") for p in d.iterdir()],
                         timeout=START_CAP, what="the worker's first heartbeat")
        beats = [p for d in tmp_path.glob("maple-worker-beats-*") for p in d.iterdir()]
        assert len(beats) == 1
        h.url = url
        _, reply = await h.slash(REQUESTER, "run draft a note about the fire drill")
        run_id = run_id_of(reply)
        await h.wait_for(lambda: h.openai.requests, timeout=START_CAP, what="the job's model call (held)")
        os.kill(worker, signal.SIGTERM)  # it drains: the held call is its in-flight job
        seen: set[float] = set()

        def beating() -> bool:
            with contextlib.suppress(FileNotFoundError):
                seen.add(beats[0].stat().st_mtime)
            return len(seen) >= 6 or not running(worker)  # ~5 s of beats: past MAPLE_HANG_SECONDS

        await h.wait_for(beating, timeout=60, what="heartbeats from the draining worker")
        assert running(worker), "the draining worker was killed as hung"
        h.openai.gate.set()
        await h.wait_state(run_id, "in_review")
        assert len(h.openai.requests) == 1  # done once, by the worker that drained
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 60) == 0
    finally:
        h.openai.gate.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
