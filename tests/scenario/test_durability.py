"""Runs survive restarts, killed workers, Redis outages and Slack rate limits."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import CHANNEL, REQUESTER, REVIEWER, Harness, spec_dict
from tests.scenario.test_loop import review_posts, run_id_of, start_draft


async def test_restart_between_draft_and_approval(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)
    await h.stop()  # the process goes away; everything it knew is in Redis
    await h.start()
    status, _ = await h.click(REVIEWER, "maple_approve", run_id)
    assert status == 200
    await h.wait_state(run_id, "delivered")
    assert len([p for p in h.slack.posted(CHANNEL) if p["metadata"]["event_payload"]["effect"] == "result"]) == 1


async def test_worker_killed_mid_run_is_taken_over(
    slack: FakeSlack, openai_fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    h = Harness(slack=slack, openai=openai_fake, visibility=1.5)
    await h.start(workers=0)
    config = tmp_path / "maple.yaml"
    config.write_text(yaml.safe_dump(h.spec_data))
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test-token-secret-value", "SLACK_SIGNING_SECRET": "s",
           "SLACK_API_URL": slack.url, "REDIS_URL": h.redis_url, "MAPLE_REDIS_PREFIX": h.prefix,
           "OPENAI_BASE_URL": openai_fake.url, "MAPLE_CONFIG": str(config), "MAPLE_VISIBILITY_TIMEOUT": "1.5",
           "MAPLE_AUDIT_KEY": "test-audit-key-0123456789abcdef"}  # a worker needs the deployment's shared key
    openai_fake.script.append("slow")  # the first worker hangs in its model call…
    worker = subprocess.Popen([sys.executable, "-m", "bot.cli", "worker", "--count", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _, reply = await h.slash(REQUESTER, "run draft a note about the move")
        run_id = run_id_of(reply)
        await h.wait_for(lambda: openai_fake.requests, what="the worker to call the model")
        os.kill(worker.pid, signal.SIGKILL)  # …and dies there
        worker.wait()
        await h.maple.start_workers(1)  # type: ignore[union-attr]
        await h.wait_state(run_id, "in_review")
        await h.wait_for(lambda: len(review_posts(h, run_id)) >= 2, what="review posts")
        assert len(openai_fake.requests) == 2
        assert len(review_posts(h, run_id)) == 2  # one per approver, not duplicated
    finally:
        if worker.poll() is None:
            worker.kill()
        await h.stop()
        await h.cleanup_redis()


async def test_slow_model_keeps_its_claim(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model call longer than the visibility timeout is not taken over by a second worker."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    h = Harness(slack=slack, openai=openai_fake, visibility=1.2, workers=2)
    openai_fake.slow_seconds = 4.0  # more than three visibility timeouts
    openai_fake.script.append("slow")
    await h.start()
    try:
        _, reply = await h.slash(REQUESTER, "run draft a slow one")
        run_id = run_id_of(reply)
        await h.wait_state(run_id, "in_review")
        assert len(openai_fake.requests) == 1
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_redis_down_clear_reply(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    h = Harness(slack=slack, openai=openai_fake, redis_url="redis://127.0.0.1:1/0")
    await h.start(workers=0)
    try:
        status, reply = await h.slash(REQUESTER, "run draft anything")
        assert status == 200 and "temporarily unavailable" in reply["text"]
        status, reply = await h.slash(REQUESTER, "status R-AAAAAAAAAAAAAAAA")
        assert "temporarily unavailable" in reply["text"]
        async with aiohttp.ClientSession() as s, s.get(h.url + "/healthz") as r:
            assert r.status == 503
        status, _ = await h.click(REVIEWER, "maple_approve", "R-AAAAAAAAAAAAAAAA")
        assert status == 200
        assert "temporarily unavailable" in slack.calls_to("chat.postEphemeral")[-1].params["text"]
        _, body = await h.submit(REVIEWER, "maple_reject_view", "R-AAAAAAAAAAAAAAAA", {"reason": "x"})
        assert body["response_action"] == "errors" and "unavailable" in str(body["errors"])
        assert not slack.calls_to("chat.postMessage")
    finally:
        await h.stop()


async def test_slack_429_is_retried_after_retry_after(harness: Harness) -> None:
    h = harness
    h.slack.fail_next("chat.postMessage", status=429, retry_after=1, error="ratelimited")
    run_id = await start_draft(h)
    posts = review_posts(h, run_id)
    assert len(posts) == 2
    assert len(h.slack.calls_to("chat.postMessage")) == 3  # one refused with 429, then retried


async def test_failing_model_goes_to_dead_letter(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    data = spec_dict(limits={"max_goal_chars": 4000, "max_draft_chars": 12000, "max_attempts": 2})
    h = Harness(slack=slack, openai=openai_fake, spec=data, visibility=0.5)
    openai_fake.script.extend(["500"] * 20)
    await h.start()
    try:
        h.svc.router.backoff = 0.01
        _, reply = await h.slash(REQUESTER, "run draft doomed")
        run_id = run_id_of(reply)
        run = await h.wait_state(run_id, "failed")
        assert "gave up" in (run.error or "")
        await h.wait_for(lambda: [p for p in slack.posted("D0REQUEST") if "could not be completed" in p["text"]],
                         what="requester told")
        failed = await h.svc.store.list_failed()
        assert [r.id for r in failed] == [run_id]
        env = {**os.environ, "REDIS_URL": h.redis_url, "MAPLE_REDIS_PREFIX": h.prefix}
        out = subprocess.run([sys.executable, "-m", "bot.cli", "runs", "failed"], env=env, capture_output=True,
                             text=True, check=True)
        assert run_id in out.stdout
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_not_in_channel_told_what_to_do(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, "run draft hello", channel="C0NOTMEMBER")
    run_id = run_id_of(reply)
    run = await h.wait_state(run_id, "failed")
    assert "/invite @Maple" in (run.error or "")
    await h.wait_for(lambda: [p for p in h.slack.posted("D0REQUEST") if "/invite" in p["text"]],
                     what="requester told")
    assert not h.openai.requests  # nothing was drafted for a destination Maple cannot reach


async def test_mention_and_dm_answer_in_thread(harness: Harness) -> None:
    h = harness
    status, _ = await h.event({"type": "app_mention", "user": REQUESTER, "channel": CHANNEL, "ts": "1700.0001",
                               "text": "<@U0MAPLEBOT> run draft thank the team for the launch"})
    assert status == 200
    ack = await h.wait_for(lambda: [p for p in h.slack.posted(CHANNEL) if p.get("thread_ts") == "1700.0001"],
                           what="ack in thread")
    run_id = run_id_of({"text": ack[0]["text"]})
    await h.wait_state(run_id, "in_review")
    await h.click(REVIEWER, "maple_approve", run_id)
    await h.wait_state(run_id, "delivered")
    result = [p for p in h.slack.posted(CHANNEL) if p["metadata"]["event_payload"]["effect"] == "result"]
    assert result[0]["thread_ts"] == "1700.0001"

    status, _ = await h.event({"type": "message", "channel_type": "im", "user": REQUESTER, "channel": "D0REQUEST",
                               "ts": "1800.0001", "text": "help"})
    assert status == 200
    await h.wait_for(lambda: [p for p in h.slack.posted("D0REQUEST") if p.get("thread_ts") == "1800.0001"],
                     what="help in the DM thread")


async def test_retried_event_processed_once(harness: Harness) -> None:
    h = harness
    event = {"type": "app_mention", "user": REQUESTER, "channel": CHANNEL, "ts": "1900.0001",
             "text": "<@U0MAPLEBOT> run draft once only"}
    await h.event(event, event_id="EvSAME1")
    status, _ = await h.event(event, event_id="EvSAME1", headers={"X-Slack-Retry-Num": "1",
                                                                   "X-Slack-Retry-Reason": "http_timeout"})
    assert status == 200
    acks = await h.wait_for(lambda: [p for p in h.slack.posted(CHANNEL) if p.get("thread_ts") == "1900.0001"],
                            what="ack")
    await asyncio.sleep(0)  # let nothing else sneak in
    import redis.asyncio as aioredis

    r = aioredis.from_url(h.redis_url)
    try:
        runs = [k async for k in r.scan_iter(match=h.prefix + "run:*")]
    finally:
        await r.aclose()
    assert len(runs) == 1 and len(acks) == 1


async def test_no_model_configured(slack: FakeSlack, openai_fake: FakeOpenAI) -> None:
    h = Harness(slack=slack, openai=openai_fake, spec=spec_dict(models=[]))
    await h.start()
    try:
        _, reply = await h.slash(REQUESTER, "run draft anything")
        run_id = run_id_of(reply)
        await h.wait_state(run_id, "refused")
        told = await h.wait_for(lambda: [p for p in slack.posted("D0REQUEST") if "No model is configured" in p["text"]],
                                what="no-model reply")
        assert told and not review_posts(h, run_id)
    finally:
        await h.stop()
        await h.cleanup_redis()
