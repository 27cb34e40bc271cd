"""The audit trail of a real run, the audit CLI, `maple config check`, and Redis durability warnings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from bot.app import redis_warnings
from tests.harness import REVIEWER, Harness
from tests.scenario.test_loop import GOAL, start_draft


async def test_audit_events_of_a_run_and_the_cli(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)
    await h.submit(REVIEWER, "maple_reject_view", run_id, {"reason": "too long"})
    await h.wait_state(run_id, "rejected")
    events = [e async for e in h.svc.audit.export(datetime.now(UTC) - timedelta(hours=1))]
    kinds = [e["kind"] for e in events if e.get("run_id") == run_id]
    assert kinds[:2] == ["run.created", "sensitivity.assessed"] and "review.decided" in kinds
    called = next(e for e in events if e["kind"] == "model.called")["attrs"]
    assert called["gen_ai.provider.name"] == "openai-compatible" and called["gen_ai.usage.input_tokens"] == 40
    assert len(called["maple.prompt.hmac"]) == 64
    decided = next(e for e in events if e["kind"] == "review.decided")
    assert decided["actor"] == REVIEWER and decided["attrs"]["maple.review.reason.length"] == len("too long")
    assert "too long" not in json.dumps(events)  # the trail keeps a digest of the reason, not its text
    assert GOAL not in json.dumps(events)  # the audit keeps hashes, never the goal or the draft

    await h.svc.audit.anchor()
    env = {**os.environ, "REDIS_URL": h.redis_url, "MAPLE_REDIS_PREFIX": h.prefix,
           "MAPLE_AUDIT_KEY": "test-audit-key-0123456789abcdef"}
    config = h.anchor_file.parent / f"{h.prefix.replace(':', '-')}.yaml"
    config.write_text(f"roles: {{user: ['*']}}\naudit: {{anchor_file: '{h.anchor_file}'}}\n")
    env["MAPLE_CONFIG"] = str(config)
    try:
        verify = subprocess.run([sys.executable, "-m", "bot.cli", "audit", "verify"], env=env, capture_output=True,
                                text=True)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        export = subprocess.run([sys.executable, "-m", "bot.cli", "audit", "export", "--since", "1h"], env=env,
                                capture_output=True, text=True, check=True)
        lines = [json.loads(line) for line in export.stdout.splitlines()]
        assert {e["kind"] for e in lines} >= {"run.created", "model.called", "review.decided"}
        r = aioredis.from_url(h.redis_url)
        shard = (await h.svc.audit.shards())[0]
        first = (await r.xrange(h.svc.audit.stream_key(shard), count=2))[1][0]
        await r.xdel(h.svc.audit.stream_key(shard), first)  # an attacker with Redis access, without the key
        await r.aclose()
        tampered = subprocess.run([sys.executable, "-m", "bot.cli", "audit", "verify"], env=env,
                                  capture_output=True, text=True)
        assert tampered.returncode == 2 and "missing" in tampered.stdout.lower()
    finally:
        config.unlink(missing_ok=True)


def test_config_check_masks_secrets_and_fails_clearly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-1111-2222-supersecretvalue", "OPENAI_API_KEY": "sk-verysecret123",
           "REDIS_URL": "redis://user:hunter2@127.0.0.1:6379/0"}
    ok = subprocess.run([sys.executable, "-m", "bot.cli", "config", "check"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0
    for secret in ("supersecretvalue", "sk-verysecret123", "hunter2"):
        assert secret not in ok.stdout
    assert json.loads(ok.stdout)["config"]["workflows"][0]["id"] == "draft"
    bad = tmp_path / "bad.yaml"
    bad.write_text("roles: {user: ['*']}\nworkflows:\n  - {id: draft, approver_roles: [nobody]}\n")
    failed = subprocess.run([sys.executable, "-m", "bot.cli", "config", "check"], env={**env, "MAPLE_CONFIG": str(bad)},
                            capture_output=True, text=True)
    assert failed.returncode == 1 and "bad.yaml" in failed.stderr and "unknown role 'nobody'" in failed.stderr


async def test_redis_durability_warnings() -> None:
    r = aioredis.from_url("redis://127.0.0.1:6379/0")
    try:
        conf = {**await r.config_get("appendonly"), **await r.config_get("save")}
        warnings = await redis_warnings(r)
    finally:
        await r.aclose()
    persistent = conf.get("appendonly") == "yes" or conf.get("save")
    assert bool(warnings) is not bool(persistent) or any("maxmemory" in w for w in warnings)
