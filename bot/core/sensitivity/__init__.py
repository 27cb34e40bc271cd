"""Sensitivity assessment of every text that may reach a model or a tool.

``assess(text)`` returns a level (public < internal < confidential < restricted) and the hits by type and count —
never the values. ``find_spans(text)`` gives non-overlapping spans of the original text, for redaction by
placeholder. Detection — built-in detectors and the organisation's patterns alike — runs on the normalised form of
the text (``normalise.py``), so zero-width characters, odd separators, full-width or spelled-out digits do not hide
a value; spans are mapped back to the original.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import re
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict

from bot.core.levels import Sensitivity
from bot.core.lru import Recent
from bot.core.sensitivity.detectors import DETECTORS, LEVELS, Span, fold
from bot.core.sensitivity.normalise import Normalised, normalise
from bot.core.spec import PatternSpec, SensitivitySpec

__all__ = ["Assessment", "Span", "assess", "assessor", "find_spans", "redact", "restore"]


class Assessment(BaseModel):
    model_config = ConfigDict(frozen=True)

    level: Sensitivity
    hits: dict[str, int]

    def merge(self, other: Assessment) -> Assessment:
        hits = dict(self.hits)
        for kind, count in other.hits.items():
            hits[kind] = hits.get(kind, 0) + count
        return Assessment(level=max(self.level, other.level), hits=hits)


@functools.lru_cache(maxsize=256)
def _compiled(regex: str | None, keywords: tuple[str, ...]) -> tuple[tuple[re.Pattern[str], bool], ...]:
    """(regex, on the folded text?) for a pattern: its regex on the normalised text, its keywords as whole words."""
    regexes = [(re.compile(regex, re.IGNORECASE), False)] if regex else []
    regexes += [(re.compile(rf"(?<!\w){re.escape(fold(k))}(?!\w)"), True) for k in keywords if fold(k)]
    return tuple(regexes)


def _custom(n: Normalised, patterns: Sequence[PatternSpec]) -> list[tuple[Span, Sensitivity]]:
    found: list[tuple[Span, Sensitivity]] = []
    for p in patterns:
        for rx, on_folded in _compiled(p.regex, tuple(p.keywords)):
            source = n.folded if on_folded else n.text
            found += [(Span(p.name, m.start(), m.end()), p.level) for m in rx.finditer(source) if m.end() > m.start()]
    return found


def _all_spans(text: str, patterns: Sequence[PatternSpec]) -> list[tuple[Span, Sensitivity]]:
    n = normalise(text)
    found = [(span, LEVELS[span.type]) for detect in DETECTORS for span in detect(n)]
    found += _custom(n, patterns)
    mapped = []
    for span, level in found:
        start, end = n.origin(span.start, span.end)
        if end > start:
            mapped.append((Span(span.type, start, end), level))
    return mapped


def find_spans(text: str, *, patterns: Sequence[PatternSpec] = ()) -> list[Span]:
    """Non-overlapping spans, the most sensitive (then longest) winning where they overlap."""
    ranked = sorted(_all_spans(text, patterns), key=lambda sl: (-sl[1], -(sl[0].end - sl[0].start), sl[0].start))
    starts: list[int] = []  # the spans taken so far, sorted by start; they never overlap one another
    taken: list[Span] = []
    for span, _level in ranked:
        i = bisect.bisect_left(starts, span.start)
        if i < len(taken) and taken[i].start < span.end:
            continue
        if i > 0 and taken[i - 1].end > span.start:
            continue
        starts.insert(i, span.start)
        taken.insert(i, span)
    return taken


def assess(text: str, *, patterns: Sequence[PatternSpec] = (), default: Sensitivity = Sensitivity.INTERNAL) -> Assessment:
    spans = find_spans(text, patterns=patterns)
    levels = {p.name: p.level for p in patterns}
    hits: dict[str, int] = {}
    level = default
    for span in spans:
        hits[span.type] = hits.get(span.type, 0) + 1
        level = max(level, LEVELS.get(span.type, levels.get(span.type, Sensitivity.RESTRICTED)))
    return Assessment(level=level, hits=hits)


def redact(text: str, *, patterns: Sequence[PatternSpec] = ()) -> tuple[str, dict[str, str]]:
    """Replace detected values with placeholders like ⟦EMAIL_1⟧; return the text and the mapping to restore."""
    mapping: dict[str, str] = {}
    counters: dict[str, int] = {}
    out, last = [], 0
    for span in find_spans(text, patterns=patterns):
        counters[span.type] = counters.get(span.type, 0) + 1
        token = f"⟦{span.type.upper()}_{counters[span.type]}⟧"
        mapping[token] = text[span.start:span.end]
        out += [text[last:span.start], token]
        last = span.end
    out.append(text[last:])
    return "".join(out), mapping


def restore(text: str, mapping: dict[str, str]) -> str:
    for token, value in mapping.items():
        text = text.replace(token, value)
    return text


RECENT = 128  # texts whose assessment an assessor remembers: a run's goal is assessed at several steps


def assessor(spec: SensitivitySpec) -> Callable[[str], tuple[Sensitivity, dict[str, int]]]:
    """The assessor the pipeline uses: built-in detectors plus the organisation's patterns, ``spec.default`` when
    nothing is found. A pure function of the text, so the last ``RECENT`` answers are remembered (in this process
    only, by a digest of the text, never the text)."""
    patterns = tuple(spec.patterns)
    recent: Recent[bytes, tuple[Sensitivity, dict[str, int]]] = Recent(RECENT)  # locked: worker threads call it too

    def run(text: str) -> tuple[Sensitivity, dict[str, int]]:
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        known = recent.get(key)
        if known is None:
            found = assess(text, patterns=patterns, default=spec.default)
            known = (found.level, dict(found.hits))
            recent.put(key, known)
        return known[0], dict(known[1])

    return run
