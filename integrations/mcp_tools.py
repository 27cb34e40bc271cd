"""MCP tools as Maple ``Tool``s: each allowed tool of each server in ``tools.mcp``, governed like Maple's own.

Every call is validated against the input schema the server lists (JSON Schema, checked once when listed; a schema
that is invalid or whose patterns could backtrack catastrophically makes the tool unusable), cleared against the
server's ``clearance``, and — for a tool in ``side_effects`` — planned while drafting and made only after approval.
What a tool returns is at least the server's ``floor`` in sensitivity, is assessed by the detectors like any other
text, and reaches models fenced as data (``untrusted_output``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import best_match
from pydantic import BaseModel, ConfigDict

from bot.core import text
from bot.core.errors import ToolDenied, ToolFailed
from bot.core.spec import MapleSpec
from bot.core.spec_mcp import maple_name
from bot.core.tools import Tool, ToolContext, ToolResult
from integrations.mcp_client import Listed, McpServer


class _Unused(BaseModel):
    model_config = ConfigDict(extra="allow")


class McpTool(Tool):
    args_model = _Unused
    plannable = True
    untrusted_output = True

    def __init__(self, server: McpServer, tool: str, *, side_effect: bool) -> None:
        spec = server.spec
        self._server, self._tool = server, tool
        self.name = maple_name(spec.name, tool)
        self.clearance, self.floor, self.side_effect, self.server = spec.clearance, spec.floor, side_effect, spec.name
        self.timeout = spec.timeout + spec.connect_timeout + 1
        self.leaves_deployment = spec.leaves_deployment

    def _listed(self) -> Listed | None:
        tools = self._server.tools
        return tools.get(self._tool) if tools is not None else None

    def side_effect_of(self, args: Any) -> str | None:
        return f"a call to {self._tool} on {self._server.name}" if self.side_effect else None

    async def ready(self) -> None:
        if self._server.tools is None or self._listed() is None:
            await self._server.connect()  # connects and lists (again, after a failure)
        listed = self._listed()
        if listed is None:
            raise ToolDenied(text.mcp_not_offered(self.name))
        if listed.problem is not None:
            raise ToolDenied(text.mcp_unusable(self.name, str(listed.problem)))

    def validate(self, data: Any) -> Any:
        listed = self._listed()
        if listed is None or listed.validator is None:
            raise ValueError("the tool's schema is not known")
        if not isinstance(data, dict):
            raise ValueError("the arguments must be a JSON object")
        error = best_match(listed.validator.iter_errors(data))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "arguments"
            raise ValueError(f"{where}: {' '.join(error.message.split())[:160]}")
        return data

    def parameters(self) -> dict[str, Any] | None:
        listed = self._listed()
        return listed.schema if listed is not None and listed.problem is None else None

    def plain_arguments(self, args: Any) -> dict[str, Any]:
        return dict(args)

    @property  # type: ignore[override]
    def description(self) -> str:
        """What the server says the tool does (offered to models as it is: allow only servers you trust)."""
        listed = self._listed()
        said = listed.description[:500] if listed is not None and listed.description else self._tool
        return f"{said} (MCP server {self._server.name})"

    async def run(self, args: dict[str, Any], *, ctx: ToolContext) -> ToolResult:
        meta: dict[str, Any] = {"maple/run": ctx.run_id, "maple/requester": ctx.requester}
        if ctx.call_id is not None:  # an approved side effect: a server that keeps this key can make it once
            meta["maple/idempotency-key"] = f"{ctx.run_id}:{ctx.call_id}"
        output = await self._server.call(self._tool, args, meta=meta)
        return ToolResult(text=output, data={"server": self._server.name, "tool": self._tool})


@dataclass
class McpTools:
    """Every configured server (one connection each per process) and the Maple tools they offer."""

    servers: list[McpServer]
    tools: list[McpTool]

    async def open(self) -> None:
        await asyncio.gather(*(server.open() for server in self.servers))

    async def close(self) -> None:
        await asyncio.gather(*(server.close() for server in self.servers), return_exceptions=True)


def build_mcp_tools(spec: MapleSpec, *, environ: Mapping[str, str]) -> McpTools:
    servers = [McpServer(server, environ=environ) for server in spec.tools.mcp]
    tools = [McpTool(server, name, side_effect=name in server.spec.side_effects)
             for server in servers for name in server.spec.allow]
    return McpTools(servers=servers, tools=tools)


async def inspect(server: McpServer) -> dict[str, Any]:
    """What ``maple config check`` and ``maple tools`` show of a server: reachable or not, every tool it lists,
    which are allowed (and side effects), and the allowed tools it does not offer."""
    spec = server.spec
    report: dict[str, Any] = {"transport": spec.transport, "clearance": spec.clearance.label,
                              "target": spec.url or " ".join(spec.command)}
    try:
        await server.connect()
    except ToolFailed as exc:
        return {**report, "connected": False, "error": str(exc)}
    listed = server.tools or {}
    report["connected"] = True
    report["tools"] = [{"name": name, "maple_name": maple_name(spec.name, name), "allowed": name in spec.allow,
                        "side_effect": name in spec.side_effects, "problem": tool.problem,
                        "description": tool.description[:200]} for name, tool in sorted(listed.items())]
    report["missing"] = sorted(set(spec.allow) - set(listed))
    return report
