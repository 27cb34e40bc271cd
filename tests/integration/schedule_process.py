"""A Maple process that sweeps its schedules once at a given time (for the kill-mid-firing test).

    python -m tests.integration.schedule_process REDIS_URL PREFIX SLACK_URL OPENAI_URL NOW_EPOCH
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from tests.fakes.memory import FixedClock
from tests.harness import Harness
from tests.schedule_kit import Proc


async def main(redis_url: str, prefix: str, slack_url: str, openai_url: str, now: str) -> None:
    fake: Any = SimpleNamespace(url=slack_url)
    h = Harness(slack=fake, openai=SimpleNamespace(url=openai_url), workers=0, redis_url=redis_url)  # type: ignore[arg-type]
    h.prefix = prefix
    await h.start()
    proc = Proc.of(h, FixedClock(datetime.fromtimestamp(int(now), UTC)), lease=1.0)
    await proc.runner.reload()
    await proc.runner.tick()  # stalls in the middle of the firing until the test kills this process
    await h.stop()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
