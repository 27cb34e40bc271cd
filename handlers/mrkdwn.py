"""Making untrusted text (model output, goals, reasons, tool results) safe for Slack mrkdwn, rendering Maple's
messages, and splitting text to Block Kit limits.

This is the one place untrusted text becomes mrkdwn: it is cut to length first, then escaped, and every limit
is checked on the escaped text.
"""

from __future__ import annotations

import re

from bot.core.text import CHANNEL_ID, LINK_URL, USER_ID, Channel, Link, Msg, Piece, Quote, User, render

SECTION_LIMIT = 3000
MESSAGE_BLOCK_LIMIT = 50
INPUT_LIMIT = 3000

_SPECIAL = re.compile(r"<!(channel|here|everyone|subteam\^[A-Z0-9]+)[^>]*>", re.IGNORECASE)
_BARE_BROADCAST = re.compile(r"(?<![\w`])@(channel|here|everyone)\b", re.IGNORECASE)
_ZWSP = "\u200b"
# Bidirectional embeddings, overrides and isolates reorder what a reader sees (U+202E makes "exe.txt" read
# "txt.exe"); they are shown as visible markers instead of taking effect.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def escape(text: str) -> str:
    """Escape ``& < >`` so nothing in ``text`` becomes a mention, a broadcast or a link, defuse bare
    ``@channel``/``@here``/``@everyone`` with a zero-width space, and show bidi controls as ``[U+202E]``."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _BIDI.sub(lambda m: f"[U+{ord(m.group(0)):04X}]", text)
    return _BARE_BROADCAST.sub(lambda m: "@" + _ZWSP + m.group(1), text)


def escape_within(text: str, limit: int, *, marker: str = "…") -> str:
    """``text`` escaped and at most ``limit`` characters long *after* escaping; cut text ends with ``marker``."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    room = limit - len(marker)
    low, high = 0, min(len(text), room)
    while low < high:  # the longest prefix whose escaped form fits
        mid = (low + high + 1) // 2
        if len(escape(text[:mid])) <= room:
            low = mid
        else:
            high = mid - 1
    return escape(text[:low]) + marker


def neutralise(text: str) -> str:
    """Like ``escape`` but for text already written as mrkdwn by someone we don't trust: broadcasts, user and
    group mentions and links lose their angle brackets (and so their power) and read as plain text."""
    text = _SPECIAL.sub(lambda m: "@" + _ZWSP + m.group(1).split("^")[0], text)
    return escape(text)


def _show(piece: Piece) -> str:
    if isinstance(piece, User):
        return f"<@{piece.id}>" if USER_ID.match(piece.id) else escape(piece.id[:40])
    if isinstance(piece, Channel):
        return f"<#{piece.id}>" if CHANNEL_ID.match(piece.id) else escape(piece.id[:40])
    if isinstance(piece, Link):
        label = escape_within(piece.label, piece.limit) or "link"
        url = piece.url or ""
        return f"<{url}|{label}>" if len(url) <= 1000 and LINK_URL.match(url) and "&" not in url else label
    assert isinstance(piece, Quote)
    return escape_within(piece.text, piece.limit)


def mrkdwn(message: Msg) -> str:
    """A Maple message as mrkdwn: its template as written, every argument escaped or made a checked mention."""
    return render(message, _show)


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters, preferring paragraph, line, then word breaks,
    and never cutting an escape sequence like ``&amp;`` in half."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = _best_cut(rest, limit)
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def _best_cut(text: str, limit: int) -> int:
    window = text[:limit]
    for sep in ("\n\n", "\n", " "):
        at = window.rfind(sep)
        if at > limit // 2:
            return at + len(sep)
    amp = window.rfind("&", max(0, limit - 6))
    if amp != -1 and ";" not in window[amp:]:
        return amp
    return limit
