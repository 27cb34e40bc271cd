"""Turns the YAML config file into the core's MapleSpec; errors name the file, the key and what is wrong."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.core.errors import ConfigError
from bot.core.spec import MapleSpec


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


def load_spec(path: Path) -> MapleSpec:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    try:
        return MapleSpec.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: {_where(data, tuple(err['loc']))}: {err['msg']}" for err in exc.errors()]
        raise ConfigError("\n".join(lines)) from exc


def resolve_local_path(spec_path: str | None, override: Path | None) -> Path | None:
    if override:
        return override
    return Path(os.path.expanduser(spec_path)) if spec_path else None
