"""What an audit event may keep: attribute hygiene at the audit boundary.

The audit trail outlives runs (runs and their texts expire after ``audit.text_ttl_days``; the trail is kept
until it is trimmed), so it keeps only hashes and counts of anything people or models wrote. The rule is
enforced here, for every adapter (Redis and the in-memory fake call the same ``check_attrs``):

- **Names** are dotted lower-case (OpenTelemetry style). A name that says it holds text — a prompt, goal,
  draft, message, reason, note, comment… — is refused unless its last part says it is a digest or a count
  (``maple.review.reason.hmac``, ``maple.review.reason.length``, ``….hits``). ``text_attrs`` turns a text
  into exactly those attributes.
- **Values** are scalars or short lists of them. A string is a token — an id, a level, a model or tool name,
  ``rule:action`` — of at most ``MAX_TOKEN_CHARS`` characters, one line, at most ``MAX_TOKEN_WORDS`` words.
  Only the attributes Maple composes itself from its configuration (``MACHINE_TEXT``) may hold a sentence.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, Final

MAX_TEXT_CHARS: Final = 512
MAX_TOKEN_CHARS: Final = 128
MAX_TOKEN_WORDS: Final = 4
MAX_LIST_ITEMS: Final = 64
EVENT_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
# Sentences Maple writes itself from config names and error classes (never a user's or a model's words).
MACHINE_TEXT: Final = frozenset({"maple.route.reason"})


class UnsafeAttribute(ValueError):
    """An audit attribute that is malformed or would keep free text (record ``text_attrs()`` instead)."""


_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_ATTR = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_FREE_TEXT_WORDS = frozenset({
    "prompt", "prompts", "goal", "goals", "draft", "text", "content", "contents", "message", "messages", "body",
    "completion", "reply", "answer", "question", "query", "system_instructions", "instructions", "arguments",
    "result", "reason", "reasons", "note", "notes", "comment", "comments", "feedback", "summary", "description",
    "title", "explanation", "edit", "edits",
})
_SAFE_LAST = frozenset({"hmac", "digest", "sha256", "length", "chars", "count", "hits", "tokens", "version",
                        "id", "ids"})


def check_kind(kind: str) -> str:
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise UnsafeAttribute(f"event kind {kind!r} must be dotted lower-case, e.g. run.created")
    return kind


def check_event_id(event_id: str | None) -> str | None:
    if event_id is not None and (not isinstance(event_id, str) or not EVENT_ID.match(event_id)):
        raise UnsafeAttribute(f"event id {event_id!r} must match {EVENT_ID.pattern}")
    return event_id


def check_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Validate audit attributes; return a plain JSON-ready copy. Raise UnsafeAttribute."""
    clean: dict[str, Any] = {}
    for name, value in attrs.items():
        _check_name(name)
        if isinstance(value, list | tuple):
            if len(value) > MAX_LIST_ITEMS:
                raise UnsafeAttribute(f"attribute {name!r} has more than {MAX_LIST_ITEMS} items")
            clean[name] = [_scalar(name, item) for item in value]
        else:
            clean[name] = None if value is None else _scalar(name, value)
    return clean


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not _ATTR.match(name):
        raise UnsafeAttribute(f"attribute name {name!r} must be dotted lower-case, e.g. maple.route.chosen")
    parts = name.split(".")
    if name not in MACHINE_TEXT and _FREE_TEXT_WORDS.intersection(parts) and parts[-1] not in _SAFE_LAST:
        raise UnsafeAttribute(f"attribute {name!r} would keep free text: record text_attrs({name!r}, …) "
                              "(a keyed digest and a length) instead")


def _scalar(name: str, value: Any) -> str | int | float | bool:
    if isinstance(value, float) and not math.isfinite(value):
        raise UnsafeAttribute(f"attribute {name!r} is not a finite number")
    if isinstance(value, str):
        return _token(name, value)
    if not isinstance(value, str | int | float | bool):
        raise UnsafeAttribute(f"attribute {name!r} must be a string, number, boolean or a list of them")
    return value


def _token(name: str, value: str) -> str:
    limit = MAX_TEXT_CHARS if name in MACHINE_TEXT else MAX_TOKEN_CHARS
    if len(value) > limit:
        raise UnsafeAttribute(f"attribute {name!r} is longer than {limit} characters: free text?")
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value):
        raise UnsafeAttribute(f"attribute {name!r} holds line breaks or control characters: free text?")
    if name not in MACHINE_TEXT and len(value.split()) > MAX_TOKEN_WORDS:
        raise UnsafeAttribute(f"attribute {name!r} holds more than {MAX_TOKEN_WORDS} words: free text? "
                              f"record text_attrs({name!r}, …) instead")
    return value


def text_attrs(
    name: str, text: str | None, *, digest: Callable[[str], str], hits: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """What the audit keeps of a free text: ``{name}.hmac`` (a keyed digest), ``{name}.length`` (characters)
    and, when given, ``{name}.hits`` (detector hit counts, ``kind=count``). Nothing for ``None``."""
    if text is None:
        return {}
    out: dict[str, Any] = {f"{name}.hmac": digest(text), f"{name}.length": len(text)}
    if hits:
        out[f"{name}.hits"] = [f"{kind}={count}" for kind, count in sorted(hits.items())]
    return check_attrs(out)
