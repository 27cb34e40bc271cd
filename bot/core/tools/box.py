"""Runs a workflow's tool step for a run: derives the arguments from the goal, calls the registry, assesses output.

Deriving the arguments only reads the goal (regular expressions); every computation happens inside the registry's
call, so a failure on bad input is always a ``ToolError`` (a clear answer, never a retry). Tool output is capped at
``MAX_OUTPUT`` characters before it is assessed, so assessment work stays bounded too.

The arguments of a call are text that leaves Maple: they are assessed too, and the call goes ahead only if the tool
is cleared for the higher of their level and the run's. A call that changes something, to a tool whose side
effects wait for approval (MCP tools), is *planned* while drafting — validated, cleared, kept on the run and shown
to the reviewer — and made by ``perform`` after approval. Every call to an MCP server is an audit event
(``mcp.called``: server, tool, a keyed digest of the arguments, result size and level, latency, error)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from bot.core import text
from bot.core.actions import MAX_SHOWN_ARGUMENTS, shown_arguments
from bot.core.errors import ToolDenied, ToolError, ToolFailed, ToolOutcomeUnknown
from bot.core.levels import Sensitivity
from bot.core.models import PlannedCall, Run, ToolCall
from bot.core.ports import AuditLog, Clock
from bot.core.services import Assessor, Performed, ToolOutput
from bot.core.spec import StepSpec
from bot.core.spec_mcp import split_name
from bot.core.tools import Prepared, Tool, ToolContext, ToolRegistry, ToolResult, dates
from bot.core.tools.calculator import extract_expression
from bot.core.tools.history import WINDOW_MAX_CHARS, channel_in, unlinked_channel

MAX_OUTPUT = 20_000


def canonical_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class ToolBox:
    def __init__(self, *, registry: ToolRegistry, assess: Assessor, clock: Clock, timezone: str,
                 audit: AuditLog | None = None, frozen: Callable[[], bool] = lambda: False) -> None:
        self.registry, self._assess, self._clock, self._tz = registry, assess, clock, timezone
        self._audit, self._frozen = audit, frozen  # frozen: operators froze external parts (read at each call)

    async def __call__(self, *, name: str, run: Run, step: StepSpec, level: Sensitivity,
                       draft: str | None = None) -> ToolOutput:
        tool, args = self._arguments(name, run, step, draft)
        return await self._use(tool, args, run=run, level=level)

    def schemas(self) -> list[dict[str, object]]:
        return self.registry.openai_schemas()

    def time_limit(self, name: str) -> float:
        try:
            return self.registry.get(name).timeout
        except ToolDenied:
            return 0.0

    async def requested(self, *, call: ToolCall, run: Run, level: Sensitivity) -> ToolOutput:
        return await self._use(call.name, call.arguments, run=run, level=level, by_model=True)

    async def perform(self, *, call: PlannedCall, run: Run, level: Sensitivity) -> Performed:
        """Make an approved planned call: validated and cleared again (the config may have changed since)."""
        sent = canonical_json(call.arguments)
        started = time.perf_counter()
        tool: Tool | None = None
        try:
            prepared = await self._prepare(call.tool, call.arguments, run=run, level=level)
            tool = prepared.tool
            ctx = self._ctx(run, max(level, self._assess(sent)[0]), call_id=call.id)
            out = self._output(await self.registry.run(prepared, ctx=ctx, approved=True), tool)
        except ToolError as exc:
            attrs = self._attrs(call.tool, tool, sent, started, error=exc, call_id=call.id)
            level, hits = self._assess(str(exc)[:MAX_OUTPUT])  # a server's error is its words: assessed like output
            return Performed(output=None, error=str(exc), unknown=isinstance(exc, ToolOutcomeUnknown), attrs=attrs,
                             level=level, hits=hits)
        return Performed(output=out, attrs=self._attrs(call.tool, tool, sent, started, out=out, call_id=call.id))

    async def _use(self, name: str, raw: str | Mapping[str, Any], *, run: Run, level: Sensitivity,
                   by_model: bool = False) -> ToolOutput:
        started = time.perf_counter()
        sent = raw if isinstance(raw, str) else canonical_json(raw)
        tool: Tool | None = None
        try:
            if by_model and not self.registry.get(name).model_visible:  # only a workflow's tool step may call it
                raise ToolDenied(text.no_such_tool(name))
            prepared = await self._prepare(name, raw, run=run, level=level)
            tool = prepared.tool
            sent = canonical_json(tool.plain_arguments(prepared.args))
            ctx = self._ctx(run, max(level, self._assess(sent)[0]))
            if prepared.effect and tool.plannable:
                return await self._planned(prepared, sent, run=run, level=ctx.sensitivity)
            result = await self.registry.run(prepared, ctx=ctx)
            out = await self._period(result, tool) if result.data.get("window") else self._output(result, tool)
        except ToolError as exc:
            await self._record(run, "mcp.called", self._attrs(name, tool, sent, started, error=exc))
            raise
        await self._record(run, "mcp.called", self._attrs(name, tool, sent, started, out=out))
        return out

    async def _prepare(self, name: str, raw: str | Mapping[str, Any], *, run: Run, level: Sensitivity) -> Prepared:
        prepared = await self.registry.prepare(name, raw, ctx=self._ctx(run, level))
        tool = prepared.tool
        sent_level, _hits = self._assess(canonical_json(tool.plain_arguments(prepared.args)))
        if sent_level > tool.clearance:
            raise ToolDenied(text.tool_not_cleared(name, tool.clearance.label, sent_level.label, arguments=True))
        return prepared

    async def _planned(self, prepared: Prepared, sent: str, *, run: Run, level: Sensitivity) -> ToolOutput:
        tool, what = prepared.tool, prepared.effect or "a side effect"
        if len(shown_arguments(tool.plain_arguments(prepared.args))) > MAX_SHOWN_ARGUMENTS:
            raise ToolDenied(text.call_too_long_to_show(tool.name, MAX_SHOWN_ARGUMENTS))  # no unseen tail
        call = PlannedCall(id=f"c{secrets.token_hex(4)}", tool=tool.name, what=what, level=level,
                           arguments=tool.plain_arguments(prepared.args))
        await self._record(run, "mcp.planned", {
            "gen_ai.tool.name": tool.name, "gen_ai.tool.call.id": call.id, "maple.mcp.server": tool.server,
            **self._digest("gen_ai.tool.call.arguments", sent)})
        return ToolOutput(text=text.call_planned(tool.name, what), level=Sensitivity.PUBLIC, hits={}, planned=call)

    def _ctx(self, run: Run, level: Sensitivity, *, call_id: str | None = None) -> ToolContext:
        return ToolContext(requester=run.requester, timezone=run.timezone or self._tz, sensitivity=level, now=self._clock.now(),
                           channel=run.origin.channel, thread_ts=run.origin.thread_ts, run_id=run.id,
                           call_id=call_id, frozen=self._frozen())

    def _output(self, result: ToolResult, tool: Tool) -> ToolOutput:
        capped = result.text[:MAX_OUTPUT]
        level, hits = self._assess(capped)
        return ToolOutput(text=capped, level=max(level, tool.floor), hits=hits, source=result.source,
                          source_kind=result.source_kind, readers=result.readers,
                          untrusted=tool.name if tool.untrusted_output else None, floor=tool.floor)

    async def _period(self, result: ToolResult, tool: Tool) -> ToolOutput:
        """A schedule's whole period (up to ``WINDOW_MAX_CHARS``): assessed in slices, yielding between them, so
        one long read never holds the event loop for long."""
        whole = result.text[:WINDOW_MAX_CHARS]
        level, hits = tool.floor, dict[str, int]()
        for start in range(0, len(whole), MAX_OUTPUT):
            part_level, part_hits = self._assess(whole[start:start + MAX_OUTPUT])
            level = max(level, part_level)
            for kind, count in part_hits.items():
                hits[kind] = hits.get(kind, 0) + count
            await asyncio.sleep(0)
        return ToolOutput(text=whole, level=level, hits=hits, source=result.source, source_kind=result.source_kind,
                          readers=result.readers, count=int(result.data.get("messages") or 0), floor=tool.floor,
                          untrusted=tool.name if tool.untrusted_output else None)

    def _attrs(self, name: str, tool: Tool | None, sent: str, started: float, *, out: ToolOutput | None = None,
               error: ToolError | None = None, call_id: str | None = None) -> dict[str, Any]:
        """An MCP call in OpenTelemetry GenAI terms (execute_tool), the arguments only as a keyed digest."""
        parts = split_name(name)
        return {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name[:64],
                "gen_ai.tool.type": "extension", "gen_ai.tool.call.id": call_id, "mcp.method.name": "tools/call",
                "maple.mcp.server": tool.server if tool is not None else (parts[0] if parts else None),
                **self._digest("gen_ai.tool.call.arguments", sent),
                "maple.tool.result.length": len(out.text) if out is not None else 0,
                "maple.sensitivity.level": out.level.label if out is not None else None,
                "maple.latency_ms": round((time.perf_counter() - started) * 1000, 1),
                "error.type": type(error).__name__ if error is not None else None}

    def _digest(self, name: str, value: str) -> dict[str, Any]:
        return self._audit.text_attrs(name, value) if self._audit is not None else {}

    async def _record(self, run: Run, kind: str, attrs: dict[str, Any]) -> None:
        name = str(attrs.get("gen_ai.tool.name") or "")
        if self._audit is not None and split_name(name) is not None:
            await self._audit.append(kind=kind, run_id=run.id, actor=None, attrs=attrs)

    def _arguments(self, name: str, run: Run, step: StepSpec, draft: str | None) -> tuple[str, dict[str, object]]:
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
            named = channel_in(goal)
            typed = unlinked_channel(goal) if named is None else None
            if typed is not None:  # never the current channel instead of the one the person named
                raise ToolFailed(text.channel_not_found(typed))
            channel = named or run.origin.context_channel or run.origin.channel
            thread = run.origin.thread_ts if channel == run.origin.channel and run.origin.in_thread else None
            if run.origin.since is not None and run.origin.until is not None:  # a schedule's period
                return "slack_history", {"channel": channel, "oldest": f"{run.origin.since:.6f}",
                                         "latest": f"{run.origin.until:.6f}"}
            return "slack_history", {"channel": channel, "thread_ts": thread}
        if name == "ops_report" and run.origin.since is not None:
            return name, {"since": run.origin.since, "until": run.origin.until}
        return name, {key: _filled(value, goal=goal, draft=draft or "") for key, value in step.arguments.items()}


_PLACEHOLDER = re.compile(r"\{(goal|draft)\}")


def _filled(value: object, *, goal: str, draft: str) -> object:
    """A tool step's argument with ``{goal}`` and ``{draft}`` filled in, in one pass (a goal that says
    ``{draft}`` stays as written; no format strings)."""
    if not isinstance(value, str):
        return value
    return _PLACEHOLDER.sub(lambda m: goal if m.group(1) == "goal" else draft, value)
