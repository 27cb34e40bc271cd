"""Runs a workflow's tool step for a run: derives the arguments from the goal, calls the registry, assesses output.

Deriving the arguments only reads the goal (regular expressions); every computation happens inside the registry's
call, so a failure on bad input is always a ``ToolError`` (a clear answer, never a retry). Tool output is capped at
``MAX_OUTPUT`` characters before it is assessed, so assessment work stays bounded too."""

from __future__ import annotations

import asyncio

from bot.core import text
from bot.core.errors import ToolDenied, ToolFailed
from bot.core.levels import Sensitivity
from bot.core.models import Run, ToolCall
from bot.core.ports import Clock
from bot.core.services import Assessor, ToolOutput
from bot.core.spec import StepSpec
from bot.core.tools import ToolContext, ToolRegistry, ToolResult, dates
from bot.core.tools.calculator import extract_expression
from bot.core.tools.history import WINDOW_MAX_CHARS, channel_in

MAX_OUTPUT = 20_000


class ToolBox:
    def __init__(self, *, registry: ToolRegistry, assess: Assessor, clock: Clock, timezone: str) -> None:
        self.registry, self._assess, self._clock, self._tz = registry, assess, clock, timezone

    async def __call__(self, *, name: str, run: Run, step: StepSpec, level: Sensitivity) -> ToolOutput:
        ctx = ToolContext(requester=run.requester, timezone=self._tz, sensitivity=level, now=self._clock.now(),
                          channel=run.origin.channel, thread_ts=run.origin.thread_ts)
        tool, args = self._arguments(name, run)
        result = await self.registry.call(tool, args, ctx=ctx)
        if result.data.get("window"):
            return await self._period(result)
        return self._output(result)

    def schemas(self) -> list[dict[str, object]]:
        return self.registry.openai_schemas()

    async def requested(self, *, call: ToolCall, run: Run, level: Sensitivity) -> ToolOutput:
        ctx = ToolContext(requester=run.requester, timezone=self._tz, sensitivity=level, now=self._clock.now(),
                          channel=run.origin.channel, thread_ts=run.origin.thread_ts)
        if not self.registry.get(call.name).model_visible:
            raise ToolDenied(f"there is no tool called {call.name!r}")
        return self._output(await self.registry.call(call.name, call.arguments, ctx=ctx))

    def _output(self, result: ToolResult) -> ToolOutput:
        capped = result.text[:MAX_OUTPUT]
        level, hits = self._assess(capped)
        return ToolOutput(text=capped, level=level, hits=hits, source=result.source,
                          source_kind=result.source_kind, readers=result.readers)

    async def _period(self, result: ToolResult) -> ToolOutput:
        """A schedule's whole period (up to ``WINDOW_MAX_CHARS``): assessed in slices, yielding between them, so
        one long read never holds the event loop for long."""
        whole = result.text[:WINDOW_MAX_CHARS]
        level, hits = Sensitivity.PUBLIC, dict[str, int]()
        for start in range(0, len(whole), MAX_OUTPUT):
            part_level, part_hits = self._assess(whole[start:start + MAX_OUTPUT])
            level = max(level, part_level)
            for kind, count in part_hits.items():
                hits[kind] = hits.get(kind, 0) + count
            await asyncio.sleep(0)
        return ToolOutput(text=whole, level=level, hits=hits, source=result.source, source_kind=result.source_kind,
                          readers=result.readers, count=int(result.data.get("messages") or 0))

    def _arguments(self, name: str, run: Run) -> tuple[str, dict[str, object]]:
        goal = run.goal
        if name == "calculator":
            if dates.parse(goal) is not None:
                return "datetime", {"question": goal[:dates.MAX_QUESTION]}
            if dates.mentions_date(goal):
                raise ToolFailed(text.DATE_QUESTION_UNCLEAR)
            expression = extract_expression(goal)
            if expression is not None:
                return "calculator", {"expression": expression}
            raise ToolFailed(text.NO_CALCULATION)
        if name == "slack_history":
            channel = channel_in(goal) or run.origin.channel
            thread = run.origin.thread_ts if channel == run.origin.channel and run.origin.in_thread else None
            if run.origin.since is not None and run.origin.until is not None:  # a schedule's period
                return "slack_history", {"channel": channel, "oldest": f"{run.origin.since:.6f}",
                                         "latest": f"{run.origin.until:.6f}"}
            return "slack_history", {"channel": channel, "thread_ts": thread}
        if name == "ops_report" and run.origin.since is not None:
            return name, {"since": run.origin.since, "until": run.origin.until}
        return name, {}
