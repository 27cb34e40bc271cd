"""Config that would fail at run time is refused at load, naming the key; dangerous grants are warned about."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.config_checks import regex_problem
from bot.core.errors import ConfigError
from config.loader import config_warnings, parse_spec
from config.settings import DEFAULT_CONFIG


def shipped(**changes: Any) -> dict[str, Any]:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["roles"] = {"user": ["*"], "reviewer": ["U0REVIEW"], "admin": ["U0ADMIN"]}
    data.update(changes)
    return data


def load(data: dict[str, Any]) -> Any:
    return parse_spec(yaml.safe_dump(data), source="maple.yaml")


def test_the_shipped_config_loads_without_warnings() -> None:
    spec = load(shipped())
    assert config_warnings(spec) == []


@pytest.mark.parametrize(("change", "where", "what"), [
    ({"sensitivity": {"patterns": [{"name": "falcon", "regex": r"falcon-(\d+"}]}},
     r"sensitivity\.patterns\[0\] \(falcon\)\.regex", "not a valid regular expression"),
    ({"sensitivity": {"patterns": [{"name": "slow", "regex": r"(a+)+$"}]}}, r"patterns\[0\] \(slow\)\.regex",
     "backtrack"),
    ({"sensitivity": {"patterns": [{"name": "empty"}]}}, r"patterns\[0\] \(empty\)", "needs a regex or keywords"),
    ({"tools": {"timezone": "Mars/Olympus_Mons"}}, r"tools\.timezone", "unknown time zone 'Mars/Olympus_Mons'"),
    ({"tools": {"timezone": "../../etc/passwd"}}, r"tools\.timezone", "unknown time zone"),
    ({"tools": {"holidays": ["2026-12-25", "Christmas"]}}, r"tools\.holidays\[1\]", "date"),
    ({"tools": {"http": [{"name": "s", "url": "http://user:pw@status.internal/api"}]}}, r"tools\.http\[0\] \(s\)\.url",
     "credentials"),
    ({"tools": {"http": [{"name": "s", "url": "http://status.internal:99999/api"}]}}, r"tools\.http\[0\] \(s\)\.url",
     "well-formed"),
    ({"tools": {"http": [{"name": "s", "url": "http://a/"}, {"name": "s", "url": "http://b/"}]}}, r"tools",
     "unique"),
    ({"schedules": [{"id": "weekly", "workflow": "digest", "cron": "61 9 * * MON", "goal": "g", "channel": "C0GEN",
                     "requester": "U0REQ"}]}, r"schedules\[0\] \(weekly\)\.cron", "invalid cron"),
    ({"schedules": [{"id": "w", "workflow": "digest", "cron": "0 9 * * MON", "goal": "g", "channel": "C0GEN",
                     "requester": "U0REQ"}] * 2}, "", "schedule ids must be unique"),
    ({"collections": {"handbook": ["readers"]}}, "", "collection 'handbook' names unknown role 'readers'"),
    ({"collections": {}, "workflows": [{"id": "ask", "steps": [{"kind": "retrieve", "collection": "handbook"}]}]},
     "", "workflow 'ask' reads unknown collection 'handbook'"),
    ({"admin_roles": ["admins"]}, "", "admin_roles names unknown role 'admins'"),
    ({"review": {"channel": "general"}}, r"review\.channel", "pattern"),
    ({"models": [{"name": "x", "kind": "openai-compatible", "base_url": "ftp://llm"}]}, r"models\[0\] \(x\)\.base_url",
     "http"),
    ({"models": [{"name": "x", "kind": "openai-compatible", "api_key_env": "MY KEY"}]},
     r"models\[0\] \(x\)\.api_key_env", "environment variable"),
])
def test_refused_at_load_naming_the_key(change: dict[str, Any], where: str, what: str) -> None:
    with pytest.raises(ConfigError, match=rf"maple\.yaml: .*{where}.*") as caught:
        load(shipped(**change))
    assert what in str(caught.value), caught.value


def test_workflow_steps_are_checked() -> None:
    data = shipped()
    steps = data["workflows"][0]["steps"]
    for bad_step, what in (({"kind": "tool", "tool": "shell"}, "a tool step names one of"),
                           ({"kind": "deliver", "to": "channel"}, "needs channel"),
                           ({"kind": "review", "approver_roles": ["nobody"]}, "unknown role 'nobody'"),
                           ({"kind": "tool", "tool": "http"}, "tools.http lists no target"),
                           ({"kind": "deliver", "to": "channel", "channel": "#general"}, "pattern")):
        data["workflows"][0]["steps"] = [*steps, bad_step]
        with pytest.raises(ConfigError, match="maple.yaml") as caught:
            load(data)
        assert what in str(caught.value), (bad_step, caught.value)


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(\w+\s?)*$", r"(a|ab)*c", r"(x{1,3})+y", r"((ab)*)+", r"(\d+)*",
                                     r"(?:[a-z]+,?)+;", r"(\w|\d\d)+!"])
def test_catastrophic_patterns_are_refused(pattern: str) -> None:
    assert regex_problem(pattern) and "backtrack" in (regex_problem(pattern) or "")


@pytest.mark.parametrize("pattern", [r"CASE-\d{6}", r"falcon-(\d+)", r"(foo|bar)+", r"(\d{3}-)+\d{4}", r"\bP-\d+\b",
                                     r"(?i)project\s+(falcon|eagle)", r"[A-Z]{2}\d{6}"])
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    assert regex_problem(pattern) is None


def test_dangerous_grants_are_warned_about() -> None:
    spec = load(shipped(roles={"user": ["*"], "reviewer": ["*"], "admin": ["*"]},
                        review={"allow_self_approval": True}))
    warnings = "\n".join(config_warnings(spec))
    assert 'roles.admin contains "*" and is an admin role' in warnings
    assert 'roles.reviewer contains "*" and approves draft, summarize' in warnings
    assert "allow_self_approval" in warnings
    assert 'roles.user' not in warnings  # "*" among runners is the intended default


def test_config_check_refuses_and_warns(tmp_path: Path) -> None:
    env = {**os.environ, "SLACK_BOT_TOKEN": "", "OPENAI_API_KEY": ""}
    bad = tmp_path / "maple.yaml"
    bad.write_text(yaml.safe_dump(shipped(sensitivity={"patterns": [{"name": "falcon", "regex": r"falcon-(\d+"}]})))
    failed = subprocess.run([sys.executable, "-m", "bot.cli", "config", "check"], env={**env, "MAPLE_CONFIG": str(bad)},
                            capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1 and "sensitivity.patterns[0] (falcon).regex" in failed.stderr
    assert "Traceback" not in failed.stderr
    risky = tmp_path / "risky.yaml"
    risky.write_text(yaml.safe_dump(shipped(roles={"user": ["*"], "reviewer": ["U0REVIEW"], "admin": ["*"]})))
    ok = subprocess.run([sys.executable, "-m", "bot.cli", "config", "check"], env={**env, "MAPLE_CONFIG": str(risky)},
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and 'warning: roles.admin contains "*"' in ok.stderr
    assert json.loads(ok.stdout)["warnings"]
