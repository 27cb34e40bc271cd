"""A second opinion for goals the local stage is unsure of, from an embedding model when one is configured.

``Embedder`` is the port: texts in, one vector per text out, and the highest sensitivity the model may see.
``EmbeddingIntent`` embeds every workflow's examples once, then, for an uncertain goal, adds to each workflow's
local score how close the goal's embedding is to that workflow's nearest example, and recomputes the confidence.

What it never does: reconsider a vague goal (those are asked back, never guessed); send a goal above the
embedder's clearance (the local result stands — fail closed); let a failing or malformed embedder change
anything (the local result stands). It runs on the work path, after the ack, like the classify model.
"""

from __future__ import annotations

import asyncio
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

from bot.core.classify import Classification, confidence
from bot.core.errors import MapleError, ModelResponseError
from bot.core.levels import Sensitivity
from bot.core.ports import Lifecycle

WEIGHT = 3.0  # a perfect match adds (1 - FLOOR) × WEIGHT: enough to separate two workflows the cues could not
FLOOR = 0.3   # cosines under this say nothing about intent
MAX_GOAL_CHARS = 2000


class Embedder(Lifecycle, ABC):
    """An embedding model. Raises ModelError (ModelUnavailable for 429/5xx/timeouts) like a ChatModel."""

    name: str
    clearance: Sensitivity

    @abstractmethod
    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order, all of one dimension."""


class EmbeddingIntent:
    def __init__(self, *, examples: Mapping[str, Sequence[str]], embedder: Embedder, threshold: float) -> None:
        self._texts = [(wid, text) for wid, texts in examples.items() for text in texts if text.strip()]
        self._embedder = embedder
        self._threshold = threshold
        self._vectors: list[tuple[str, list[float]]] | None = None
        self._lock = asyncio.Lock()

    def uncertain(self, found: Classification) -> bool:
        """Worth a second opinion: not vague, and no workflow found at or above the threshold."""
        return not found.vague and (found.workflow is None or found.confidence < self._threshold)

    async def reconsider(self, goal: str, found: Classification, *, level: Sensitivity) -> Classification:
        """``found`` re-ranked with the embedder's view, or ``found`` itself when it must not or cannot help."""
        if not self.uncertain(found) or level > self._embedder.clearance:
            return found
        try:
            examples = await self._examples()
            [vector] = _checked(await self._embedder.embed([goal[:MAX_GOAL_CHARS]]), count=1)
        except (MapleError, ValueError):
            return found
        nearest: dict[str, float] = {}
        for wid, example in examples:
            nearest[wid] = max(nearest.get(wid, 0.0), _cosine(vector, example))
        return _rescored(found, nearest)

    async def _examples(self) -> list[tuple[str, list[float]]]:
        async with self._lock:  # embedded once, however many goals arrive together
            if self._vectors is None and not self._texts:
                self._vectors = []
            if self._vectors is None:
                vectors = _checked(await self._embedder.embed([t for _w, t in self._texts]), count=len(self._texts))
                self._vectors = [(wid, v) for (wid, _t), v in zip(self._texts, vectors, strict=True)]
            return self._vectors


def _rescored(found: Classification, nearest: Mapping[str, float]) -> Classification:
    bonus = {wid: WEIGHT * max(0.0, sim - FLOOR) for wid, sim in nearest.items()}
    ranked = sorted(((wid, round(score + bonus.get(wid, 0.0), 3)) for wid, score in found.ranked),
                    key=lambda x: (-x[1], x[0]))
    best = ranked[0][0]
    reason = f"{found.reason}; embedding close to {best} ({nearest.get(best, 0.0):.2f})"
    return Classification(workflow=best, confidence=confidence(ranked), ranked=ranked, reason=reason)


def _checked(vectors: object, *, count: int) -> list[list[float]]:
    """The embedder's answer, if it is ``count`` finite vectors of one non-zero dimension."""
    if not isinstance(vectors, list) or len(vectors) != count:
        raise ModelResponseError("embedder answered with the wrong number of vectors")
    dims = {len(v) if isinstance(v, list) else -1 for v in vectors}
    if len(dims) > 1 or 0 in dims or -1 in dims:
        raise ModelResponseError("embedder answered with vectors of different or no dimension")
    if not all(isinstance(x, int | float) and math.isfinite(x) for v in vectors for x in v):
        raise ModelResponseError("embedder answered with a value that is not a finite number")
    return [[float(x) for x in v] for v in vectors]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
