"""Summarizing more than fits in one model call: a busy period is cut into parts on message boundaries, each part
is summarized (a reserved, metered call like every other), and the part summaries are combined — again in parts
when even they do not fit. The generate step then writes the digest from the combined summaries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.core.models import ChatMessage

PART_CHARS = 10_000
MAX_ROUNDS = 4
PART_PROMPT = ("You are Maple. Below is one part of a longer conversation. Summarize this part in a few short "
               "bullet points: topics, decisions, open questions, owners. Do not invent anything.")
COMBINE_PROMPT = ("You are Maple. Below are summaries of consecutive parts of one conversation. Merge them into "
                  "one shorter set of bullet points, keeping every decision and open question.")

Complete = Callable[[list[ChatMessage]], Awaitable[str]]


def split_parts(whole: str, *, size: int = PART_CHARS) -> list[str]:
    """``whole`` in parts of at most ``size`` characters, cut at line ends (a longer line is cut where it must)."""
    parts: list[str] = []
    current: list[str] = []
    length = 0
    for line in whole.splitlines():
        while len(line) > size:
            if current:
                parts.append("\n".join(current))
                current, length = [], 0
            parts.append(line[:size])
            line = line[size:]
        if length + len(line) + 1 > size and current:
            parts.append("\n".join(current))
            current, length = [], 0
        current.append(line)
        length += len(line) + 1
    if current:
        parts.append("\n".join(current))
    return [p for p in parts if p.strip()]


async def condense(whole: str, *, limit: int, complete: Complete,
                   wrap: Callable[[str], str] = lambda part: part) -> tuple[str, int]:
    """Summaries of ``whole`` that fit in ``limit`` characters, and how many parts the text was read in. ``wrap``
    is applied to each part of ``whole`` itself (fencing untrusted text, part by part, so none is left outside)."""
    parts = split_parts(whole)
    first = len(parts)
    prompt = PART_PROMPT
    for round_no in range(MAX_ROUNDS):
        summaries = []
        for i, part in enumerate(parts, start=1):
            body = wrap(part) if round_no == 0 else part
            messages = [ChatMessage(role="system", content=prompt),
                        ChatMessage(role="user", content=f"Part {i} of {len(parts)}:\n{body}")]
            summaries.append((await complete(messages)).strip())
        joined = "\n\n".join(f"[part {i}] {s}" for i, s in enumerate(summaries, start=1))
        if len(joined) <= limit:
            return joined, first
        parts, prompt = split_parts(joined), COMBINE_PROMPT
    return joined[:limit], first
