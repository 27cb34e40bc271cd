"""Goal → workflow, locally: keywords and phrases, similarity to each workflow's example goals (TF-IDF cosine),
and cues for the shipped workflows (arithmetic → calc, a question → ask, recap words → summarize, recurring words
→ digest). No model call; deterministic; everything is precomputed when the classifier is built. A model is asked
only when this stage is not confident (see ``needs_model`` / ``model_prompt``)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict

from bot.core.models import ChatMessage
from bot.core.spec import WorkflowSpec

STOP = frozenset(
    "a an the to of for in on at by with about and or me my our we us you your i it this that these those is are be "
    "please pls can could would will from into up some any le la les un une des de du et pour sur dans au aux mon "
    "ma mes nos notre what whats how who when where which why many much do does did get give make new".split()
)
_SLACK_USER = re.compile(r"<@[UW][A-Z0-9]+(\|[^>]*)?>")
_SLACK_CHANNEL = re.compile(r"<#C[A-Z0-9]+(?:\|([^>]*))?>")
_SLACK_OTHER = re.compile(r"<[^>]*>")
_WORD = re.compile(r"[a-z]+|\d+(?:[.,]\d+)*")
_ARITH = re.compile(r"\d[\d,.]*\s*(?:\*\*|[-+*/x×^])\s*\(?\s*\d|\d\s*%\s*(?:of|de)\b|\bpercent of\b|^\s*\(?\s*\d[\d,.]*\s*[-+*/^]")
_WORDY_ARITH = re.compile(r"\d\s+(?:times|divided by|plus|minus|multiplied by)\s+\d")
_DAYS = re.compile(r"\bdays? (?:until|till|between|since|from)\b|\bjours? (?:avant|entre|depuis)\b")
_WH = re.compile(r"^(?:what|whats|how|who|when|where|which|why|quel|quelle|quels|combien|comment|pourquoi|qui)\b")
_QUESTION = re.compile(r"^(?:is|are|do|does|did|can|should|could|est)\b")
_EXPLAIN = re.compile(r"^(?:explain|describe|tell me|define)\b")
_RECAP = re.compile(r"\b(?:summar\w*|recap\w*|tl;?dr|overview|gist|catch (?:me )?up|sum up|key points|resum\w*|"
                    r"what did i miss)")
_RECURRING = re.compile(r"\b(?:daily|weekly|monthly|every (?:day|week|month|monday|tuesday|wednesday|thursday|"
                        r"friday)|quotidien\w*|hebdomadaire)\b")
_DIGEST = re.compile(r"\b(?:digest|round-?up)\b")
_COMPOSE = re.compile(r"\b(?:draft|drfat|write|compose|reply|respond|announce\w*|prepare|put together|word|"
                      r"redige\w*|ecri\w*|repond\w*)\b")
_CHANNEL_REF = re.compile(r"(?:^|\s)#[a-z0-9_-]+|\bchannel\b|\bthread\b|\bcanal\b")


class Classification(BaseModel):
    model_config = ConfigDict(frozen=True)

    workflow: str | None
    confidence: float
    ranked: list[tuple[str, float]]
    reason: str


def normalize(text: str) -> str:
    text = _SLACK_USER.sub(" someone ", text)
    text = _SLACK_CHANNEL.sub(lambda m: f" channel #{m.group(1) or ''} ", text)
    text = _SLACK_OTHER.sub(" ", text)
    folded = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def stem(word: str) -> str:
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("e", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + repl
    return word


def terms(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text) if w not in STOP and not w[0].isdigit()]


Cue = Callable[[str], tuple[float, str]]


def _calc(text: str) -> tuple[float, str]:
    if _ARITH.search(text) or _WORDY_ARITH.search(text):
        return 3.0, "arithmetic"
    return (2.5, "date math") if _DAYS.search(text) else (0.0, "")


def _ask(text: str) -> tuple[float, str]:
    start = text.strip()
    opener = 1.8 if _WH.search(start) or _EXPLAIN.search(start) else 1.0 if _QUESTION.search(start) else 0.0
    score = opener + (0.6 if start.endswith("?") else 0.0)
    return score, "a question" if score else ""


def _summarize(text: str) -> tuple[float, str]:
    if not _RECAP.search(text):
        return 0.0, ""
    return (2.6 if _CHANNEL_REF.search(text) else 1.8), "recap words"


def _digest(text: str) -> tuple[float, str]:
    recurring, digest = bool(_RECURRING.search(text)), bool(_DIGEST.search(text))
    score = 3.0 if recurring and (digest or _RECAP.search(text)) else 1.8 if digest else 0.8 if recurring else 0.0
    return score, "recurring" if score else ""


def _draft(text: str) -> tuple[float, str]:
    return (1.6, "compose verb") if _COMPOSE.search(text) else (0.0, "")


CUES: dict[str, Cue] = {"calc": _calc, "ask": _ask, "summarize": _summarize, "digest": _digest, "draft": _draft}


class Classifier:
    def __init__(self, workflows: Sequence[WorkflowSpec]) -> None:
        self._workflows = list(workflows)
        docs = {wf.id: [terms(normalize(e)) for e in [*wf.examples, wf.description] if e] for wf in workflows}
        frequency = Counter(t for ds in docs.values() for d in ds for t in set(d))
        total = sum(len(ds) for ds in docs.values()) or 1
        self._idf = {t: math.log(1 + total / n) for t, n in frequency.items()}
        self._examples = {wid: [self._vector(d) for d in ds] for wid, ds in docs.items()}
        self._keywords = {wf.id: [normalize(k) for k in wf.keywords] for wf in workflows}

    def _vector(self, words: list[str]) -> dict[str, float]:
        counts = Counter(words)
        vec = {t: c * self._idf.get(t, math.log(2)) for t, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}

    def _keyword_hits(self, wid: str, text: str, stems: set[str]) -> list[str]:
        hits = []
        for kw in self._keywords[wid]:
            if " " in kw or not kw.isalnum():
                if kw in text:
                    hits.append(kw)
            elif stem(kw) in stems:
                hits.append(kw)
        return hits

    def _score(self, wf: WorkflowSpec, text: str, stems: set[str], vec: dict[str, float]) -> tuple[float, str]:
        hits = self._keyword_hits(wf.id, text, stems)
        similarity = max((sum(v * e.get(t, 0.0) for t, v in vec.items()) for e in self._examples[wf.id]), default=0.0)
        cue, cue_reason = CUES[wf.id](text) if wf.id in CUES else (0.0, "")
        score = min(len(hits), 3) * 0.5 + 1.5 * similarity + cue
        reasons = [f"keywords: {', '.join(hits[:3])}"] if hits else []
        reasons += [cue_reason] if cue_reason else []
        reasons += [f"like its examples ({similarity:.2f})"] if similarity >= 0.3 else []
        return score, "; ".join(reasons)

    def classify(self, goal: str) -> Classification:
        text = normalize(goal[:4000])
        words = terms(text)
        vec = self._vector(words) if words else {}
        stems = set(words)
        scored = {wf.id: self._score(wf, text, stems, vec) for wf in self._workflows}
        ranked = sorted(((wid, round(s, 3)) for wid, (s, _r) in scored.items()), key=lambda x: (-x[1], x[0]))
        if not ranked or ranked[0][1] <= 0:
            return Classification(workflow=None, confidence=0.0, ranked=ranked, reason="nothing recognisable")
        top, second = ranked[0][1], ranked[1][1] if len(ranked) > 1 else 0.0
        confidence = round(min(1.0, top / 2.0) * min(1.0, (top - second) / 1.5), 3)
        return Classification(workflow=ranked[0][0], confidence=confidence, ranked=ranked,
                              reason=scored[ranked[0][0]][1] or "weak match")


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
