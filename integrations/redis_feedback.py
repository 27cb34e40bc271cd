"""FeedbackLedger on Redis: who voted on a run (a hash per run, kept as long as runs are) and the counts per
workflow and model (one hash), written together in one Lua script — a vote is counted once or not at all."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from bot.core.ports import FeedbackLedger, Tally
from integrations.redis_conn import as_text, guarded

SEP = "\x1f"  # never in a workflow id or a model name
# KEYS: the run's voters, the counts. ARGV: voter, vote, counted field, voters' ttl (seconds).
_VOTE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
return 1
"""


class RedisFeedback(FeedbackLedger):
    def __init__(self, *, redis: aioredis.Redis, prefix: str = "maple:", ttl_seconds: int = 90 * 86400) -> None:
        self._r = redis
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._vote = redis.register_script(_VOTE)

    @property
    def _counts(self) -> str:
        return f"{self._prefix}feedback:counts"

    async def vote(self, *, run_id: str, user: str, workflow: str, model: str, positive: bool) -> bool:
        field = SEP.join((workflow, model, "up" if positive else "down"))
        args: list[Any] = [user, "up" if positive else "down", field, self._ttl]
        done: Any = await guarded(lambda: self._vote(keys=[f"{self._prefix}feedback:run:{run_id}", self._counts],
                                                     args=args))
        return int(done) == 1

    async def tallies(self) -> list[Tally]:
        raw: Any = await guarded(lambda: self._r.hgetall(self._counts))
        counts: dict[tuple[str, str], list[int]] = {}
        for key, value in raw.items():
            parts = as_text(key).split(SEP)
            if len(parts) != 3:
                continue
            pair = counts.setdefault((parts[0], parts[1]), [0, 0])
            pair[0 if parts[2] == "up" else 1] += int(as_text(value))
        return [Tally(workflow=w, model=m, up=c[0], down=c[1]) for (w, m), c in sorted(counts.items())]
