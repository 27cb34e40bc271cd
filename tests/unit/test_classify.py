"""The local classification stage over the labelled goals in tests/data/goals.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.core.classify import Classifier, model_prompt, needs_model, normalize, parse_model_choice
from tests.unit.core_env import make_spec

GOALS = yaml.safe_load((Path(__file__).parent.parent / "data" / "goals.yaml").read_text())
SPEC = make_spec()
CLASSIFIER = Classifier(SPEC.workflows)


def test_labelled_set_is_big_and_varied() -> None:
    assert len(GOALS) >= 80
    assert {g["workflow"] for g in GOALS} == {"draft", "ask", "summarize", "calc", "digest", None}


def test_accuracy_without_a_model_is_at_least_90_percent() -> None:
    labelled = [g for g in GOALS if g["workflow"]]
    right = sum(1 for g in labelled if (c := CLASSIFIER.classify(g["goal"])).workflow == g["workflow"]
                and not needs_model(c, SPEC.classify_threshold))
    assert right / len(labelled) >= 0.90


def test_vague_goals_are_asked_back() -> None:
    vague = [g["goal"] for g in GOALS if g["workflow"] is None]
    asked = [g for g in vague if needs_model(CLASSIFIER.classify(g), SPEC.classify_threshold)]
    assert len(asked) >= 0.9 * len(vague)


@pytest.mark.parametrize("goal", ["", "   ", "🙂🙂", "x" * 4000, "<!channel>", "<@U123>"])
def test_edge_cases(goal: str) -> None:
    found = CLASSIFIER.classify(goal)
    assert 0.0 <= found.confidence <= 1.0
    assert needs_model(found, SPEC.classify_threshold)


def test_reason_and_ranking() -> None:
    found = CLASSIFIER.classify("calculate 1200 * 1.13")
    assert found.workflow == "calc" and "arithmetic" in found.reason
    assert found.ranked[0][0] == "calc" and len(found.ranked) == len(SPEC.workflows)


def test_deterministic() -> None:
    assert CLASSIFIER.classify("draft a reply") == CLASSIFIER.classify("draft a reply")


def test_slack_formatting_is_normalised() -> None:
    assert "someone" in normalize("ping <@U123|ann>") and "#general" in normalize("in <#C1|general>")
    assert normalize("Résumé") == "resume"


def test_model_stage_helpers() -> None:
    ids = [wf.id for wf in SPEC.workflows]
    assert parse_model_choice("Summarize.", ids) == "summarize"
    assert parse_model_choice("draft or ask", ids) is None
    assert parse_model_choice("none", ids) is None
    messages = model_prompt("do the thing", SPEC.workflows)
    assert "exactly one workflow id" in messages[0].content and messages[1].content == "do the thing"
