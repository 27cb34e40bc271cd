"""What a goal says, in one plain form: Slack markup, HTML entities and emoji codes out, lower case, accents
folded, typos of the words that carry intent corrected, quantities written in words as digits.

``plain`` keeps who and where in words (a mention becomes ``someone``, a channel ``#name``); ``prepare`` adds the
corrections the cues read. Everything is a regular expression or a dictionary look-up: linear in the text, which
is cut to ``MAX_CHARS`` first.
"""

from __future__ import annotations

import functools
import re
import unicodedata

MAX_CHARS = 1000  # what a goal is for is said at its start; the rest of a long goal is its material
_USER = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#C[A-Z0-9]+(?:\|([^>|]*))?>")
_LINK = re.compile(r"<(?:https?|mailto):[^>|]*(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<![^>]*>|<[^>]*>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_EMOJI = re.compile(r"(?<![\w:]):[a-z0-9_+'-]*[a-z][a-z0-9_+'-]*:(?![\w:])")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00ab": '"', "\u00bb": '"',
                         "\u2013": " - ", "\u2014": " - ", "\u00a0": " ", "\u202f": " "})
_EMPHASIS = re.compile(r"(?<!\w)([*~`_]+)(?=[^\s\d*~`_])([^*~`\n]*?[^\s\d*~`_])\1(?!\w)")  # *bold* _italic_ `code`
_MARKDOWN = re.compile(r"```|^\s*>+\s?|(?<=\s)>+\s|(?:^|(?<=\s))@(?=\w)")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[a-z]+")

# Words whose typos are worth correcting: the ones the cues read. Longer than four letters: one edit away
# (a deletion on either side) with the same first letter; four letters: a swap of two neighbours only. Real
# words one edit away from a cue word ("white" / "write", "threat" / "thread") are kept as typed.
LEXICON = frozenset("""
draft write compose reply respond prepare announce announcement message email letter reminder invitation
statement response apology memo summarize summarise summary recap discussion conversation channel thread
highlights takeaways overview condense calculate compute convert average divide divided multiply multiplied
percent minus total explain policy procedure process digest weekly daily monthly morning evening schedule
rediger ecrire reponse courriel resumer resume annonce calcule what where when which
""".split())
_KEEP = frozenset("white wrote writer threat dairy dally weakly replay wright writs summer summit remainder there "
                  "these those whose while totem".split())

_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i > 1}
_FR = {"deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
       "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "vingt": 20, "vingts": 20,
       "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60}
_SMALL = {**_UNITS, **_TENS, **_FR}
_SCALES = {"hundred": 100, "cent": 100, "cents": 100, "thousand": 1000, "mille": 1000, "million": 10**6,
           "millions": 10**6}
_NUM = "|".join(sorted([*_SMALL, *_SCALES], key=len, reverse=True))
_START = "|".join(sorted([*_SMALL, "hundred", "thousand", "million", "cent", "mille"], key=len, reverse=True))
_QUANTITY = re.compile(
    rf"\b(?:a\s+(?=hundred|thousand|million))?(?:{_START})\b"
    rf"(?:(?:\s+|-)(?:et\s+)?(?:{_NUM})\b|(?<=hundred)\s+and\s+(?:{_NUM})\b|(?<=thousand)\s+and\s+(?:{_NUM})\b)*")
_PERCENT = re.compile(r"\b(?:per\s?cent|pour\s?cent|pourcent|pct)\b")


def plain(goal: str) -> str:
    """Slack's markup as words, entities decoded, emoji codes dropped, lower case, accents folded."""
    text = _USER.sub(" someone ", goal[:MAX_CHARS])
    text = _CHANNEL.sub(lambda m: f" #{(m.group(1) or 'channel').strip()} ", text)
    text = _LINK.sub(lambda m: f" {m.group(1) or 'link'} ", text)
    text = _SPECIAL.sub(" ", text)
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    folded = unicodedata.normalize("NFKD", text.translate(_QUOTES).lower())
    text = "".join(ch for ch in folded if not unicodedata.combining(ch))
    text = _EMPHASIS.sub(lambda m: f" {m.group(2)} ", _MARKDOWN.sub(" ", _EMOJI.sub(" ", text)))
    return _SPACE.sub(" ", text).strip()


def prepare(goal: str) -> str:
    """``plain`` with typos of intent words corrected and quantities written in words as digits."""
    text = _WORD.sub(lambda m: correct(m.group(0)), plain(goal))
    return _PERCENT.sub("percent", _QUANTITY.sub(_quantity, text))


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _swaps(word: str) -> set[str]:
    return {word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1)}


@functools.cache
def _index() -> tuple[dict[str, str], dict[str, str]]:
    near: dict[str, str] = {}
    swapped: dict[str, str] = {}
    for word in sorted(LEXICON):
        if len(word) > 4:
            for key in _deletions(word) | {word}:
                near.setdefault(key, word)
        else:
            for key in _swaps(word):
                swapped.setdefault(key, word)
    return near, swapped


@functools.lru_cache(maxsize=4096)
def correct(word: str) -> str:
    """The lexicon word ``word`` is a typo of, else ``word``."""
    if word in LEXICON or word in _KEEP or len(word) < 4 or len(word) > 14:
        return word
    near, swapped = _index()
    if len(word) == 4:
        return swapped.get(word, word)
    for key in (word, *sorted(_deletions(word))):
        found = near.get(key)
        if found and found[0] == word[0] and abs(len(found) - len(word)) <= 1:
            return found
    return word


def _quantity(match: re.Match[str]) -> str:
    words = [w for w in re.split(r"[\s-]+", match.group(0)) if w not in ("a", "and", "et")]
    if len(words) == 1 and words[0] in ("cent", "cents"):
        return match.group(0)  # "50 cents", not a hundred
    total = current = 0
    for word in words:
        if word in _SCALES:
            scale = _SCALES[word]
            if scale == 100:
                current = max(current, 1) * 100
            else:
                total, current = total + max(current, 1) * scale, 0
        elif word in ("vingt", "vingts") and current in (4,):
            current *= 20  # quatre-vingt(s)
        else:
            current += _SMALL[word]
    return str(total + current)
