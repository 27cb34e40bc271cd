"""Verifying audit chains: recompute every event's HMAC and link, compare with signed checkpoints and anchors, and
report each problem (edit, deletion, reordering, insertion, cut-off tail) at its sequence number."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

from bot.core.audit import GENESIS, AuditEvent, ChainPoint, SignedPoint, event_intact


class Problem(BaseModel):
    seq: int | None
    what: str


class ShardReport(BaseModel):
    shard: str
    events: int
    base_seq: int  # the signed checkpoint the chain starts after (0: genesis)
    last_seq: int
    problems: list[Problem] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditReport(BaseModel):
    shards: list[ShardReport] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    anchored: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and all(shard.ok for shard in self.shards)

    def lines(self) -> list[str]:
        """Human-readable summary, one line per shard and per problem."""
        out = [f"anchor file: {p}" for p in self.problems]
        for shard in self.shards:
            state = "ok" if shard.ok else f"{len(shard.problems)} problem(s)"
            out.append(f"{shard.shard}: {shard.events} events, head seq {shard.last_seq}: {state}")
            out.extend(f"  seq {p.seq if p.seq is not None else '-'}: {p.what}" for p in shard.problems)
        return out


def verify_shard(
    key: bytes, *, shard: str, events: list[AuditEvent], head: ChainPoint | None, anchor: SignedPoint | None,
    checkpoints: Iterable[SignedPoint] = (), bad_entries: Iterable[str] = (),
) -> ShardReport:
    """Check one shard's events (in stream order) against their macs, links, head, anchor and checkpoints."""
    problems = [Problem(seq=None, what=f"stream entry {entry} is not a valid audit event") for entry in bad_entries]
    floor = _floor(key, shard, checkpoints, problems)
    live = _check_events(key, shard, events, floor, problems)
    macs = {floor.seq: floor.mac} | {seq: event.mac for seq, event in live.items()}
    tip = max(macs)
    _check_links(live, macs, floor, tip, problems)
    _check_head(head, ChainPoint(shard=shard, seq=tip, mac=macs[tip]), floor, problems)
    if anchor is not None and _trusted(key, shard, "anchor", anchor, problems):
        _check_anchor(anchor, floor, tip, macs, problems)
    return ShardReport(shard=shard, events=len(events), base_seq=floor.seq, last_seq=tip, problems=problems)


def _trusted(key: bytes, shard: str, kind: str, point: SignedPoint, problems: list[Problem]) -> bool:
    if point.type == kind and point.shard == shard and point.valid(key):
        return True
    problems.append(Problem(seq=point.seq, what=f"{kind} has an invalid signature"))
    return False


def _floor(key: bytes, shard: str, checkpoints: Iterable[SignedPoint], problems: list[Problem]) -> ChainPoint:
    """Where the chain starts: the highest signed checkpoint, else the genesis."""
    trusted = [cp for cp in checkpoints if _trusted(key, shard, "checkpoint", cp, problems)]
    best = max(trusted, key=lambda cp: cp.seq, default=None)
    return best.point() if best else ChainPoint(shard=shard, seq=0, mac=GENESIS)


def _check_events(
    key: bytes, shard: str, events: list[AuditEvent], floor: ChainPoint, problems: list[Problem]
) -> dict[int, AuditEvent]:
    """Per-event checks (mac, shard, order, duplicates); returns the events above the floor by seq."""
    live: dict[int, AuditEvent] = {}
    last = 0
    for event in events:
        intact = event_intact(key, event)
        if not intact:
            problems.append(Problem(seq=event.seq, what="mac mismatch: event edited or forged"))
        if event.shard != shard:
            problems.append(Problem(seq=event.seq, what=f"event belongs to shard {event.shard}"))
        if event.seq < last:
            problems.append(Problem(seq=event.seq, what=f"out of order: stored after seq {last}"))
        last = max(last, event.seq)
        if event.seq == floor.seq and event.mac != floor.mac:
            problems.append(Problem(seq=event.seq, what="differs from the signed checkpoint"))
        if event.seq <= floor.seq:
            continue
        if event.seq in live:
            problems.append(Problem(seq=event.seq, what="duplicate seq: replayed or inserted event"))
            if not intact or event_intact(key, live[event.seq]):
                continue  # link the chain through the genuine copy
        live[event.seq] = event
    return live


def _check_links(
    live: dict[int, AuditEvent], macs: dict[int, str], floor: ChainPoint, tip: int, problems: list[Problem]
) -> None:
    missing = [seq for seq in range(floor.seq + 1, tip + 1) if seq not in live]
    for start, end in _ranges(missing):
        span = f"seq {start}" if start == end else f"seq {start}-{end}"
        why = "truncated without a signed checkpoint" if start == floor.seq + 1 else "deleted"
        problems.append(Problem(seq=start, what=f"{span} missing: {why}"))
    for seq, event in sorted(live.items()):
        if seq - 1 in macs and event.prev != macs[seq - 1]:
            problems.append(Problem(seq=seq, what=f"broken link: prev is not the mac of seq {seq - 1}"))


def _ranges(seqs: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for seq in seqs:
        if out and out[-1][1] == seq - 1:
            out[-1] = (out[-1][0], seq)
        else:
            out.append((seq, seq))
    return out


def _check_head(head: ChainPoint | None, tip: ChainPoint, floor: ChainPoint, problems: list[Problem]) -> None:
    if head is None:
        if tip.seq > floor.seq:
            problems.append(Problem(seq=tip.seq, what="head record missing"))
        return
    if head.seq > tip.seq:
        problems.append(Problem(seq=head.seq, what=f"cut off: head is seq {head.seq}, stream ends at {tip.seq}"))
    elif head.seq < tip.seq:
        problems.append(Problem(seq=tip.seq, what=f"events after the head (seq {head.seq}): inserted"))
    elif head.mac != tip.mac:
        problems.append(Problem(seq=head.seq, what="head mac differs from the last event"))


def _check_anchor(
    anchor: SignedPoint, floor: ChainPoint, tip: int, macs: dict[int, str], problems: list[Problem]
) -> None:
    if anchor.seq > tip:
        problems.append(Problem(seq=anchor.seq, what=f"cut off: anchored at seq {anchor.seq}, stream ends at {tip}"))
    elif anchor.seq >= floor.seq and anchor.seq in macs and macs[anchor.seq] != anchor.mac:
        problems.append(Problem(seq=anchor.seq, what="differs from the anchored mac: chain rewritten"))
