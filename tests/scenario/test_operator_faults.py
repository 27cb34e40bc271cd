"""What an operator runs into with Maple at work: the kill switch during an incident, a person's purge on request,
probes while Redis is slow, controls changed from a host without the audit keys — through the running app, its
command line and real Redis."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.core import text
from bot.core.errors import NotFound
from bot.core.knowledge_spec import EmbeddingSpec
from bot.core.worker import fail
from integrations.knowledge.embeddings import build_embedder
from integrations.redis_controls import RedisControls
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import REQUESTER, REVIEWER, REVIEWER2, SECRET, TOKEN, Harness, spec_dict
from tests.knowledge_corpus import KNOWLEDGE_COLLECTIONS, KNOWLEDGE_ROLES, Corpus, build_corpus
from tests.scenario.test_followups import _mention, _run_in_thread, _version
from tests.scenario.test_knowledge import picked_up
from tests.scenario.test_loop import review_posts, run_id_of, start_draft
from tests.scenario.test_operations import AUDIT_KEY, cli


async def test_a_freeze_keeps_questions_away_from_an_external_embedding_endpoint(
        slack: FakeSlack, openai_fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``freeze-external`` is the kill switch for everything that leaves the deployment: a question asked while it
    is on must not be sent to an openai-compatible embedding endpoint either (the search falls back to BM25)."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    embeddings = {"kind": "openai-compatible", "base_url": openai_fake.url, "api_key_env": "MAPLE_TEST_OPENAI_KEY",
                  "model": "emb"}
    spec = spec_dict()
    spec["roles"], spec["collections"] = KNOWLEDGE_ROLES, KNOWLEDGE_COLLECTIONS
    spec["knowledge"]["embeddings"] = embeddings
    h = await Harness(slack=slack, openai=openai_fake, spec=spec).start()
    embedder = build_embedder(EmbeddingSpec.model_validate(embeddings), api_key="sk-test")
    corpus = Corpus(spec=h.svc.spec, prefix=h.prefix, embedder=embedder)
    r = aioredis.from_url(h.redis_url)
    try:
        for name, root in build_corpus(tmp_path / "corpus").items():
            await corpus.ingest.run(collection=name, paths=[root])
        await picked_up(h, corpus)
        await RedisControls(redis=r, prefix=h.prefix).set("freeze_external", on=True, by="ops-oncall")
        await h.wait_for(lambda: h.svc.router.frozen(), what="the freeze seen by the running process")
        openai_fake.embedded.clear()
        question = "what is the daily meal allowance when travelling?"
        _, reply = await h.slash(REQUESTER, f"run ask {question}")
        run = await h.wait_state(run_id_of(reply), "delivered")  # extracts of the sources, without a model
        assert openai_fake.requests == []  # the only chat model is external: not called
        assert openai_fake.embedded == []  # nor the external embedding endpoint (searched by BM25 alone)
        assert run.citations and run.citations[0].document == "travel.md"
    finally:
        await r.aclose()
        await h.stop()
        await corpus.close()
        await h.cleanup_redis()


async def test_purge_finds_a_persons_run_that_outlived_its_place_in_the_runs_index(harness: Harness) -> None:
    """The runs index is trimmed by creation time, but a run's record expires a retention after its *last* change
    (a review approved on day 29 keeps it to day 59): a person's purge must still find and erase it."""
    h = harness
    old = await start_draft(h)
    r = aioredis.from_url(h.redis_url)
    try:
        month_ago = time.time() - 31 * 86400
        await r.zadd(f"{h.prefix}runs:by_created", {old: month_ago})  # as if created a month ago, changed since
        await start_draft(h, user=REVIEWER, reviews=1)  # the next run trims the index past the retention
        assert await r.zscore(f"{h.prefix}runs:by_created", old) is None
        assert (await h.run(old)).requester == REQUESTER  # the record itself is still there, with its text
        done = await cli(h, "purge", "--user", REQUESTER, "--by", "dpo")
        assert done.returncode == 0 and "purged 1 run record(s)" in done.stdout, done.stdout + done.stderr
        with pytest.raises(NotFound):
            await h.run(old)
    finally:
        await r.aclose()


async def test_a_follow_up_while_intake_is_paused_is_refused_and_drafts_nothing(harness: Harness) -> None:
    """A follow-up in a draft's thread is a new goal at intake: while operators pause intake it is answered like
    any other goal (paused, nothing started) and the draft in review stays as it was."""
    h = harness
    await _mention(h, REQUESTER, "run draft a note to the team about friday's release", ts="8100.000001")
    run_id = await _run_in_thread(h, "8100.000001")
    await _version(h, run_id, 1)
    r = aioredis.from_url(h.redis_url)
    try:
        await RedisControls(redis=r, prefix=h.prefix).set("intake_paused", on=True, by="ops-oncall")
        await h.wait_for(lambda: h.svc.control_state().intake_paused, what="the pause seen")
        asked, mark = len(h.openai.requests), len(h.slack.calls)
        await _mention(h, REQUESTER, "make it shorter", ts="8100.000002", thread_ts="8100.000001")

        async def answered() -> list[dict[str, Any]] | bool:
            said = [c.params for c in h.slack.calls[mark:] if c.method == "chat.postEphemeral"]
            return said or (await h.run(run_id)).state.value != "in_review"

        said = await h.wait_for(answered, what="the follow-up answered or taken")
        run = await h.run(run_id)
        assert run.followups == [] and run.draft_version == 1 and run.state.value == "in_review"
        assert isinstance(said, list) and "paused by its operators" in str(said[0])
        assert len(h.openai.requests) == asked
    finally:
        await r.aclose()


async def test_a_control_that_cannot_be_audited_is_not_changed(harness: Harness, tmp_path: Path) -> None:
    """`maple control` from a host without the audit keys: the command says why it cannot act, and the control is
    not changed behind that error (a freeze in force nobody recorded, or a change the operator thinks failed)."""
    h = harness
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("MAPLE_", "SLACK_"))},
           "REDIS_URL": h.redis_url, "MAPLE_REDIS_PREFIX": h.prefix,
           "MAPLE_AUDIT_KEY_FILE": str(tmp_path / "no-such-audit.key")}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "control", "freeze-external",
                                                "--by", "ops-oncall", env=env, cwd=tmp_path,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 1 and "configuration error" in err.decode(), out.decode() + err.decode()
    r = aioredis.from_url(h.redis_url)
    try:
        assert await RedisControls(redis=r, prefix=h.prefix).read() == {}  # nothing changed
    finally:
        await r.aclose()


async def test_a_retried_run_is_reviewed_again_from_scratch_on_the_messages_reviewers_hold(
        slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    """`maple runs retry` of a run that failed in review (its job dead-lettered) drafts it again: the approvals given to the old text no
    longer count (a quorum of two is two approvals of the new text), and the reviewers' messages show the new
    version, so their clicks on it are not refused as made on an old one."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    spec = spec_dict()
    draft = next(wf for wf in spec["workflows"] if wf["id"] == "draft")
    next(step for step in draft["steps"] if step["kind"] == "review")["quorum"] = 2
    h = await Harness(slack=slack, openai=openai_fake, spec=spec).start()
    try:
        run_id = await start_draft(h)
        await h.click(REVIEWER, "maple_approve", run_id)
        await h.wait_for(lambda: _approvals(h, run_id, 1), what="one approval of two")
        await fail(h.svc, run_id, why=text.GAVE_UP)  # what a dead-lettered job does (a cancel is not retried)
        await h.wait_state(run_id, "failed")
        mark = len(h.slack.calls)
        done = await cli(h, "runs", "retry", run_id, "--by", "ops")
        assert done.returncode == 0, done.stdout + done.stderr
        run = await h.wait_for(lambda: _in_review_at(h, run_id, 2), what="version 2 in review")
        assert run.approvals == []  # the approval was given to version 1

        def shown() -> set[str]:
            return {str(c.params.get("channel")) for c in h.slack.calls[mark:]
                    if c.method in ("chat.update", "chat.postMessage") and f"{run_id}:2" in str(c.params)}

        await h.wait_for(lambda: {"D0REVIEW", "D0REVIEW2"} <= shown(), what="both reviewers shown version 2")
        await h.click(REVIEWER2, "maple_approve", run_id, channel="D0REVIEW2")
        await h.wait_for(lambda: _approvals(h, run_id, 1), what="one approval of version 2")
        assert (await h.run(run_id)).state.value == "in_review"  # one approval of the new text is not two
        await h.click(REVIEWER, "maple_approve", run_id)
        await h.wait_state(run_id, "delivered")
    finally:
        await h.stop()
        await h.cleanup_redis()


async def _approvals(h: Harness, run_id: str, count: int) -> bool:
    return len((await h.run(run_id)).approvals) == count


async def _in_review_at(h: Harness, run_id: str, version: int) -> Any:
    run = await h.run(run_id)
    return run if run.state.value == "in_review" and run.draft_version == version else None


@pytest.fixture
def paused_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis server of our own, which this test may stop (SIGSTOP) and resume — never the shared one."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed (make test installs it)"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield f"redis://127.0.0.1:{port}/0", proc
    proc.send_signal(signal.SIGCONT)
    proc.terminate()
    proc.wait(timeout=10)


PROBE_DEADLINE = 4.0  # a probe's own deadline (kubelet's default is 1 s; Prometheus' scrape timeout 10 s)


async def test_liveness_and_metrics_answer_while_redis_hangs(
        slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch,
        paused_redis: tuple[str, subprocess.Popen[bytes]]) -> None:
    """Redis stops answering (a hung primary, a full network buffer): `/healthz` must still answer — a liveness
    probe that waits on Redis past its deadline gets every Maple restarted, which cures nothing — and `/metrics`
    must still be scraped, with the counters an operator needs during exactly that incident; `/readyz` says not
    ready. Each within a probe's deadline: Redis' own socket timeout (5 s) is longer than any of them."""
    url, server = paused_redis
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    probe = aioredis.from_url(url)
    await _until_up(probe)
    h = await Harness(slack=slack, openai=openai_fake, redis_url=url).start()
    try:
        await start_draft(h)
        server.send_signal(signal.SIGSTOP)
        timeout = aiohttp.ClientTimeout(total=PROBE_DEADLINE)
        async with aiohttp.ClientSession(timeout=timeout) as s:
            async with s.get(h.url + "/healthz") as r:
                assert r.status == 200 and (await r.json())["redis"] != "ok"
            async with s.get(h.url + "/readyz") as r:
                assert r.status == 503
            async with s.get(h.url + "/metrics") as r:
                assert r.status == 200 and "maple_acks_total" in await r.text()
    finally:
        server.send_signal(signal.SIGCONT)
        await probe.aclose()
        await h.stop()
        await h.cleanup_redis()


async def _until_up(r: aioredis.Redis) -> None:
    for _ in range(200):
        try:
            if await r.ping():
                return
        except (OSError, RedisError):
            await asyncio.sleep(0.05)
    raise AssertionError("the private Redis did not start")


async def test_an_operators_cancel_takes_the_buttons_off_the_review_messages(harness: Harness) -> None:
    """`maple runs cancel` of a run in review: the reviewers' messages stop offering Approve (a click would only be
    refused) and say how the run ended, and the requester's run message no longer says it is with reviewers."""
    h = harness
    run_id = await start_draft(h)
    mark = len(h.slack.calls)
    done = await cli(h, "runs", "cancel", run_id, "--by", "ops-oncall")
    assert done.returncode == 0, done.stdout + done.stderr

    def updated() -> dict[str, str]:
        return {str(c.params.get("channel")): str(c.params.get("blocks")) for c in h.slack.calls[mark:]
                if c.method == "chat.update" and str(c.params.get("channel")).startswith("D0REVIEW")}

    found = await h.wait_for(lambda: updated() if {"D0REVIEW", "D0REVIEW2"} <= set(updated()) else None,
                             what="both review messages updated")
    assert all("maple_approve" not in blocks for blocks in found.values()), found


async def test_a_follow_up_refused_by_the_freeze_leaves_the_draft_in_review(harness: Harness) -> None:
    """A follow-up on a draft in review while external models are frozen cannot be drafted: that follow-up is
    refused and said so, but the run is not — the version in review stays, and its reviewers can still approve it
    (before, the whole run was refused and the draft lost)."""
    h = harness
    await _mention(h, REQUESTER, "run draft a note to the team about friday's release", ts="8200.000001")
    run_id = await _run_in_thread(h, "8200.000001")
    await _version(h, run_id, 1)
    await h.wait_for(lambda: len(review_posts(h, run_id)) == 2, what="review posts")
    r = aioredis.from_url(h.redis_url)
    try:
        await RedisControls(redis=r, prefix=h.prefix).set("freeze_external", on=True, by="ops-oncall")
        await h.wait_for(lambda: h.svc.router.frozen(), what="the freeze seen")
        mark = len(h.slack.calls)
        await _mention(h, REQUESTER, "make it shorter", ts="8200.000002", thread_ts="8200.000001")

        async def settled() -> Any:
            run = await h.run(run_id)
            return run if run.state.value != "drafting" and run.followups == [] or run.terminal else None

        await h.wait_for(lambda: any(c.params.get("channel") == "D0REQUEST" for c in h.slack.calls[mark:]
                                     if c.method == "chat.postMessage"), what="the requester told")
        run = await h.wait_for(settled, what="the follow-up settled")
        assert run.state.value == "in_review" and run.draft_version == 1 and run.followups == []
        told = " ".join(str(c.params) for c in h.slack.calls[mark:] if c.method == "chat.postMessage"
                        and c.params.get("channel") == "D0REQUEST")
        assert "operators" in told and "still in review" in told
        await h.click(REVIEWER, "maple_approve", run_id, version=1)
        await h.wait_state(run_id, "delivered")
    finally:
        await r.aclose()


async def test_a_busy_week_still_shows_everyones_latest_runs(harness: Harness) -> None:
    """With more runs in the last week than a read takes (2,000 for App Home and a bare `/maple status`, 5,000 for
    `maple runs list`), the newest are the ones shown — not the oldest of the week, leaving today's out."""
    h = harness
    template = await h.run(await start_draft(h, user=REVIEWER, reviews=1))
    week_start = datetime.now(UTC) - timedelta(days=6)
    for i in range(2000):  # a busy week of someone else's runs, all older than what comes next
        await h.svc.store.create(template.model_copy(update={
            "id": f"R-FILL{i:012d}", "created_at": week_start + timedelta(seconds=i)}))
    newest = run_id_of((await h.slash(REQUESTER, "run draft a note about today's standup"))[1])
    await h.wait_state(newest, "in_review")
    _, reply = await h.slash(REQUESTER, "status")
    assert newest in reply["text"], reply["text"]
    listed = await cli(h, "runs", "list", "--limit", "5")
    assert listed.returncode == 0 and newest in listed.stdout, listed.stdout + listed.stderr


async def test_a_purge_killed_midway_is_already_in_the_audit_trail(harness: Harness) -> None:
    """`maple purge --user` killed after it erased some runs (a pod evicted, a Ctrl-C): the request is in the
    audit trail from before the first erasure — record, then act — and the chain still verifies."""
    h = harness
    template = await h.run(await start_draft(h))
    ids = [f"R-PURGE{i:011d}" for i in range(3000)]
    for run_id in ids:
        await h.svc.store.create(template.model_copy(update={"id": run_id}))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("MAPLE_", "SLACK_"))},
           "REDIS_URL": h.redis_url, "MAPLE_REDIS_PREFIX": h.prefix, "MAPLE_AUDIT_KEY": AUDIT_KEY,
           "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": h.slack.url}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "purge", "--user", REQUESTER,
                                                "--by", "dpo", env=env, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)
    r = aioredis.from_url(h.redis_url)
    try:
        keys = [f"{h.prefix}run:{run_id}" for run_id in ids]
        left = len(ids)
        while left == len(ids):  # until the purge has erased its first runs
            assert proc.returncode is None, "the purge ended before it could be interrupted"
            left = await r.exists(*keys)
        proc.kill()
        await proc.wait()
        assert 0 < await r.exists(*keys) < len(ids)  # killed midway
        events = [e async for e in h.svc.audit.export(datetime(2000, 1, 1, tzinfo=UTC))]
        assert [e["actor"] for e in events if e["kind"].startswith("data.purge")] == ["dpo"]
        verified = await cli(h, "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await r.aclose()


async def test_a_cancel_whose_notice_slack_refuses_is_still_reported_done(harness: Harness) -> None:
    """`maple runs cancel` cancels (a compare-and-set write), then tells the requester. When Slack refuses that
    notice the command must not report a failure — the run *is* cancelled, and trying again answers "nothing to
    cancel" — and the requester's run message still shows how it ended."""
    h = harness
    run_id = await start_draft(h)
    h.slack.fail_next("chat.postMessage", error="account_inactive", status=200)
    done = await cli(h, "runs", "cancel", run_id, "--by", "ops-oncall")
    assert done.returncode == 0 and f"{run_id}: cancel done" in done.stdout, done.stdout + done.stderr
    run = await h.wait_state(run_id, "failed")
    assert run.error == str(text.CANCELLED)
