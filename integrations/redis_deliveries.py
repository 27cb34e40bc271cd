"""What the front door remembers about Slack deliveries, in Redis (shared by every Maple process).

* A signed request is used once: its signature is kept for a little longer than the 5-minute signature window.
* An Events API event is *claimed* while it is processed (a token, with a short expiry in case the process dies)
  and marked *done* only after its work is durable; a failed delivery releases the claim so Slack's retry is
  processed. Each step is a compare-and-set on the claim token, so a late process never overwrites another's.

When Redis cannot be reached these checks let the request through (and say so in the log): everything a request
could start or decide needs the same Redis, and answers "temporarily unavailable" without it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any, Literal

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from integrations.redis_conn import GroupedScript

log = logging.getLogger("maple.deliveries")
Claim = Literal["new", "in_flight", "done"]
DONE = "done"
ONCE_SECONDS = 600  # a used request's key outlives its signature: a timestamp is accepted 5 minutes either side
# of the receiver's clock, so a request first seen at T verifies until T + 10 minutes at the most


def once_key(prefix: str, key: str) -> str:
    """Where a request's key (its signature, a Socket Mode envelope id) is marked used — by the front door, or by
    the run write of a deferred intake (integrations/redis_store.py), which checks it in the same script."""
    return f"{prefix}once:{hashlib.sha256(key.encode()).hexdigest()[:40]}"

_CLAIM = """
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 'new'
end
if cur == 'done' then return 'done' end
return 'in_flight'
"""
_SETTLE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


class RedisDeliveries:
    def __init__(self, *, redis: aioredis.Redis, prefix: str = "maple:", claim_seconds: int = 30, done_seconds: int = 3600) -> None:
        self._r = redis
        self._prefix = prefix
        self._claim_ttl, self._done_ttl = claim_seconds, done_seconds
        # Group commit (integrations/redis_conn.py): a burst of events claims and settles in shared round trips.
        # A claim whose caller was cancelled once it was sent stands until ``claim_seconds`` pass: Slack's
        # retries meanwhile are answered "in flight", then one is processed.
        self._claim = GroupedScript(redis, _CLAIM)
        self._settle = GroupedScript(redis, _SETTLE)

    async def first_use(self, key: str) -> bool:
        """True the first time ``key`` (a request's signature, a Socket Mode envelope id) is seen."""
        try:
            return bool(await self._r.set(once_key(self._prefix, key), "1", nx=True, ex=ONCE_SECONDS))
        except (RedisError, OSError) as exc:
            log.warning("replay check skipped: store unreachable", extra={"error": type(exc).__name__})
            return True

    async def claim(self, event_id: str) -> tuple[Claim, str]:
        """("new", token) when this delivery may process the event; ("in_flight", "") while another delivery
        holds it; ("done", "") once it was processed."""
        token = "claim:" + secrets.token_hex(8)
        try:
            state: Any = await self._claim(keys=[self._key(event_id)], args=[token, self._claim_ttl])
        except (RedisError, OSError) as exc:
            log.warning("event dedupe skipped: store unreachable", extra={"error": type(exc).__name__})
            return "new", ""
        state = state.decode() if isinstance(state, bytes) else str(state)
        return (state, token if state == "new" else "")  # type: ignore[return-value]

    async def settle(self, event_id: str, token: str) -> None:
        """The event's work is durable: retries of it are answered without processing."""
        await self._finish(event_id, token, DONE)

    async def release(self, event_id: str, token: str) -> None:
        """The delivery failed: a retry processes the event."""
        await self._finish(event_id, token, "")

    async def _finish(self, event_id: str, token: str, value: str) -> None:
        if not token:
            return
        try:
            await self._settle(keys=[self._key(event_id)], args=[token, value, self._done_ttl])
        except (RedisError, OSError) as exc:
            log.warning("could not record an event's outcome", extra={"error": type(exc).__name__})

    def _key(self, event_id: str) -> str:
        return f"{self._prefix}event:{event_id}"
