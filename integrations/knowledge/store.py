"""Knowledge collections in Redis, the one state every Maple process shares (no shared disk).

A collection is a sequence of immutable *versions*. A version is a manifest (its documents: content hash, title,
link, chunk count, and the *blob* holding its chunks) and the blobs it names. Blobs are content-addressed
(``sha256`` of the file's bytes and the parse settings), so an ingest that changes one file writes one blob and
a new manifest; unchanged documents keep theirs.

**Publication is one atomic step.** An ingest writes its blobs, then its manifest, then — in one Lua script —
points ``current`` at the new version. Readers only ever follow ``current``, so an ingest interrupted at any
moment (Ctrl-C, ``kill -9``, Redis gone) leaves the collection exactly as it was; what it had written is garbage
that the next ingest removes. The script keeps the previous version too (a process may be loading it) and drops
older ones; blobs no kept version names are deleted after publication.

Keys (prefix ``{p}kb:{name}:``): ``current`` (version id), ``ver:{v}`` (manifest JSON), ``blob:{id}`` (zlib
JSON of chunks and, with embeddings, their vectors), ``history`` (the kept versions), ``lock`` (the ingest that is
writing). ``{p}kb:names`` is the set of collections ever published.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import zlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel, Field
from redis.exceptions import OutOfMemoryError, ReadOnlyError, RedisError

from bot.core.errors import MapleError, StoreUnavailable

BATCH = 200
LOCK_SECONDS = 30

_PUBLISH = """
local base = ARGV[1]
if ARGV[6] ~= '' and redis.call('GET', base .. 'lock') ~= ARGV[6] then return false end
redis.call('SET', base .. 'ver:' .. ARGV[2], ARGV[3])
redis.call('SET', base .. 'current', ARGV[2])
redis.call('LPUSH', base .. 'history', ARGV[2])
local old = redis.call('LRANGE', base .. 'history', 2, -1)
redis.call('LTRIM', base .. 'history', 0, 1)
for _, v in ipairs(old) do redis.call('DEL', base .. 'ver:' .. v) end
redis.call('SADD', ARGV[4], ARGV[5])
return old
"""


class IngestBusy(MapleError):
    """Another ingest of the collection is writing."""


class DocEntry(BaseModel):
    blob: str
    sha256: str
    title: str
    link: str | None = None
    chunks: int
    bytes: int
    format: str
    ingested_at: datetime


class Manifest(BaseModel):
    version: str
    created_at: datetime
    documents: dict[str, DocEntry] = Field(default_factory=dict)
    index: str | None = None  # the blob holding this version's BM25 index (chunks in ``ordered`` order)

    def ordered(self) -> list[tuple[str, DocEntry]]:
        """Documents in the order their chunks are indexed."""
        return sorted(self.documents.items())

    @property
    def chunks(self) -> int:
        return sum(d.chunks for d in self.documents.values())


def new_version() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)


def pack(payload: dict[str, Any]) -> bytes:
    return zlib.compress(json.dumps(payload, separators=(",", ":")).encode(), 6)


def unpack(raw: bytes) -> dict[str, Any]:
    data = json.loads(zlib.decompress(raw))
    if not isinstance(data, dict):
        raise ValueError("a knowledge blob is not an object")
    return data


class CollectionStore:
    def __init__(self, *, redis: aioredis.Redis, prefix: str) -> None:
        self._r, self._prefix = redis, prefix

    def base(self, name: str) -> str:
        return f"{self._prefix}kb:{name}:"

    async def currents(self, names: Sequence[str]) -> dict[str, str | None]:
        """The published version of each collection (None: never published)."""
        if not names:
            return {}
        values = await self._call(self._r.mget([self.base(n) + "current" for n in names]))
        return {n: (v.decode() if isinstance(v, bytes) else v) for n, v in zip(names, values, strict=True)}

    async def manifest(self, name: str, version: str | None = None) -> Manifest | None:
        """A version's manifest (the current one by default); None when there is none (or it was dropped)."""
        if version is None:
            version = (await self.currents([name]))[name]
            if version is None:
                return None
        raw = await self._call(self._r.get(self.base(name) + f"ver:{version}"))
        return Manifest.model_validate_json(raw) if raw else None

    async def blobs(self, name: str, ids: Iterable[str]) -> dict[str, bytes | None]:
        wanted = list(dict.fromkeys(ids))
        out: dict[str, bytes | None] = {}
        for start in range(0, len(wanted), BATCH):
            part = wanted[start:start + BATCH]
            values = await self._call(self._r.mget([self.base(name) + f"blob:{b}" for b in part]))
            out.update(zip(part, values, strict=True))
        return out

    async def has_blobs(self, name: str, ids: Sequence[str]) -> set[str]:
        pipe = self._r.pipeline(transaction=False)
        for blob in ids:
            pipe.exists(self.base(name) + f"blob:{blob}")
        found = await self._call(pipe.execute())
        return {b for b, present in zip(ids, found, strict=True) if present}

    async def put_blob(self, name: str, blob: str, payload: bytes) -> None:
        await self._call(self._r.set(self.base(name) + f"blob:{blob}", payload))

    async def publish(self, name: str, manifest: Manifest, *, token: str | None = None) -> None:
        """Make ``manifest`` the collection's current version (atomically), then drop what no kept version uses.
        ``token``: the ingest lock this writer holds — checked in the same script, so a writer whose lock lapsed
        (and that another ingest may have taken) publishes nothing (IngestBusy) instead of overwriting its work."""
        published = await self._call(self._r.eval(
            _PUBLISH, 0, self.base(name), manifest.version, manifest.model_dump_json(), f"{self._prefix}kb:names",
            name, token or ""))
        if published is None:
            raise IngestBusy(f"this ingest of {name!r} lost its lock (it lapsed while the ingest was stalled, and "
                             "another ingest may be writing): nothing was published; run it again")
        await self.collect(name)

    async def collect(self, name: str) -> int:
        """Delete the blobs that neither the current nor the previous version names (what an interrupted ingest
        left behind, and what replaced documents used)."""
        history = [v.decode() for v in await self._call(self._r.lrange(self.base(name) + "history", 0, -1))]
        keep: set[str] = set()
        for version in history:
            kept = await self.manifest(name, version)
            if kept is None:
                return 0  # a version is missing: leave everything rather than guess
            keep |= {d.blob for d in kept.documents.values()} | ({kept.index} if kept.index else set())
        stale = [key async for key in self._r.scan_iter(match=self.base(name) + "blob:*", count=500)
                 if key.decode().rsplit(":", 1)[-1] not in keep]
        for start in range(0, len(stale), BATCH):
            await self._call(self._r.delete(*stale[start:start + BATCH]))
        return len(stale)

    async def names(self) -> list[str]:
        return sorted(n.decode() for n in await self._call(self._r.smembers(f"{self._prefix}kb:names")))

    # The ingest lock: one writer per collection. A lock whose holder died on this host is taken over at once;
    # one held elsewhere lapses LOCK_SECONDS after its last renewal.
    async def lock(self, name: str) -> str:
        token = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "id": secrets.token_hex(6)})
        key = self.base(name) + "lock"
        if await self._call(self._r.set(key, token, nx=True, ex=LOCK_SECONDS)):
            return token
        held = await self._call(self._r.get(key))
        if held and _dead_here(held):
            await self._call(self._r.delete(key))
            if await self._call(self._r.set(key, token, nx=True, ex=LOCK_SECONDS)):
                return token
        raise IngestBusy(f"another ingest of {name!r} is running; try again when it is done")

    async def renew(self, name: str, token: str) -> bool:
        script = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end " \
                 "return 0"
        return bool(await self._call(self._r.eval(script, 1, self.base(name) + "lock", token, LOCK_SECONDS)))

    async def unlock(self, name: str, token: str) -> None:
        script = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
        with contextlib.suppress(StoreUnavailable):
            await self._call(self._r.eval(script, 1, self.base(name) + "lock", token))

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except (OutOfMemoryError, ReadOnlyError) as exc:  # reached, but it takes no writes: say so, not "network"
            why = "is full (maxmemory)" if isinstance(exc, OutOfMemoryError) else "is read-only (a replica?)"
            raise StoreUnavailable(f"the knowledge store {why}: nothing was published") from exc
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"the knowledge store cannot be reached ({type(exc).__name__})") from exc


def _dead_here(held: bytes) -> bool:
    try:
        holder = json.loads(held)
        if holder.get("host") != socket.gethostname():
            return False
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return True
    except (ValueError, KeyError, TypeError, PermissionError, OSError):
        return False
    return False
