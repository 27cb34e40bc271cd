"""``maple tools`` and the MCP part of ``maple config check``: every tool a workflow may use, and each MCP server
reached, its tools listed and which of them are allowed."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from bot.core.spec import MapleSpec
from integrations.mcp_tools import build_mcp_tools, inspect

BUILTIN = [
    ("calculator", "exact arithmetic", "restricted", "no"),
    ("datetime", "date math in tools.timezone", "restricted", "no"),
    ("slack_history", "a channel or thread the requester is a member of", "restricted", "no"),
]


async def mcp_reports(spec: MapleSpec, *, environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Connect to every server in ``tools.mcp`` (secrets from ``environ``), list its tools, then disconnect."""
    tools = build_mcp_tools(spec, environ=environ)
    try:
        return {server.name: await inspect(server) for server in tools.servers}
    finally:
        await tools.close()


def mcp_errors(reports: dict[str, dict[str, Any]]) -> list[str]:
    errors: list[str] = []
    for name, report in reports.items():
        if not report.get("connected"):
            errors.append(f"tools.mcp ({name}): {report.get('error')}")
            continue
        for tool in report.get("missing", []):
            errors.append(f"tools.mcp ({name}): allow lists {tool!r}, which the server does not offer")
        for tool in report.get("tools", []):
            if tool["allowed"] and tool["problem"]:
                errors.append(f"tools.mcp ({name}): {tool['name']} cannot be used: {tool['problem']}")
    return errors


async def list_tools(spec: MapleSpec, *, environ: Mapping[str, str]) -> int:
    """Print every tool a workflow may name in a tool step (or a model may be offered): Maple's own, http if
    targets are configured, and each allowed MCP tool, with its clearance and whether it changes something."""
    rows = [(name, "built-in", clearance, effect, what) for name, what, clearance, effect in BUILTIN]
    if spec.tools.http:
        clearance = min(t.clearance for t in spec.tools.http).label
        rows.append(("http", "built-in", clearance, "POST only", f"{len(spec.tools.http)} allowlisted target(s)"))
    reports = await mcp_reports(spec, environ=environ) if spec.tools.mcp else {}
    for server in spec.tools.mcp:
        report = reports.get(server.name, {})
        listed = {t["name"]: t for t in report.get("tools", [])}
        for tool in server.allow:
            found = listed.get(tool)
            what = (found["problem"] or found["description"]) if found else (
                "not offered by the server" if report.get("connected") else "server unreachable")
            rows.append((f"{server.name}__{tool}", f"mcp:{server.name}", server.clearance.label,
                         "yes, after approval" if tool in server.side_effects else "no", " ".join(what.split())))
    widths = [max(len(r[i]) for r in [*rows, _HEAD]) for i in range(4)]
    for row in [_HEAD, *rows]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4][:100])
    errors = mcp_errors(reports)
    for error in errors:
        print(f"maple: error: {error}", file=sys.stderr)
    return 1 if errors else 0


_HEAD = ("TOOL", "KIND", "CLEARANCE", "SIDE EFFECT", "DESCRIPTION")
