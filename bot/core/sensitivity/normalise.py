"""The form the detectors read: what a person would see, not how it was typed.

``normalise(text)`` applies, character by character: Unicode NFKC (full-width digits and letters, ligatures,
superscripts), digits of any script as ASCII digits, accents dropped, format characters (category Cf: zero-width
spaces and joiners, soft hyphens, bidi controls), combining marks, control and unassigned characters dropped, every
kind of space as " ", every kind of dash as "-", and common Cyrillic/Greek look-alikes as their Latin letters. Then
runs of number words in English and French ("one three zero, six nine two…", "un trois zéro…") become digits.

Every character of the result remembers the span of the original it came from (``origin``), so a detector's match
maps back to the exact original text — for redaction, and for telling a bare number from a formatted one.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

_DROP = frozenset({"Cf", "Mn", "Me", "Cc", "Cs", "Co", "Cn"})
_SPACES = frozenset({"Zs", "Zl", "Zp"})
_DASHES = frozenset("\u2212\u2043\ufe63\uff0d")
_KEEP_ASCII_CONTROLS = frozenset("\t\n\r")
_LOOK_ALIKES = dict(zip(
    "аеорсухіјѕԁАВЕКМНОРСТХІЈЅοαρνΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdABEKMHOPCTXIJSoapvABEZHIKMNOPTYX", strict=True))
_NUMBER_WORDS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9",
    "un": "1", "une": "1", "deux": "2", "trois": "3", "quatre": "4", "cinq": "5", "sept": "7", "huit": "8",
    "neuf": "9",
}
_WORD_ALT = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_TOKEN = re.compile(rf"(?:{_WORD_ALT})(?![a-z])|\d+(?![a-z])")
_RUN = re.compile(rf"(?<![a-z0-9])(?:(?:{_WORD_ALT})|\d+)(?![a-z])(?:[\s,./\-]{{1,3}}(?:(?:{_WORD_ALT})|\d+)(?![a-z])){{3,}}")


@dataclass(frozen=True)
class Normalised:
    source: str
    text: str  # case kept
    folded: str  # lower case, same length as ``text``
    starts: tuple[int, ...] | None = None  # original start of each character; None when unchanged
    ends: tuple[int, ...] | None = None

    def origin(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that ``text[start:end]`` came from."""
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            at = self.starts[start] if start < len(self.starts) else len(self.source)
            return at, at
        return self.starts[start], self.ends[end - 1]

    def raw(self, start: int, end: int) -> str:
        a, b = self.origin(start, end)
        return self.source[a:b]


@functools.lru_cache(maxsize=16384)
def _char(ch: str) -> str:
    if ch in _LOOK_ALIKES:
        return _LOOK_ALIKES[ch]
    if ch in _KEEP_ASCII_CONTROLS:
        return ch
    category = unicodedata.category(ch)
    if category in _DROP:
        return ""
    if category in _SPACES:
        return " "
    if category == "Pd" or ch in _DASHES:
        return "-"
    if category == "Nd":
        return str(unicodedata.digit(ch))
    composed = unicodedata.normalize("NFKC", ch)
    out = []
    for part in unicodedata.normalize("NFKD", composed):
        if unicodedata.combining(part) or unicodedata.category(part) in _DROP:
            continue
        out.append(_LOOK_ALIKES.get(part, "-" if unicodedata.category(part) == "Pd" else part))
    return "".join(out)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _plain(text: str) -> bool:
    return text.isascii() and not _CONTROL.search(text)


def _fold(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


_SPECIAL = re.compile(r"[^\x20-\x7e]")


def normalise(text: str) -> Normalised:
    if _plain(text):
        base, starts, ends = text, None, None
    else:
        parts: list[str] = []
        first: list[int] = []
        last: list[int] = []
        at = 0
        for m in _SPECIAL.finditer(text):
            i = m.start()
            parts.append(text[at:i])
            first.extend(range(at, i))
            last.extend(range(at + 1, i + 1))
            rep = _char(text[i])
            parts.append(rep)
            first.extend([i] * len(rep))
            last.extend([i + 1] * len(rep))
            at = i + 1
        parts.append(text[at:])
        first.extend(range(at, len(text)))
        last.extend(range(at + 1, len(text) + 1))
        base, starts, ends = "".join(parts), first, last
    folded = _fold(base)
    if _RUN.search(folded):
        return _spell_numbers(text, base, folded, starts, ends)
    return Normalised(text, base, folded, None if starts is None else tuple(starts),
                      None if ends is None else tuple(ends))


def _spell_numbers(source: str, base: str, folded: str, starts: list[int] | None,
                   ends: list[int] | None) -> Normalised:
    """Runs of at least four number tokens (words or digit groups) with at least one word: each word becomes its
    digit; words separated only by spaces are joined ("one three zero" → "130"), other separators are kept."""
    first = starts if starts is not None else list(range(len(base)))
    last = ends if ends is not None else list(range(1, len(base) + 1))
    out: list[str] = []
    new_first: list[int] = []
    new_last: list[int] = []

    def keep(a: int, b: int) -> None:
        out.append(base[a:b])
        new_first.extend(first[a:b])
        new_last.extend(last[a:b])

    at = 0
    for run in _RUN.finditer(folded):
        keep(at, run.start())
        previous_word, cursor = False, run.start()
        for token in _TOKEN.finditer(folded, run.start(), run.end()):
            word = token.group(0) in _NUMBER_WORDS
            gap = folded[cursor:token.start()]
            if not (word and previous_word and gap.strip() == ""):
                keep(cursor, token.start())
            if word:
                out.append(_NUMBER_WORDS[token.group(0)])
                new_first.append(first[token.start()])
                new_last.append(last[token.end() - 1])
            else:
                keep(token.start(), token.end())
            previous_word, cursor = word, token.end()
        keep(cursor, run.end())
        at = run.end()
    keep(at, len(base))
    text = "".join(out)
    return Normalised(source, text, _fold(text), tuple(new_first), tuple(new_last))
