"""MCP servers in the configuration (``tools.mcp:``): how to reach each, what it may receive, what it may do.

A server's tools reach Maple as ``<server>__<tool>`` (``tickets__search``) — a name models' tool calling accepts
and workflows' ``tool`` steps use. Nothing is allowed by default: ``allow`` lists the tools Maple may call, and
``side_effects`` those among them that change something (they are planned while drafting and made only after a
person approves). Secrets never live in the YAML: HTTP headers and a stdio server's environment name variables of
Maple's own environment, read at start (``headers_from_env``, ``env_from``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bot.core.config_checks import url_problem
from bot.core.levels import Sensitivity
from bot.core.spec_base import Reachable, level

SEPARATOR = "__"
SERVER_NAME = r"^[a-z][a-z0-9-]{0,23}$"
TOOL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,38}$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
MAPLE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,23}__[A-Za-z0-9][A-Za-z0-9_-]{0,38}$")


def maple_name(server: str, tool: str) -> str:
    """The name an MCP tool has in Maple (and in models' tool calling): ``<server>__<tool>``."""
    return f"{server}{SEPARATOR}{tool}"


def split_name(name: str) -> tuple[str, str] | None:
    """(server, tool) of a Maple name for an MCP tool; None for anything else (built-in tools)."""
    if not MAPLE_NAME.match(name):
        return None
    server, _, tool = name.partition(SEPARATOR)
    return server, tool


class McpServerSpec(Reachable):
    """One MCP server."""

    name: str = Field(pattern=SERVER_NAME)
    transport: Literal["stdio", "streamable-http"]
    command: list[str] = Field(default_factory=list, description="stdio: the program and its arguments")
    cwd: str | None = None
    env_from: dict[str, str] = Field(default_factory=dict,
                                     description="stdio: the server's variable → the variable of Maple's environment")
    url: str | None = None
    headers_from_env: dict[str, str] = Field(default_factory=dict,
                                             description="streamable-http: header → environment variable")
    clearance: Sensitivity = Sensitivity.INTERNAL
    floor: Sensitivity = Sensitivity.INTERNAL
    allow: list[str] = Field(default_factory=list)
    side_effects: list[str] = Field(default_factory=list)
    timeout: float = Field(15.0, gt=0, le=300, description="seconds one call may take")
    connect_timeout: float = Field(10.0, gt=0, le=120)
    max_output_chars: int = Field(20_000, gt=0, le=200_000)

    _lv = field_validator("clearance", "floor", mode="before")(level)

    @field_validator("allow", "side_effects")
    @classmethod
    def _tool_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not TOOL_NAME.match(name):
                raise ValueError(f"{name!r} is not a tool name Maple can offer (letters, digits, _ and -, at most 39)")
        if len(names) != len(set(names)):
            raise ValueError("tool names must be unique")
        return names

    @field_validator("env_from", "headers_from_env")
    @classmethod
    def _env_names(cls, mapping: dict[str, str]) -> dict[str, str]:
        for key, variable in mapping.items():
            if not HEADER_NAME.match(key) and not ENV_NAME.match(key):
                raise ValueError(f"{key!r} is not a header or variable name")
            if not ENV_NAME.match(variable):
                raise ValueError(f"{key}: {variable!r} must name an environment variable (e.g. TICKETS_TOKEN); "
                                 "secrets never go in the config file")
        return mapping

    @model_validator(mode="after")
    def _transport(self) -> McpServerSpec:
        if self.transport == "stdio":
            if not self.command or not self.command[0].strip():
                raise ValueError(f"mcp server {self.name!r}: a stdio server needs command: [program, args…]")
            if self.url or self.headers_from_env:
                raise ValueError(f"mcp server {self.name!r}: url and headers_from_env are for streamable-http")
        else:
            if not self.url:
                raise ValueError(f"mcp server {self.name!r}: a streamable-http server needs url:")
            if why := url_problem(self.url):
                raise ValueError(f"mcp server {self.name!r}: url {why}")
            if self.command or self.env_from or self.cwd:
                raise ValueError(f"mcp server {self.name!r}: command, cwd and env_from are for stdio")
        extra = sorted(set(self.side_effects) - set(self.allow))
        if extra:
            raise ValueError(f"mcp server {self.name!r}: side_effects names tools that allow does not list: "
                             f"{', '.join(extra)}")
        return self

    def maple_names(self) -> list[str]:
        return [maple_name(self.name, tool) for tool in self.allow]


def mcp_problems(servers: list[McpServerSpec]) -> str | None:
    """Why the list of servers cannot be used together (duplicate names), or None."""
    names = [s.name for s in servers]
    if len(names) != len(set(names)):
        return "mcp server names must be unique"
    return None
