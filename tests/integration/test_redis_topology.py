"""Redis topology: one primary, reached directly or through Sentinel; Redis Cluster refused at start. Each test
starts its own redis-server (and sentinel) on free ports and stops them."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.app import redis_warnings
from bot.core.errors import ConfigError, StoreUnavailable
from bot.core.models import Job, Origin, Run
from integrations.redis_conn import PoolSize, check_topology, connect, parse_sentinel
from integrations.redis_queue import RedisJobQueue
from integrations.redis_store import RedisRunStore


def free_port(*, below: int = 65536) -> int:
    """A free local port; ``below`` keeps room for a cluster node's bus port (the port + 10,000)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port < below:
            return port
    for port in range(20000, below):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0 and s.connect_ex(("127.0.0.1", port + 10000)) != 0:
                return port
    raise AssertionError("no free port")


def start(args: list[str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["redis-server", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"redis-server {args} exited") from None
            subprocess.run(["sleep", "0.05"], check=True)
    raise AssertionError("redis-server did not start")


@pytest.fixture
def primary(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    proc = start(["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--dir", str(tmp_path)], port)
    yield port
    proc.terminate()
    proc.wait()


def new_run() -> Run:
    now = datetime.now(UTC)
    return Run(requester="U1", origin=Origin(channel="C1"), goal="g", workflow="draft", created_at=now, updated_at=now)


async def test_cluster_mode_is_refused_at_start(tmp_path: Path) -> None:
    port = free_port(below=55536)  # a cluster node also listens on port + 10,000
    proc = start(["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--cluster-enabled", "yes", "--cluster-config-file", str(tmp_path / "nodes.conf"),
                  "--dir", str(tmp_path)], port)
    r = connect(f"redis://127.0.0.1:{port}/0")
    try:
        with pytest.raises(ConfigError, match="Redis Cluster is not supported"):
            await check_topology(r)
        with pytest.raises(ConfigError, match="single primary"):
            await redis_warnings(r)  # what `maple serve` and `maple worker` run first
    finally:
        await r.aclose()
        proc.terminate()
        proc.wait()


async def test_a_single_primary_passes(primary: int) -> None:
    r = connect(f"redis://127.0.0.1:{primary}/0")
    try:
        await check_topology(r)
    finally:
        await r.aclose()


async def test_sentinel_url_reaches_the_primary(primary: int, tmp_path: Path) -> None:
    port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
                    f"sentinel monitor maplemaster 127.0.0.1 {primary} 1\n")
    sentinel = start([str(conf), "--sentinel"], port)
    r = connect(f"redis+sentinel://127.0.0.1:{port}/maplemaster/0")
    try:
        await check_topology(r)
        store = RedisRunStore(redis=r, prefix="t:")
        run = await store.create(new_run(), job=Job(run_id="R-1", kind="draft"))
        assert (await store.get(run.id)).id == run.id
        claim = await RedisJobQueue(redis=r, prefix="t:").claim("w", lease=5)
        assert claim is not None and "R-1" in claim.payload
        direct = aioredis.from_url(f"redis://127.0.0.1:{primary}/0")
        assert await direct.exists(f"t:run:{run.id}")  # it is the primary the sentinel names
        await direct.aclose()
    finally:
        await r.aclose()
        sentinel.terminate()
        sentinel.wait()


def test_sentinel_urls_are_read_or_refused() -> None:
    target = parse_sentinel("redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2/maple/2")
    assert target.hosts == [("10.0.0.1", 26379), ("10.0.0.2", 26379)]
    assert (target.service, target.db, target.password, target.ssl) == ("maple", 2, "s3cret", False)
    for bad in ("redis+sentinel://h:26379", "redis+sentinel://h:x/svc", "redis+sentinel://h/svc/db"):
        with pytest.raises(ConfigError):
            parse_sentinel(bad)
    with pytest.raises(ConfigError, match="unsupported scheme"):
        connect("memcached://h")


async def test_a_burst_waits_for_a_connection_instead_of_failing(primary: int) -> None:
    """Far more concurrent commands than connections: they queue for the pool; none reports an outage."""
    r = connect(f"redis://127.0.0.1:{primary}/0", size=PoolSize(max_connections=4, pool_wait=30))
    store = RedisRunStore(redis=r, prefix="b:")
    try:
        runs = await asyncio.gather(*(store.create(new_run()) for _ in range(300)), return_exceptions=True)
        assert not [x for x in runs if isinstance(x, BaseException)]
        assert len(r.connection_pool._in_use_connections) + len(r.connection_pool._available_connections) <= 4  # type: ignore[attr-defined]
    finally:
        await r.aclose()


async def test_an_unreachable_store_is_reported_as_unavailable() -> None:
    r = connect(f"redis://127.0.0.1:{free_port()}/0", size=PoolSize(connect_timeout=0.5))
    try:
        with pytest.raises(StoreUnavailable):
            await RedisRunStore(redis=r).create(new_run())
    finally:
        await r.aclose()


async def test_a_full_redis_is_reported_as_full_by_the_knowledge_store(tmp_path: Path) -> None:
    """`maxmemory` with noeviction: the ingest's write is refused, and the operator is told Redis is full — not that
    it cannot be reached, which would send them to the network."""
    from integrations.knowledge.store import CollectionStore

    port = free_port()
    proc = start(["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--dir", str(tmp_path), "--maxmemory", "2mb", "--maxmemory-policy", "noeviction"], port)
    r = aioredis.Redis(host="127.0.0.1", port=port)
    try:
        store = CollectionStore(redis=r, prefix="maple-test:full:")
        with pytest.raises(StoreUnavailable, match="is full"):
            for i in range(100):  # 100 × 100 KB: well past the 2 MB limit
                await store.put_blob("handbook", f"b{i}", b"x" * 100_000)
    finally:
        await r.aclose()
        proc.terminate()
        proc.wait()
