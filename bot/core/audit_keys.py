"""Audit keys: the HMAC keyring of the chain, its sub-keys per role, and the signature ports of anchors.

Two kinds of keys, two kinds of holders:

- **The keyring** (``MAPLE_AUDIT_KEYS=id:secret,…``) is shared by every process that appends events. The last
  entry is current: it seals new events; the others stay so that old events keep verifying under the id they
  carry. From each secret two sub-keys are derived with HKDF-SHA256 (RFC 5869), one per role, so a digest of
  a text can never be replayed as an event mac or the other way round: ``chain`` (event macs) and ``digest``
  (keyed digests of texts the audit must not keep: prompts, reasons).
- **The anchor key** is an asymmetric key pair (Ed25519 in ``integrations/audit_anchor.py``). Only the
  anchoring process holds the private half and signs chain heads (anchors) and trimmed prefixes
  (checkpoints); verifying needs only the public half. A worker holding the keyring can append events but
  cannot forge an anchor or a checkpoint.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bot.core.errors import ConfigError

KEY_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MIN_SECRET_CHARS: Final = 16
_SALT: Final = b"maple-audit-v2"
ROLE_CHAIN: Final = b"maple.audit.chain"
ROLE_DIGEST: Final = b"maple.audit.digest"


def hkdf_sha256(ikm: bytes, *, info: bytes, salt: bytes = b"", length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869): extract with ``salt``, expand with ``info`` to ``length`` bytes."""
    if not 0 < length <= 255 * 32:
        raise ValueError("HKDF-SHA256 output must be 1..8160 bytes")
    prk = hmac.new(salt or b"\0" * 32, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


@dataclass(frozen=True, repr=False)
class AuditKey:
    """One keyring entry: its id and the sub-keys derived from its secret (the secret itself is not kept)."""

    kid: str
    chain: bytes
    digest: bytes

    @classmethod
    def derive(cls, kid: str, secret: bytes) -> AuditKey:
        if not KEY_ID.match(kid):
            raise ConfigError(f"audit key id {kid!r} must match {KEY_ID.pattern}")
        if len(secret) < MIN_SECRET_CHARS:
            raise ConfigError(f"audit key {kid!r} is shorter than {MIN_SECRET_CHARS} characters "
                              "(create one with `maple audit keygen`)")
        return cls(kid=kid, chain=hkdf_sha256(secret, salt=_SALT, info=ROLE_CHAIN),
                   digest=hkdf_sha256(secret, salt=_SALT, info=ROLE_DIGEST))

    def __repr__(self) -> str:
        return f"AuditKey({self.kid!r})"


class Keyring:
    """The audit HMAC keys by id; the last one given is current (it seals new events)."""

    def __init__(self, entries: Sequence[tuple[str, bytes]]) -> None:
        if not entries:
            raise ConfigError("the audit keyring is empty")
        keys = [AuditKey.derive(kid, secret) for kid, secret in entries]
        self._keys = {key.kid: key for key in keys}
        if len(self._keys) != len(keys):
            raise ConfigError("the audit keyring names the same key id twice")
        self.current = keys[-1]

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """``id:secret,id:secret`` (the format of ``MAPLE_AUDIT_KEYS``)."""
        entries: list[tuple[str, bytes]] = []
        for item in (part.strip() for part in text.split(",")):
            kid, sep, secret = item.partition(":")
            if not item or not sep:
                raise ConfigError("MAPLE_AUDIT_KEYS must read id:secret[,id:secret…] (the last one is current)")
            entries.append((kid.strip(), secret.strip().encode()))
        return cls(entries)

    @property
    def ids(self) -> list[str]:
        return list(self._keys)

    def get(self, kid: str) -> AuditKey | None:
        return self._keys.get(kid)


def keyed_digest(key: AuditKey, text: str) -> str:
    """``kid:hex`` — HMAC-SHA256 of ``text`` under the key's digest sub-key. Proves which text was used (given
    the text and the key) without storing it; the id says which key to try."""
    return f"{key.kid}:" + hmac.new(key.digest, text.encode("utf-8"), hashlib.sha256).hexdigest()


class AnchorSigner(ABC):
    """Signs anchors and checkpoints. Only the anchoring process has one."""

    @property
    @abstractmethod
    def key_id(self) -> str: ...

    @abstractmethod
    def sign(self, message: bytes) -> str: ...


class AnchorVerifier(ABC):
    """Checks anchor and checkpoint signatures with public keys only."""

    @property
    @abstractmethod
    def key_ids(self) -> list[str]: ...

    @abstractmethod
    def verify(self, *, key_id: str, message: bytes, signature: str) -> bool:
        """False for a wrong signature and for a key id it does not know."""
