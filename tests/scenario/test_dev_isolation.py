"""`maple dev` is isolated from production: its own Redis key prefix, a deployment marker that each side
refuses, and a production queue it never touches (real Redis, random prefixes, only our own keys)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.cli import claim, serve
from bot.core.models import Job
from bot.dev import local_prefix, local_settings
from config.settings import Settings
from integrations.redis_deployment import LOCAL_WORKSPACE, PRODUCTION, PrefixInUse, claim_prefix, marker_key
from integrations.redis_queue import RedisJobQueue
from tests.scenario.test_shutdown import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"
REPO = Path(__file__).resolve().parents[2]


class Prefixes:
    """Random key prefixes for one test; every key under them is deleted afterwards (and no other key)."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def __call__(self, *kinds: str) -> list[str]:
        made = [f"test:{kind}:{uuid.uuid4().hex[:10]}:" for kind in kinds]
        self.made.extend(made)
        return made


@pytest.fixture
async def r() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def prefixes(r: aioredis.Redis) -> AsyncIterator[Prefixes]:
    made = Prefixes()
    yield made
    for prefix in made.made:
        keys = [k async for k in r.scan_iter(match=prefix + "*", count=500)]
        if keys:
            await r.delete(*keys)


async def keys_under(r: aioredis.Redis, prefix: str) -> set[bytes]:
    return {k async for k in r.scan_iter(match=prefix + "*", count=500)}


def test_dev_never_defaults_to_the_production_prefix() -> None:
    settings = Settings(_env_file=None, MAPLE_REDIS_PREFIX="acme:", MAPLE_AUDIT_KEY="production-audit-key-0123")
    dev = local_settings(settings, token="xoxb-local", secret="s", api_url="http://127.0.0.1:1/api/", port=1)
    assert dev.redis_prefix == "maple-dev:" and dev.secret("audit_key") is None  # nor the production audit key
    assert local_prefix(Settings(_env_file=None)) == "maple-dev:"  # the defaults do not overlap either
    for ours, theirs in (("maple:", "maple:"), ("maple:dev:", "maple:"), ("m", "maple:"), ("", "maple:")):
        with pytest.raises(PrefixInUse, match="overlaps"):
            local_prefix(Settings(_env_file=None, MAPLE_REDIS_PREFIX=theirs, MAPLE_DEV_REDIS_PREFIX=ours))


async def test_markers_keep_production_and_the_local_workspace_apart(r: aioredis.Redis, prefixes: Prefixes) -> None:
    prod, dev, legacy = prefixes("prod", "dev", "legacy")
    await claim_prefix(r, prefix=prod, kind=PRODUCTION)
    await claim_prefix(r, prefix=prod, kind=PRODUCTION)  # a restart, a second worker: same kind, fine
    with pytest.raises(PrefixInUse, match="production"):
        await claim_prefix(r, prefix=prod, kind=LOCAL_WORKSPACE)
    await claim_prefix(r, prefix=dev, kind=LOCAL_WORKSPACE)
    with pytest.raises(PrefixInUse, match="local-workspace"):
        await claim_prefix(r, prefix=dev, kind=PRODUCTION)
    await RedisJobQueue(redis=r, prefix=legacy).enqueue(Job(run_id="R-LEGACY", kind="draft"))
    with pytest.raises(PrefixInUse, match="no deployment marker"):  # a deployment from before markers
        await claim_prefix(r, prefix=legacy, kind=LOCAL_WORKSPACE)
    assert not await r.exists(marker_key(legacy))
    await claim_prefix(r, prefix=legacy, kind=PRODUCTION)  # …which production claims on its next start
    assert b'"production"' in await r.get(marker_key(legacy))


async def test_concurrent_claims_of_one_prefix_leave_one_owner(r: aioredis.Redis, prefixes: Prefixes) -> None:
    for _ in range(10):
        (prefix,) = prefixes("race")
        clients = [aioredis.from_url(REDIS_URL) for _ in range(2)]
        try:
            results = await asyncio.gather(*(claim_prefix(c, prefix=prefix, kind=kind) for c, kind in
                                             zip(clients, (PRODUCTION, LOCAL_WORKSPACE), strict=True)),
                                           return_exceptions=True)
        finally:
            for c in clients:
                await c.aclose()
        assert sorted(type(x).__name__ for x in results) == ["NoneType", "PrefixInUse"]


async def test_serve_refuses_a_prefix_of_the_local_workspace(r: aioredis.Redis, prefixes: Prefixes) -> None:
    (prefix,) = prefixes("dev")
    settings = Settings(_env_file=None, REDIS_URL=REDIS_URL, MAPLE_REDIS_PREFIX=prefix)
    await claim(settings, prefix=prefix, kind=LOCAL_WORKSPACE)
    before = await keys_under(r, prefix)
    with pytest.raises(PrefixInUse, match="local-workspace"):
        await serve(settings)  # refused before it builds, listens or consumes anything
    assert await keys_under(r, prefix) == before


def dev_env(*, prod: str, dev: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MAPLE_", "OPENAI_"))}
    env.update(REDIS_URL=REDIS_URL, MAPLE_REDIS_PREFIX=prod, MAPLE_DEV_REDIS_PREFIX=dev, PORT=str(port),
               MAPLE_WORKERS="1", PYTHONPATH=str(REPO))
    return env


async def test_maple_dev_leaves_a_production_queue_alone(r: aioredis.Redis, prefixes: Prefixes, tmp_path: Path) -> None:
    prod, dev = prefixes("prod", "dev")
    await claim_prefix(r, prefix=prod, kind=PRODUCTION)
    await RedisJobQueue(redis=r, prefix=prod).enqueue(Job(run_id="R-PRODUCTION", kind="draft"))
    before = await keys_under(r, prod)
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "dev"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=dev_env(prod=prod, dev=dev, port=free_port()))
    try:
        for _ in range(600):  # until the local workspace has claimed its own prefix…
            if await r.exists(marker_key(dev)):
                break
            assert proc.poll() is None, "maple dev exited"
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"maple dev never claimed {dev!r}")
        await RedisJobQueue(redis=r, prefix=dev).enqueue(Job(run_id="R-DEVPROBE", kind="draft", user="U0DEV"))
        for _ in range(600):  # …and its workers have taken a job off its own queue
            if await r.hlen(f"{dev}jobs:tries") or await r.exists(f"{dev}jobs:dead"):
                break
            assert proc.poll() is None, "maple dev exited"
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"maple dev never consumed its own queue under {dev!r}")
        assert b'"local-workspace"' in await r.get(marker_key(dev))
        assert await keys_under(r, prod) == before  # not a key written under the production prefix…
        assert await r.hlen(f"{prod}jobs:data") == 1  # …and its job is untouched
        assert not await r.hlen(f"{prod}jobs:tries") and not await r.zcard(f"{prod}jobs:leases")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, 30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.parametrize("production", ["marked", "unmarked"])
async def test_maple_dev_refuses_a_production_prefix(r: aioredis.Redis, prefixes: Prefixes, tmp_path: Path,
                                                   production: str) -> None:
    prod, other = prefixes("prod", "other")
    queue = RedisJobQueue(redis=r, prefix=prod)
    await queue.enqueue(Job(run_id="R-PRODUCTION", kind="draft"))
    if production == "marked":
        await claim_prefix(r, prefix=prod, kind=PRODUCTION)
    before = await keys_under(r, prod)
    port = free_port()
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot.cli", "dev"], cwd=tmp_path,
                                   capture_output=True, text=True, timeout=60,
                                   env=dev_env(prod=other, dev=prod, port=port))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "MAPLE_DEV_REDIS_PREFIX" in done.stderr and repr(prod) in done.stderr
    assert await keys_under(r, prod) == before and await r.hlen(f"{prod}jobs:data") == 1
    assert not await keys_under(r, other)
