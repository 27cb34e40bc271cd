"""Making untrusted text (model output, goals) safe for Slack mrkdwn, and splitting it to Block Kit limits."""

from __future__ import annotations

import re

SECTION_LIMIT = 3000
MESSAGE_BLOCK_LIMIT = 50
INPUT_LIMIT = 3000

_SPECIAL = re.compile(r"<!(channel|here|everyone|subteam\^[A-Z0-9]+)[^>]*>", re.IGNORECASE)
_BARE_BROADCAST = re.compile(r"(?<![\w`])@(channel|here|everyone)\b", re.IGNORECASE)
_ZWSP = "\u200b"


def escape(text: str) -> str:
    """Escape ``& < >`` so nothing in ``text`` becomes a mention, a broadcast or a link, and defuse bare
    ``@channel``/``@here``/``@everyone`` with a zero-width space. The result renders as the original text."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BARE_BROADCAST.sub(lambda m: "@" + _ZWSP + m.group(1), text)


def neutralise(text: str) -> str:
    """Like ``escape`` but for text already written as mrkdwn by someone we don't trust: broadcasts, user and
    group mentions and links lose their angle brackets (and so their power) and read as plain text."""
    text = _SPECIAL.sub(lambda m: "@" + _ZWSP + m.group(1).split("^")[0], text)
    return escape(text)


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
