"""Parsing what follows ``/maple`` (or a mention / DM) into a command. Pure and Slack-free."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.core.models import looks_like_run_id

Kind = Literal["usage", "help", "status", "workflows", "sources", "run", "goal", "audit", "schedule", "schedules",
               "unknown"]
_RUN_ID = re.compile(r"\bR-[0-9A-Z]{16}\b")


@dataclass(frozen=True)
class Command:
    kind: Kind
    text: str = ""
    workflow: str = ""
    run_id: str = ""


def parse(raw: str) -> Command:
    text = raw.strip()
    if not text:
        return Command("usage")
    head, _, rest = text.partition(" ")
    word = head.lower()
    rest = rest.strip()
    if word in {"help", "?", "-h", "--help"} and not rest:
        return Command("help")
    if word == "workflows" and not rest:
        return Command("workflows")
    if word == "sources" and not rest:
        return Command("sources")
    if word == "status" and not rest:
        return Command("status")  # Maple's own status: controls in force, the queue; for admins, feedback
    if word in {"status", "audit"}:
        match = _RUN_ID.search(rest.upper())
        if match and looks_like_run_id(match.group(0)):
            return Command(word, run_id=match.group(0))  # type: ignore[arg-type]
        return Command(word, text=rest)  # type: ignore[arg-type]  # no id, or not one: the desk says which
    if word == "schedule":
        return Command("schedule", text=rest)
    if word == "schedules" and not rest:
        return Command("schedules")
    if word == "run":
        wf, _, goal = rest.partition(" ")
        return Command("run", workflow=wf.lower(), text=goal.strip())
    if len(text) < 2 or not any(ch.isalnum() for ch in text):
        return Command("unknown", text=text)
    return Command("goal", text=text)
