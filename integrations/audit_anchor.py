"""Anchors outside Redis: Ed25519 anchor keys, the append-only JSONL anchor file, and the anchoring capability.

Each line of the anchor file is one ``SignedPoint`` (an ``anchor`` of a shard's head, or a ``checkpoint``
written before a trim) signed with an Ed25519 private key that only the anchoring process holds
(``MAPLE_AUDIT_ANCHOR_KEY``); verifying needs only the public keys (``MAPLE_AUDIT_ANCHOR_PUBLIC_KEYS``). Someone
who can edit Redis — even a worker holding the audit HMAC keys, who can re-seal a rewritten chain — cannot make
the stored chains agree with this file again, nor forge a checkpoint to hide a truncation. Put the file on
storage that Redis's operators and the workers cannot rewrite.

Key texts: ``ed25519-private:<base64url of the 32-byte seed>`` and ``ed25519-public:<base64url of the 32-byte
key>``; a key's id is the first 16 hex digits of the SHA-256 of its public key.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fcntl
import hashlib
import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from bot.core.audit import AnchorState, SignedPoint, TrimResult, read_anchor_lines, sign_point
from bot.core.audit_keys import AnchorSigner, AnchorVerifier
from bot.core.audit_policy import aware, plan_trim, trim_candidates, why_not_trim
from bot.core.errors import ConfigError, StoreUnavailable
from bot.core.ports import AuditAnchoring, Clock

if TYPE_CHECKING:
    from integrations.redis_audit import RedisAuditLog

PRIVATE_PREFIX = "ed25519-private:"
PUBLIC_PREFIX = "ed25519-public:"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str, *, what: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{what} is not valid base64url") from exc
    if len(raw) != 32:
        raise ConfigError(f"{what} must hold 32 bytes")
    return raw


def _public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def anchor_key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(_public_raw(public)).hexdigest()[:16]


class Ed25519Signer(AnchorSigner):
    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self._id = anchor_key_id(self.public)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, text: str) -> Ed25519Signer:
        text = text.strip()
        if not text.startswith(PRIVATE_PREFIX):
            raise ConfigError(f"the anchor private key must start with {PRIVATE_PREFIX} (create one with "
                              "`maple audit keygen`)")
        raw = _unb64(text.removeprefix(PRIVATE_PREFIX), what="the anchor private key")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    @property
    def key_id(self) -> str:
        return self._id

    def private_text(self) -> str:
        return PRIVATE_PREFIX + _b64(self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    def public_text(self) -> str:
        return PUBLIC_PREFIX + _b64(_public_raw(self.public))

    def sign(self, message: bytes) -> str:
        return _b64(self._private.sign(message))


class Ed25519Verifier(AnchorVerifier):
    def __init__(self, keys: Iterable[Ed25519PublicKey]) -> None:
        self._keys = {anchor_key_id(key): key for key in keys}

    @classmethod
    def parse(cls, text: str, *, also: Iterable[Ed25519PublicKey] = ()) -> Ed25519Verifier:
        """``ed25519-public:…[,ed25519-public:…]`` (the format of ``MAPLE_AUDIT_ANCHOR_PUBLIC_KEYS``)."""
        keys = list(also)
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            if not item.startswith(PUBLIC_PREFIX):
                raise ConfigError(f"every anchor public key must start with {PUBLIC_PREFIX}")
            raw = _unb64(item.removeprefix(PUBLIC_PREFIX), what="an anchor public key")
            keys.append(Ed25519PublicKey.from_public_bytes(raw))
        return cls(keys)

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def verify(self, *, key_id: str, message: bytes, signature: str) -> bool:
        key = self._keys.get(key_id)
        if key is None:
            return False
        try:
            key.verify(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)), message)
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


class AnchorFile:
    def __init__(self, path: str | os.PathLike[str], *, verifier: AnchorVerifier | None) -> None:
        self.path = Path(path)
        self.verifier = verifier

    def append(self, points: Sequence[SignedPoint]) -> None:
        """Append ``points`` in one locked, fsynced write."""
        if not points:
            return
        data = "".join(point.model_dump_json() + "\n" for point in points).encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise StoreUnavailable(f"cannot write the audit anchor file {self.path}") from exc

    def read(self) -> AnchorState:
        """The latest valid anchor and checkpoint per shard; a missing file is an empty state."""
        try:
            with self.path.open(encoding="utf-8", errors="replace") as handle:
                return read_anchor_lines(self.verifier, handle)
        except FileNotFoundError:
            return AnchorState()
        except OSError as exc:
            raise StoreUnavailable(f"cannot read the audit anchor file {self.path}") from exc

    def has_lines(self) -> bool:
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False

    async def append_async(self, points: Sequence[SignedPoint]) -> None:
        await asyncio.to_thread(self.append, points)

    async def read_async(self) -> AnchorState:
        return await asyncio.to_thread(self.read)


class AuditAnchor(AuditAnchoring):
    """The anchoring capability: signs chain heads (anchors) and trimmed prefixes (checkpoints). Built only in
    the process that holds the anchor private key."""

    def __init__(self, *, log: RedisAuditLog, file: AnchorFile, signer: AnchorSigner, clock: Clock) -> None:
        self.log, self.file, self._signer, self._clock = log, file, signer, clock
        self._anchored: dict[str, tuple[int, str]] | None = None

    async def anchor(self) -> list[SignedPoint]:
        """Write every shard head that changed since the last anchor to the anchor file; return the lines."""
        if self._anchored is None:
            state = await self.file.read_async()
            self._anchored = {s: (p.seq, p.mac) for s, p in state.anchors.items()}
        now = self._clock.now()
        points = [sign_point(self._signer, type="anchor", point=head, time=now) for head in await self.log.heads()
                  if self._anchored.get(head.shard) != (head.seq, head.mac)]
        await self.file.append_async(points)
        self._anchored.update({p.shard: (p.seq, p.mac) for p in points})
        return points

    async def trim(self, before: datetime) -> TrimResult:
        """Remove events older than ``before`` (whole old shards or a shard's prefix) at signed checkpoints,
        as the core's retention policy plans it. A shard that fails verification is left alone."""
        before = aware(before)
        state = await self.file.read_async()
        result = TrimResult()
        for shard, day in trim_candidates(await self.log.shards(), before):
            stored = await self.log.inspect(shard, state)
            refusal = why_not_trim(stored.report)
            if refusal:
                result.skipped[shard] = refusal
                continue
            now = self._clock.now()
            plan = plan_trim(events=stored.events, report=stored.report, head=stored.head, day=day, before=before,
                             now=now)
            if plan is None:
                continue
            checkpoint = sign_point(self._signer, type="checkpoint", point=plan.point, time=now)
            await self.file.append_async([checkpoint])
            await self.log.cut(shard, stored=stored, plan=plan, checkpoint=checkpoint)
            result.checkpoints.append(checkpoint)
            result.removed += plan.cut
        return result
