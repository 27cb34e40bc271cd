"""Deterministic tools with pydantic-typed arguments, clearances like models, and side effects only after approval.

``ToolRegistry.call`` validates raw arguments (a JSON string from a model's tool call, or a mapping) against the
tool's schema, refuses text above the tool's clearance (fail closed) and any call with a side effect before approval.
Whether a call has a side effect is decided per call (``Tool.side_effect_of``): an ``http`` GET reads, a POST acts.
A tool that is ``plannable`` (MCP tools) may have its side-effect calls *planned* while drafting instead: ``prepare``
validates and clears such a call without making it, and the call is made after approval (bot/core/actions.py).
A tool's failure on bad input — and any exception that is not one of Maple's own — reaches the caller as a
``ToolError`` with a plain message: a clear answer to the person, never a retry. Errors adapters already translated
(Slack unreachable, not in the channel) keep their meaning."""

from __future__ import annotations

import copy
import functools
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.core import text
from bot.core.errors import MapleError, ToolDenied, ToolFailed
from bot.core.levels import Sensitivity


@functools.cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    """An arguments model's JSON schema, made once per model (pydantic builds it anew on every call)."""
    return model.model_json_schema()


@dataclass(frozen=True, kw_only=True)
class ToolContext:
    requester: str
    timezone: str
    sensitivity: Sensitivity
    now: datetime
    channel: str = ""
    thread_ts: str | None = None
    run_id: str = ""
    call_id: str | None = None  # an approved planned call: the key a server can use to make it once
    frozen: bool = False  # operators froze everything outside the deployment (``maple control freeze-external``)


@dataclass(frozen=True)
class ToolResult:
    """A tool's answer. A tool that read a conversation says which (``source``), what kind it is and who may
    read it (``readers``; None: anyone in the workspace) — the run's audience narrows to it."""

    text: str
    data: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    source_kind: str | None = None
    readers: frozenset[str] | None = None


class Tool(ABC):
    name: str
    description: str
    args_model: type[BaseModel]
    clearance: Sensitivity = Sensitivity.RESTRICTED
    side_effect: bool = False
    model_visible: bool = True  # False: only a workflow's tool step may call it, never a model
    plannable: bool = False  # a side-effect call may be planned while drafting and made after approval
    server: str | None = None  # the MCP server behind the tool (None: one of Maple's own)
    floor: Sensitivity = Sensitivity.PUBLIC  # the least level of what the tool returns
    untrusted_output: bool = False  # its output reaches models fenced as data (bot/core/tools/fence.py)
    timeout: float = 60.0  # the longest one call can take, in seconds
    leaves_deployment: bool = False  # its calls go outside the deployment: refused while external parts are frozen

    def side_effect_of(self, args: Any) -> str | None:
        """What this call would change (None for a call that only reads). Per call: e.g. an http POST."""
        return "a side effect" if self.side_effect else None

    async def ready(self) -> None:
        """Make the tool usable (e.g. connect to its server and learn its schema); ToolFailed when it cannot."""
        return None

    def validate(self, data: Any) -> Any:
        """The call's arguments, validated (pydantic ValidationError / ValueError when they do not fit)."""
        return self.args_model.model_validate(data)

    def parameters(self) -> dict[str, Any] | None:
        """The JSON schema of the arguments offered to models (None: not known yet, so not offered)."""
        return copy.deepcopy(_schema(self.args_model))  # a copy: a caller may add to what it is given

    def plain_arguments(self, args: Any) -> dict[str, Any]:
        """Validated arguments as plain JSON data (what a planned call keeps and shows)."""
        return dict(args.model_dump(mode="json")) if isinstance(args, BaseModel) else dict(args)

    @abstractmethod
    async def run(self, args: Any, *, ctx: ToolContext) -> ToolResult: ...


@dataclass(frozen=True)
class Prepared:
    """A call validated against its tool's schema and cleared for the data's level, not made yet."""

    tool: Tool
    args: Any
    effect: str | None


MAX_ARGUMENT_CHARS = 20_000


ToolObserver = Callable[[str, str | None, str], None]  # (tool, its MCP server or None, "ok" / the error's class)


class ToolRegistry:
    def __init__(self, tools: list[Tool] | None = None, *, observe: ToolObserver | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        self._observe = observe
        for tool in tools or []:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        self._tools[tool.name] = tool

    def names(self) -> list[str]:
        return sorted(self._tools)

    def get(self, name: str) -> Tool:
        if name not in self._tools:
            raise ToolDenied(text.no_such_tool(name))
        return self._tools[name]

    def openai_schemas(self, *, include_side_effects: bool = False) -> list[dict[str, Any]]:
        """Tools offered to models: those that only read, and those whose side effects are planned for approval.
        A tool whose schema is not known yet (its server was not reached) is not offered, nor one only a workflow's
        tool step may call."""
        out = []
        for t in self._tools.values():
            parameters = t.parameters()
            if parameters is not None and t.model_visible and (include_side_effects or t.plannable or not t.side_effect):
                out.append({"type": "function",
                            "function": {"name": t.name, "description": t.description, "parameters": parameters}})
        return out

    async def prepare(self, name: str, raw_args: str | Mapping[str, Any], *, ctx: ToolContext) -> Prepared:
        """Validate and clear a call without making it: ToolDenied when it is not allowed."""
        tool = self.get(name)
        _not_frozen(tool, ctx)
        if ctx.sensitivity > tool.clearance:
            raise ToolDenied(text.tool_not_cleared(name, tool.clearance.label, ctx.sensitivity.label))
        await tool.ready()
        args = _validated(tool, raw_args)
        return Prepared(tool=tool, args=args, effect=tool.side_effect_of(args))

    async def call(self, name: str, raw_args: str | Mapping[str, Any], *, ctx: ToolContext,
                   approved: bool = False) -> ToolResult:
        return await self.run(await self.prepare(name, raw_args, ctx=ctx), ctx=ctx, approved=approved)

    async def run(self, prepared: Prepared, *, ctx: ToolContext, approved: bool = False) -> ToolResult:
        tool = prepared.tool
        if prepared.effect and not approved:
            raise ToolDenied(text.side_effect_before_approval(tool.name, prepared.effect))
        _not_frozen(tool, ctx)  # frozen since it was prepared
        outcome = "cancelled"
        try:
            result = await tool.run(prepared.args, ctx=ctx)
            outcome = "ok"
            return result
        except MapleError as exc:  # ToolError, or an adapter's translated error (Slack down: worth a retry)
            outcome = type(exc).__name__
            raise
        except Exception as exc:  # noqa: BLE001 - a tool's own bug becomes a clear tool failure, not a retry
            outcome = "ToolFailed"
            raise ToolFailed(text.tool_failed(tool.name)) from exc
        finally:
            if self._observe is not None:
                self._observe(tool.name, tool.server, outcome)


def _not_frozen(tool: Tool, ctx: ToolContext) -> None:
    if ctx.frozen and tool.leaves_deployment:
        raise ToolDenied(text.tool_frozen(tool.name))


def _validated(tool: Tool, raw_args: str | Mapping[str, Any]) -> Any:
    try:
        if isinstance(raw_args, str) and len(raw_args) > MAX_ARGUMENT_CHARS:
            raise ValueError(f"the arguments are longer than {MAX_ARGUMENT_CHARS:,} characters")
        data = json.loads(raw_args) if isinstance(raw_args, str) else dict(raw_args)
        return tool.validate(data)
    except (ValueError, TypeError, RecursionError, ValidationError) as exc:
        raise ToolDenied(text.tool_invalid_arguments(tool.name, _why(exc))) from exc


def _why(exc: Exception) -> str:
    """What is wrong with the arguments, in a few plain words (pydantic's first error: its field and message)."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return f"{where}: {first.get('msg', 'invalid')}"[:200] if where else str(first.get("msg", "invalid"))[:200]
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
