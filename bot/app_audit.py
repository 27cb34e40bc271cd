"""The audit part of the composition root: audit keys and anchor keys from settings, the audit log every process
appends to, and the anchoring capability of the one process that holds the anchor private key."""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path

import redis.asyncio as aioredis

from bot.core.audit_keys import Keyring
from bot.core.errors import ConfigError
from bot.core.ports import SystemClock
from bot.core.spec import MapleSpec
from config.settings import Settings
from integrations.audit_anchor import AnchorFile, AuditAnchor, Ed25519Signer, Ed25519Verifier
from integrations.redis_audit import RedisAuditLog

log = logging.getLogger("maple.app")


NO_SHARED_KEY = (
    "no audit key: set MAPLE_AUDIT_KEYS=id:secret (create one with `maple audit keygen`). Every process of a "
    "deployment (maple serve, maple worker, on every host) must share the same audit keys, or their events "
    "cannot be verified together; only the single-process local workspace (`maple dev`) makes its own key file")


def audit_keyring(settings: Settings, *, local: bool = False, create: bool = False) -> Keyring:
    """The shared audit keyring: ``MAPLE_AUDIT_KEYS`` (or the one-key shorthand ``MAPLE_AUDIT_KEY``, id ``k0``).
    Without one, only the local workspace (``local``) may use a key file on this machine (made if ``create``);
    any other process is refused, so no host ever signs with a key of its own."""
    ring, single = settings.secret("audit_keys"), settings.secret("audit_key")
    if ring and single:
        raise ConfigError("set MAPLE_AUDIT_KEYS or MAPLE_AUDIT_KEY, not both")
    if ring:
        return Keyring.parse(ring)
    if single:
        return Keyring([("k0", single.encode())])
    path = settings.audit_key_file
    if not local or not (path.exists() or create):
        raise ConfigError(NO_SHARED_KEY)
    if not path.exists():
        _write_secret(path, "local:" + secrets.token_urlsafe(32))
    log.warning("AUDIT KEY WARNING: no MAPLE_AUDIT_KEYS - signing the audit trail with the key file of this "
                "machine. Fine for the single-process local workspace only: processes on other hosts would sign "
                "with other keys and verification would report tampering. Set MAPLE_AUDIT_KEYS for a deployment",
                extra={"path": str(path)})
    text = path.read_text().strip()
    return Keyring.parse(text if ":" in text else "local:" + text)


def anchor_signer(settings: Settings, *, local: bool = False, create: bool = False) -> Ed25519Signer | None:
    """The anchor private key (``MAPLE_AUDIT_ANCHOR_KEY`` or ``MAPLE_AUDIT_ANCHOR_KEY_FILE``), or None: this
    process does not anchor. The local workspace may keep one in a file next to its audit key file."""
    text, path = settings.secret("audit_anchor_key"), settings.audit_anchor_key_file
    if text and path:
        raise ConfigError("set MAPLE_AUDIT_ANCHOR_KEY or MAPLE_AUDIT_ANCHOR_KEY_FILE, not both")
    if text:
        return Ed25519Signer.parse(text)
    if path is None and local:
        path = settings.audit_key_file.with_name("audit-anchor.key")
        if create and not path.exists():
            _write_secret(path, Ed25519Signer.generate().private_text())
            log.warning("AUDIT KEY WARNING: created a local anchor key file (local workspace only)",
                        extra={"path": str(path)})
        if not path.exists():
            return None
    if path is None:
        return None
    try:
        return Ed25519Signer.parse(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the anchor key file {path}") from exc


def anchor_verifier(settings: Settings, signer: Ed25519Signer | None) -> Ed25519Verifier:
    """The anchor public keys (``MAPLE_AUDIT_ANCHOR_PUBLIC_KEYS``), plus the signer's own."""
    return Ed25519Verifier.parse(settings.audit_anchor_public_keys or "", also=[signer.public] if signer else [])


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")


def build_audit(
    settings: Settings, spec: MapleSpec, r: aioredis.Redis, *, keys: Keyring, signer: Ed25519Signer | None,
    worker: str,
) -> tuple[RedisAuditLog, AuditAnchor | None]:
    """The audit log every process appends to, and — only with the anchor private key — the anchoring
    capability. Event ids are remembered as long as a run (and the pending events on it) can live."""
    file = AnchorFile(spec.audit.anchor_file, verifier=anchor_verifier(settings, signer))
    audit = RedisAuditLog(redis=r, keys=keys, prefix=settings.redis_prefix, worker=worker, clock=SystemClock(),
                          anchors=file, event_id_ttl=timedelta(days=spec.audit.text_ttl_days + 1))
    anchor = AuditAnchor(log=audit, file=file, signer=signer, clock=SystemClock()) if signer else None
    return audit, anchor


def process_signer(settings: Settings, *, local: bool, anchoring: bool) -> Ed25519Signer | None:
    """The anchor key for a process that may anchor (``maple serve``, ``maple dev``); a worker never loads it."""
    if anchoring:
        return anchor_signer(settings, local=local, create=local)
    if settings.secret("audit_anchor_key") or settings.audit_anchor_key_file:
        log.warning("AUDIT: a worker process ignores the anchor key; keep MAPLE_AUDIT_ANCHOR_KEY only where "
                    "anchoring runs, so a compromised worker cannot sign anchors")
    return None
