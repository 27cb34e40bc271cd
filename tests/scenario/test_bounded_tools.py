"""Untrusted input gets bounded work: a pathological calculation through the running app never stops Maple from
answering others, and a tool's failure on bad input is a clear answer to the requester, never a retry."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import CHANNEL, REQUESTER, REVIEWER, SECRET, Harness, spec_dict
from tests.scenario.test_loop import run_id_of
from tests.scenario.test_shutdown import free_port, serve

PATHOLOGICAL = "run calc ((1+10**-399)**1000)**1000"


async def healthz(url: str) -> int:
    timeout = aiohttp.ClientTimeout(total=10)  # generous: only stops a blocked server from hanging the test
    async with aiohttp.ClientSession(timeout=timeout) as s, s.get(url + "/healthz") as r:
        return r.status


async def test_a_pathological_calculation_does_not_stop_maple(slack: FakeSlack, openai_fake: FakeOpenAI,
                                                              monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`maple serve` in its own process: the worker that picks up the pathological run shares the event loop with
    the HTTP server. Before, that loop spun on the power for hours: /healthz and every other command timed out."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    h = Harness(slack=slack, openai=openai_fake)
    await h.start(workers=0)
    proc, url = await serve(h, tmp_path, grace=1.0)
    try:
        h.url = url
        status, reply = await asyncio.wait_for(h.slash(REQUESTER, PATHOLOGICAL), 30)
        assert status == 200
        bad = run_id_of(reply)
        await h.wait_state(bad, "drafting", "refused", "failed", timeout=120)  # a worker has taken it
        assert await healthz(url) == 200
        status, reply = await asyncio.wait_for(h.slash(REVIEWER, "run calc 6*7"), 30)
        assert status == 200
        good = await h.wait_state(run_id_of(reply), "delivered", timeout=120)  # a loaded machine: a generous cap
        assert good.drafts[0].text == "6*7 = 42"
        refused = await h.wait_state(bad, "refused", "failed", timeout=120)
        assert refused.state.value == "refused" and "too large" in (refused.error or "")
        told = await h.wait_for(  # the requester is told right after the state is written, by a worker process
            lambda: [p for p in slack.posted("D0REQUEST") if bad in str(p.get("text", "")) + str(p.get("blocks", ""))
                     and "too large" in str(p)], what="the requester told")
        assert "too large" in str(told[-1])
    finally:
        proc.kill()
        await asyncio.to_thread(proc.wait, 10)
        await h.stop()
        await h.cleanup_redis()


@pytest.mark.parametrize(("goal", "why"), [
    ("run calc what is 100 business days from 9999-12-01", "outside the calendar"),
    ("run calc how many days until 2027-02-31", "not a valid date"),
    ("run calc round(1, 10**400) + 1", "digits"),
])
async def test_a_tool_failure_is_answered_once_not_retried(harness: Harness, goal: str, why: str) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, goal)
    run = await h.wait_state(run_id_of(reply), "refused", "failed")
    assert run.state.value == "refused" and why in (run.error or ""), run.error
    assert await h.svc.store.list_failed() == []  # no dead letter
    notices = await h.wait_for(lambda: [p for p in h.slack.posted("D0REQUEST") if run.id in str(p)],
                               what="the refusal notice")
    assert len(notices) == 1 and why in str(notices[0])


async def test_business_days_through_the_app(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, "run calc how many business days until 2099-01-15?")
    run = await h.wait_state(run_id_of(reply), "delivered")
    assert " business days until 2099-01-15" in run.drafts[0].text
    result = [p for p in h.slack.posted(CHANNEL) if p["metadata"]["event_payload"]["effect"] == "result"]
    assert "business days" in str(result[0]["blocks"])


async def test_dangerous_grants_are_logged_at_start(slack: FakeSlack, openai_fake: FakeOpenAI, tmp_path: Path) -> None:
    h = Harness(slack=slack, openai=openai_fake, spec=spec_dict(roles={"user": ["*"], "reviewer": ["*"],
                                                                       "admin": ["U0ADMIN"]}))
    config = tmp_path / "maple.yaml"
    config.write_text(yaml.safe_dump(h.spec_data))
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url,
           "MAPLE_REDIS_PREFIX": h.prefix, "MAPLE_CONFIG": str(config), "PORT": str(free_port()), "MAPLE_WORKERS": "0",
           "MAPLE_AUDIT_KEY": "test-audit-key-0123456789abcdef"}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(_first_line_with, proc, "CONFIG WARNING"), 60)
        assert "roles.reviewer contains" in line and "anyone in the workspace can approve" in line
    finally:
        proc.kill()
        await asyncio.to_thread(proc.wait, 10)
        await h.cleanup_redis()


def _first_line_with(proc: Any, needle: str) -> str:
    assert proc.stderr is not None
    for line in proc.stderr:
        if needle in line:
            return line
    raise AssertionError(f"no {needle!r} in the log")
