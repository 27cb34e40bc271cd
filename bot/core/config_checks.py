"""Checks of configuration values that can fail or surprise at run time, done once at load.

``regex_problem`` compiles an organisation's pattern and refuses those prone to catastrophic backtracking: a
repetition (``+``, ``*``, ``{2,}``) around something of variable length (``(a+)+``, ``(\\w{1,3})*``) or around
alternatives that can start alike (``(a|ab)+``). ``zone_problem`` checks a time zone exists; ``url_problem`` that an allowlisted
URL is a plain, well-formed http(s) URL.
"""

from __future__ import annotations

import re
import warnings
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

with warnings.catch_warnings():  # the parser behind ``re``; only its public tree shape is used
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as sc
    import sre_parse

_REPEATS = (sc.MAX_REPEAT, sc.MIN_REPEAT, getattr(sc, "POSSESSIVE_REPEAT", sc.MAX_REPEAT))
_ANY = frozenset({"*"})  # "could start with anything"
_CATEGORIES = {sc.CATEGORY_DIGIT: frozenset("0123456789"), sc.CATEGORY_SPACE: frozenset(" \t\n\r\f\v")}


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used (None when it can)."""
    try:
        re.compile(pattern)
        tree = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError, ValueError, TypeError) as exc:
        return f"is not a valid regular expression ({exc})"
    if _risky(list(tree.data), inside_repeat=False):
        return ("may backtrack catastrophically (a repetition around a variable-length or ambiguous part, such as "
                "(a+)+ or (a|ab)*); rewrite it without nested repetition")
    return None


def _risky(items: list[tuple[Any, Any]], *, inside_repeat: bool) -> bool:
    for op, av in items:
        if op in _REPEATS:
            low, high, body = av
            repeats = high is sc.MAXREPEAT or high > 1
            if inside_repeat and low != high:
                return True
            if _risky(list(body), inside_repeat=inside_repeat or repeats):
                return True
        elif op is sc.SUBPATTERN:
            if _risky(list(av[-1]), inside_repeat=inside_repeat):
                return True
        elif op is sc.BRANCH:
            branches = [list(b) for b in av[1]]
            if inside_repeat and _overlap([_first(b) for b in branches]):
                return True
            if any(_risky(b, inside_repeat=inside_repeat) for b in branches):
                return True
    return False


def _first(items: list[tuple[Any, Any]]) -> frozenset[str]:
    """Characters a match of ``items`` may start with (``_ANY`` when unknown or empty-able)."""
    for op, av in items:
        if op is sc.AT:
            continue
        if op is sc.LITERAL:
            return frozenset({chr(av)})
        if op is sc.SUBPATTERN:
            return _first(list(av[-1]))
        if op is sc.IN:
            return _in_set(av)
        if op in _REPEATS and av[0] > 0:
            return _first(list(av[2]))
        return _ANY
    return _ANY


def _in_set(av: list[tuple[Any, Any]]) -> frozenset[str]:
    chars: set[str] = set()
    for op, value in av:
        if op is sc.LITERAL:
            chars.add(chr(value))
        elif op is sc.RANGE and value[1] - value[0] < 512:
            chars.update(chr(c) for c in range(value[0], value[1] + 1))
        elif op is sc.CATEGORY and value in _CATEGORIES:
            chars.update(_CATEGORIES[value])
        else:
            return _ANY
    return frozenset(chars)


def _overlap(firsts: list[frozenset[str]]) -> bool:
    seen: set[str] = set()
    for first in firsts:
        if first is _ANY or seen & first:
            return True
        seen |= first
    return False


def zone_problem(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {name!r} (use an IANA name such as America/Toronto)"
    return None


def url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        return f"is not a well-formed URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host"
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        return "must not carry credentials, a query or a fragment"
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        return "must not contain spaces, control characters or backslashes"
    return None
