"""Goal → workflow, locally and deterministically, or an explicit "ask back".

Three kinds of evidence are added per workflow:

- **cues** for the shipped workflows (``bot.core.intent.cues``): the goal's frame — a request, a question, a noun
  phrase — and the verb at its head, arithmetic and date math, a recurring time, what a question is about;
- **keywords** of every workflow from the config: a little for each one met, a lot when one is the goal's head
  verb (that is how a workflow the config adds is recognised);
- **similarity** to each workflow's examples (its config ``examples`` and description, plus the phrasings in
  ``bot.core.intent.bank`` for the shipped ones) over character n-grams, which survive typos and French endings.

The text is normalised first (Slack markup, entities, emoji codes, accents, typos of intent words, quantities in
words). A goal with no content words, a short one with no cue, or a message with nothing to say ("draft") is
**vague**: ``workflow`` is None and Maple asks the person — it is never guessed and never sent to a model. Otherwise ``confidence`` grows with the evidence for
the best workflow and its lead over the next; below the configured threshold Maple asks a cleared classify model
if one is available (``needs_model`` / ``model_prompt``), else the person. No model call here; everything about
the workflows is computed when the classifier is built.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from bot.core.intent import cues
from bot.core.intent.bank import PHRASINGS
from bot.core.intent.ngrams import NgramIndex
from bot.core.intent.normal import plain
from bot.core.models import ChatMessage
from bot.core.spec import WorkflowSpec

SIMILARITY_WEIGHT = 1.5
SIMILARITY_FLOOR = 0.2  # cosines under this are what any two short sentences share
KEYWORD_WEIGHT, KEYWORD_CAP, HEAD_KEYWORD = 0.25, 3, 3.5
EVIDENCE_FULL, LEAD_FULL = 3.0, 1.5
VAGUE_CONTENT, VAGUE_EVIDENCE = 2, 2.0


class Classification(BaseModel):
    model_config = ConfigDict(frozen=True)

    workflow: str | None
    confidence: float
    ranked: list[tuple[str, float]]
    reason: str
    vague: bool = False


def normalize(text: str) -> str:
    """The plain form of a goal: Slack markup as words, entities decoded, emoji codes dropped, accents folded."""
    return plain(text)


def confidence(ranked: Sequence[tuple[str, float]]) -> float:
    """Evidence for the best workflow times its lead over the next, each saturating at 1."""
    top = ranked[0][1] if ranked else 0.0
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if top <= 0:
        return 0.0
    return round(min(1.0, top / EVIDENCE_FULL) * min(1.0, (top - second) / LEAD_FULL), 3)


class Classifier:
    def __init__(self, workflows: Sequence[WorkflowSpec]) -> None:
        self._workflows = list(workflows)
        examples = {wf.id: [*wf.examples, wf.description, *PHRASINGS.get(wf.id, ())] for wf in workflows}
        self.examples: dict[str, list[str]] = {wid: [t for t in texts if t.strip()] for wid, texts in examples.items()}
        self._index = NgramIndex(self.examples)
        self._keywords = {wf.id: [plain(k) for k in wf.keywords if plain(k)] for wf in workflows}
        self._patterns = {wid: [(kw, re.compile(rf"(?<![\w#]){re.escape(kw)}(?:s|es)?(?!\w)")) for kw in kws]
                          for wid, kws in self._keywords.items()}

    def _keyword_hits(self, wid: str, text: str) -> list[str]:
        return [kw for kw, pattern in self._patterns[wid] if pattern.search(text)]

    def _head_keyword(self, wid: str, text: str) -> str | None:
        heads = {cues.strip_lead(c)[0].split(" ", 1)[0] for c in cues.clauses(text)[:2]}
        return next((kw for kw in self._keywords[wid] if kw in heads), None)

    def _score(self, wf: WorkflowSpec, reading: cues.Reading, similar: dict[str, float]) -> tuple[float, list[str]]:
        hits = self._keyword_hits(wf.id, reading.text)
        score = min(len(hits), KEYWORD_CAP) * KEYWORD_WEIGHT
        reasons = [f"keywords: {', '.join(hits[:3])}"] if hits else []
        if wf.id in cues.SHIPPED:
            score += reading.scores[wf.id]
            reasons[:0] = [reading.reasons[wf.id]] if wf.id in reading.reasons else []
        elif (head := self._head_keyword(wf.id, reading.text)) is not None:
            score += HEAD_KEYWORD
            reasons.insert(0, f"starts with {head!r}")
        sim = similar.get(wf.id, 0.0)
        if sim > SIMILARITY_FLOOR:
            score += SIMILARITY_WEIGHT * (sim - SIMILARITY_FLOOR)
            reasons.append(f"like its examples ({sim:.2f})")
        return score, reasons

    def classify(self, goal: str) -> Classification:
        reading = cues.read(goal)
        similar = self._index.similarity(reading.text) if reading.content else {}
        scored = {wf.id: self._score(wf, reading, similar) for wf in self._workflows}
        ranked = sorted(((wid, round(s, 3)) for wid, (s, _r) in scored.items()), key=lambda x: (-x[1], x[0]))
        evidence = max((s for s, _r in scored.values()), default=0.0)
        draft_alone = reading.content <= 1 and bool(ranked) and ranked[0][0] == "draft"  # a message about nothing
        if reading.content == 0 or draft_alone or (reading.content <= VAGUE_CONTENT and evidence < VAGUE_EVIDENCE):
            why = "no content words" if reading.content == 0 else "too short to tell"
            return Classification(workflow=None, confidence=0.0, ranked=ranked, reason=why, vague=True)
        if not ranked:
            return Classification(workflow=None, confidence=0.0, ranked=ranked, reason="no workflows")
        best = ranked[0][0]  # with no evidence at all, a candidate with confidence 0: a model may still place it
        if ranked[0][1] <= 0:
            return Classification(workflow=best, confidence=0.0, ranked=ranked, reason="nothing recognisable")
        return Classification(workflow=best, confidence=confidence(ranked), ranked=ranked,
                              reason="; ".join(scored[best][1]) or "weak match")


def needs_model(found: Classification, threshold: float) -> bool:
    return found.workflow is None or found.confidence < threshold


def model_prompt(goal: str, workflows: Sequence[WorkflowSpec]) -> list[ChatMessage]:
    listing = "\n".join(f"- {wf.id}: {wf.description}" for wf in workflows)
    system = ("You route requests to workflows. Answer with exactly one workflow id from the list, or the word "
              "none if no workflow fits. Answer with the id only.\n" + listing)
    return [ChatMessage(role="system", content=system), ChatMessage(role="user", content=goal[:2000])]


def parse_model_choice(text: str, ids: Sequence[str]) -> str | None:
    """The workflow id a model answered with, if it answered with exactly one known id."""
    words = set(re.findall(r"[a-z][a-z0-9_-]*", text.lower()))
    found = [i for i in ids if i in words]
    return found[0] if len(found) == 1 else None
