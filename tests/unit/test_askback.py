"""Which workflows an ask-back offers: those the goal hinted at first, then general ones; a workflow that starts
by running a tool on something the goal must name only when the goal hinted at it."""

from __future__ import annotations

from pathlib import Path

from bot.core.askback import choices, offered
from bot.core.classify import Classifier
from config.loader import load_spec

SPEC = load_spec(Path(__file__).parents[2] / "config" / "maple.yaml")
MINE = [wf for wf in SPEC.workflows if wf.id != "ops-digest"]


def offer(goal: str) -> list[str]:
    found = Classifier(SPEC.workflows).classify(goal)
    return offered(MINE, found.ranked)


def test_a_name_alone_is_offered_drafting_and_asking_not_calculating() -> None:
    assert offer("Acme") == ["draft", "ask"]
    assert offer("hmm") == ["draft", "ask"]


def test_hinted_workflows_come_first_best_first() -> None:
    assert offered(MINE, [("calc", 0.4), ("summarize", 0.9), ("ask", 0.0)]) == ["summarize", "calc", "draft"]
    assert offered(MINE, [("digest", 0.2)], limit=2) == ["digest", "draft"]


def test_choices_keep_the_offered_order_and_describe_each() -> None:
    got = choices(["ask", "gone", "draft"], SPEC.workflows)
    assert [c[0] for c in got] == ["ask", "draft"]
    assert got[1] == ("draft", "Draft", "Draft a message or reply, reviewed before it is posted.")
