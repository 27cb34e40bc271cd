"""The audit trail's pure part: attribute hygiene, canonical encoding, macs, chain verification, anchors."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.audit import (
    GENESIS,
    AuditEvent,
    ChainPoint,
    UnsafeAttribute,
    canonical_json,
    check_attrs,
    event_intact,
    prompt_digest,
    read_anchor_lines,
    seal,
    shard_day,
    shard_name,
    sign_point,
)
from bot.core.audit_verify import verify_shard

KEY = b"k" * 32
SHARD = "2026-11-24/w1"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def chain(n: int, *, start: ChainPoint | None = None, shard: str = SHARD) -> list[AuditEvent]:
    head = start or ChainPoint(shard=shard, seq=0, mac=GENESIS)
    events: list[AuditEvent] = []
    for _ in range(n):
        event = seal(KEY, shard=shard, seq=head.seq + 1, prev=head.mac, kind="model.called", run_id="R-1",
                     actor="U1", ts=T0 + timedelta(seconds=head.seq), attrs={"gen_ai.usage.input_tokens": head.seq})
        events.append(event)
        head = event.point()
    return events


def check(events: list[AuditEvent], **kw: object) -> list[str]:
    kw.setdefault("head", events[-1].point() if events else None)
    kw.setdefault("anchor", None)
    report = verify_shard(KEY, shard=SHARD, events=events, **kw)  # type: ignore[arg-type]
    return [f"{p.seq}: {p.what}" for p in report.problems]


def test_prompt_digest_is_hmac_sha256_hex() -> None:
    digest = prompt_digest(KEY, "draft a reply to the supplier")
    assert digest == hmac.new(KEY, b"draft a reply to the supplier", hashlib.sha256).hexdigest()
    assert digest != prompt_digest(b"x" * 32, "draft a reply to the supplier")
    assert len(digest) == 64


def test_canonical_json_is_deterministic_and_strict() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "é"]}) == canonical_json({"a": [1.5, "é"], "b": 1})
    assert canonical_json({"a": 1}) == b'{"a":1}'
    with pytest.raises(ValueError):
        canonical_json({"a": float("nan")})


@pytest.mark.parametrize("name", ["prompt", "goal", "draft", "text", "maple.goal", "maple.draft.text",
                                  "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
                                  "maple.prompt", "maple.goal.summary", "gen_ai.tool.call.arguments"])
def test_raw_text_attribute_names_are_rejected(name: str) -> None:
    with pytest.raises(UnsafeAttribute):
        check_attrs({name: "x"})


@pytest.mark.parametrize("attrs", [{"Maple.X": 1}, {"nodot": 1}, {"maple.x": {"nested": 1}},
                                   {"maple.x": float("inf")}, {"maple.x": "y" * 513}, {"maple.x": [[1]]},
                                   {"maple.x": list(range(65))}, {"maple.x": object()}])
def test_malformed_attributes_are_rejected(attrs: dict[str, object]) -> None:
    with pytest.raises(UnsafeAttribute):
        check_attrs(attrs)


def test_convention_names_and_digests_pass() -> None:
    names = ["gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model",
             "gen_ai.tool.name", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "error.type",
             "maple.route.chosen", "maple.route.reason", "maple.sensitivity.level", "maple.cost.usd",
             "maple.latency_ms", "maple.review.decision", "maple.destination", "maple.workflow"]
    attrs = {name: 1 for name in names} | {"maple.prompt.hmac": prompt_digest(KEY, "hi"),
                                           "maple.draft.version": 2, "maple.documents": ("d1", "d2")}
    assert check_attrs(attrs)["maple.documents"] == ["d1", "d2"]
    assert "gen_ai.provider.name" in names and "gen_ai.usage.output_tokens" in names


def test_kind_must_be_dotted() -> None:
    with pytest.raises(UnsafeAttribute):
        seal(KEY, shard=SHARD, seq=1, prev=GENESIS, kind="Created", run_id=None, actor=None, ts=T0, attrs={})


def test_shard_names() -> None:
    assert shard_name(datetime(2026, 11, 24, 23, 30, tzinfo=UTC), "w1") == "2026-11-24/w1"
    assert shard_day("2026-11-24/w1") == T0.date()
    assert shard_day("garbage") is None and shard_day("2026-13-01/w1") is None
    with pytest.raises(ValueError):
        shard_name(T0, "w/1")


def test_event_survives_a_json_round_trip() -> None:
    event = seal(KEY, shard=SHARD, seq=1, prev=GENESIS, kind="run.created", run_id="R-1", actor="U1", ts=T0,
                 attrs={"maple.cost.usd": 0.1 + 0.2, "maple.documents": ["ü", "b"], "maple.x": True})
    again = AuditEvent.model_validate_json(event.model_dump_json())
    assert again == event and event_intact(KEY, again)
    assert not event_intact(b"z" * 32, again)
    edited = json.loads(event.model_dump_json())
    edited["attrs"]["maple.x"] = False
    assert not event_intact(KEY, AuditEvent.model_validate(edited))


def test_intact_chain_passes() -> None:
    assert check(chain(5)) == []


def test_edited_event_is_reported_once() -> None:
    events = chain(5)
    events[2] = events[2].model_copy(update={"actor": "U666"})
    assert check(events) == ["3: mac mismatch: event edited or forged"]


def test_deleted_event_is_reported() -> None:
    events = chain(5)
    del events[2]
    assert check(events) == ["3: seq 3 missing: deleted"]


def test_reordered_event_is_reported() -> None:
    events = chain(5)
    events.append(events.pop(2))
    assert check(events, head=events[-2].point()) == ["3: out of order: stored after seq 5"]


def test_inserted_and_replayed_events_are_reported() -> None:
    events = chain(5)
    forged = events[3].model_copy(update={"attrs": {"maple.x": 1}})
    assert check(events[:3] + [forged] + events[3:], head=events[-1].point()) == [
        "4: mac mismatch: event edited or forged", "4: duplicate seq: replayed or inserted event"]
    extra = seal(b"wrong-key" * 4, shard=SHARD, seq=6, prev=events[-1].mac, kind="run.delivered", run_id="R-1",
                 actor=None, ts=T0, attrs={})
    assert check([*events, extra], head=events[-1].point()) == [
        "6: mac mismatch: event edited or forged", "6: events after the head (seq 5): inserted"]


def test_cut_off_tail_is_caught_by_head_and_anchor() -> None:
    events = chain(5)
    anchor = sign_point(KEY, type="anchor", point=events[-1].point(), time=T0)
    assert check(events[:3], anchor=anchor, head=events[-1].point()) == [
        "5: cut off: head is seq 5, stream ends at 3", "5: cut off: anchored at seq 5, stream ends at 3"]
    # an attacker who also rewinds the head is still caught by the anchor
    assert check(events[:3], anchor=anchor) == ["5: cut off: anchored at seq 5, stream ends at 3"]
    assert check([], anchor=anchor, head=None) == ["5: cut off: anchored at seq 5, stream ends at 0"]


def test_signed_checkpoint_allows_a_trimmed_prefix() -> None:
    events = chain(6)
    checkpoint = sign_point(KEY, type="checkpoint", point=events[2].point(), time=T0)
    anchor = sign_point(KEY, type="anchor", point=events[1].point(), time=T0)
    assert check(events[3:], checkpoints=[checkpoint], anchor=anchor) == []
    assert check(events[1:], checkpoints=[checkpoint]) == []  # a trim interrupted before deleting
    assert check(events[3:]) == ["1: seq 1-3 missing: truncated without a signed checkpoint"]
    everything = sign_point(KEY, type="checkpoint", point=events[-1].point(), time=T0)
    final = sign_point(KEY, type="anchor", point=events[-1].point(), time=T0)
    assert check([], checkpoints=[everything], anchor=final, head=None) == []


def test_forged_checkpoint_and_anchor_are_rejected() -> None:
    events = chain(4)
    forged = sign_point(b"not-the-key-0123", type="checkpoint", point=events[1].point(), time=T0)
    assert check(events[2:], checkpoints=[forged]) == [
        "2: checkpoint has an invalid signature", "1: seq 1-2 missing: truncated without a signed checkpoint"]
    other = sign_point(KEY, type="checkpoint", point=ChainPoint(shard="2026-11-23/w1", seq=2, mac="x"), time=T0)
    assert check(events[2:], checkpoints=[other])[0] == "2: checkpoint has an invalid signature"
    bad_anchor = sign_point(b"not-the-key-0123", type="anchor", point=events[-1].point(), time=T0)
    assert check(events, anchor=bad_anchor) == ["4: anchor has an invalid signature"]


def test_event_moved_from_another_shard_is_reported() -> None:
    other = chain(1, shard="2026-11-24/w2")
    assert "event belongs to shard 2026-11-24/w2" in check(other)[0]


def test_anchor_lines_keep_the_highest_valid_point_per_shard() -> None:
    events = chain(3)
    lines = [sign_point(KEY, type="anchor", point=e.point(), time=T0).model_dump_json() for e in events]
    forged = json.loads(lines[2]) | {"seq": 9}
    cp = sign_point(KEY, type="checkpoint", point=events[0].point(), time=T0).model_dump_json()
    state = read_anchor_lines(KEY, [lines[1], lines[2], lines[0], "", "{not json", json.dumps(forged), cp])
    assert state.anchors[SHARD].seq == 3 and state.checkpoints[SHARD].seq == 1
    assert state.problems == ["anchor file line 5 is malformed", "anchor file line 6 has an invalid signature"]


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError):
        seal(KEY, shard=SHARD, seq=1, prev=GENESIS, kind="run.created", run_id=None, actor=None,
             ts=datetime(2026, 11, 24), attrs={})
