"""Runs a workflow's tool step for a run: derives the arguments from the goal, calls the registry, assesses output."""

from __future__ import annotations

from bot.core.errors import ToolFailed
from bot.core.levels import Sensitivity
from bot.core.models import Run, ToolCall
from bot.core.ports import Clock
from bot.core.services import Assessor, ToolOutput
from bot.core.spec import StepSpec
from bot.core.tools import ToolContext, ToolRegistry, ToolResult
from bot.core.tools.calculator import extract_expression
from bot.core.tools.dates import date_math
from bot.core.tools.history import channel_in


class ToolBox:
    def __init__(self, *, registry: ToolRegistry, assess: Assessor, clock: Clock, timezone: str) -> None:
        self.registry, self._assess, self._clock, self._tz = registry, assess, clock, timezone

    async def __call__(self, *, name: str, run: Run, step: StepSpec, level: Sensitivity) -> ToolOutput:
        ctx = ToolContext(requester=run.requester, timezone=self._tz, sensitivity=level, now=self._clock.now(),
                          channel=run.origin.channel, thread_ts=run.origin.thread_ts)
        tool, args = self._arguments(name, run)
        return self._output(await self.registry.call(tool, args, ctx=ctx))

    def schemas(self) -> list[dict[str, object]]:
        return self.registry.openai_schemas()

    async def requested(self, *, call: ToolCall, run: Run, level: Sensitivity) -> ToolOutput:
        ctx = ToolContext(requester=run.requester, timezone=self._tz, sensitivity=level, now=self._clock.now(),
                          channel=run.origin.channel, thread_ts=run.origin.thread_ts)
        return self._output(await self.registry.call(call.name, call.arguments, ctx=ctx))

    def _output(self, result: ToolResult) -> ToolOutput:
        level, hits = self._assess(result.text)
        return ToolOutput(text=result.text, level=level, hits=hits, source=result.source,
                          source_kind=result.source_kind, readers=result.readers)

    def _arguments(self, name: str, run: Run) -> tuple[str, dict[str, object]]:
        goal = run.goal
        if name == "calculator":
            if date_math(goal, now=self._clock.now(), tz=self._tz) is not None:
                return "datetime", {"question": goal[:300]}
            expression = extract_expression(goal)
            if expression is not None:
                return "calculator", {"expression": expression}
            raise ToolFailed("I couldn't find a calculation or a date question in that")
        if name == "slack_history":
            channel = channel_in(goal) or run.origin.channel
            thread = run.origin.thread_ts if channel == run.origin.channel and run.origin.in_thread else None
            return "slack_history", {"channel": channel, "thread_ts": thread}
        return name, {}
