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
from tests.harness import CHANNEL, REQUESTER, REVIEWER, SECRET, Harness, spec_dict
from tests.scenario.test_loop import review_posts, run_id_of, start_draft
from tests.scenario.test_shutdown import free_port


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
            assert r.status == 200 and (await r.json())["redis"] == "unreachable"  # alive, not ready
        async with aiohttp.ClientSession() as s, s.get(h.url + "/readyz") as r:
            assert r.status == 503 and (await r.json())["checks"]["redis"] is False
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
    calls = h.slack.calls_to("chat.postMessage")  # the requester's run message, then the two reviews
    assert len(calls) == len([c for c in calls if c.ok]) + 1  # one refused with 429, then retried
    assert not calls[0].ok and calls[1].ok and calls[1].params["channel"] == calls[0].params["channel"]


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
        failed = await h.wait_for(h.svc.store.list_failed, what="the dead letter")  # written after the requester is told
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


def all_review_posts(slack: FakeSlack) -> list[str]:
    """Run ids of the review messages Slack received, in the order it received them."""
    return [p["metadata"]["event_payload"]["run_id"] for p in slack.posted()
            if (p.get("metadata") or {}).get("event_payload", {}).get("effect", "").startswith("review:")]


def maple_process(h: Harness, tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    config = tmp_path / "maple.yaml"
    config.write_text(yaml.safe_dump(h.spec_data))
    full = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test-token-secret-value", "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": h.slack.url, "REDIS_URL": h.redis_url, "MAPLE_REDIS_PREFIX": h.prefix,
            "OPENAI_BASE_URL": h.openai.url, "MAPLE_CONFIG": str(config), "MAPLE_HOST": "127.0.0.1",
            "MAPLE_AUDIT_KEY": "test-audit-key-0123456789abcdef", **env}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", *args], env=full, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


async def test_slow_model_two_pools_short_visibility_each_run_drafted_once(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`maple serve` with two worker processes, a 1 s visibility timeout and a model that takes 3 s: every run is drafted
    by exactly one worker — one model call and one review post per approver each."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    openai_fake.slow_seconds = 3.0
    openai_fake.script.extend(["slow"] * 8)
    h = Harness(slack=slack, openai=openai_fake, visibility=1.0)
    await h.start(workers=0)
    port = free_port()
    proc = maple_process(h, tmp_path, "serve", MAPLE_WORKERS="2", MAPLE_VISIBILITY_TIMEOUT="1", PORT=str(port))
    try:
        h.url = f"http://127.0.0.1:{port}"
        # a generous cap: each worker process imports llama-index and the model stack before its first claim
        await h.wait_for(lambda: _workers_up(h.url, 2), timeout=240, what="maple serve's two worker processes")
        run_ids = [run_id_of((await h.slash(REQUESTER, f"run draft note {n}"))[1]) for n in range(8)]
        for run_id in run_ids:
            await h.wait_state(run_id, "in_review", timeout=60)
        await h.wait_for(lambda: len(all_review_posts(slack)) >= 16, what="review posts")
        assert len(openai_fake.requests) == 8
        assert sorted(all_review_posts(slack)) == sorted(run_ids * 2)  # two approvers, one post each
    finally:
        proc.kill()
        proc.wait()
        await h.stop()
        await h.cleanup_redis()


async def _workers_up(url: str, count: int) -> bool:
    try:
        async with aiohttp.ClientSession() as s, s.get(url + "/readyz") as r:
            body = await r.json()
    except (aiohttp.ClientError, ValueError):
        return False
    return bool(body.get("worker_processes", {}).get("alive") == count and body["checks"].get("workers"))


async def test_worker_processes_killed_at_random_never_post_twice(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two `maple worker` processes of two pools each, a 1 s visibility timeout, model calls slower than that,
    and SIGKILL: every run ends in review with exactly one review message per approver."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    openai_fake.slow_seconds = 1.5
    openai_fake.script.extend(["slow"] * 40)
    h = Harness(slack=slack, openai=openai_fake, visibility=1.0)
    await h.start(workers=0)
    env = {"MAPLE_VISIBILITY_TIMEOUT": "1"}
    procs = [maple_process(h, tmp_path, "worker", "--count", "2", **env) for _ in range(2)]
    try:
        run_ids = [run_id_of((await h.slash(REQUESTER, f"run draft note {n}"))[1]) for n in range(10)]
        # generous caps: worker processes import llama-index and the model stack before their first claim
        await h.wait_for(lambda: len(openai_fake.requests) >= 3, timeout=180, what="model calls under way")
        victim = procs.pop(0)
        victim.send_signal(signal.SIGKILL)  # dies in the middle of its model calls
        victim.wait()
        procs.append(maple_process(h, tmp_path, "worker", "--count", "2", **env))
        for run_id in run_ids:
            await h.wait_state(run_id, "in_review", timeout=180)
        await h.wait_for(lambda: len(all_review_posts(slack)) >= 20, timeout=120, what="review posts")
        assert sorted(all_review_posts(slack)) == sorted(run_ids * 2)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        await h.stop()
        await h.cleanup_redis()


NO_THROTTLES = {"runs_per_user_per_minute": 0, "runs_per_team_per_minute": 0}  # these bursts test the store


async def test_a_burst_of_commands_is_acked_without_false_outage(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """150 commands at once, workers busy: every one is acked with its run, none told the store is down."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    h = await Harness(slack=slack, openai=openai_fake, spec=spec_dict(limits=NO_THROTTLES)).start()
    try:
        replies = await asyncio.gather(*(h.slash(REQUESTER, f"run draft note {n}") for n in range(150)))
        texts = [reply["text"] for status, reply in replies if status == 200]
        assert len(texts) == 150
        assert not [t for t in texts if "unavailable" in t]
        assert all("Working on it" in t for t in texts)
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_one_users_burst_does_not_hold_back_another_users_draft(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    monkeypatch.setenv("MAPLE_WORKER_CONCURRENCY", "1")  # one job at a time: reviews are posted in the order taken
    h = Harness(slack=slack, openai=openai_fake, spec=spec_dict(limits=NO_THROTTLES))
    await h.start(workers=0)
    try:
        burst = [run_id_of((await h.slash(REQUESTER, f"run draft note {n}"))[1]) for n in range(30)]
        other = run_id_of((await h.slash(REVIEWER, "run draft my own note"))[1])
        await h.maple.start_workers(1)  # type: ignore[union-attr]
        await h.wait_state(burst[-1], "in_review", timeout=60)
        await h.wait_state(other, "in_review")
        order = list(dict.fromkeys(all_review_posts(slack)))  # runs in the order their reviews were posted
        assert order.index(other) <= 1, order  # taken first or second (the queue alternates people), not after 30
    finally:
        await h.stop()
        await h.cleanup_redis()
