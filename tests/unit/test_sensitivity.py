"""Detectors validate (check digits, context), reach the recall goals on the corpus, and never expose values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.core.levels import Sensitivity
from bot.core.sensitivity import assess, find_spans, redact, restore
from bot.core.sensitivity.checks import bc_phn_ok, card_ok, luhn_ok, ontario_ok, ramq_ok, sin_ok
from bot.core.spec import PatternSpec

CORPUS = yaml.safe_load((Path(__file__).parent.parent / "data" / "sensitivity_corpus.yaml").read_text())


def recall(kind: str) -> float:
    items = [i for i in CORPUS if kind in i["types"]]
    return sum(kind in assess(i["text"]).hits for i in items) / len(items)


def test_corpus_size() -> None:
    assert len(CORPUS) >= 150
    assert sum(1 for i in CORPUS if not i["types"]) >= 40


@pytest.mark.parametrize("kind", ["sin", "health_card", "payment_card"])
def test_full_recall_on_identifiers(kind: str) -> None:
    assert recall(kind) == 1.0


def test_health_information_recall() -> None:
    assert recall("health_info") >= 0.90


def test_false_positives_under_5_percent() -> None:
    clean = [i for i in CORPUS if not i["types"]]
    assert sum(1 for i in clean if assess(i["text"]).hits) / len(clean) < 0.05


def test_levels_match_the_corpus() -> None:
    wrong = [i["text"] for i in CORPUS if assess(i["text"]).level is not Sensitivity.parse(i["level"])]
    assert len(wrong) <= len(CORPUS) * 0.05, wrong


def test_check_digits() -> None:
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")
    assert sin_ok("130692544") and not sin_ok("130692545") and not sin_ok("830692544")
    assert card_ok("4111111111111111") and not card_ok("4111111111111112") and not card_ok("9111111111111111")
    assert ramq_ok("TREM", "58010112") and not ramq_ok("TREM", "58130112") and ramq_ok("TREM", "58510112")
    assert bc_phn_ok("9698658215") and not bc_phn_ok("9698658216")
    assert ontario_ok("1286844020") and not ontario_ok("1286844023")


def test_sin_needs_format_or_context() -> None:
    assert assess("SIN 130 692 544").hits == {"sin": 1}
    assert assess("invoice 130692544").hits == {}
    assert assess("mon NAS est 130692544").hits == {"sin": 1}


def test_french() -> None:
    level = assess("Le patient a été diagnostiqué avec le diabète et prend de l'insuline").level
    assert level is Sensitivity.RESTRICTED
    assert "health_card" in assess("numéro d'assurance maladie TREM58010112").hits


def test_custom_patterns_and_default() -> None:
    falcon = PatternSpec(name="project_falcon", keywords=["Falcon"], level="confidential")
    code = PatternSpec(name="case_id", regex=r"CASE-\d{6}", level="restricted")
    found = assess("Project falcon update for CASE-123456", patterns=[falcon, code], default=Sensitivity.PUBLIC)
    assert found.level is Sensitivity.RESTRICTED and found.hits == {"project_falcon": 1, "case_id": 1}
    assert assess("hello", default=Sensitivity.PUBLIC).level is Sensitivity.PUBLIC


def test_values_never_leave_in_the_assessment() -> None:
    found = assess("SIN 130 692 544, card 4111 1111 1111 1111, ann@example.com")
    dumped = found.model_dump_json()
    assert "130" not in dumped and "4111" not in dumped and "ann@" not in dumped
    assert found.hits == {"sin": 1, "payment_card": 1, "email": 1}


def test_spans_do_not_overlap_and_redaction_round_trips() -> None:
    text = "Card 4111 1111 1111 1111 and SIN 130 692 544 for ann@example.com"
    spans = find_spans(text)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
    masked, mapping = redact(text)
    assert "4111" not in masked and "130 692" not in masked and "ann@" not in masked
    assert restore(masked, mapping) == text
