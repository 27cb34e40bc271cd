"""The fake Slack Web API and the stub model in a process of their own, for benchmarks/ack.py: answering the
workers' calls must not delay the load client's own event loop (which measures the acks).

    python benchmarks/fakes_process.py   → prints one JSON line {"slack": URL, "openai": URL}; runs until stdin closes
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.openai_api import FakeOpenAI  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402


class QuietSlack(FakeSlack):
    """Keeps no history: a long benchmark would otherwise hold every call in memory."""

    def m_chat_postMessage(self, p: dict) -> dict:  # type: ignore[type-arg]  # noqa: N802
        out = super().m_chat_postMessage(p)
        self.calls.clear()
        self.messages.clear()
        return out


async def main() -> None:
    slack, model = QuietSlack(), FakeOpenAI()
    slack.add_channel("C0GENERAL")
    await slack.start()
    await model.start()
    print(json.dumps({"slack": slack.url, "openai": model.url}), flush=True)
    await asyncio.to_thread(sys.stdin.read)  # until the benchmark closes our stdin
    await slack.stop()
    await model.stop()


if __name__ == "__main__":
    asyncio.run(main())
