"""Turns the YAML config file into the core's MapleSpec; errors name the file, the key and what is wrong.

Everything that can fail at run time is checked here, once: the schema and references (``MapleSpec``), regular
expressions (they compile and cannot backtrack catastrophically), time zones, cron expressions, URLs. Whatever the
document, the result is a MapleSpec or a ConfigError — never another exception. ``config_warnings`` lists what is
allowed but dangerous (printed by ``maple config check`` and logged at start).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import ValidationError

from bot.core.errors import ConfigError, InputError
from bot.core.levels import Sensitivity
from bot.core.recurrence import Recurrence
from bot.core.spec import MapleSpec
from integrations.timetable import ApsTimetable

MAX_BYTES = 1_000_000
MAX_NODES = 100_000  # aliases can make a small document expand enormously


def _where(spec_dict: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as a YAML path, naming list items by their id/name when they have one."""
    parts: list[str] = []
    node: Any = spec_dict
    for item in loc:
        if isinstance(item, int) and isinstance(node, list) and item < len(node):
            node = node[item]
            label = node.get("id") or node.get("name") if isinstance(node, dict) else None
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]" + (f" ({label})" if label else "")]
            continue
        parts.append(str(item))
        node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts) or "(top level)"


def _count_nodes(data: Any, limit: int) -> int:
    seen, stack = 0, [data]
    while stack and seen <= limit:
        node = stack.pop()
        seen += 1
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, (list, tuple, set)):
            stack.extend(node)
    return seen


def _document(raw: str, source: str) -> dict[str, Any]:
    if len(raw.encode("utf-8", "replace")) > MAX_BYTES:
        raise ConfigError(f"{source}: the config file is larger than {MAX_BYTES:,} bytes")
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{source}:{where} is not valid YAML ({getattr(exc, 'problem', None) or exc})") from exc
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:  # e.g. a timestamp like 2026-13-45
        raise ConfigError(f"{source}: is not valid YAML ({type(exc).__name__}: {str(exc)[:200]})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys")
    if _count_nodes(data, MAX_NODES) > MAX_NODES:
        raise ConfigError(f"{source}: the document expands to more than {MAX_NODES:,} values (anchors and aliases?)")
    return data


def _check_crons(spec: MapleSpec, source: str) -> None:
    for i, schedule in enumerate(spec.schedules):
        try:  # read exactly as the scheduler reads it (day of week 0 = Sunday, as in cron)
            ApsTimetable().check(Recurrence(kind="cron", cron=schedule.cron, tz=spec.tools.timezone))
        except (InputError, ValueError) as exc:
            raise ConfigError(f"{source}: schedules[{i}] ({schedule.id}).cron: invalid cron expression "
                              f"{schedule.cron!r} ({exc})") from exc


def parse_spec(raw: str, *, source: str = "config") -> MapleSpec:
    """The MapleSpec in YAML text ``raw``; ConfigError (naming ``source`` and the key) otherwise."""
    data = _document(raw, source)
    try:
        spec = MapleSpec.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {_where(data, tuple(err['loc']))}: {err['msg']}" for err in exc.errors()]
        raise ConfigError("\n".join(lines)) from exc
    except RecursionError as exc:
        raise ConfigError(f"{source}: the document is nested too deeply") from exc
    _check_crons(spec, source)
    return spec


def load_spec(path: Path) -> MapleSpec:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file ({getattr(exc, 'strerror', None) or exc})") from exc
    return parse_spec(raw, source=str(path))


def config_warnings(spec: MapleSpec) -> list[str]:
    """Grants and settings that are valid but dangerous."""
    warnings: list[str] = []
    reviewed = [wf for wf in spec.workflows if wf.review]
    approver_roles = {r for wf in reviewed for r in wf.approver_roles}
    approver_roles |= {r for wf in reviewed for s in wf.steps for r in s.approver_roles or []}
    for role, members in sorted(spec.roles.items()):
        if "*" not in members:
            continue
        if role in spec.admin_roles:
            warnings.append(f"roles.{role} contains \"*\" and is an admin role: every member of the workspace "
                            "has admin abilities (audit timelines, every run's status)")
        if role in approver_roles:
            users = sorted(wf.id for wf in reviewed if role in wf.approver_roles)
            warnings.append(f"roles.{role} contains \"*\" and approves {', '.join(users) or 'a review step'}: "
                            "anyone in the workspace can approve drafts")
    if spec.review.allow_self_approval:
        warnings.append("review.allow_self_approval is true: a requester can approve their own draft")
    for target in spec.tools.http:
        if "POST" in target.methods:
            warnings.append(f"tools.http ({target.name}) allows POST: calls run only after approval, "
                            "but they change things")
        if target.allow_private:
            warnings.append(f"tools.http ({target.name}) has allow_private: private addresses are reachable")
    warnings.extend(_mcp_warnings(spec))
    if spec.channels.public > Sensitivity.INTERNAL:
        warnings.append(f"channels.public is {spec.channels.public.label}: such results may be posted in public "
                        "channels")
    return warnings


def _mcp_warnings(spec: MapleSpec) -> list[str]:
    warnings: list[str] = []
    for server in spec.tools.mcp:
        if server.side_effects:
            warnings.append(f"tools.mcp ({server.name}) allows side effects ({', '.join(server.side_effects)}): "
                            "calls are made only after approval, but they change things")
        url = urlsplit(server.url or "")
        if url.scheme == "http" and server.headers_from_env and url.hostname not in ("127.0.0.1", "localhost", "::1"):
            warnings.append(f"tools.mcp ({server.name}) sends headers over plain http to {url.hostname}")
        if server.clearance >= Sensitivity.CONFIDENTIAL:
            warnings.append(f"tools.mcp ({server.name}) is cleared for {server.clearance.label} data: that data "
                            "may be sent to it")
    return warnings


def resolve_local_path(spec_path: str | None, override: Path | None) -> Path | None:
    if override:
        return override
    return Path(os.path.expanduser(spec_path)) if spec_path else None
