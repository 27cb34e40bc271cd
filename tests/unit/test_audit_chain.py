"""The audit trail's pure part: keys and roles, attribute hygiene, canonical encoding, macs, chain verification,
signed anchors, retention policy — and the in-memory fake, which must refuse exactly what the core refuses."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.core.audit import (
    GENESIS,
    AuditEvent,
    ChainPoint,
    SignedPoint,
    canonical_json,
    compute_mac,
    event_intact,
    read_anchor_lines,
    seal,
    shard_day,
    shard_name,
    sign_point,
)
from bot.core.audit_attrs import UnsafeAttribute, check_attrs, text_attrs
from bot.core.audit_keys import ROLE_CHAIN, AuditKey, Keyring, hkdf_sha256, keyed_digest
from bot.core.audit_policy import plan_trim, trim_candidates, why_not_trim
from bot.core.audit_verify import AuditReport, verify_shard
from bot.core.errors import ConfigError
from integrations.audit_anchor import Ed25519Signer, Ed25519Verifier
from tests.fakes.memory import FixedClock, MemoryAudit

SECRET = b"k" * 32
KEYS = Keyring([("k1", SECRET)])
SIGNER = Ed25519Signer.generate()
VERIFIER = Ed25519Verifier([SIGNER.public])
SHARD = "2026-11-24/w1"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def chain(n: int, *, start: ChainPoint | None = None, shard: str = SHARD, keys: Keyring = KEYS) -> list[AuditEvent]:
    head = start or ChainPoint(shard=shard, seq=0, mac=GENESIS)
    events: list[AuditEvent] = []
    for _ in range(n):
        event = seal(keys.current, shard=shard, seq=head.seq + 1, prev=head.mac, kind="model.called",
                     run_id="R-1", actor="U1", ts=T0 + timedelta(seconds=head.seq),
                     attrs={"gen_ai.usage.input_tokens": head.seq})
        events.append(event)
        head = event.point()
    return events


def check(events: list[AuditEvent], *, keys: Keyring = KEYS, **kw: object) -> list[str]:
    kw.setdefault("head", events[-1].point() if events else None)
    kw.setdefault("anchor", None)
    report = verify_shard(keys, VERIFIER, shard=SHARD, events=events, **kw)  # type: ignore[arg-type]
    return [f"{p.seq}: {p.what}" for p in report.problems]


def anchor_at(event: AuditEvent, kind: str = "anchor") -> SignedPoint:
    return sign_point(SIGNER, type=kind, point=event.point(), time=T0)  # type: ignore[arg-type]


# keys and roles


def test_hkdf_is_rfc5869() -> None:
    ikm, salt, info = bytes([0x0B] * 22), bytes(range(13)), bytes(range(0xF0, 0xFA))
    expected = bytes.fromhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    assert hkdf_sha256(ikm, salt=salt, info=info, length=42) == expected
    reference = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"maple-audit-v2", info=ROLE_CHAIN)
    assert KEYS.current.chain == reference.derive(SECRET)


def test_digests_and_macs_use_separate_sub_keys() -> None:
    key = KEYS.current
    assert len({key.chain, key.digest, SECRET}) == 3
    event = chain(1)[0]
    body = canonical_json(event.body()).decode()
    # a digest of a text that happens to be an event body is not that event's mac (it was, with one shared key)
    assert keyed_digest(key, body).split(":")[1] != event.mac
    assert keyed_digest(key, body).split(":")[1] != hmac.new(SECRET, body.encode(), hashlib.sha256).hexdigest()
    assert keyed_digest(key, "draft a reply").startswith("k1:") and len(keyed_digest(key, "x")) == 3 + 64


def test_keyring_parses_ids_and_the_last_key_is_current() -> None:
    ring = Keyring.parse("old:" + "a" * 20 + ", new:" + "b" * 20)
    assert ring.ids == ["old", "new"] and ring.current.kid == "new" and ring.get("old") is not None
    assert "a" * 20 not in repr(ring.current) + repr(ring.get("old"))
    for bad in ("", "nocolon", "k1:short", "bad id:" + "a" * 20, "k1:" + "a" * 20 + ",k1:" + "b" * 20):
        with pytest.raises(ConfigError):
            Keyring.parse(bad)


def test_every_event_names_its_key_and_rotation_keeps_old_events_verifying() -> None:
    before = chain(3)
    rotated = Keyring([("k1", SECRET), ("k2", b"second-secret-0123456789abcdef")])
    after = chain(2, start=before[-1].point(), keys=rotated)
    assert [e.kid for e in before + after] == ["k1"] * 3 + ["k2"] * 2
    assert check(before + after, keys=rotated) == []
    report = verify_shard(rotated, VERIFIER, shard=SHARD, events=before + after, head=after[-1].point(), anchor=None)
    assert report.keys == {"k1": 3, "k2": 2}
    only_new = Keyring([("k2", b"second-secret-0123456789abcdef")])
    assert check(before + after, keys=only_new)[0] == (
        "1: sealed with key id 'k1', which is not in the keyring: add it to MAPLE_AUDIT_KEYS, or forged")


def test_the_key_id_is_covered_by_the_mac() -> None:
    rotated = Keyring([("k1", SECRET), ("k2", b"second-secret-0123456789abcdef")])
    event = chain(1)[0]
    relabelled = event.model_copy(update={"kid": "k2"})
    assert event_intact(rotated, event) and not event_intact(rotated, relabelled)


def test_an_anchor_needs_the_anchor_private_key() -> None:
    events = chain(3)
    genuine = anchor_at(events[-1])
    assert genuine.valid(VERIFIER) and genuine.kid == SIGNER.key_id
    # what a worker holding only the HMAC keys can produce: a mac-signed point (the old scheme) or its own key pair
    body = genuine.model_dump(mode="json", exclude={"sig"})
    by_hmac = genuine.model_copy(update={"sig": compute_mac(KEYS.current.chain, body)})
    by_own_key = sign_point(Ed25519Signer.generate(), type="anchor", point=events[-1].point(), time=T0)
    moved = genuine.model_copy(update={"seq": 2, "mac": events[1].mac})
    for forged in (by_hmac, by_own_key, moved):
        assert not forged.valid(VERIFIER)
        assert check(events, anchor=forged) == [f"{forged.seq}: anchor has an invalid signature"]
    assert not genuine.valid(None)


def test_a_chain_rewritten_with_the_hmac_key_is_caught_by_the_anchor() -> None:
    events = chain(5)
    anchor = anchor_at(events[-1])
    edited = seal(KEYS.current, shard=SHARD, seq=3, prev=events[1].mac, kind="model.called", run_id="R-1",
                  actor="U666", ts=T0, attrs={})
    rewritten = [*events[:2], edited, *chain(2, start=edited.point())]  # every mac recomputed, links intact
    assert check(rewritten) == []  # the HMAC keys alone cannot tell…
    assert check(rewritten, anchor=anchor) == ["5: differs from the anchored mac: chain rewritten"]  # …the anchor can


# attribute hygiene


def test_canonical_json_is_deterministic_and_strict() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "é"]}) == canonical_json({"a": [1.5, "é"], "b": 1})
    assert canonical_json({"a": 1}) == b'{"a":1}'
    with pytest.raises(ValueError):
        canonical_json({"a": float("nan")})


@pytest.mark.parametrize("name", [
    "prompt", "goal", "draft", "text", "maple.goal", "maple.draft.text", "gen_ai.input.messages",
    "gen_ai.output.messages", "gen_ai.system_instructions", "maple.prompt", "maple.goal.summary",
    "gen_ai.tool.call.arguments", "maple.review.reason", "maple.edit.note", "maple.draft.notes",
    "maple.schedule.goal", "maple.review.comment", "maple.run.title"])
def test_free_text_attribute_names_are_rejected(name: str) -> None:
    with pytest.raises(UnsafeAttribute):
        check_attrs({name: "x"})


@pytest.mark.parametrize("value", ["SIN 046 454 286, diagnosed with diabetes", "two\nlines", "tab\there",
                                   "y" * 129, ["ok", "one two three four five"]])
def test_prose_values_are_rejected(value: object) -> None:
    with pytest.raises(UnsafeAttribute):
        check_attrs({"maple.review.decision": value})


@pytest.mark.parametrize("attrs", [{"Maple.X": 1}, {"nodot": 1}, {"maple.x": {"nested": 1}},
                                   {"maple.x": float("inf")}, {"maple.route.reason": "y" * 513}, {"maple.x": [[1]]},
                                   {"maple.x": list(range(65))}, {"maple.x": object()}])
def test_malformed_attributes_are_rejected(attrs: dict[str, object]) -> None:
    with pytest.raises(UnsafeAttribute):
        check_attrs(attrs)


def test_convention_names_digests_and_machine_sentences_pass() -> None:
    names = ["gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model",
             "gen_ai.tool.name", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "error.type",
             "maple.route.chosen", "maple.sensitivity.level", "maple.cost.usd", "maple.latency_ms",
             "maple.review.decision", "maple.destination", "maple.workflow"]
    reason = "openai: cheapest with draft at tier standard cleared for internal; local skipped: tier demo"
    attrs = {name: 1 for name in names} | {"maple.prompt.hmac": keyed_digest(KEYS.current, "hi"),
                                           "maple.draft.version": 2, "maple.documents": ("d1", "d2"),
                                           "maple.route.reason": reason, "maple.sensitivity.hits": ["project falcon=1"]}
    assert check_attrs(attrs)["maple.documents"] == ["d1", "d2"]


def test_text_attrs_keep_a_digest_and_a_length_never_the_text() -> None:
    reason = "SIN 046 454 286 — le patient souffre de diabète"
    attrs = text_attrs("maple.review.reason", reason, digest=lambda t: keyed_digest(KEYS.current, t),
                       hits={"sin": 1, "health": 1})
    assert attrs == {"maple.review.reason.hmac": keyed_digest(KEYS.current, reason),
                     "maple.review.reason.length": len(reason), "maple.review.reason.hits": ["health=1", "sin=1"]}
    assert "046" not in json.dumps(attrs) and "diab" not in json.dumps(attrs)
    assert text_attrs("maple.review.reason", None, digest=str) == {}
    assert MemoryAudit().text_attrs("maple.edit.note", "x")["maple.edit.note.length"] == 1


def test_kind_and_event_id_must_be_well_formed() -> None:
    with pytest.raises(UnsafeAttribute):
        seal(KEYS.current, shard=SHARD, seq=1, prev=GENESIS, kind="Created", run_id=None, actor=None, ts=T0,
             attrs={})
    with pytest.raises(UnsafeAttribute):
        seal(KEYS.current, shard=SHARD, seq=1, prev=GENESIS, kind="run.created", run_id=None, actor=None, ts=T0,
             attrs={}, event_id="has space")


# the in-memory fake validates like the real adapter


@pytest.mark.parametrize("attrs", [{"maple.goal": "secret plan"}, {"maple.review.reason": "too long"},
                                   {"maple.x": float("nan")}, {"maple.review.decision": "one two three four five"},
                                   {"nodot": 1}])
async def test_the_memory_fake_refuses_what_the_core_refuses(attrs: dict[str, object]) -> None:
    audit = MemoryAudit()
    with pytest.raises(UnsafeAttribute):
        await audit.append(kind="review.decided", run_id="R-1", actor="U1", attrs=attrs)
    with pytest.raises(UnsafeAttribute):
        await audit.append(kind="Bad kind", run_id="R-1", actor="U1", attrs={})
    assert audit.events == []


async def test_the_memory_fake_is_a_verifiable_idempotent_chain() -> None:
    audit = MemoryAudit(clock=FixedClock(T0))
    for i in range(3):
        await audit.append(kind="review.decided", run_id="R-1", actor="U1", attrs={"maple.n": i}, event_id="E-1")
        await audit.append(kind="run.delivered", run_id="R-2", actor=None, attrs={}, event_id=f"E-{i + 2}")
    assert [e["kind"] for e in audit.events] == ["review.decided", "run.delivered", "run.delivered",
                                                 "run.delivered"]
    assert [e.kind for e in await audit.timeline("R-1")] == ["review.decided"]
    sealed = audit.sealed
    report = verify_shard(audit.keys, None, shard="memory", events=sealed, head=sealed[-1].point(), anchor=None)
    assert report.ok and sealed[0].eid == "E-1"


# chain verification


def test_shard_names() -> None:
    assert shard_name(datetime(2026, 11, 24, 23, 30, tzinfo=UTC), "w1") == "2026-11-24/w1"
    assert shard_day("2026-11-24/w1") == T0.date()
    assert shard_day("garbage") is None and shard_day("2026-13-01/w1") is None
    with pytest.raises(ValueError):
        shard_name(T0, "w/1")


def test_event_survives_a_json_round_trip() -> None:
    event = seal(KEYS.current, shard=SHARD, seq=1, prev=GENESIS, kind="run.created", run_id="R-1", actor="U1",
                 ts=T0, attrs={"maple.cost.usd": 0.1 + 0.2, "maple.documents": ["ü", "b"], "maple.x": True})
    again = AuditEvent.model_validate_json(event.model_dump_json())
    assert again == event and event_intact(KEYS, again)
    assert not event_intact(Keyring([("k1", b"z" * 32)]), again)
    edited = json.loads(event.model_dump_json())
    edited["attrs"]["maple.x"] = False
    assert not event_intact(KEYS, AuditEvent.model_validate(edited))


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
    extra = seal(AuditKey.derive("k1", b"wrong-key" * 4), shard=SHARD, seq=6, prev=events[-1].mac,
                 kind="run.delivered", run_id="R-1", actor=None, ts=T0, attrs={})
    assert check([*events, extra], head=events[-1].point()) == [
        "6: mac mismatch: event edited or forged", "6: events after the head (seq 5): inserted"]


def test_cut_off_tail_is_caught_by_head_and_anchor() -> None:
    events = chain(5)
    anchor = anchor_at(events[-1])
    assert check(events[:3], anchor=anchor, head=events[-1].point()) == [
        "5: cut off: head is seq 5, stream ends at 3", "5: cut off: anchored at seq 5, stream ends at 3"]
    # an attacker who also rewinds the head is still caught by the anchor
    assert check(events[:3], anchor=anchor) == ["5: cut off: anchored at seq 5, stream ends at 3"]
    assert check([], anchor=anchor, head=None) == ["5: cut off: anchored at seq 5, stream ends at 0"]


def test_signed_checkpoint_allows_a_trimmed_prefix() -> None:
    events = chain(6)
    checkpoint, anchor = anchor_at(events[2], "checkpoint"), anchor_at(events[1])
    assert check(events[3:], checkpoints=[checkpoint], anchor=anchor) == []
    assert check(events[1:], checkpoints=[checkpoint]) == []  # a trim interrupted before deleting
    assert check(events[3:]) == ["1: seq 1-3 missing: truncated without a signed checkpoint"]
    everything, final = anchor_at(events[-1], "checkpoint"), anchor_at(events[-1])
    assert check([], checkpoints=[everything], anchor=final, head=None) == []


def test_forged_checkpoints_are_rejected() -> None:
    events = chain(4)
    body = anchor_at(events[1], "checkpoint").model_dump(mode="json", exclude={"sig"})
    by_hmac = SignedPoint.model_validate(body | {"sig": compute_mac(KEYS.current.chain, body)})
    assert check(events[2:], checkpoints=[by_hmac]) == [
        "2: checkpoint has an invalid signature", "1: seq 1-2 missing: truncated without a signed checkpoint"]
    other = sign_point(SIGNER, type="checkpoint", point=ChainPoint(shard="2026-11-23/w1", seq=2, mac="x"), time=T0)
    assert check(events[2:], checkpoints=[other])[0] == "2: checkpoint has an invalid signature"


def test_event_moved_from_another_shard_is_reported() -> None:
    other = chain(1, shard="2026-11-24/w2")
    assert "event belongs to shard 2026-11-24/w2" in check(other)[0]


def test_anchor_lines_keep_the_highest_valid_point_per_shard() -> None:
    events = chain(3)
    lines = [anchor_at(e).model_dump_json() for e in events]
    forged = json.loads(lines[2]) | {"seq": 9}
    stranger = sign_point(Ed25519Signer.generate(), type="anchor", point=events[2].point(), time=T0)
    cp = anchor_at(events[0], "checkpoint").model_dump_json()
    state = read_anchor_lines(VERIFIER, [lines[1], lines[2], lines[0], "", "{not json", json.dumps(forged), cp,
                                         stranger.model_dump_json()])
    assert state.anchors[SHARD].seq == 3 and state.checkpoints[SHARD].seq == 1
    assert state.lines == 4 and state.signers == {SIGNER.key_id: 4}
    assert state.problems == [
        "anchor file line 5 is malformed", "anchor file line 6 has an invalid signature",
        f"anchor file line 8 is signed by anchor key {stranger.kid!r}, which is not among the configured anchor "
        "public keys"]


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError):
        seal(KEYS.current, shard=SHARD, seq=1, prev=GENESIS, kind="run.created", run_id=None, actor=None,
             ts=datetime(2026, 11, 24), attrs={})


def test_the_report_says_what_it_checked_and_what_it_did_not() -> None:
    events = chain(4)
    shard = verify_shard(KEYS, VERIFIER, shard=SHARD, events=events, head=events[-1].point(),
                         anchor=anchor_at(events[1]))
    report = AuditReport(shards=[shard], anchored=True, anchor_file="a.jsonl", anchor_lines=1,
                         anchor_signers={SIGNER.key_id: 1}, keyring=["k1"], current_key="k1")
    text = "\n".join(report.lines())
    assert "1 shard(s), 4 event(s)" in text and "configured k1 (current: k1); in use k1: 4" in text
    assert "1 signed line(s) in a.jsonl" in text and SIGNER.key_id in text
    assert f"{SHARD}: 4 events (seq 1-4), anchored at seq 2: ok" in text
    assert "1 shard(s) have events after their last anchor" in text and text.endswith("no cut-off tail")
    bare = "\n".join(AuditReport(shards=[shard], keyring=["k1"]).lines())
    assert "no anchor file was read" in bare


# retention policy


def test_trim_plans_cut_at_the_first_younger_event_and_whole_shards_only_after_their_day() -> None:
    events = chain(6)  # 09:00:00 … 09:00:05 on 2026-11-24
    report = verify_shard(KEYS, VERIFIER, shard=SHARD, events=events, head=events[-1].point(), anchor=None)
    day = date(2026, 11, 24)
    plan = plan_trim(events=events, report=report, head=events[-1].point(), day=day, before=T0 + timedelta(seconds=3),
                     now=T0)
    assert plan is not None and (plan.cut, plan.point.seq, plan.whole) == (3, 3, False)
    later = T0 + timedelta(days=3)
    whole = plan_trim(events=events, report=report, head=events[-1].point(), day=day, before=later, now=later)
    assert whole is not None and (whole.cut, whole.point, whole.whole) == (6, events[-1].point(), True)
    today = plan_trim(events=events, report=report, head=events[-1].point(), day=day, before=later, now=T0)
    assert today is not None and not today.whole  # the shard's day is not over: appends may still come
    assert plan_trim(events=events, report=report, head=events[-1].point(), day=day, before=T0, now=T0) is None
    assert trim_candidates(["2026-11-24/w1", "2026-11-25/w1", "junk"], T0) == [("2026-11-24/w1", day)]
    damaged = verify_shard(KEYS, VERIFIER, shard=SHARD, events=events[1:], head=events[-1].point(), anchor=None)
    assert why_not_trim(damaged) == "seq 1 missing: truncated without a signed checkpoint"
    assert why_not_trim(report) is None
