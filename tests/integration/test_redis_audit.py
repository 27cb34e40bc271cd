"""The audit trail on real Redis: atomic sharded appends, idempotent event ids under real concurrency, Ed25519
anchors, and attackers who can edit Redis (direct XDEL / XADD / DEL / HSET) — with or without the audit HMAC keys
a worker holds, never with the anchor private key."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.core.audit import GENESIS, AuditEvent, SignedPoint, UnsafeAttribute, compute_mac, seal, sign_point
from bot.core.audit_keys import AuditKey, Keyring
from bot.core.errors import ConfigError, StoreUnavailable
from integrations.audit_anchor import AnchorFile, AuditAnchor, Ed25519Signer, Ed25519Verifier
from integrations.redis_audit import RedisAuditLog
from tests.fakes.memory import FixedClock, MemoryAudit

KEY = b"test-audit-key-0123456789abcdef"
KEYS = Keyring([("k1", KEY)])
SIGNER = Ed25519Signer.generate()
DAY = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SHARD = "2026-11-24/w1"


@pytest.fixture
async def r() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url("redis://127.0.0.1:6379/0")
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(r: aioredis.Redis) -> AsyncIterator[str]:
    name = f"test:audit:{uuid.uuid4().hex[:10]}:"
    yield name
    keys = [key async for key in r.scan_iter(match=f"{name}*")]
    if keys:
        await r.delete(*keys)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DAY)


@pytest.fixture
def make(r: aioredis.Redis, prefix: str, clock: FixedClock, tmp_path: Path) -> Callable[..., RedisAuditLog]:
    def build(worker: str = "w1", **kw: Any) -> RedisAuditLog:
        kw.setdefault("anchors", AnchorFile(tmp_path / "anchors" / "audit.jsonl", verifier=Ed25519Verifier([SIGNER.public])))
        kw.setdefault("keys", KEYS)
        return RedisAuditLog(redis=r, prefix=prefix, worker=worker, clock=clock, **kw)

    return build


@pytest.fixture
def anchoring(clock: FixedClock) -> Callable[[RedisAuditLog], AuditAnchor]:
    def build(log: RedisAuditLog) -> AuditAnchor:
        assert log.anchors is not None
        return AuditAnchor(log=log, file=log.anchors, signer=SIGNER, clock=clock)

    return build


async def fill(log: RedisAuditLog, clock: FixedClock, n: int, *, run_id: str = "R-1") -> list[AuditEvent]:
    events = []
    for i in range(n):
        clock.advance(1)
        event = await log.record(kind="model.called", run_id=run_id, actor="U1",
                                 attrs={"gen_ai.usage.input_tokens": i, "gen_ai.request.model": "m"})
        assert event is not None
        events.append(event)
    return events


async def entries(r: aioredis.Redis, log: RedisAuditLog, shard: str = SHARD) -> list[tuple[bytes, dict[str, Any]]]:
    return [(eid, json.loads(f[b"e"])) for eid, f in await r.xrange(log.stream_key(shard))]


async def rebuild(r: aioredis.Redis, log: RedisAuditLog, docs: list[dict[str, Any]], shard: str = SHARD) -> None:
    """What an attacker does to 'edit' a stream: delete it and write it again, entry by entry."""
    await r.delete(log.stream_key(shard))
    for doc in docs:
        await r.xadd(log.stream_key(shard), {"e": json.dumps(doc)})


def problems(report: Any) -> list[str]:
    return [f"{s.shard} {p.seq}: {p.what}" for s in report.shards for p in s.problems]


async def test_append_stores_a_chain_and_never_the_key(r: aioredis.Redis, make: Callable[..., RedisAuditLog],
                                                       clock: FixedClock, prefix: str) -> None:
    log = make()
    await log.append(kind="run.created", run_id="R-1", actor="U1",
                     attrs={"maple.workflow": "reply", "maple.prompt.hmac": log.digest("the goal")})
    events = await fill(log, clock, 3)
    stored = [doc for _, doc in await entries(r, log)]
    assert [d["seq"] for d in stored] == [1, 2, 3, 4] and stored[0]["prev"] == GENESIS
    assert [d["prev"] for d in stored[1:]] == [d["mac"] for d in stored[:-1]]
    assert {d["kid"] for d in stored} == {"k1"} and stored[0]["attrs"]["maple.prompt.hmac"].startswith("k1:")
    assert stored[-1]["mac"] == events[-1].mac and stored[0]["attrs"]["maple.workflow"] == "reply"
    assert await r.hgetall(log.head_key(SHARD)) == {b"seq": b"4", b"mac": events[-1].mac.encode()}
    dump = b"".join([str(await r.dump(k)).encode() async for k in r.scan_iter(match=f"{prefix}*")])
    for secret in (KEY, KEYS.current.chain, KEYS.current.digest, b"the goal"):
        assert secret not in dump
    assert (await log.verify()).ok


async def test_unsafe_attributes_never_reach_redis(r: aioredis.Redis, make: Callable[..., RedisAuditLog],
                                                   prefix: str) -> None:
    with pytest.raises(UnsafeAttribute):
        await make().append(kind="run.created", run_id="R-1", actor="U1", attrs={"maple.goal": "secret plan"})
    assert [k async for k in r.scan_iter(match=f"{prefix}*")] == []


@pytest.mark.parametrize("attrs", [
    {"maple.goal": "secret plan"}, {"maple.review.reason": "SIN 046 454 286"}, {"maple.x": float("nan")},
    {"maple.review.decision": "one two three four five"}, {"maple.x": {"nested": 1}}, {"nodot": 1},
    {"maple.review.decision": "approve", "maple.review.reason.hmac": "k1:00", "maple.review.reason.length": 3},
])
async def test_the_memory_fake_and_redis_accept_and_refuse_alike(
    make: Callable[..., RedisAuditLog], attrs: dict[str, Any]
) -> None:
    outcomes = []
    for audit in (make(), MemoryAudit()):
        try:
            await audit.append(kind="review.decided", run_id="R-1", actor="U1", attrs=attrs)
            outcomes.append("stored")
        except UnsafeAttribute:
            outcomes.append("refused")
    assert outcomes[0] == outcomes[1]


async def test_concurrent_appenders_in_one_shard_cannot_fork(make: Callable[..., RedisAuditLog], r: aioredis.Redis,
                                                            clock: FixedClock) -> None:
    logs = [make() for _ in range(4)]  # four processes misconfigured with the same worker id, plus tasks

    async def burst(log: RedisAuditLog, n: int) -> None:
        await asyncio.gather(*(log.append(kind="tool.called", run_id=f"R-{n}", actor=None,
                                          attrs={"gen_ai.tool.name": "search"}) for _ in range(25)))

    await asyncio.gather(*(burst(log, i) for i, log in enumerate(logs)))
    docs = [doc for _, doc in await entries(r, logs[0])]
    assert [d["seq"] for d in docs] == list(range(1, 101))
    assert all(b["prev"] == a["mac"] for a, b in zip(docs, docs[1:], strict=False))
    report = await logs[0].verify()
    assert report.ok and report.shards[0].last_seq == 100


async def test_concurrent_appends_of_one_process_fail_alone_and_chain_in_order(
        make: Callable[..., RedisAuditLog], clock: FixedClock) -> None:
    """Appends made while another is on the wire go together (group commit): an unsafe event among them fails
    alone, an event id already appended is skipped, and the chain stays whole."""
    log = make()
    await log.append(kind="run.created", run_id="R-0", actor=None, attrs={}, event_id="R-0:created")

    async def one(i: int) -> object:
        attrs = {"goal": "free text"} if i == 7 else {"gen_ai.tool.name": "search"}
        return await log.record(kind="tool.called", run_id=f"R-{i % 5}", actor=None, attrs=attrs,
                                event_id="R-0:created" if i == 11 else f"R-{i}:tool")

    outcomes = await asyncio.gather(*(one(i) for i in range(40)), return_exceptions=True)
    assert [i for i, o in enumerate(outcomes) if isinstance(o, Exception)] == [7]
    assert isinstance(outcomes[7], UnsafeAttribute)
    assert isinstance(outcomes[11], AuditEvent) and outcomes[11].kind == "run.created"  # the first, not a copy
    report = await log.verify()
    assert report.ok and report.shards[0].last_seq == 1 + 38


async def test_an_event_id_is_appended_once(make: Callable[..., RedisAuditLog], r: aioredis.Redis,
                                            clock: FixedClock, prefix: str) -> None:
    w1, w2 = make("w1"), make("w2")
    first = await w1.record(kind="review.decided", run_id="R-1", actor="U1", attrs={}, event_id="R-1:decided:1")
    clock.advance(5)
    again = await w2.record(kind="review.decided", run_id="R-1", actor="U1", attrs={}, event_id="R-1:decided:1")
    await w2.append(kind="review.decided", run_id="R-1", actor="U1", attrs={}, event_id="R-1:decided:1")
    assert first is not None and again == first and first.eid == "R-1:decided:1"
    assert [e.eid for e in await w1.timeline("R-1")] == ["R-1:decided:1"]
    assert await r.ttl(w1.event_id_key("R-1:decided:1")) > 0
    assert await w2.shards() == [SHARD]  # the duplicate did not even open a shard for w2
    # a burst of flushes of the same pending events from two workers, overlapping on the shared server
    await asyncio.gather(*(log.append(kind="run.delivered", run_id="R-2", actor=None, attrs={}, event_id=f"R-2:{i}")
                           for _ in range(10) for log in (w1, w2) for i in range(3)))
    assert sorted(e.eid or "" for e in await w1.timeline("R-2")) == ["R-2:0", "R-2:1", "R-2:2"]
    assert (await w1.verify()).ok


@pytest.fixture
def private_redis() -> Any:
    """A Redis server of our own, which this test may pause (never the shared one)."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed (make test installs it)"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


async def wait_until(check: Callable[[], Any], *, what: str, cap: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + cap
    while not await check():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_two_appenders_of_one_event_id_really_overlapping(private_redis: str, clock: FixedClock) -> None:
    """Both appends reach the server before either runs (the server is paused for writes until both are
    queued): exactly one event, and both callers get it back."""
    admin = aioredis.Redis.from_url(private_redis)
    clients = [aioredis.Redis.from_url(private_redis) for _ in range(2)]
    await wait_until(lambda: _pings(admin), what="the private Redis to start")
    logs = [RedisAuditLog(redis=c, keys=KEYS, prefix="t:", worker=f"w{i}", clock=clock) for i, c in enumerate(clients)]
    try:
        for log in logs:  # load the script and open both shards
            await log.append(kind="run.created", run_id="R-0", actor=None, attrs={})
        await admin.execute_command("CLIENT", "PAUSE", 30000, "WRITE")
        racing = [asyncio.create_task(log.record(kind="review.decided", run_id="R-1", actor="U1",
                                                 attrs={"maple.review.decision": "approve"}, event_id="R-1:d"))
                  for log in logs]
        await wait_until(lambda: _blocked(admin, 2), what="both appends to be queued at the server")
        await admin.execute_command("CLIENT", "UNPAUSE")
        first, second = await asyncio.gather(*racing)
        assert first is not None and first == second
        timeline = await logs[0].timeline("R-1")
        assert [e.eid for e in timeline] == ["R-1:d"]
        assert sorted(s.last_seq for s in (await logs[0].verify()).shards) == [1, 2]
    finally:
        await admin.execute_command("CLIENT", "UNPAUSE")
        for c in (admin, *clients):
            await c.aclose()


async def _pings(client: aioredis.Redis) -> bool:
    try:
        return bool(await client.ping())
    except aioredis.ConnectionError:
        return False


async def _blocked(client: aioredis.Redis, count: int) -> bool:
    return int((await client.info("clients"))["blocked_clients"]) >= count


async def test_shards_follow_day_and_worker(make: Callable[..., RedisAuditLog], clock: FixedClock) -> None:
    w1, w2 = make("w1"), make("w2")
    await fill(w1, clock, 2)
    await fill(w2, clock, 1)
    clock.advance(86400)
    await fill(w1, clock, 1)
    assert await w1.shards() == ["2026-11-24/w1", "2026-11-24/w2", "2026-11-25/w1"]
    assert [s.last_seq for s in (await w2.verify()).shards] == [2, 1, 1]


async def test_timeline_and_export_are_in_time_order(make: Callable[..., RedisAuditLog], clock: FixedClock) -> None:
    w1, w2 = make("w1"), make("w2")
    await w1.append(kind="run.created", run_id="R-A", actor="U1", attrs={})
    clock.advance(1)
    await w2.append(kind="run.classified", run_id="R-B", actor="U1", attrs={})
    clock.advance(1)
    await w2.append(kind="route.decided", run_id="R-A", actor=None, attrs={"maple.route.reason": "cheapest"})
    clock.advance(86400)
    await w1.append(kind="run.delivered", run_id="R-A", actor=None, attrs={"maple.destination": "C1"})
    timeline = await w1.timeline("R-A")
    assert [e.kind for e in timeline] == ["run.created", "route.decided", "run.delivered"]
    assert await w1.timeline("R-NONE") == []
    exported = [e async for e in w1.export(DAY + timedelta(seconds=1))]
    assert [e["kind"] for e in exported] == ["run.classified", "route.decided", "run.delivered"]
    assert exported[0]["ts"] == "2026-11-24T09:00:01.000000Z" and "mac" in exported[0]


async def test_anchor_writes_changed_heads_with_a_signature(
    make: Callable[..., RedisAuditLog], anchoring: Callable[[RedisAuditLog], AuditAnchor], clock: FixedClock,
    tmp_path: Path,
) -> None:
    log = make()
    events = await fill(log, clock, 3)
    first = await anchoring(log).anchor()
    assert [(p.shard, p.seq, p.mac, p.kid) for p in first] == [(SHARD, 3, events[-1].mac, SIGNER.key_id)]
    anchor = anchoring(log)
    assert await anchor.anchor() == []  # nothing moved (a fresh instance reads the file)
    await fill(make("w2"), clock, 1)
    assert [p.shard for p in await anchor.anchor()] == ["2026-11-24/w2"]
    lines = (tmp_path / "anchors" / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["sig"] for line in lines)
    tampered = json.loads(lines[0]) | {"seq": 2}
    (tmp_path / "anchors" / "audit.jsonl").write_text("\n".join([*lines, json.dumps(tampered)]) + "\n")
    report = await log.verify()
    assert report.problems == ["anchor file line 3 has an invalid signature"] and not report.ok
    assert report.anchor_lines == 2 and report.anchor_signers == {SIGNER.key_id: 2}


@pytest.fixture
async def anchored(make: Callable[..., RedisAuditLog], anchoring: Callable[[RedisAuditLog], AuditAnchor],
                   clock: FixedClock) -> RedisAuditLog:
    log = make()
    await fill(log, clock, 6)
    await anchoring(log).anchor()
    assert (await log.verify()).ok
    return log


async def test_edited_event(anchored: RedisAuditLog, r: aioredis.Redis) -> None:
    docs = [doc for _, doc in await entries(r, anchored)]
    docs[2]["attrs"]["gen_ai.request.model"] = "cheaper-model"
    await rebuild(r, anchored, docs)
    assert problems(await anchored.verify()) == [f"{SHARD} 3: mac mismatch: event edited or forged"]


async def test_deleted_event(anchored: RedisAuditLog, r: aioredis.Redis) -> None:
    ids = [eid for eid, _ in await entries(r, anchored)]
    await r.xdel(anchored.stream_key(SHARD), ids[3])
    assert problems(await anchored.verify()) == [f"{SHARD} 4: seq 4 missing: deleted"]


async def test_reordered_event(anchored: RedisAuditLog, r: aioredis.Redis) -> None:
    rows = await entries(r, anchored)
    await r.xdel(anchored.stream_key(SHARD), rows[1][0])
    await r.xadd(anchored.stream_key(SHARD), {"e": json.dumps(rows[1][1])})
    assert problems(await anchored.verify()) == [f"{SHARD} 2: out of order: stored after seq 6"]


async def test_inserted_event(anchored: RedisAuditLog, r: aioredis.Redis) -> None:
    docs = [doc for _, doc in await entries(r, anchored)]
    forged = seal(AuditKey.derive("k1", b"attacker-guess-key-0123"), shard=SHARD, seq=4, prev=docs[2]["mac"],
                  kind="review.decided", run_id="R-1", actor="U666", ts=DAY,
                  attrs={"maple.review.decision": "approve"})
    await rebuild(r, anchored, [*docs[:3], json.loads(forged.model_dump_json()), *docs[3:]])
    assert problems(await anchored.verify()) == [
        f"{SHARD} 4: mac mismatch: event edited or forged", f"{SHARD} 4: duplicate seq: replayed or inserted event"]


async def test_appended_forgery(anchored: RedisAuditLog, r: aioredis.Redis) -> None:
    docs = [doc for _, doc in await entries(r, anchored)]
    await r.xadd(anchored.stream_key(SHARD), {"e": json.dumps(docs[-1] | {"seq": 7, "prev": docs[-1]["mac"]})})
    await r.xadd(anchored.stream_key(SHARD), {"e": "not json"})
    found = problems(await anchored.verify())
    assert f"{SHARD} 7: mac mismatch: event edited or forged" in found
    assert f"{SHARD} 7: events after the head (seq 6): inserted" in found
    assert any("is not a valid audit event" in p for p in found)


async def test_cut_off_tail_even_with_a_rewound_head(anchored: RedisAuditLog, r: aioredis.Redis) -> None:
    rows = await entries(r, anchored)
    await r.xdel(anchored.stream_key(SHARD), rows[4][0], rows[5][0])
    await r.hset(anchored.head_key(SHARD), mapping={"seq": 4, "mac": rows[3][1]["mac"]})
    assert problems(await anchored.verify()) == [f"{SHARD} 6: cut off: anchored at seq 6, stream ends at 4"]


async def test_whole_shard_deleted(anchored: RedisAuditLog, r: aioredis.Redis) -> None:
    await r.delete(anchored.stream_key(SHARD), anchored.head_key(SHARD))
    await r.srem(anchored.shards_key, SHARD)
    assert problems(await anchored.verify()) == [f"{SHARD} 6: cut off: anchored at seq 6, stream ends at 0"]


async def test_a_worker_holding_the_hmac_keys_cannot_rewrite_an_anchored_chain(
    anchored: RedisAuditLog, r: aioredis.Redis
) -> None:
    """A compromised worker re-seals a rewritten history with valid macs and a consistent head: the anchor,
    signed with a key the worker never had, still disagrees."""
    docs = [doc for _, doc in await entries(r, anchored)]
    prev, forged = docs[1]["mac"], docs[:2]
    for doc in docs[2:]:
        event = seal(KEYS.current, shard=SHARD, seq=doc["seq"], prev=prev, kind="model.called", run_id="R-1",
                     actor="U666", ts=DAY, attrs={"gen_ai.request.model": "m"})
        forged.append(json.loads(event.model_dump_json()))
        prev = event.mac
    await rebuild(r, anchored, forged)
    await r.hset(anchored.head_key(SHARD), mapping={"seq": 6, "mac": prev})
    assert problems(await anchored.verify()) == [f"{SHARD} 6: differs from the anchored mac: chain rewritten"]


async def test_unsigned_truncation_and_forged_checkpoints(anchored: RedisAuditLog, r: aioredis.Redis) -> None:
    rows = await entries(r, anchored)
    await r.xtrim(anchored.stream_key(SHARD), minid=rows[2][0].decode(), approximate=False)
    assert problems(await anchored.verify()) == [
        f"{SHARD} 1: seq 1-2 missing: truncated without a signed checkpoint"]
    point = AuditEvent.model_validate(rows[1][1]).point()
    own_key = sign_point(Ed25519Signer.generate(), type="checkpoint", time=DAY, point=point)
    body = own_key.model_dump(mode="json", exclude={"sig"}) | {"kid": SIGNER.key_id}
    by_hmac = SignedPoint.model_validate(body | {"sig": compute_mac(KEYS.current.chain, body)})  # a worker's best try
    for fake in (own_key, by_hmac):
        await r.hset(anchored.head_key(SHARD), "checkpoint", fake.model_dump_json())
        found = problems(await anchored.verify())
        assert f"{SHARD} 2: checkpoint has an invalid signature" in found
        assert f"{SHARD} 1: seq 1-2 missing: truncated without a signed checkpoint" in found


async def test_trim_at_signed_checkpoints(make: Callable[..., RedisAuditLog],
                                          anchoring: Callable[[RedisAuditLog], AuditAnchor], clock: FixedClock,
                                          r: aioredis.Redis, tmp_path: Path) -> None:
    log = make()
    anchor = anchoring(log)
    await fill(log, clock, 3)  # 2026-11-24
    clock.advance(86400)
    await fill(log, clock, 2)  # 2026-11-25
    clock.advance(86400)
    await fill(log, clock, 4)  # 2026-11-26, 09:00:08..11
    await anchor.anchor()
    cutoff = clock.now() - timedelta(seconds=1)  # keeps the last two events of today's shard
    clock.advance(86400)  # trimming runs the next day
    result = await anchor.trim(cutoff)
    assert [(c.shard, c.seq, c.kid) for c in result.checkpoints] == [
        ("2026-11-24/w1", 3, SIGNER.key_id), ("2026-11-25/w1", 2, SIGNER.key_id), ("2026-11-26/w1", 2, SIGNER.key_id)]
    assert result.removed == 7 and result.skipped == {}
    assert await log.shards() == ["2026-11-26/w1"]
    assert not await r.exists(log.stream_key("2026-11-24/w1"), log.head_key("2026-11-24/w1"))
    assert await r.xlen(log.stream_key("2026-11-26/w1")) == 2
    report = await log.verify()
    assert report.ok, report.lines()
    assert [(s.shard, s.base_seq, s.last_seq) for s in report.shards] == [
        ("2026-11-24/w1", 3, 3), ("2026-11-25/w1", 2, 2), ("2026-11-26/w1", 2, 4)]
    checkpoints = [json.loads(x) for x in (tmp_path / "anchors" / "audit.jsonl").read_text().splitlines()]
    assert sum(1 for c in checkpoints if c["type"] == "checkpoint") == 3
    first = (await entries(r, log, "2026-11-26/w1"))[0][0]
    await r.xdel(log.stream_key("2026-11-26/w1"), first)  # unsigned truncation after a legitimate trim
    assert problems(await log.verify()) == ["2026-11-26/w1 3: seq 3 missing: truncated without a signed checkpoint"]


async def test_trim_skips_a_tampered_shard(make: Callable[..., RedisAuditLog],
                                           anchoring: Callable[[RedisAuditLog], AuditAnchor], clock: FixedClock,
                                           r: aioredis.Redis) -> None:
    log = make()
    await fill(log, clock, 3)
    ids = [eid for eid, _ in await entries(r, log)]
    await r.xdel(log.stream_key(SHARD), ids[1])
    clock.advance(3 * 86400)
    result = await anchoring(log).trim(clock.now())
    assert result.checkpoints == [] and result.skipped == {SHARD: "seq 2 missing: deleted"}
    assert await r.xlen(log.stream_key(SHARD)) == 2


async def test_verify_without_an_anchor_file_says_so(make: Callable[..., RedisAuditLog], clock: FixedClock) -> None:
    log = make(anchors=None)
    await fill(log, clock, 2)
    report = await log.verify()
    assert report.ok and not report.anchored
    assert any("no anchor file was read" in line for line in report.lines())


def test_bad_configuration_is_refused(r: aioredis.Redis, clock: FixedClock) -> None:
    with pytest.raises(ConfigError):
        RedisAuditLog(redis=r, keys=Keyring([("k1", b"short")]), prefix="x:", worker="w1", clock=clock)
    with pytest.raises(ConfigError):
        RedisAuditLog(redis=r, keys=KEYS, prefix="x:", worker="w:1", clock=clock)


async def test_redis_down_is_store_unavailable(clock: FixedClock) -> None:
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    log = RedisAuditLog(redis=dead, keys=KEYS, prefix="x:", worker="w1", clock=clock)
    with pytest.raises(StoreUnavailable):
        await log.append(kind="run.created", run_id="R-1", actor=None, attrs={})
    with pytest.raises(StoreUnavailable):
        await log.verify()
    await dead.aclose()


async def test_works_with_decoded_responses(prefix: str, clock: FixedClock, tmp_path: Path) -> None:
    client = aioredis.Redis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
    file = AnchorFile(tmp_path / "a.jsonl", verifier=Ed25519Verifier([SIGNER.public]))
    log = RedisAuditLog(redis=client, keys=KEYS, prefix=prefix, worker="w9", clock=clock, anchors=file)
    anchor = AuditAnchor(log=log, file=file, signer=SIGNER, clock=clock)
    await asyncio.gather(*(log.append(kind="policy.checked", run_id="R-9", actor=None, attrs={}) for _ in range(5)))
    await log.append(kind="policy.checked", run_id="R-9", actor=None, attrs={}, event_id="E-9")
    await log.append(kind="policy.checked", run_id="R-9", actor=None, attrs={}, event_id="E-9")
    assert len(await log.timeline("R-9")) == 6 and len(await anchor.anchor()) == 1
    clock.advance(3 * 86400)
    assert (await anchor.trim(clock.now())).removed == 6
    assert (await log.verify()).ok and await log.timeline("R-9") == []
    await client.aclose()
