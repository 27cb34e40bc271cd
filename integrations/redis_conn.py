"""Connecting to Redis: one primary (optionally with replicas behind Sentinel), a bounded blocking pool.

Topology. Maple's atomic steps are Lua scripts that touch a run and the queue together, and the queue picks a
user's lane inside a script, so every key must live on one server: Maple runs on a **single primary** (with
replicas and Sentinel for failover), never on Redis Cluster. ``check_topology`` refuses a cluster node at
start with a clear message instead of failing later with CROSSSLOT errors.

URLs: ``redis://``, ``rediss://``, ``unix://`` for a primary; for Sentinel
``redis+sentinel://[:password@]host1:26379,host2:26379/<service>[/<db>]`` (``rediss+sentinel://`` for TLS).

Pool. Connections come from a *blocking* pool: a burst of requests waits (up to ``pool_wait`` seconds) for a
free connection instead of failing with "too many connections", so "the store cannot be reached" means it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.connection import BlockingConnectionPool
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ReadOnlyError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.core.errors import ConfigError, MapleError, StoreUnavailable

T = TypeVar("T")

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
CLUSTER_REFUSED = ("Redis Cluster is not supported: Maple keeps a run and its queued job in one atomic script, so "
                   "it needs a single primary. Use one Redis primary (with replicas and Sentinel for failover: "
                   "REDIS_URL=redis+sentinel://host:26379/<service>).")


@dataclass(frozen=True, kw_only=True)
class PoolSize:
    max_connections: int = 64
    pool_wait: float = 10.0  # seconds a command waits for a free connection before the store counts as down
    socket_timeout: float = 5.0
    connect_timeout: float = 2.0


class _BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):  # type: ignore[misc]
    """Sentinel discovery of the primary, with the blocking behaviour of BlockingConnectionPool."""


@dataclass(frozen=True)
class SentinelTarget:
    hosts: list[tuple[str, int]]
    service: str
    db: int
    password: str | None
    ssl: bool


def parse_sentinel(url: str) -> SentinelTarget:
    parts = urlsplit(url)
    hosts: list[tuple[str, int]] = []
    for item in parts.netloc.rsplit("@", 1)[-1].split(","):
        host, sep, port = item.strip().rpartition(":")
        if not sep:
            host, port = item.strip(), "26379"
        if not host or not port.isdigit():
            raise ConfigError(f"REDIS_URL: cannot read the Sentinel address {item!r} (use host:port)")
        hosts.append((host.strip("[]"), int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ConfigError("REDIS_URL: a Sentinel URL names its service: redis+sentinel://host:26379/<service>[/<db>]")
    return SentinelTarget(hosts=hosts, service=path[0], db=int(path[1]) if len(path) == 2 else 0,
                          password=unquote(parts.password) if parts.password else None,
                          ssl=parts.scheme.startswith("rediss"))


def connect(url: str, *, size: PoolSize | None = None) -> aioredis.Redis:
    """A client for ``url`` with a bounded, blocking connection pool (no I/O happens here)."""
    size = size or PoolSize()
    common: dict[str, Any] = {"socket_timeout": size.socket_timeout, "socket_connect_timeout": size.connect_timeout,
                              "health_check_interval": 30}
    scheme = urlsplit(url).scheme
    if scheme in SENTINEL_SCHEMES:
        target = parse_sentinel(url)
        sentinel = Sentinel(target.hosts, sentinel_kwargs={"socket_connect_timeout": size.connect_timeout,
                                                           "socket_timeout": size.socket_timeout,
                                                           "password": target.password},
                            password=target.password, db=target.db, ssl=target.ssl, **common)
        return sentinel.master_for(target.service, connection_pool_class=_BlockingSentinelPool,
                                   max_connections=size.max_connections, timeout=size.pool_wait)
    if scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"REDIS_URL: unsupported scheme {scheme!r} (redis://, rediss://, unix:// or "
                          "redis+sentinel://)")
    pool = BlockingConnectionPool.from_url(url, max_connections=size.max_connections, timeout=size.pool_wait,
                                           **common)
    return aioredis.Redis(connection_pool=pool)


async def check_topology(r: aioredis.Redis) -> None:
    """Refuse Redis Cluster (see the module docstring). A server that cannot be asked is let through: the
    store reports itself unavailable on its own."""
    try:
        info: dict[str, Any] = await r.info("cluster")
    except RedisError:
        return
    if str(info.get("cluster_enabled", "0")) == "1":
        raise ConfigError(CLUSTER_REFUSED)


async def guarded(call: Callable[[], Awaitable[T]]) -> T:
    """Run a Redis call, translating "the store cannot be reached" (connection refused or lost, a timeout, no
    free connection after ``pool_wait``, a primary that is loading, read-only after a failover, or full) into
    StoreUnavailable. Any other Redis error is a fault of ours, not an outage, and is not reported as one."""
    try:
        return await call()
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise StoreUnavailable("the store cannot be reached") from exc
    except (OutOfMemoryError, ReadOnlyError) as exc:
        raise StoreUnavailable(f"the store refuses writes ({type(exc).__name__})") from exc
    except RedisError as exc:
        raise MapleError(f"store error: {type(exc).__name__}: {exc}") from exc


def as_text(value: bytes | str | int) -> str:
    """A Redis reply value as text (replies are bytes unless the client decodes them)."""
    return value.decode() if isinstance(value, bytes) else str(value)
