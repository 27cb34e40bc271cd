"""Operating Maple, through its real HTTP app and command line: /metrics, /healthz and /readyz, and the operator
controls set by `maple control` taking effect in a running Maple (another process) through Redis."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from bot.core import text
from bot.core.errors import NotFound
from config.settings import Settings
from integrations.redis_controls import RedisControls
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import REQUESTER, REVIEWER, SECRET, TOKEN, Harness, sign
from tests.scenario.test_loop import run_id_of, start_draft

AUDIT_KEY = "test-audit-key-0123456789abcdef"  # the harness's (MAPLE_AUDIT_KEY)


async def scrape(h: Harness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as s, s.get(h.url + "/metrics") as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
        body = await r.text()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body) for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def get_json(url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        return r.status, await r.json()


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


async def cli(h: Harness, *args: str) -> Done:
    """`maple …` in a subprocess, awaited without blocking the loop that serves the fake Slack it talks to."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("MAPLE_", "SLACK_"))},
           "REDIS_URL": h.redis_url, "MAPLE_REDIS_PREFIX": h.prefix, "MAPLE_AUDIT_KEY": AUDIT_KEY,
           "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": h.slack.url}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    return Done(proc.returncode or 0, out.decode(), err.decode())


async def test_metrics_count_acks_runs_model_calls_and_read_the_queue(harness: Harness) -> None:
    h = harness
    before = await scrape(h)
    run_id = await start_draft(h)
    await h.click(REVIEWER, "maple_approve", run_id)
    await h.wait_state(run_id, "delivered")
    after = await scrape(h)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("maple_acks_total", kind="command", status="200") >= 1
    assert grew("maple_acks_total", kind="interaction", status="200") >= 1
    assert grew("maple_ack_seconds_count", kind="command") >= 1
    assert grew("maple_runs_total", workflow="draft", state="queued") >= 1
    assert grew("maple_runs_total", workflow="draft", state="in_review") >= 1
    assert grew("maple_runs_total", workflow="draft", state="delivered") >= 1
    assert grew("maple_model_calls_total", model="openai") >= 1
    assert grew("maple_model_tokens_total", model="openai", direction="input") > 0
    assert grew("maple_model_cost_usd_total", model="openai") > 0
    assert grew("maple_budget_reservations_total", outcome="granted") >= 1
    assert ("maple_queue_depth", ()) in after and ("maple_queue_oldest_seconds", ()) in after
    assert value(after, "maple_workers_alive") >= 1
    assert value(after, "maple_control", control="freeze_external") == 0


async def test_a_forged_request_is_counted_by_its_status(harness: Harness) -> None:
    before = await scrape(harness)
    status, _ = await harness.post("command=/maple", content_type="application/x-www-form-urlencoded",
                                   headers={"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=00"})
    assert status == 401
    after = await scrape(harness)
    key = ("maple_acks_total", (("kind", "unsigned"), ("status", "401")))
    assert after.get(key, 0) - before.get(key, 0) == 1


async def test_readyz_needs_a_live_worker_and_healthz_only_the_process(slack: FakeSlack, openai_fake: FakeOpenAI,
                                                                     monkeypatch) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    h = Harness(slack=slack, openai=openai_fake)
    await h.start(workers=0)
    try:
        status, body = await get_json(h.url + "/readyz")
        assert status == 503 and body["checks"] == {"redis": True, "workers": False, "model": True}
        assert (await get_json(h.url + "/healthz"))[0] == 200
        assert h.maple is not None
        await h.maple.start_workers(1)  # a worker process beats; /readyz sees it
        await h.wait_for(lambda: _ready(h), what="ready")
    finally:
        await h.stop()
        await h.cleanup_redis()


async def _ready(h: Harness) -> bool:
    return (await get_json(h.url + "/readyz"))[0] == 200


async def test_freeze_external_from_the_cli_reaches_the_running_maple_and_fails_closed(harness: Harness) -> None:
    h = harness
    done = await cli(h, "control", "freeze-external", "--by", "ops-oncall", "--reason", "incident 42")
    assert done.returncode == 0, done.stderr
    assert "freeze_external: ON  set by ops-oncall" in done.stdout
    await h.wait_for(lambda: h.svc.router.frozen(), what="the freeze seen by the running process")
    asked = len(h.openai.requests)
    _, reply = await h.slash(REQUESTER, "run draft a note to the team about the outage")
    run = await h.wait_state(run_id_of(reply), "refused")
    assert str(text.FROZEN_NO_MODEL) in (run.error or "")
    assert len(h.openai.requests) == asked  # the only model leaves the deployment: nothing was sent
    _, status = await h.slash(REQUESTER, "status")
    assert "External models are frozen" in status["text"]
    events = [e async for e in h.maple.svc.audit.export(run.created_at.replace(year=2000))]  # type: ignore[union-attr]
    changed = [e for e in events if e["kind"] == "control.changed"]
    assert changed and changed[0]["actor"] == "ops-oncall" and "incident" not in str(changed[0])  # a digest
    verified = await cli(h, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert (await cli(h, "control", "unfreeze-external")).returncode == 0
    await h.wait_for(lambda: not h.svc.router.frozen(), what="the unfreeze seen")


async def test_paused_intake_answers_clearly_and_starts_nothing(harness: Harness) -> None:
    h = harness
    r = aioredis.from_url(h.redis_url)
    controls = RedisControls(redis=r, prefix=h.prefix)
    try:
        await controls.set("intake_paused", on=True, by="ops")
        await h.wait_for(lambda: h.svc.control_state().intake_paused, what="the pause seen")
        status, reply = await h.slash(REQUESTER, "run draft a note")
        assert status == 200 and "paused by its operators" in reply["text"] and "R-" not in reply["text"]
        await controls.set("intake_paused", on=False, by="ops")
        await h.wait_for(lambda: not h.svc.control_state().intake_paused, what="the resume seen")
        _, reply = await h.slash(REQUESTER, "run draft a note")
        assert "Working on it" in reply["text"]
    finally:
        await r.aclose()


async def test_runs_cli_lists_shows_and_cancels(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)
    listed = await cli(h, "runs", "list", "--state", "in_review")
    assert listed.returncode == 0 and run_id in listed.stdout, listed.stderr
    shown = await cli(h, "runs", "show", run_id)
    assert shown.returncode == 0 and '"state": "in_review"' in shown.stdout
    assert "late shipment" not in shown.stdout  # no goal or draft text
    cancelled = await cli(h, "runs", "cancel", run_id, "--by", "ops-oncall")
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
    run = await h.wait_state(run_id, "failed")
    assert run.error == str(text.CANCELLED)
    assert any("cancelled" in p.get("text", "") for p in h.slack.posted("D0REQUEST"))
    assert (await cli(h, "runs", "cancel", run_id)).returncode == 1  # finished: nothing to cancel


class Rotating(Harness):
    """Maple with a new signing secret, still accepting the previous one until ``until``."""

    def __init__(self, *, until: datetime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.until = until

    def settings(self) -> Settings:
        return self_settings(super().settings(), self.until)


def self_settings(base: Settings, until: datetime) -> Settings:
    return base.model_copy(update={"slack_signing_secret": SecretStr(NEW_SECRET),
                                   "slack_signing_secret_previous": SecretStr(SECRET),
                                   "signing_previous_until": until})


NEW_SECRET = "new-signing-secret-9876543210"


async def _command(h: Harness, secret: str) -> int:
    body = "command=/maple&text=help&user_id=U0REQUEST&team_id=T0TEST&channel_id=C0GENERAL&trigger_id=t" + secret[:3]
    status, _ = await h.post(body, content_type="application/x-www-form-urlencoded", headers=sign(body, secret=secret))
    return status


async def test_signing_secret_rotation_accepts_the_previous_secret_only_within_its_window(
        slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    for until, old_accepted in ((datetime.now(UTC) + timedelta(hours=1), True),
                                (datetime.now(UTC) - timedelta(seconds=1), False)):
        h = Rotating(until=until, slack=slack, openai=openai_fake)
        await h.start(workers=0)
        try:
            assert await _command(h, NEW_SECRET) == 200
            assert await _command(h, SECRET) == (200 if old_accepted else 401)
            assert await _command(h, "some-other-secret-000") == 401
        finally:
            await h.stop()
            await h.cleanup_redis()


async def test_purge_erases_a_persons_runs_and_the_audit_chain_still_verifies(harness: Harness) -> None:
    h = harness
    mine = await start_draft(h)
    other = await start_draft(h, user=REVIEWER, reviews=1)

    def maples(run_id: str) -> set[tuple[str, str]]:  # Maple's messages of the run in the fake Slack, by metadata
        return {(channel, m["ts"]) for channel, messages in h.slack.messages.items() for m in messages
                if run_id in str(m.get("metadata"))}

    shown = maples(mine)
    assert len(shown) >= 2  # its review message and the requester's run message at least
    done = await cli(h, "purge", "--user", REQUESTER, "--by", "dpo")
    assert done.returncode == 0 and "purged 1 run record(s)" in done.stdout, done.stdout + done.stderr
    assert f"deleted {len(shown)} Slack message(s)" in done.stdout, done.stdout
    assert maples(mine) == set() and shown <= set(h.slack.deleted)  # chat.delete for each, nothing of it left
    assert maples(other)  # someone else's messages stay
    with pytest.raises(NotFound):
        await h.run(mine)
    assert (await h.run(other)).requester == REVIEWER  # someone else's run is kept
    events = [e async for e in h.maple.svc.audit.export(datetime(2000, 1, 1, tzinfo=UTC))]  # type: ignore[union-attr]
    purged = [e for e in events if e["kind"] == "data.purged"]
    assert len(purged) == 1 and purged[0]["actor"] == "dpo" and REQUESTER not in str(purged[0]["attrs"])
    assert any(e.get("run_id") == mine for e in events)  # its decisions stay, as digests
    verified = await cli(h, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
