"""`make run` following the README's own steps — credentials in `.env`, nothing exported — starts `maple serve`,
not the local workspace."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from tests.fakes.slack_api import FakeSlack
from tests.harness import SECRET, TOKEN
from tests.scenario.test_shutdown import free_port

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/0"
pytestmark = pytest.mark.skipif(shutil.which("make") is None or not (REPO / ".venv/bin/maple").exists(),
                                reason="needs make and the project's .venv")


async def answer(url: str, proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    """The first HTTP answer at ``url`` while ``proc`` runs."""
    for _ in range(600):
        assert proc.poll() is None, f"make run exited with {proc.returncode}"
        try:
            async with aiohttp.ClientSession() as s, s.get(url) as r:
                return r.status, await r.text()
        except aiohttp.ClientError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


async def test_make_run_reads_dotenv(tmp_path: Path, slack: FakeSlack) -> None:
    port, prefix = free_port(), f"test:makerun:{uuid.uuid4().hex[:10]}:"
    (tmp_path / ".env").write_text(
        f"SLACK_BOT_TOKEN={TOKEN}\nSLACK_SIGNING_SECRET={SECRET}\nSLACK_API_URL={slack.url}\nPORT={port}\n"
        f"MAPLE_HOST=127.0.0.1\nREDIS_URL={REDIS_URL}\nMAPLE_REDIS_PREFIX={prefix}\nMAPLE_WORKERS=0\n"
        "MAPLE_AUDIT_KEY=test-audit-key-0123456789abcdef\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MAPLE_", "OPENAI_", "PORT"))}
    log = (tmp_path / "make.log").open("wb")
    # the repository's Makefile and .venv, run in a directory whose only settings are its .env; `-o` keeps make
    # from reinstalling the venv
    proc = subprocess.Popen(["make", "--no-print-directory", "-f", str(REPO / "Makefile"), f"VENV={REPO}/.venv",
                             "-o", f"{REPO}/.venv/.installed", "run"], cwd=tmp_path, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        status, body = await answer(f"http://127.0.0.1:{port}/healthz", proc)
        output = (tmp_path / "make.log").read_text()
        assert status == 200, f"not maple serve: {status} {body[:200]}\n{output}"
        assert "SLACK_BOT_TOKEN is set (in .env): starting `maple serve`" in output, output
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, 30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        r = aioredis.from_url(REDIS_URL)
        keys = [k async for k in r.scan_iter(match=prefix + "*", count=500)]
        if keys:
            await r.delete(*keys)
        await r.aclose()
