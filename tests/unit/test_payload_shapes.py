"""Slack payload parsing, property-based: any body gets a verdict (a reason or None), never an exception, and the
payloads the listeners need pass."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.http import shape_error
from handlers.payloads import classify, parse_body
from tests.payload_strategies import _templates, broken_payload, encode, junk, signed_bodies


@settings(max_examples=400, deadline=None)
@given(signed_bodies())
def test_any_body_gets_a_verdict(body_and_type: tuple[str, str]) -> None:
    body, content_type = body_and_type
    verdict = shape_error(body, content_type)
    assert verdict is None or (isinstance(verdict, str) and 0 < len(verdict) <= 80)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["application/json", "application/x-www-form-urlencoded", ""]))
def test_random_bytes_get_a_verdict(raw: bytes, content_type: str) -> None:
    shape_error(raw.decode("utf-8", errors="replace"), content_type)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["type", "command", "event", "user", "ssl_check"]) | st.text(max_size=6),
                       junk, max_size=6))
def test_any_dict_is_classified(data: dict) -> None:  # type: ignore[type-arg]
    found = classify(data)
    assert isinstance(found, str) or found.kind in ("event", "command", "interaction", "verification",
                                                     "ssl_check", "other")


@settings(max_examples=300, deadline=None)
@given(broken_payload())
def test_a_broken_field_is_refused_or_harmless(kind_and_data: tuple[str, dict]) -> None:  # type: ignore[type-arg]
    kind, data = kind_and_data
    body, content_type = encode(kind, data, as_json=False)
    parsed = parse_body(body, content_type)
    if isinstance(parsed, dict):
        classify(parsed)


def test_the_payloads_maple_handles_pass() -> None:
    for kind, data in _templates():
        body, content_type = encode(kind, data, as_json=False)
        assert shape_error(body, content_type) is None, kind


def test_deeply_nested_json_is_refused_not_a_crash() -> None:
    assert shape_error("[" * 100_000 + "]" * 100_000, "application/json")
    assert shape_error("payload=" + "%5B" * 50_000, "application/x-www-form-urlencoded")
