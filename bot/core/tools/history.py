"""Reading a channel or thread for summaries — only where the requester is a member, never everything Maple can read."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

from bot.core import text as say
from bot.core.errors import ToolDenied

_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>")
MAX_CHARS = 12_000
WINDOW_MAX_CHARS = 250_000  # a digest's period: read whole (thousands of messages), summarized in parts
WINDOW_MAX_MESSAGES = 10_000
EMPTY_WINDOW = "(nothing was posted in this period)"
SourceKind = Literal["public", "private", "dm", "shared"]


@dataclass(frozen=True)
class HistoryMessage:
    user: str
    text: str
    ts: str


class ChannelReader(ABC):
    @abstractmethod
    async def members(self, channel: str) -> frozenset[str]: ...

    @abstractmethod
    async def kind(self, channel: str) -> SourceKind:
        """public, private, dm (incl. group DMs) or shared (Slack Connect)."""

    @abstractmethod
    async def history(self, channel: str, *, thread_ts: str | None, limit: int) -> list[HistoryMessage]: ...

    async def window(self, channel: str, *, oldest: str, latest: str, max_messages: int) -> list[HistoryMessage]:
        """Every top-level message posted in (``oldest``, ``latest``) (Slack ts), paged; at most ``max_messages``.
        This default reads one page; the Slack reader pages through ``conversations.history``."""
        low, high = float(oldest), float(latest)
        return [m for m in await self.history(channel, thread_ts=None, limit=min(max_messages, 1000))
                if low < float(m.ts) < high]


_TYPED_CHANNEL = re.compile(r"(?<![\w<&#/|])#([a-z0-9_-]*[a-z][a-z0-9_-]*)", re.IGNORECASE)


def channel_in(goal: str) -> str | None:
    match = _CHANNEL.search(goal)
    return match.group(1) if match else None


def unlinked_channel(goal: str) -> str | None:
    """A ``#name`` typed in the goal that Slack did not turn into a channel link — a channel that does not exist
    or that the person cannot see (with ``should_escape``, Slack links every channel they can)."""
    match = _TYPED_CHANNEL.search(_CHANNEL.sub("", goal))
    return match.group(1) if match else None


@dataclass(frozen=True)
class Conversation:
    """What was read, and who may read it: ``readers`` None for a public channel (anyone in the workspace)."""

    text: str
    source: str
    kind: SourceKind
    readers: frozenset[str] | None
    count: int = 0


async def read_conversation(
    reader: ChannelReader, *, requester: str, channel: str, thread_ts: str | None, origin: str, limit: int = 200,
    oldest: str | None = None, latest: str | None = None,
) -> Conversation:
    """Read a channel or thread for ``requester`` — only one they are a member of. A direct message is read
    only when it is the conversation the request came from (the requester's own DM with Maple). With
    ``oldest``/``latest`` (a schedule's period) every message of the period is read, not the latest ones."""
    if channel.startswith("D"):
        if channel != origin:
            raise ToolDenied(say.HISTORY_DM_ONLY_HERE)
        kind: SourceKind = "dm"
        members = frozenset({requester})
    else:
        members = await reader.members(channel)
        if requester not in members:
            raise ToolDenied(say.history_not_member(channel))
        kind = await reader.kind(channel)
    readers = None if kind == "public" else members
    if oldest is not None and latest is not None:
        period = await reader.window(channel, oldest=oldest, latest=latest, max_messages=WINDOW_MAX_MESSAGES)
        lines = [f"{m.user}: {m.text}" for m in sorted(period, key=lambda m: float(m.ts)) if m.text.strip()]
        whole = "\n".join(lines)[:WINDOW_MAX_CHARS]
        return Conversation(text=whole or EMPTY_WINDOW, source=channel, kind=kind, readers=readers, count=len(lines))
    messages = await reader.history(channel, thread_ts=thread_ts, limit=limit)
    lines = [f"{m.user}: {m.text}" for m in sorted(messages, key=lambda m: float(m.ts)) if m.text.strip()]
    text = "\n".join(lines)
    return Conversation(text=text[-MAX_CHARS:] if text else "(the conversation is empty)", source=channel,
                        kind=kind, readers=readers, count=len(lines))
