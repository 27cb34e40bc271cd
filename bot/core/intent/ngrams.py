"""Character n-gram similarity between a goal and each workflow's example goals.

Each word (padded with spaces) gives its 3- to 5-character n-grams, so "summarise", "summarize" and "summaries",
or "rédiger" and "rédige", share most of their features and a typo costs a few n-grams, not the word. Weights are
TF-IDF (sublinear term frequency); the similarity to a workflow is the best cosine with one of its examples.
Channel names, mentions and numbers are reduced to their kind first, so "#eng-infra" matches "#support".
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

_CHANNEL = re.compile(r"(?:^|(?<=\s))#[\w.-]+")
_NUMBER = re.compile(r"\$?\d[\d,.]*")
_WORD = re.compile(r"[a-z0-9#]+")
MAX_WORDS, MAX_WORD_CHARS = 60, 30


def shape(text: str) -> str:
    """A prepared text with channel names and numbers reduced to their kind."""
    return _NUMBER.sub(" 0 ", _CHANNEL.sub(" #channel ", text))


def grams(text: str) -> Counter[str]:
    found: Counter[str] = Counter()
    for word in _WORD.findall(shape(text))[:MAX_WORDS]:
        padded = f" {word[:MAX_WORD_CHARS]} "
        for n in (3, 4, 5):
            found.update(padded[i:i + n] for i in range(max(1, len(padded) - n + 1)))
    return found


class NgramIndex:
    """Best cosine per label over examples; an inverted index keeps a query to the n-grams it shares."""

    def __init__(self, examples: Mapping[str, Sequence[str]]) -> None:
        docs = [(label, grams(text)) for label, texts in examples.items() for text in texts if text.strip()]
        df: Counter[str] = Counter(g for _label, counts in docs for g in counts)
        total = len(docs) or 1
        self._idf = {g: math.log(1 + total / n) for g, n in df.items()}
        self._labels = [label for label, _counts in docs]
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, (_label, counts) in enumerate(docs):
            for g, w in _unit(self._weights(counts)).items():
                self._postings[g].append((i, w))

    def _weights(self, counts: Counter[str]) -> dict[str, float]:
        return {g: (1 + math.log(c)) * self._idf.get(g, math.log(2)) for g, c in counts.items()}

    def similarity(self, text: str) -> dict[str, float]:
        query = _unit(self._weights(grams(text)))
        dots: dict[int, float] = defaultdict(float)
        for g, w in query.items():
            for i, v in self._postings.get(g, ()):
                dots[i] += w * v
        best: dict[str, float] = {}
        for i, dot in dots.items():
            label = self._labels[i]
            best[label] = max(best.get(label, 0.0), dot)
        return best


def _unit(vec: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {g: v / norm for g, v in vec.items()}
