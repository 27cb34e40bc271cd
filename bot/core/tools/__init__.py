"""Deterministic tools with pydantic-typed arguments, clearances like models, and side effects only after approval.

``ToolRegistry.call`` validates raw arguments (a JSON string from a model's tool call, or a mapping) against the
tool's schema, refuses text above the tool's clearance (fail closed) and any call with a side effect before approval.
Whether a call has a side effect is decided per call (``Tool.side_effect_of``): an ``http`` GET reads, a POST acts.
A tool's failure on bad input — and any exception that is not one of Maple's own — reaches the caller as a
``ToolError`` with a plain message: a clear answer to the person, never a retry. Errors adapters already translated
(Slack unreachable, not in the channel) keep their meaning."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.core import text
from bot.core.errors import MapleError, ToolDenied, ToolFailed
from bot.core.levels import Sensitivity


@dataclass(frozen=True, kw_only=True)
class ToolContext:
    requester: str
    timezone: str
    sensitivity: Sensitivity
    now: datetime
    channel: str = ""
    thread_ts: str | None = None


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

    def side_effect_of(self, args: Any) -> str | None:
        """What this call would change (None for a call that only reads). Per call: e.g. an http POST."""
        return "a side effect" if self.side_effect else None

    @abstractmethod
    async def run(self, args: Any, *, ctx: ToolContext) -> ToolResult: ...


class ToolRegistry:
    def __init__(self, tools: list[Tool] | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools or []:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        self._tools[tool.name] = tool

    def names(self) -> list[str]:
        return sorted(self._tools)

    def get(self, name: str) -> Tool:
        if name not in self._tools:
            raise ToolDenied(f"there is no tool called {name!r}")
        return self._tools[name]

    def openai_schemas(self, *, include_side_effects: bool = False) -> list[dict[str, Any]]:
        return [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                  "parameters": t.args_model.model_json_schema()}}
                for t in self._tools.values() if (include_side_effects or not t.side_effect) and t.model_visible]

    async def call(self, name: str, raw_args: str | Mapping[str, Any], *, ctx: ToolContext,
                   approved: bool = False) -> ToolResult:
        tool = self.get(name)
        if ctx.sensitivity > tool.clearance:
            raise ToolDenied(f"{name} is cleared for {tool.clearance.label} data; this is {ctx.sensitivity.label}")
        args = _validated(tool, raw_args)
        effect = tool.side_effect_of(args)
        if effect and not approved:
            raise ToolDenied(text.SIDE_EFFECT_BEFORE_APPROVAL.format(tool=name, what=effect))
        try:
            return await tool.run(args, ctx=ctx)
        except MapleError:  # ToolError, or an adapter's translated error (Slack down: worth a retry)
            raise
        except Exception as exc:  # noqa: BLE001 - a tool's own bug becomes a clear tool failure, not a retry
            raise ToolFailed(text.tool_failed(name)) from exc


def _validated(tool: Tool, raw_args: str | Mapping[str, Any]) -> BaseModel:
    try:
        data = json.loads(raw_args) if isinstance(raw_args, str) else dict(raw_args)
        return tool.args_model.model_validate(data)
    except (ValueError, TypeError, RecursionError, ValidationError) as exc:
        why = str(exc).splitlines()[0][:200] if not isinstance(exc, RecursionError) else "nested too deeply"
        raise ToolDenied(text.tool_invalid_arguments(tool.name, why)) from exc
