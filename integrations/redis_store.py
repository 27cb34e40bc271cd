"""RunStore on Redis: one hash per run (version + JSON document), written with a compare-and-set script that
can enqueue a job in the same atomic step."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.core.errors import ConflictError, NotFound, StoreUnavailable
from bot.core.models import Job, Run
from bot.core.ports import RunStore

T = TypeVar("T")

# KEYS: run hash, job stream. ARGV: expected version ("" = must not exist), new version, document, job ("" = none)
_CAS = """
local cur = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '' then
  if cur then return 0 end
elseif cur ~= ARGV[1] then
  if not cur then return -1 end
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'doc', ARGV[3])
if ARGV[5] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[5]) end
if ARGV[4] ~= '' then redis.call('XADD', KEYS[2], '*', 'job', ARGV[4]) end
return 1
"""


async def guarded(call: Callable[[], Awaitable[T]]) -> T:
    """Run a Redis call, translating connection problems into StoreUnavailable."""
    try:
        return await call()
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise StoreUnavailable("the store cannot be reached") from exc
    except RedisError as exc:
        raise StoreUnavailable(f"store error: {type(exc).__name__}") from exc


class RedisRunStore(RunStore):
    def __init__(self, *, redis: aioredis.Redis, prefix: str = "maple:", ttl_seconds: int = 0) -> None:
        """``ttl_seconds``: a run (with the text of its goal and drafts) expires this long after its last change;
        the audit trail keeps only hashes. 0 keeps runs forever."""
        self._r = redis
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._cas = redis.register_script(_CAS)

    def run_key(self, run_id: str) -> str:
        return f"{self._prefix}run:{run_id}"

    @property
    def stream(self) -> str:
        return f"{self._prefix}jobs"

    @property
    def dead_stream(self) -> str:
        return f"{self._prefix}jobs:dead"

    async def _write(self, run: Run, *, expected: str, job: Job | None) -> Run:
        new = run.model_copy(update={"version": run.version + 1})
        args = [expected, str(new.version), new.model_dump_json(), job.model_dump_json() if job else "",
                str(self._ttl)]
        result: Any = await guarded(lambda: self._cas(keys=[self.run_key(run.id), self.stream], args=args))
        if result == 1:
            return new
        if result == -1:
            raise NotFound(run.id)
        raise ConflictError(f"run {run.id} changed concurrently")

    async def create(self, run: Run, *, job: Job | None = None) -> Run:
        return await self._write(run.model_copy(update={"version": 0}), expected="", job=job)

    async def save(self, run: Run, *, job: Job | None = None) -> Run:
        return await self._write(run, expected=str(run.version), job=job)

    async def get(self, run_id: str) -> Run:
        doc = await guarded(lambda: self._r.hget(self.run_key(run_id), "doc"))
        if doc is None:
            raise NotFound(run_id)
        return Run.model_validate_json(doc)

    async def list_failed(self, *, limit: int = 50) -> list[Run]:
        entries = await guarded(lambda: self._r.xrevrange(self.dead_stream, count=limit))
        runs: list[Run] = []
        for _id, fields in entries:
            job = json.loads(as_text(fields.get(b"job") or fields.get("job") or "{}"))
            try:
                runs.append(await self.get(job.get("run_id", "")))
            except NotFound:
                continue
        return runs

    async def ping(self) -> bool:
        try:
            return bool(await self._r.ping())
        except (RedisError, OSError):
            return False


def as_text(value: bytes | str | int) -> str:
    """A Redis reply value as text (replies are bytes unless the client decodes them)."""
    return value.decode() if isinstance(value, bytes) else str(value)
