"""Which kind of deployment owns a Redis key prefix: a marker at ``{prefix}deployment``.

``maple serve`` and ``maple worker`` claim their prefix for *production*; ``maple dev`` claims its own for the
*local workspace*. A claim is one atomic Lua step: it succeeds when the prefix carries no marker or a marker of
the same kind, and otherwise returns the marker it found, so a local workspace never consumes a production job
and a production deployment never inherits runs and audit entries made up by the local workspace's personas.
A local-workspace claim also refuses a prefix that holds Maple's queue without any marker: a deployment that
predates markers.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.core.errors import ConfigError, StoreUnavailable

PRODUCTION, LOCAL_WORKSPACE = "production", "local-workspace"
MARKER = "deployment"
_UNMARKED = "unmarked"
# Keys that show Maple's queue lives under a prefix: jobs waiting, delayed or dead, and the stream of the
# layout before per-user lanes.
QUEUE_KEYS = ("jobs:data", "jobs:due", "jobs:dead", "jobs")
_CLAIM = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, decoded = pcall(cjson.decode, current)
  local kind = (ok and type(decoded) == 'table' and decoded['kind']) or 'unreadable'
  if kind == ARGV[1] then return false end
  return current
end
if ARGV[3] == '1' then
  for i = 2, #KEYS do
    if redis.call('EXISTS', KEYS[i]) == 1 then return cjson.encode({kind = ARGV[4]}) end
  end
end
redis.call('SET', KEYS[1], ARGV[2])
return false
"""


class PrefixInUse(ConfigError):
    """The prefix belongs to another kind of deployment."""


def marker_key(prefix: str) -> str:
    return f"{prefix}{MARKER}"


async def claim_prefix(redis: aioredis.Redis, *, prefix: str, kind: str) -> None:
    """Record that ``kind`` uses ``prefix``, or raise PrefixInUse naming who uses it."""
    record = json.dumps({"kind": kind, "host": socket.gethostname(), "pid": os.getpid(),
                         "since": datetime.now(UTC).isoformat(timespec="seconds")})
    keys = [marker_key(prefix), *(f"{prefix}{name}" for name in QUEUE_KEYS)]
    strict = "1" if kind == LOCAL_WORKSPACE else "0"
    try:
        found = await redis.eval(_CLAIM, len(keys), *keys, kind, record, strict, _UNMARKED)
    except RedisError as exc:
        raise StoreUnavailable(f"Redis cannot be reached to check who uses the key prefix {prefix!r}") from exc
    if found is not None:
        raise PrefixInUse(_refusal(prefix=prefix, kind=kind, found=found))


def _refusal(*, prefix: str, kind: str, found: bytes | str) -> str:
    text = found.decode() if isinstance(found, bytes) else found
    try:
        other = json.loads(text)
    except ValueError:
        other = {}
    owner = other.get("kind") if isinstance(other, dict) else None
    where = f" (recorded by {other.get('host')}, pid {other.get('pid')}, since {other.get('since')})" \
        if isinstance(other, dict) and other.get("since") else ""
    if kind == LOCAL_WORKSPACE and owner == _UNMARKED:
        return (f"the Redis key prefix {prefix!r} holds Maple's queue but no deployment marker: a production "
                "deployment may use it. The local workspace refuses it; set MAPLE_DEV_REDIS_PREFIX to a prefix "
                "of its own.")
    if kind == LOCAL_WORKSPACE:
        return (f"the Redis key prefix {prefix!r} is used by a {owner or 'unknown'} deployment{where}. The local "
                "workspace never shares a production prefix; set MAPLE_DEV_REDIS_PREFIX to a prefix of its own.")
    return (f"the Redis key prefix {prefix!r} is used by a {owner or 'unknown'} deployment{where}, whose runs and "
            "audit entries are made up. Set MAPLE_REDIS_PREFIX to another prefix, or delete that prefix's keys "
            f"(including {marker_key(prefix)!r}) if it is no longer needed.")
