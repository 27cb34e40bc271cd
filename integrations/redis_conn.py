"""Connecting to Redis: one primary (optionally with replicas behind Sentinel), a bounded blocking pool.

Topology. Maple's atomic steps are Lua scripts that touch a run and the queue together, and the queue picks a
user's lane inside a script, so every key must live on one server: Maple runs on a **single primary** (with
replicas and Sentinel for failover), never on Redis Cluster. ``check_topology`` refuses a cluster node at
start with a clear message instead of failing later with CROSSSLOT errors.

URLs: ``redis://``, ``rediss://``, ``unix://`` for a primary; for Sentinel
``redis+sentinel://[:password@]host1:26379,host2:26379/<service>[/<db>]`` (``rediss+sentinel://`` for TLS).

Pool. Connections come from a *blocking* pool: a burst of requests waits (up to ``pool_wait`` seconds) for a
free connection instead of failing with "too many connections", so "the store cannot be reached" means it.

Group commit (``GroupedScript``). The calls of a hot script made while an earlier one is on the wire go together
in one pipelined round trip, in the order they were made: a burst of 50 slash commands writes its 50 runs in two
or three round trips instead of 50, and saves the client's per-command work (a connection checkout, its checks)
for all but one. Each call is still its own atomic script run, with its own result or error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.connection import BlockingConnectionPool
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, OutOfMemoryError, ReadOnlyError, RedisError
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


_Call = tuple[Sequence[Any], Sequence[Any], "asyncio.Future[Any]"]
GROUP_MAX = 64  # calls in one round trip at the most: a burst larger than this takes several


class GroupedScript:
    """A Lua script whose calls, made while an earlier call of it is on the wire, go together in one pipelined
    round trip (group commit, see the module docstring). Called like redis-py's script: ``await script(keys=…,
    args=…)``. A call alone is sent at once. A round trip that fails as a whole (the connection lost, a reply late
    past the socket timeout) fails each of its calls — Redis sends a round trip's replies together, so each of
    those writes may or may not have happened, as for any call cut off on the wire (the run store looks before it
    reports a new run lost). A call is sent once a connection is free for it (the pool may make it wait): one whose
    caller gave up before then is not sent; one already sent runs.
    Calls run in the order they were made, except that a call answered NOSCRIPT (Redis restarted without its
    scripts) is run again after the rest of its round trip."""

    def __init__(self, redis: aioredis.Redis, source: str) -> None:
        self._r = redis
        self._script = redis.register_script(source)
        self._pending: list[_Call] = []
        self._sender: asyncio.Task[None] | None = None

    async def __call__(self, *, keys: Sequence[Any] = (), args: Sequence[Any]) -> Any:
        loop = asyncio.get_running_loop()
        if self._sender is not None and self._sender.get_loop() is not loop:  # a loop that is gone (asyncio.run)
            self._sender, self._pending = None, []
        elif self._sender is not None and self._sender.done():  # cancelled before it ran
            self._sender = None
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((keys, args, future))
        if self._sender is None:
            self._sender = loop.create_task(self._send())
        return await future

    async def _send(self) -> None:
        try:
            while self._pending:
                pipe = self._r.pipeline(transaction=False)
                try:  # a free connection first (the pool may make us wait): a call is sent only once it has one
                    pipe.connection = await self._r.connection_pool.get_connection()
                except Exception as exc:  # noqa: BLE001 - no connection in time: the calls waiting fail with it
                    waiting, self._pending = self._pending[:GROUP_MAX], self._pending[GROUP_MAX:]
                    self._answer(waiting, [exc] * len(waiting))
                    continue
                except BaseException:
                    self._abandon([])
                    raise
                batch = [call for call in self._pending[:GROUP_MAX] if not call[2].done()]  # done: its caller left
                del self._pending[:GROUP_MAX]
                if batch:
                    await self._settle(batch, pipe)
                else:
                    await pipe.reset()  # gives the connection back
        finally:
            self._sender = None

    def _abandon(self, batch: list[_Call]) -> None:
        """Cancelled (the loop is closing): nobody is left to answer."""
        for _keys, _args, future in batch + self._pending:
            future.cancel()
        self._pending = []

    @staticmethod
    def _answer(batch: list[_Call], results: Sequence[Any]) -> None:
        for (_keys, _args, future), result in zip(batch, results, strict=True):
            if future.done():  # its caller gave up
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _settle(self, batch: list[_Call], pipe: Any) -> None:
        try:
            results = await self._run(batch, pipe)
        except Exception as exc:  # noqa: BLE001 - each caller gets the round trip's failure
            results = [exc] * len(batch)
        except BaseException:
            self._abandon(batch)
            raise
        self._answer(batch, results)

    async def _run(self, batch: list[_Call], pipe: Any) -> list[Any]:
        """One round trip on ``pipe`` (its connection already taken); it gives the connection back when done."""
        for keys, args, _future in batch:
            pipe.evalsha(self._script.sha, len(keys), *keys, *args)
        results: list[Any] = await pipe.execute(raise_on_error=False)
        for i, result in enumerate(results):
            if isinstance(result, NoScriptError):  # not run (Redis restarted without its scripts): run it now
                keys, args, _future = batch[i]
                try:
                    results[i] = await self._script(keys=keys, args=args)
                except RedisError as exc:
                    results[i] = exc
        return results
