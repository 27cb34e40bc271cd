"""The supervisor's heartbeat watchdog (bot/supervisor.py) judges only the silence it watched: when serve itself
was not running either (the whole process group frozen — ``docker pause``, Ctrl-Z, a stopped VM — or serve's own
loop stalled), a child whose heartbeat did not move meanwhile is not taken for hung the moment serve resumes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import types
from pathlib import Path

from bot import supervisor
from bot.supervisor import Supervisor

BEATING = ("import asyncio, os\nfrom bot.supervisor import heartbeat\n"
           "asyncio.run(heartbeat(os.environ['MAPLE_HEARTBEAT_FILE']))")
ROOT = str(Path(__file__).resolve().parents[2])


async def until(check: object, what: str, cap: float = 60.0) -> None:
    """Poll until ``check()`` is truthy; the cap only stops a broken test from hanging."""
    deadline = time.monotonic() + cap
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def test_a_child_is_not_killed_for_the_time_serve_itself_was_frozen(monkeypatch: object) -> None:
    offset = [0.0]
    ticks = [0]

    def monotonic() -> float:
        ticks[0] += 1
        return time.monotonic() + offset[0]

    monkeypatch.setattr(supervisor, "time", types.SimpleNamespace(monotonic=monotonic))  # type: ignore[attr-defined]
    env = {**os.environ, "PYTHONPATH": ROOT}
    sup = Supervisor(count=1, argv=[sys.executable, "-c", BEATING], env=env, hang_seconds=30, role="worker")

    async def scenario() -> None:
        await sup.start()
        child = sup._children[0]
        try:
            await until(lambda: child.beat is not None, "the child's first heartbeat seen")
            assert child.process is not None
            pid = child.process.pid
            os.kill(pid, signal.SIGSTOP)  # frozen with serve: it cannot beat
            offset[0] = 100.0  # …and serve's clock moved on 100 s while nothing ran
            seen = ticks[0]
            await until(lambda: ticks[0] >= seen + 3, "the watchdog looking again after the freeze")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
            assert child.process.pid == pid and child.process.returncode is None and child.restarts == 0, \
                "killed for the time serve itself was not watching"
        finally:
            if child.process is not None and child.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.process.pid, signal.SIGCONT)
            await sup.stop(grace=5)

    asyncio.run(scenario())


def test_a_hang_limit_shorter_than_a_few_heartbeats_is_refused() -> None:
    """Children beat once a second and the watchdog looks once a second: MAPLE_HANG_SECONDS=1 would kill healthy
    children over ordinary jitter (a busy, niced worker), again and again."""
    import pytest
    from pydantic import ValidationError

    from config.settings import Settings

    for fine in ("0", "3", "30"):
        Settings(_env_file=None, MAPLE_HANG_SECONDS=fine)  # type: ignore[call-arg]
    for bad in ("0.5", "1", "2.9"):
        with pytest.raises(ValidationError, match="MAPLE_HANG_SECONDS"):
            Settings(_env_file=None, MAPLE_HANG_SECONDS=bad)  # type: ignore[call-arg]
