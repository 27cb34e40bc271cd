"""The embedding second opinion for uncertain goals, over a deterministic fake embedding model: it settles a goal
the local stage could not, leaves confident and vague goals alone, never sends a goal above its clearance, and a
failing or malformed embedder changes nothing."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence

import pytest

from bot.core.classify import Classifier
from bot.core.errors import ModelUnavailable
from bot.core.intent.embed import Embedder, EmbeddingIntent
from bot.core.levels import Sensitivity
from tests.unit.core_env import make_spec

SPEC = make_spec()
CLASSIFIER = Classifier(SPEC.workflows)
UNSURE = "squish the #design thread into three lines"  # no verb or noun the cues know

# Words that mean the same thing to this fake model: a vector counts the words of each concept.
CONCEPTS = (
    {"draft", "write", "compose", "message", "email", "note", "reply", "announcement", "courriel", "scribble"},
    {"what", "how", "who", "where", "when", "policy", "question", "explain", "quelle", "procédure"},
    {"summarize", "summary", "recap", "thread", "channel", "discussion", "conversation", "squish", "lines"},
    {"calculate", "percent", "times", "days", "divided", "total", "combien", "0", "*", "+", "/"},
    {"weekly", "daily", "digest", "every", "monday", "monthly", "roundup"},
)


class ConceptEmbedder(Embedder):
    """Deterministic: a text's vector is how many of its words belong to each concept (plus a small constant)."""

    def __init__(self, *, clearance: Sensitivity = Sensitivity.INTERNAL,
                 answer: Callable[[Sequence[str]], object] | None = None, fail: bool = False) -> None:
        self.name, self.clearance = "concepts", clearance
        self.calls: list[list[str]] = []
        self._answer, self._fail = answer, fail

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        await asyncio.sleep(0)  # a real call yields: let concurrent callers overlap
        if self._fail:
            raise ModelUnavailable("429 from the embedding endpoint")
        if self._answer is not None:
            return self._answer(texts)  # type: ignore[return-value]
        return [self._vector(t) for t in texts]

    @staticmethod
    def _vector(text: str) -> list[float]:
        words = text.lower().replace("#", " ").split()
        return [0.01 + sum(1.0 for w in words if w.strip("?.,!") in concept) for concept in CONCEPTS]


def stage(embedder: ConceptEmbedder) -> EmbeddingIntent:
    return EmbeddingIntent(examples=CLASSIFIER.examples, embedder=embedder, threshold=SPEC.classify_threshold)


async def test_an_uncertain_goal_is_settled_by_the_embedding() -> None:
    found = CLASSIFIER.classify(UNSURE)
    assert found.confidence < SPEC.classify_threshold  # the local stage alone asks back
    better = await stage(ConceptEmbedder()).reconsider(UNSURE, found, level=Sensitivity.INTERNAL)
    assert better.workflow == "summarize" and better.confidence >= SPEC.classify_threshold
    assert "embedding" in better.reason


async def test_a_goal_with_nothing_recognisable_is_placed_by_the_embedding() -> None:
    goal = "scribble something for the board re budget"
    found = CLASSIFIER.classify(goal)
    assert found.confidence == 0.0 and found.reason == "nothing recognisable" and not found.vague
    better = await stage(ConceptEmbedder()).reconsider(goal, found, level=Sensitivity.PUBLIC)
    assert better.workflow == "draft" and better.confidence >= SPEC.classify_threshold


async def test_confident_and_vague_goals_never_reach_the_embedder() -> None:
    embedder = ConceptEmbedder()
    intent = stage(embedder)
    for goal in ("draft a reply to the supplier about the late shipment", "thoughts?", "can you help"):
        found = CLASSIFIER.classify(goal)
        assert await intent.reconsider(goal, found, level=Sensitivity.PUBLIC) == found
    assert embedder.calls == []


async def test_a_goal_above_the_embedders_clearance_is_never_sent() -> None:
    embedder = ConceptEmbedder(clearance=Sensitivity.INTERNAL)
    found = CLASSIFIER.classify(UNSURE)
    assert await stage(embedder).reconsider(UNSURE, found, level=Sensitivity.CONFIDENTIAL) == found
    assert embedder.calls == []


@pytest.mark.parametrize("embedder", [
    ConceptEmbedder(fail=True),
    ConceptEmbedder(answer=lambda texts: [[1.0, 0.0]]),
    ConceptEmbedder(answer=lambda texts: "not vectors"),
    ConceptEmbedder(answer=lambda texts: [[math.nan] * 5 for _ in texts]),
    ConceptEmbedder(answer=lambda texts: [[1.0] * (2 + i % 2) for i, _ in enumerate(texts)]),
    ConceptEmbedder(answer=lambda texts: [[] for _ in texts]),
], ids=["unavailable", "wrong-count", "garbage", "nan", "mixed-dimensions", "empty"])
async def test_a_failing_or_malformed_embedder_changes_nothing(embedder: ConceptEmbedder) -> None:
    found = CLASSIFIER.classify(UNSURE)
    assert await stage(embedder).reconsider(UNSURE, found, level=Sensitivity.PUBLIC) == found
    assert embedder.calls  # it was asked, and its answer was refused


async def test_examples_are_embedded_once_for_goals_arriving_together() -> None:
    embedder = ConceptEmbedder()
    intent = stage(embedder)
    found = CLASSIFIER.classify(UNSURE)
    results = await asyncio.gather(*(intent.reconsider(UNSURE, found, level=Sensitivity.PUBLIC) for _ in range(5)))
    assert {r.workflow for r in results} == {"summarize"}
    example_calls = [c for c in embedder.calls if len(c) > 1]
    assert len(example_calls) == 1 and len(embedder.calls) == 6  # the examples once, then one call per goal
