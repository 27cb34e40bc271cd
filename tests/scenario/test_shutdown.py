"""SIGTERM: `maple serve` stops taking work, lets in-flight jobs finish within the grace period, and leaves the
rest resumable for another worker."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import REQUESTER, SECRET, Harness
from tests.scenario.test_loop import run_id_of


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def serve(h: Harness, tmp_path: Path, *, grace: float) -> tuple[subprocess.Popen[bytes], str]:
    config = tmp_path / "maple.yaml"
    config.write_text(yaml.safe_dump(h.spec_data))
    port = free_port()
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test-token-secret-value", "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": h.slack.url, "REDIS_URL": h.redis_url, "MAPLE_REDIS_PREFIX": h.prefix,
           "OPENAI_BASE_URL": h.openai.url, "MAPLE_CONFIG": str(config), "MAPLE_VISIBILITY_TIMEOUT": "1",
           "MAPLE_SHUTDOWN_GRACE": str(grace), "PORT": str(port), "MAPLE_HOST": "127.0.0.1",
           "MAPLE_AUDIT_KEY": "test-audit-key-0123456789abcdef", "MAPLE_WORKERS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(2400):  # a generous cap for a loaded machine (start-up imports llama-index), not a timing check
        if proc.poll() is not None:
            raise AssertionError(f"maple serve exited with {proc.returncode} before answering")
        try:
            async with aiohttp.ClientSession() as s, s.get(url + "/healthz") as r:
                if r.status == 200:
                    return proc, url
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    proc.kill()
    raise AssertionError("maple serve did not start")


@pytest.mark.parametrize(("grace", "finishes"), [(20.0, True), (0.2, False)])
async def test_sigterm(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch,
                       tmp_path: Path, grace: float, finishes: bool) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    openai_fake.slow_seconds = 1.5
    openai_fake.script.append("slow")
    h = Harness(slack=slack, openai=openai_fake, visibility=1.0)
    await h.start(workers=0)
    proc, url = await serve(h, tmp_path, grace=grace)
    try:
        h.url = url  # send the goal to the subprocess
        _, reply = await h.slash(REQUESTER, "run draft a note about the fire drill")
        run_id = run_id_of(reply)
        await h.wait_for(lambda: openai_fake.requests, what="the model call to start")
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 30)
        assert code == 0
        state = (await h.run(run_id)).state.value
        if finishes:
            assert state == "in_review"  # the in-flight job finished before the process exited
        else:
            assert state == "drafting"  # cut off: left resumable…
            await h.maple.start_workers(1)  # type: ignore[union-attr]
            await h.wait_state(run_id, "in_review")  # …and another worker completes it
    finally:
        if proc.poll() is None:
            proc.kill()
        await h.stop()
        await h.cleanup_redis()
