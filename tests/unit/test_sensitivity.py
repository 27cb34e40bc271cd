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


ZW, SHY, NBSP, WJ, BIDI = "\u200b", "\u00ad", "\u00a0", "\u2060", "\u202e"
FULL = str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ@", "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ＠")


def disguises(groups: list[str], joiner: str = " ") -> dict[str, str]:
    """One value written the ways people (or an attacker) may write it."""
    return {
        "zero-width": ZW.join(groups), "soft hyphen": SHY.join(groups), "word joiner": WJ.join(groups),
        "bidi control": BIDI.join(groups), "dots": ".".join(groups), "slashes": "/".join(groups),
        "no-break spaces": NBSP.join(groups), "narrow no-break": "\u202f".join(groups), "en dash": "\u2013".join(groups),
        "full-width": joiner.join(groups).translate(FULL), "zero-width inside groups": joiner.join(ZW.join(g) for g in groups),
    }


SPELLED_EN = "zero one two three four five six seven eight nine".split()
SPELLED_FR = "zéro un deux trois quatre cinq six sept huit neuf".split()


def spelled(groups: list[str], words: list[str]) -> str:
    return ", ".join(" ".join(words[int(d)] for d in g) for g in groups)


CASES: list[tuple[str, str, list[str], bool]] = [
    # (type, context before the value, groups, also spelled out)
    ("sin", "SIN", ["130", "692", "544"], True),
    ("sin", "Employee", ["545", "807", "307"], False),
    ("payment_card", "card", ["4111", "1111", "1111", "1111"], True),
    ("health_card", "OHIP", ["1286", "844", "020"], True),
    ("health_card", "BC PHN (health)", ["9698", "658", "215"], False),
    ("health_card", "RAMQ", ["TREM", "5801", "0112"], False),
    ("bank_account", "transit", ["66873", "003"], False),
    ("phone", "call", ["613", "555", "0147"], True),
    ("postal_code", "mail it to", ["K1A", "0B1"], False),
    ("date_of_birth", "born", ["1984", "03", "12"], False),
]


@pytest.mark.parametrize(("kind", "before", "groups", "spell"), CASES)
def test_every_detector_sees_through_disguises(kind: str, before: str, groups: list[str], spell: bool) -> None:
    forms = disguises(groups, "-" if kind == "date_of_birth" else " ")
    if spell:
        forms |= {"spelled out": spelled(groups, SPELLED_EN), "épelé": spelled(groups, SPELLED_FR)}
    for how, value in forms.items():
        text = f"{before} {value} — please update the file"
        found = assess(text)
        assert kind in found.hits, (how, text, found.hits)
        masked, mapping = redact(text)
        assert value not in masked and not any(g in masked for g in groups if len(g) > 2), (how, masked)
        assert restore(masked, mapping) == text
        assert any(v == value or value in v for v in mapping.values()), (how, mapping)  # the whole original span


@pytest.mark.parametrize("text", [
    f"ann{ZW}@example.com", "ann＠example.com", "ann at example dot com", "ann[at]example[dot]com",
    "ann (at) example (dot) ca", f"a{SHY}nn@exa{ZW}mple.com",
])
def test_email_disguises(text: str) -> None:
    assert assess(f"write to {text} today").hits == {"email": 1}


@pytest.mark.parametrize("text", [
    f"patient diagnosed with dia{SHY}betes", f"prescribed met{ZW}formin", "diagnosed with diаbetes",  # Cyrillic а
    "ｐａｔｉｅｎｔ ｏｎ ｉｎｓｕｌｉｎ", f"HbA1c{NBSP}7.9", "le patient a le diabe\u0300te", f"chimio{WJ}thérapie",
])
def test_health_vocabulary_disguises(text: str) -> None:
    assert "health_info" in assess(text).hits, text


@pytest.mark.parametrize("text", [
    f"Invoice 130{ZW}692{ZW}545 is overdue", "The sum was 545,807,307 dollars", "Version 1.545.807.307 is out",
    f"Order 4111{ZW}1111{ZW}1111{ZW}1112 shipped", "IP address 10.130.69.254 is blocked", "Let's look at example dot com",
    "count: one, two, three, four, five", f"Our market saw a de{ZW}pression in Q2", "Meeting ID 613/555/0147",
    "Tracking 9316.2809.5400.8561", "Reference ５４１ ４２９ ５８７",
])
def test_disguised_look_alikes_stay_unflagged(text: str) -> None:
    assert assess(text).hits == {}, text


def test_custom_patterns_see_the_normalised_text() -> None:
    falcon = PatternSpec(name="project_falcon", keywords=["Falcon"], level="confidential")
    code = PatternSpec(name="case_id", regex=r"CASE-\d{6}", level="restricted")
    found = assess(f"Project fal{ZW}con and CASE{SHY}-１２３４５６", patterns=[falcon, code])
    assert found.hits == {"project_falcon": 1, "case_id": 1}
    masked, mapping = redact(f"see CASE-12{ZW}3456 now", patterns=[code])
    assert masked == "see ⟦CASE_ID_1⟧ now" and restore(masked, mapping) == f"see CASE-12{ZW}3456 now"


def test_french_elision_does_not_hide_a_term() -> None:
    for text in ("la patiente prend de l'insuline", "une crise d'asthme", "l’épilepsie de Luc"):
        assert "health_info" in assess(text).hits, text
