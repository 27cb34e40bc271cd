"""Real MCP servers for the tests (tests/fakes/mcp_server.py, written with the official SDK): one spawned over
stdio by Maple itself, one served over streamable HTTP by a process the test starts; and what they received."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOG_ENV = "MAPLE_TEST_MCP_LOG"
TOKEN_ENV = "MAPLE_TEST_MCP_TOKEN"
ALLOW = ["search", "patient", "inject", "big", "create_ticket", "risky", "crash", "hang", "garbage"]


def stdio_server(**changes: Any) -> dict[str, Any]:
    return {"name": "tickets", "transport": "stdio", "command": [sys.executable, "-m", "tests.fakes.mcp_server"],
            "cwd": str(ROOT), "env_from": {"MCP_FAKE_LOG": LOG_ENV}, "allow": ALLOW,
            "side_effects": ["create_ticket"], "timeout": 3, "connect_timeout": 20, **changes}


def http_server(url: str, **changes: Any) -> dict[str, Any]:
    return {"name": "desk", "transport": "streamable-http", "url": url,
            "headers_from_env": {"Authorization": TOKEN_ENV}, "allow": ALLOW, "side_effects": ["create_ticket"],
            "timeout": 3, "connect_timeout": 20, **changes}


def received(log: Path, tool: str | None = None) -> list[dict[str, Any]]:
    """The calls the server received (every process of it), optionally of one tool."""
    if not log.exists():
        return []
    calls = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [c for c in calls if tool is None or c["tool"] == tool]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HttpServer:
    """``python -m tests.fakes.mcp_server --http PORT`` in a process of its own (stoppable, restartable)."""

    def __init__(self, log: Path) -> None:
        self.log, self.port = log, free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> HttpServer:
        env = {"PATH": "/usr/bin:/bin", "MCP_FAKE_LOG": str(self.log)}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.mcp_server", "--http", str(self.port)],
                                     cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30  # generous: only stops a broken server from hanging the test
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if self.proc.poll() is not None:
                raise AssertionError("the MCP test server exited at start")
            time.sleep(0.05)
        raise AssertionError("the MCP test server did not start listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
