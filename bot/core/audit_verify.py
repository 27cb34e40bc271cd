"""Verifying audit chains: recompute every event's HMAC (under the key id it names) and link, compare with the
signed checkpoints and anchors, and report each problem (edit, deletion, reordering, insertion, cut-off tail) at
its sequence number — and say what was checked and what was not."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, Field

from bot.core.audit import GENESIS, AuditEvent, ChainPoint, PointType, SignedPoint, event_intact
from bot.core.audit_keys import AnchorVerifier, Keyring


class Problem(BaseModel):
    seq: int | None
    what: str


class ShardReport(BaseModel):
    shard: str
    events: int
    base_seq: int  # the signed checkpoint the chain starts after (0: genesis)
    last_seq: int
    anchored_seq: int | None = None  # the signed anchor the chain was compared with
    keys: dict[str, int] = Field(default_factory=dict)  # key id → events sealed with it
    problems: list[Problem] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        span = f"seq {self.base_seq + 1}-{self.last_seq}" if self.last_seq > self.base_seq else "no events kept"
        base = f" after checkpoint seq {self.base_seq}" if self.base_seq else ""
        anchor = f", anchored at seq {self.anchored_seq}" if self.anchored_seq is not None else ", not anchored"
        state = "ok" if self.ok else f"{len(self.problems)} problem(s)"
        return f"{self.shard}: {self.events} events ({span}{base}){anchor}: {state}"


class AuditReport(BaseModel):
    shards: list[ShardReport] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    anchored: bool = False  # an anchor file was read
    anchor_file: str | None = None
    anchor_lines: int = 0
    anchor_signers: dict[str, int] = Field(default_factory=dict)
    keyring: list[str] = Field(default_factory=list)
    current_key: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and all(shard.ok for shard in self.shards)

    def key_use(self) -> dict[str, int]:
        """Events per key id over every shard (ids that are not in the keyring included)."""
        total: Counter[str] = Counter()
        for shard in self.shards:
            total.update(shard.keys)
        return dict(sorted(total.items()))

    def lines(self) -> list[str]:
        """What was checked, each shard and problem, what was not covered, and the conclusion."""
        out = [*self._checked(), *(f"anchor file: {p}" for p in self.problems)]
        for shard in self.shards:
            out.append(shard.line())
            out.extend(f"  seq {p.seq if p.seq is not None else '-'}: {p.what}" for p in shard.problems)
        out.extend(self._not_covered())
        problems = len(self.problems) + sum(len(s.problems) for s in self.shards)
        out.append("result: OK - no edited, deleted, reordered or inserted event and no cut-off tail"
                   if self.ok else f"result: TAMPERING OR DAMAGE - {problems} problem(s)")
        return out

    def _checked(self) -> list[str]:
        use = ", ".join(f"{kid}: {n}" for kid, n in self.key_use().items()) or "none"
        ring = ", ".join(self.keyring) + (f" (current: {self.current_key})" if self.current_key else "")
        events = sum(s.events for s in self.shards)
        out = [f"checked {len(self.shards)} shard(s), {events} event(s): each event's HMAC under the key id it "
               f"names, each link to the previous event, each shard's head record",
               f"audit keys: configured {ring or 'none'}; in use {use}"]
        if self.anchored:
            signers = ", ".join(f"{kid} ({n})" for kid, n in self.anchor_signers.items()) or "none"
            out.append(f"anchors: {self.anchor_lines} signed line(s) in {self.anchor_file}, signatures checked "
                       f"with the anchor public key(s) {signers}; each chain compared with its latest anchor and "
                       "checkpoint")
        else:
            out.append("anchors: no anchor file was read - a cut-off tail with a rewound head, or a chain "
                       "rewritten by someone holding the audit keys, would go unnoticed")
        return out

    def _not_covered(self) -> list[str]:
        exposed = [s.shard for s in self.shards if s.last_seq > max(s.anchored_seq or 0, s.base_seq)]
        if not exposed or not self.anchored:
            return []
        return [f"not covered: {len(exposed)} shard(s) have events after their last anchor; those are protected "
                "by the audit keys only (anchor more often, or run `maple audit anchor`)"]


def verify_shard(
    keys: Keyring, verifier: AnchorVerifier | None, *, shard: str, events: list[AuditEvent],
    head: ChainPoint | None, anchor: SignedPoint | None, checkpoints: Iterable[SignedPoint] = (),
    bad_entries: Iterable[str] = (),
) -> ShardReport:
    """Check one shard's events (in stream order) against their macs, links, head, anchor and checkpoints."""
    problems = [Problem(seq=None, what=f"stream entry {entry} is not a valid audit event") for entry in bad_entries]
    floor = _floor(verifier, shard, checkpoints, problems)
    live = _check_events(keys, shard, events, floor, problems)
    macs = {floor.seq: floor.mac} | {seq: event.mac for seq, event in live.items()}
    tip = max(macs)
    _check_links(live, macs, floor, tip, problems)
    _check_head(head, ChainPoint(shard=shard, seq=tip, mac=macs[tip]), floor, problems)
    anchored = None
    if anchor is not None and _trusted(verifier, shard, "anchor", anchor, problems):
        _check_anchor(anchor, floor, tip, macs, problems)
        anchored = anchor.seq
    return ShardReport(shard=shard, events=len(events), base_seq=floor.seq, last_seq=tip, anchored_seq=anchored,
                       keys=dict(Counter(event.kid for event in events)), problems=problems)


def _trusted(
    verifier: AnchorVerifier | None, shard: str, kind: PointType, point: SignedPoint, problems: list[Problem]
) -> bool:
    if point.type == kind and point.shard == shard and point.valid(verifier):
        return True
    problems.append(Problem(seq=point.seq, what=f"{kind} has an invalid signature"))
    return False


def _floor(
    verifier: AnchorVerifier | None, shard: str, checkpoints: Iterable[SignedPoint], problems: list[Problem]
) -> ChainPoint:
    """Where the chain starts: the highest signed checkpoint, else the genesis."""
    trusted = [cp for cp in checkpoints if _trusted(verifier, shard, "checkpoint", cp, problems)]
    best = max(trusted, key=lambda cp: cp.seq, default=None)
    return best.point() if best else ChainPoint(shard=shard, seq=0, mac=GENESIS)


def _check_events(
    keys: Keyring, shard: str, events: list[AuditEvent], floor: ChainPoint, problems: list[Problem]
) -> dict[int, AuditEvent]:
    """Per-event checks (mac, shard, order, duplicates); returns the events above the floor by seq."""
    live: dict[int, AuditEvent] = {}
    last = 0
    for event in events:
        intact = event_intact(keys, event)
        if keys.get(event.kid) is None:
            problems.append(Problem(seq=event.seq, what=f"sealed with key id {event.kid!r}, which is not in "
                                                        "the keyring: add it to MAPLE_AUDIT_KEYS, or forged"))
        elif not intact:
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
            if not intact or event_intact(keys, live[event.seq]):
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
