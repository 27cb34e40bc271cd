"""`maple config check` and `maple tools` connect to each MCP server, list its tools and say which are allowed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.harness import spec_dict
from tests.mcp_env import LOG_ENV, ROOT, stdio_server


def maple(tmp_path: Path, *args: str, allow: list[str], log: bool = True) -> subprocess.CompletedProcess[str]:
    data = spec_dict()
    data["tools"] = {**data.get("tools", {}), "mcp": [stdio_server(allow=allow, side_effects=["create_ticket"])]}
    config = tmp_path / "maple.yaml"
    config.write_text(yaml.safe_dump(data))
    env = {k: v for k, v in os.environ.items() if k != LOG_ENV}
    env.update({"MAPLE_CONFIG": str(config), "SLACK_BOT_TOKEN": "", **({LOG_ENV: str(tmp_path / "log")} if log else {})})
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_config_check_lists_the_servers_tools(tmp_path: Path) -> None:
    done = maple(tmp_path, "config", "check", allow=["search", "create_ticket"])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["mcp"]["tickets"]
    tools = {t["name"]: t for t in report["tools"]}
    assert report["connected"] and tools["search"]["allowed"] and not tools["delete_all"]["allowed"]
    assert tools["create_ticket"]["side_effect"] and "allows side effects (create_ticket)" in done.stderr


def test_config_check_fails_on_a_tool_the_server_lacks_or_an_unreachable_server(tmp_path: Path) -> None:
    done = maple(tmp_path, "config", "check", allow=["search", "create_ticket", "teleport"])
    assert done.returncode == 1 and "allow lists 'teleport', which the server does not offer" in done.stderr
    done = maple(tmp_path, "config", "check", allow=["search", "create_ticket"], log=False)
    assert done.returncode == 1 and f"{LOG_ENV} not set" in done.stderr


def test_maple_tools_lists_every_tool_a_workflow_may_use(tmp_path: Path) -> None:
    done = maple(tmp_path, "tools", allow=["search", "create_ticket"])
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert {"calculator", "datetime", "slack_history", "tickets__search", "tickets__create_ticket"} <= set(rows)
    assert "tickets__delete_all" not in rows
    assert "yes, after approval" in rows["tickets__create_ticket"] and "Search the ticket system" in rows["tickets__search"]
