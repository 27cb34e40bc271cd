"""Reading a channel or thread for summaries — only where the requester is a member, never everything Maple can read."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass

from bot.core.errors import ToolDenied

_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>")
MAX_CHARS = 12_000


@dataclass(frozen=True)
class HistoryMessage:
    user: str
    text: str
    ts: str


class ChannelReader(ABC):
    @abstractmethod
    async def members(self, channel: str) -> frozenset[str]: ...

    @abstractmethod
    async def history(self, channel: str, *, thread_ts: str | None, limit: int) -> list[HistoryMessage]: ...


def channel_in(goal: str) -> str | None:
    match = _CHANNEL.search(goal)
    return match.group(1) if match else None


async def read_conversation(
    reader: ChannelReader, *, requester: str, channel: str, thread_ts: str | None, limit: int = 200
) -> str:
    if not channel.startswith("D") and requester not in await reader.members(channel):
        raise ToolDenied(f"you are not a member of <#{channel}>, so Maple will not read it for you")
    messages = await reader.history(channel, thread_ts=thread_ts, limit=limit)
    lines = [f"{m.user}: {m.text}" for m in sorted(messages, key=lambda m: float(m.ts)) if m.text.strip()]
    text = "\n".join(lines)
    return text[-MAX_CHARS:] if text else "(the conversation is empty)"
