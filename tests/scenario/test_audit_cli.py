"""The audit trail of a real run, the audit CLI (keygen, anchor, verify, keys, export), the shared-key rule,
`maple config check`, and Redis durability warnings."""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import yaml

from bot.app import redis_warnings
from bot.app_audit import anchor_signer, audit_keyring
from bot.core.errors import ConfigError
from config.settings import Settings
from tests.harness import REVIEWER, Harness
from tests.scenario.test_loop import GOAL, start_draft

AUDIT_KEY = "test-audit-key-0123456789abcdef"  # what the harness runs with (MAPLE_AUDIT_KEY: key id k0)
REASON = "SIN 046 454 286 — he was diagnosed with diabetes"


def maple(*args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def keygen(env: dict[str, str]) -> dict[str, str]:
    out = maple("audit", "keygen", env=env)
    assert out.returncode == 0, out.stderr
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if line and not line.startswith("#"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MAPLE_AUDIT")}


async def test_a_rejection_reason_never_reaches_the_audit_trail(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)
    await h.submit(REVIEWER, "maple_reject_view", run_id, {"reason": REASON})
    await h.wait_state(run_id, "rejected")
    events = [e async for e in h.svc.audit.export(datetime.now(UTC) - timedelta(hours=1))]
    trail = json.dumps(events, ensure_ascii=False)
    for secret in ("046 454", "454 286", "diabet", GOAL):
        assert secret not in trail
    decided = next(e for e in events if e["kind"] == "review.decided")["attrs"]
    assert decided["maple.review.reason.length"] == len(REASON)
    assert decided["maple.review.reason.hmac"] == h.svc.audit.digest(REASON) and "maple.review.reason" not in decided


async def test_audit_events_of_a_run_and_the_cli(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)
    await h.submit(REVIEWER, "maple_reject_view", run_id, {"reason": REASON})
    await h.wait_state(run_id, "rejected")
    events = [e async for e in h.svc.audit.export(datetime.now(UTC) - timedelta(hours=1))]
    kinds = [e["kind"] for e in events if e.get("run_id") == run_id]
    assert kinds[:2] == ["run.created", "sensitivity.assessed"] and "review.decided" in kinds
    assert {e["kid"] for e in events} == {"k0"}
    called = next(e for e in events if e["kind"] == "model.called")["attrs"]
    assert called["gen_ai.provider.name"] == "openai-compatible" and called["gen_ai.usage.input_tokens"] == 40
    assert called["maple.prompt.hmac"].startswith("k0:") and len(called["maple.prompt.hmac"]) == 3 + 64
    decided = next(e for e in events if e["kind"] == "review.decided")
    assert decided["actor"] == REVIEWER and decided["attrs"]["maple.review.reason.length"] == len(REASON)
    assert REASON not in json.dumps(events)  # the trail keeps a digest of the reason, not its text
    assert GOAL not in json.dumps(events)  # the audit keeps hashes, never the goal or the draft

    config = h.anchor_file.parent / f"{h.prefix.replace(':', '-')}.yaml"
    config.write_text(f"roles: {{user: ['*']}}\naudit: {{anchor_file: '{h.anchor_file}'}}\n")
    base = {**clean_env(), "REDIS_URL": h.redis_url, "MAPLE_REDIS_PREFIX": h.prefix, "MAPLE_AUDIT_KEY": AUDIT_KEY,
            "MAPLE_CONFIG": str(config)}
    keys = keygen(base)
    anchoring = {**base, "MAPLE_AUDIT_ANCHOR_KEY": keys["MAPLE_AUDIT_ANCHOR_KEY"]}
    verifying = {**base, "MAPLE_AUDIT_ANCHOR_PUBLIC_KEYS": keys["MAPLE_AUDIT_ANCHOR_PUBLIC_KEYS"]}
    try:
        refused = maple("audit", "anchor", env=verifying)  # the public key cannot sign anything
        assert refused.returncode == 1 and "MAPLE_AUDIT_ANCHOR_KEY" in refused.stderr
        anchored = maple("audit", "anchor", env=anchoring)
        assert anchored.returncode == 0 and "anchored 1 chain head(s)" in anchored.stdout, anchored.stderr
        verify = maple("audit", "verify", env=verifying)  # needs only the public half
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "in use k0:" in verify.stdout and "1 signed line(s)" in verify.stdout
        assert verify.stdout.strip().endswith("no cut-off tail")
        used = maple("audit", "keys", env=verifying)
        assert used.returncode == 0 and "audit key k0 (current: seals new events):" in used.stdout
        assert "anchor key " in used.stdout
        export = maple("audit", "export", "--since", "1h", env=verifying)
        assert export.returncode == 0
        assert {json.loads(line)["kind"] for line in export.stdout.splitlines()} >= {
            "run.created", "model.called", "review.decided"}
        assert "046 454" not in export.stdout and "diabet" not in export.stdout
        r = aioredis.from_url(h.redis_url)
        shard = (await h.svc.audit.shards())[0]
        first = (await r.xrange(h.svc.audit.stream_key(shard), count=2))[1][0]
        await r.xdel(h.svc.audit.stream_key(shard), first)  # an attacker with Redis access
        await r.aclose()
        tampered = maple("audit", "verify", env=verifying)
        assert tampered.returncode == 2 and "missing" in tampered.stdout.lower()
        assert "TAMPERING" in tampered.stdout
    finally:
        config.unlink(missing_ok=True)


@pytest.mark.parametrize("command", [["worker", "--count", "1"], ["serve"]])
def test_shared_processes_refuse_to_start_without_the_shared_audit_key(command: list[str], tmp_path: Path) -> None:
    env = {**clean_env(), "SLACK_BOT_TOKEN": "xoxb-test-token-secret-value", "SLACK_SIGNING_SECRET": "s",
           "REDIS_URL": "redis://127.0.0.1:6379/0", "MAPLE_REDIS_PREFIX": "test:nokey:", "PORT": str(free_port()),
           "MAPLE_HOST": "127.0.0.1"}
    out = maple(*command, env=env, cwd=tmp_path, timeout=60)
    assert out.returncode == 1 and "MAPLE_AUDIT_KEYS" in out.stderr
    assert not (tmp_path / ".maple").exists()  # no host-local key was made


def test_only_the_local_workspace_falls_back_to_a_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in [n for n in os.environ if n.startswith("MAPLE_AUDIT")]:
        monkeypatch.delenv(name)
    settings = Settings(_env_file=None, MAPLE_AUDIT_KEY_FILE=tmp_path / ".maple" / "audit.key")
    with pytest.raises(ConfigError, match="MAPLE_AUDIT_KEYS"):
        audit_keyring(settings)
    with pytest.raises(ConfigError):
        audit_keyring(settings, local=True)  # the audit CLI reads the file, never makes one
    assert anchor_signer(settings) is None
    with caplog.at_level(logging.WARNING):
        ring = audit_keyring(settings, local=True, create=True)
        signer = anchor_signer(settings, local=True, create=True)
    assert "AUDIT KEY WARNING" in caplog.text and "single-process local workspace only" in caplog.text
    assert ring.ids == ["local"] and signer is not None
    for path in (settings.audit_key_file, settings.audit_key_file.with_name("audit-anchor.key")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = audit_keyring(settings, local=True)
    assert again.current.chain == ring.current.chain
    assert anchor_signer(settings, local=True).key_id == signer.key_id  # type: ignore[union-attr]
    shared = Settings(_env_file=None, MAPLE_AUDIT_KEYS="a:" + "x" * 20 + ",b:" + "y" * 20)
    assert audit_keyring(shared, local=True).current.kid == "b"  # a configured keyring always wins
    with pytest.raises(ConfigError, match="not both"):
        audit_keyring(Settings(_env_file=None, MAPLE_AUDIT_KEYS="a:" + "x" * 20, MAPLE_AUDIT_KEY="y" * 20))


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


def test_an_export_that_fails_leaves_the_earlier_export_whole(tmp_path: Path) -> None:
    """Redis unreachable in the middle of `maple audit export -o FILE`: the file from the last export is still
    there, whole (the export is written aside and moved into place only once complete), and the error says so."""
    env = {**clean_env(), "MAPLE_AUDIT_KEYS": f"k1:{AUDIT_KEY}", "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    earlier = tmp_path / "audit.jsonl"
    earlier.write_text('{"kind": "run.created"}\n')
    out = maple("audit", "export", "-o", str(earlier), env=env)
    assert out.returncode == 1 and "cannot be reached" in out.stderr and "Traceback" not in out.stderr
    assert earlier.read_text() == '{"kind": "run.created"}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["audit.jsonl"]  # nothing half-written left beside it


@pytest.mark.parametrize(("args", "says"), [
    (["export", "--since", "99999999d"], "too long"),
    (["export", "-o", "/nonexistent-dir/audit.jsonl"], "/nonexistent-dir"),
    (["anchor", "--every", "0s"], "at least"),
])
def test_audit_commands_answer_bad_input_in_words(args: list[str], says: str) -> None:
    """What an operator may mistype gets a sentence to act on, never a traceback — and `anchor --every 0s` is
    refused rather than anchoring in a loop as fast as it can (an anchor file growing without bound)."""
    env = {**clean_env(), "MAPLE_AUDIT_KEYS": f"k1:{AUDIT_KEY}"}
    keys = keygen(env)
    env |= {"MAPLE_AUDIT_ANCHOR_KEY": keys["MAPLE_AUDIT_ANCHOR_KEY"], "MAPLE_REDIS_PREFIX": "test:auditcli:bad:"}
    out = maple("audit", *args, env=env, timeout=30)
    assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr
    assert says in out.stderr, out.stderr


def test_a_model_key_in_dot_env_enables_its_model(tmp_path: Path) -> None:
    """The README puts OPENAI_API_KEY in `.env`; the settings read it there, so the model it enables must be active
    too (it was silently left out: every draft went to the local demo model while `config check` showed the key
    as set). An embeddings endpoint whose key is set nowhere is an error of `config check`, not a failed start."""
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in clean_env().items() if k not in ("OPENAI_API_KEY", "PRIVATE_EMBED_KEY")}
    env["PYTHONPATH"] = str(root)
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-from-dot-env-123456\n")
    out = maple("config", "check", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert "openai" in report["active_models"] and "sk-from-dot-env" not in out.stdout

    config = yaml.safe_load((root / "config" / "maple.yaml").read_text())
    config["knowledge"]["embeddings"] = {"kind": "openai-compatible", "base_url": "https://embed.example.com/v1",
                                         "api_key_env": "PRIVATE_EMBED_KEY", "model": "emb"}
    (tmp_path / "embed.yaml").write_text(yaml.safe_dump(config))
    failed = maple("config", "check", env={**env, "MAPLE_CONFIG": str(tmp_path / "embed.yaml")}, cwd=tmp_path)
    assert failed.returncode == 1 and "PRIVATE_EMBED_KEY is not set" in failed.stderr, failed.stderr
    (tmp_path / ".env").write_text("PRIVATE_EMBED_KEY=emb-key-123456\n")
    fine = maple("config", "check", env={**env, "MAPLE_CONFIG": str(tmp_path / "embed.yaml")}, cwd=tmp_path)
    assert fine.returncode == 0, fine.stderr
