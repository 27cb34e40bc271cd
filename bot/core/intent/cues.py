"""The frame of a goal, and what it says about the shipped workflows.

A goal is read clause by clause. Each clause loses its greeting and its request form ("hey", "can you",
"could u pls", "I need you to", "peux-tu", "help me"…); what remains starts with a **head**:

- a verb of writing (``draft``, ``write``, ``reply``, ``rédiger``…, or ``tell the team`` / ``let X know``) → draft;
- a verb of condensing (``summarize``, ``boil down``, ``condense``, ``skim``, ``brief me``, ``résumer``…) → summarize;
- a verb of computing with numbers (``calculate``, ``split``, ``convert``, ``add up``…) → calc;
- a verb of asking (``tell me``, ``explain``, ``remind me``, ``I'd like to know``…) or a question → ask, unless the
  question is about what was said in a conversation (``what did people decide in #x?``) → summarize;
- a general verb (``give me``, ``put together``, ``send``, ``fais-moi``…) or no verb at all: the noun decides —
  a message, note, reply, blurb… → draft; a summary, recap, gist, highlights… → summarize; a total, average… → calc.

Arithmetic, percentages of amounts and date math are read over the whole goal; a recurring time ("every Monday",
"hebdomadaire") with a summary of a channel is a digest. Words met elsewhere in the goal count a little.
A goal with no content words (greetings, "help", "thoughts?", "do the thing") is vague: Maple asks back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.intent import lexicon as lx
from bot.core.intent.normal import prepare
from bot.core.tools import dates

SHIPPED = ("draft", "ask", "summarize", "calc", "digest")
HEAD, NOUN, QUESTION, STRONG = 4.5, 3.5, 2.6, 3.8  # a verb at the head, a noun phrase, a question, a strong sign
LATER = 0.7  # what a clause after the one that said what the goal is counts
ARITHMETIC = HEAD + 0.3  # explicit arithmetic outweighs the frame around it ("tell me what 35 times 12 is")


@dataclass
class Reading:
    """What the cues found: a score per shipped workflow with its reason, and how much the goal says."""

    scores: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SHIPPED, 0.0))
    reasons: dict[str, str] = field(default_factory=dict)
    content: int = 0
    text: str = ""

    def offer(self, workflow: str, score: float, reason: str) -> None:
        if score > self.scores[workflow]:
            self.scores[workflow], self.reasons[workflow] = score, reason

    @property
    def best(self) -> float:
        return max(self.scores.values())


def read(goal: str) -> Reading:
    text = prepare(goal)
    reading = Reading(content=content_words(text), text=text)
    weight = 1.0
    for clause in clauses(text):  # once a clause has said what the goal is, later ones count less
        _clause(reading, clause, weight=weight)
        weight = LATER if reading.best >= HEAD * weight else weight
    _calc(reading, text)
    _digest(reading, text)
    _anywhere(reading, text)
    return reading


def clauses(text: str) -> list[str]:
    parts = re.split(r"[,;:?!]+\s+|[.?!]+$|\.\s+|\s+-\s+|\s+(?:and|but|et|mais)\s+(?=(?:can|could|tell|what|how|"
                     r"please|pls)\b)", text)
    return [p.strip(" ,.;:!?\"'") for p in parts if p and p.strip(" ,.;:!?\"'")][:8]


def strip_lead(clause: str) -> tuple[str, bool]:
    """The clause without greetings and request forms; whether it was a request."""
    request, rest = False, clause
    for _ in range(6):
        before = rest
        rest = lx.GREETING.sub("", rest, count=1)
        cut = lx.REQUEST.sub("", rest, count=1)
        cut = re.sub(r"^to\s+", "", lx.WANT.sub("", cut, count=1)) if cut == rest else cut
        request, rest = request or cut != rest, cut
        rest = re.sub(r"^(?:please|pls|plz|kindly|quickly|just|maybe)\b\s*", "", rest)
        if request:  # French object pronouns after a request: "peux-tu m'écrire", "pourrais-tu me résumer"
            rest = re.sub(r"^(?:m'|t'|l'|me\s+|nous\s+|lui\s+|leur\s+)(?=\w)", "", rest)
        if rest == before:
            break
    return rest, request


def _clause(reading: Reading, clause: str, *, weight: float) -> None:
    rest, request = strip_lead(clause)
    if lx.MISSED.search(rest):
        reading.offer("summarize", HEAD * weight, "asks what was missed")
    if (asked := lx.ASK.match(rest)) is not None:
        if content_words(rest[asked.end():]):
            _question(reading, rest, strength=HEAD * weight, why="a request to explain")
    elif lx.RECAP.match(rest) or (lx.READ.match(rest) and lx.CONVERSATION.search(rest)):
        reading.offer("summarize", HEAD * weight, "a verb of summarizing")
    elif lx.COMPOSE.match(rest):
        reading.offer("draft", HEAD * weight, "a verb of writing")
    elif lx.CALC.match(rest) and re.search(r"\d", reading.text):
        reading.offer("calc", HEAD * weight, "a verb of computing with numbers")
    elif not request and _asks(rest, reading.text):
        _question(reading, rest, strength=QUESTION * weight, why="a question")
    else:
        _nominal(reading, lx.WANT.sub("", lx.GENERIC.sub("", rest, count=1), count=1), weight=weight)


def _asks(rest: str, text: str) -> bool:
    """A question: a wh-word or an auxiliary first, not small talk to Maple nor an order ("do the thing")."""
    if lx.TO_MAPLE.match(rest) or (lx.DO_THING.match(rest) and not text.endswith("?")):
        return False
    return bool(lx.WH.match(rest) or lx.AUX.match(rest))


def _question(reading: Reading, rest: str, *, strength: float, why: str) -> None:
    about = lx.IN_CONVERSATION.search(rest) or (lx.CONVERSATION.search(reading.text) and lx.CONTENT.search(rest))
    if about and reading.content and not lx.POLICY.search(rest) and not lx.PERMISSION.search(rest):
        reading.offer("summarize", max(strength, QUESTION) + 0.9, "a question about a conversation")
    elif content_words(rest):
        reading.offer("ask", strength, why)


def _nominal(reading: Reading, rest: str, *, weight: float) -> None:
    """The first noun of a clause with no verb at its head says what is asked for."""
    rest = re.sub(r"^(?:me|us|moi|-moi|nous|with|for|on|about)\s+", "", rest.lstrip("- "))
    given = re.sub(r"^(?:the\s+|my\s+|our\s+)?[\w'-]+\s+(?=(?:a|an|some)\s)", "", rest)  # "send the client a note"
    found = [(m.end(), workflow, why) for pattern, workflow, why in lx.NOUNS for text in {rest, given}
             if (m := pattern.match(text))]
    if found:
        _end, workflow, why = min(found)
        if workflow != "calc" or re.search(r"\d", reading.text):
            reading.offer(workflow, NOUN * weight, why)


def _calc(reading: Reading, text: str) -> None:
    bare = lx.ISO.sub(" ", text)
    numbers = len(lx.NUMBER.findall(bare))
    if dates.parse(text) is not None:
        # "closes in 2 days" inside a message is no date question; one with a date or asked as a question is
        asked = bool(lx.ISO.search(text) or lx.WH.match(text) or text.rstrip().endswith("?"))
        reading.offer("calc", STRONG if asked else 2.0, "date math")
    if lx.ONLY_MATH.search(bare) and numbers >= 2:
        reading.offer("calc", HEAD + 0.5, "arithmetic")
    elif lx.EXPRESSION.search(bare) or lx.WORD_OP.search(bare) or lx.PERCENT_OF.search(bare) or (
            numbers and lx.POWER.search(bare)):
        reading.offer("calc", ARITHMETIC, "arithmetic")
        reading.scores["ask"] /= 2  # a question around explicit arithmetic asks for its result
    elif lx.UNIT_PRICE.search(bare) or _date_span(text):
        reading.offer("calc", STRONG, "arithmetic")
    elif lx.ALTERNATIVES.search(bare):
        return  # "is it 10% or 15%?" asks which, it computes nothing
    elif (lx.HOW_MUCH.search(bare) or lx.SPLIT.search(bare)) and numbers >= 2:
        reading.offer("calc", 3.6, "a quantity from numbers")
    elif lx.PERCENT.search(bare) and numbers >= 2:
        money = bool(lx.MONEY_TERMS.search(bare))
        reading.offer("calc", 3.6 if money else 2.3, "a percentage of an amount")


def _date_span(text: str) -> bool:
    """Two dates, or a date and a question of how long: date math ``dates.parse`` may not read (French)."""
    found = len(lx.ISO.findall(text))
    return found >= 2 or (found == 1 and bool(lx.DATE_Q.search(text)))


def _digest(reading: Reading, text: str) -> None:
    recurring = bool(lx.RECURRING.search(text))
    digest = bool(lx.DIGEST_NOUN.search(text))
    channel = bool(lx.CONVERSATION.search(text))
    recap = bool(lx.RECAP_ANY.search(text)) or (channel and bool(lx.CONTENT.search(text) or lx.SEND.search(text)))
    if recurring and (digest or (recap and channel)):
        reading.offer("digest", HEAD + 1.6, "a recurring summary")
        reading.scores["summarize"] /= 2  # a summary on a schedule is a digest, not a summary now
    elif recurring and recap:
        reading.offer("digest", 3.0, "a recurring summary")
    elif digest:
        reading.offer("digest", 1.5, "a digest")
    elif recurring:
        reading.offer("digest", 0.5, "a recurring time")


def _anywhere(reading: Reading, text: str) -> None:
    """Words met anywhere count a little, so that a goal without a clear frame still leans the right way."""
    extra = {"summarize": 1.0 * bool(lx.RECAP_ANY.search(text)) + 0.4 * bool(lx.CONVERSATION.search(text)),
             "draft": 0.6 * bool(lx.COMPOSE_ANY.search(text)),
             "ask": 0.4 * text.rstrip().endswith("?") + 0.4 * bool(lx.POLICY.search(text))}
    for workflow, bonus in extra.items():
        if bonus and reading.scores[workflow] == 0.0:
            reading.offer(workflow, bonus, "words met in the goal")


def content_words(text: str) -> int:
    return sum(1 for w in re.findall(r"[a-z][a-z0-9]+|\d+", text) if w not in lx.STOP and w not in lx.FILLER)
