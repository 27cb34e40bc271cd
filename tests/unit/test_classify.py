"""The local classification stage: the labelled sets in tests/data, the failures it was changed for, each part
of reading a goal (Slack markup, typos, quantities in words, frames), vague goals and workflows from the config.

Only the tuning set (goals.yaml) is scored here; the held-out set (goals_heldout.yaml) is scored, in aggregate
only, by benchmarks/classify.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.core.classify import Classifier, model_prompt, needs_model, normalize, parse_model_choice
from bot.core.intent.normal import correct, prepare
from bot.core.spec import WorkflowSpec
from tests.unit.core_env import make_spec

DATA = Path(__file__).parent.parent / "data"
GOALS = yaml.safe_load((DATA / "goals.yaml").read_text())
HELDOUT = yaml.safe_load((DATA / "goals_heldout.yaml").read_text())
SPEC = make_spec()
CLASSIFIER = Classifier(SPEC.workflows)
KINDS = {"draft", "ask", "summarize", "calc", "digest", None}


def outcome(goal: str) -> str | None:
    """The workflow Maple runs without asking, or None when it asks back."""
    found = CLASSIFIER.classify(goal)
    return None if needs_model(found, SPEC.classify_threshold) else found.workflow


def test_labelled_sets_are_big_varied_and_apart() -> None:
    assert len(GOALS) + len(HELDOUT) >= 300 and len(HELDOUT) >= 100
    assert {g["workflow"] for g in GOALS} == KINDS and {g["workflow"] for g in HELDOUT} == KINDS
    assert not {g["goal"].lower() for g in GOALS} & {g["goal"].lower() for g in HELDOUT}


def test_accuracy_on_the_tuning_set_is_at_least_90_percent() -> None:
    labelled = [g for g in GOALS if g["workflow"]]
    right = sum(1 for g in labelled if outcome(g["goal"]) == g["workflow"])
    assert right / len(labelled) >= 0.90


def test_vague_goals_of_the_tuning_set_are_never_guessed() -> None:
    guessed = [g["goal"] for g in GOALS if g["workflow"] is None and outcome(g["goal"]) is not None]
    assert guessed == []


@pytest.mark.parametrize(("goal", "workflow"), [
    ("is there a rule about how we write to the press?", "ask"),
    ("do we have guidelines for announcements in #general?", "ask"),
    ("are we allowed to reply to customer emails from home?", "ask"),
    ("can I post a message in #general about my side business?", "ask"),
    ("boil down the discussion in #design", "summarize"),
    ("what did the team decide in <#C0ARCH|architecture>?", "summarize"),
    ("what's been going on in #ops this week?", "summarize"),
    ("give me the highlights of #sales", "summarize"),
    ("convert 15% tip on 84.20", "calc"),
    ("what is twelve times thirty-five", "calc"),
    ("split a $240 bill between six people", "calc"),
    ("quel est le pourboire de 15 % sur 84,20 $", "calc"),
])
def test_goals_that_landed_on_the_wrong_workflow(goal: str, workflow: str) -> None:
    assert outcome(goal) == workflow


@pytest.mark.parametrize("goal", ["could you help?", "what do you think", "draft", "any thoughts?", "Acme Inc",
                                  "do that thing", "hey maple :wave:", "peux-tu m'aider?", "<@U0PAT|pat> ?"])
def test_vague_goals_are_asked_back_as_vague(goal: str) -> None:
    found = CLASSIFIER.classify(goal)
    assert found.vague and found.workflow is None and needs_model(found, SPEC.classify_threshold)


@pytest.mark.parametrize("goal", ["", "   ", "🙂🙂", "x" * 4000, "<!channel>", "<@U123>", "+1", ":+1:"])
def test_edge_cases(goal: str) -> None:
    found = CLASSIFIER.classify(goal)
    assert 0.0 <= found.confidence <= 1.0
    assert needs_model(found, SPEC.classify_threshold)


def test_a_long_goal_is_read_only_up_to_the_limit() -> None:
    found = CLASSIFIER.classify("draft a note to the team about the move " + "blah " * 5000)
    assert found.workflow == "draft"


def test_reason_and_ranking() -> None:
    found = CLASSIFIER.classify("calculate 1200 * 1.13")
    assert found.workflow == "calc" and "arithmetic" in found.reason
    assert found.ranked[0][0] == "calc" and len(found.ranked) == len(SPEC.workflows)


def test_deterministic() -> None:
    assert CLASSIFIER.classify("draft a reply") == CLASSIFIER.classify("draft a reply")
    assert Classifier(SPEC.workflows).classify("recap #ops") == CLASSIFIER.classify("recap #ops")


def test_slack_formatting_is_normalised() -> None:
    assert "someone" in normalize("ping <@U123|ann>") and "#general" in normalize("in <#C1|general>")
    assert normalize("Résumé") == "resume"
    assert normalize("see <https://x.example/a|the doc> &amp; R&amp;D :tada: *now*") == "see the doc & r&d now"
    assert normalize("&gt; quoted") == "quoted" and normalize("<#C1>") == "#channel"


@pytest.mark.parametrize(("text", "expected"), [
    ("twelve times thirty-five", "12 times 35"),
    ("a hundred and twenty", "120"),
    ("quatre-vingt-dix", "90"),
    ("fifteen per cent of two hundred", "15 percent of 200"),
    ("deux cents", "200"),
    ("50 cents", "50 cents"),
])
def test_quantities_in_words_become_digits(text: str, expected: str) -> None:
    assert prepare(text) == expected


@pytest.mark.parametrize(("typed", "meant"), [("wirte", "write"), ("wrtie", "write"), ("drafy", "draft"),
                                              ("summerize", "summarize"), ("waht", "what"), ("white", "white"),
                                              ("threat", "threat"), ("there", "there"), ("rights", "rights")])
def test_typos_of_intent_words_are_corrected_and_real_words_kept(typed: str, meant: str) -> None:
    assert correct(typed) == meant


def test_a_workflow_from_the_config_is_recognised_by_its_head_keyword() -> None:
    translate = WorkflowSpec(id="translate", description="Translate a text into another language.",
                             examples=["translate this into French"], keywords=["translate", "traduire"])
    classifier = Classifier([*SPEC.workflows, translate])
    found = classifier.classify("translate the onboarding message into Spanish please")
    assert found.workflow == "translate" and found.confidence >= SPEC.classify_threshold
    assert classifier.classify("summarize <#C0OPS|ops>").workflow == "summarize"


def test_model_stage_helpers() -> None:
    ids = [wf.id for wf in SPEC.workflows]
    assert parse_model_choice("Summarize.", ids) == "summarize"
    assert parse_model_choice("draft or ask", ids) is None
    assert parse_model_choice("none", ids) is None
    messages = model_prompt("do the thing", SPEC.workflows)
    assert "exactly one workflow id" in messages[0].content and messages[1].content == "do the thing"
