"""``maple audit …``: verify, keys, export, anchor, trim and keygen for the tamper-evident audit trail."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.errors import ConfigError, MapleError
from config.settings import Settings

if TYPE_CHECKING:
    from integrations.audit_anchor import AuditAnchor
    from integrations.redis_audit import RedisAuditLog

ACTIONS = ["verify", "keys", "export", "anchor", "trim", "keygen"]
NO_SIGNER = ("`maple audit {action}` signs with the anchor private key: set MAPLE_AUDIT_ANCHOR_KEY or "
             "MAPLE_AUDIT_ANCHOR_KEY_FILE in the anchoring process (create one with `maple audit keygen`)")


def add_audit_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    a = sub.add_parser("audit", help="the tamper-evident audit trail")
    a.add_argument("action", choices=ACTIONS)
    a.add_argument("--since", default="7d", help="export events newer than this (7d, 12h, 30m)")
    a.add_argument("--older-than", default="90d", help="trim: remove events older than this, at signed checkpoints")
    a.add_argument("--every", help="anchor: keep anchoring at this interval (e.g. 5m) until stopped")
    a.add_argument("--id", dest="key_id", help="keygen: the id of the new audit key (default k<today>)")
    a.add_argument("--output", "-o", help="export: write JSONL here; keygen: write the anchor private key here")


MAX_AGE = timedelta(days=36_500)
MIN_ANCHOR_EVERY = timedelta(seconds=10)


def parse_age(text: str, *, least: timedelta = timedelta(0)) -> timedelta:
    """``7d``, ``12h``, ``30m``, ``45s`` → a timedelta (of at least ``least``, at most a hundred years)."""
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise MapleError(f"cannot read {text!r}: use e.g. 7d, 12h or 30m")
    try:
        age = timedelta(**{units[text[-1]]: int(text[:-1])})
    except OverflowError:
        age = MAX_AGE * 2
    if age > MAX_AGE:
        raise MapleError(f"{text!r} is too long: at most {MAX_AGE.days}d")
    if age < least:
        raise MapleError(f"{text!r} is too short: at least {int(least.total_seconds())}s")
    return age


def keygen(args: argparse.Namespace) -> int:
    """Print a new audit HMAC key entry and a new Ed25519 anchor key pair (or write the private half to a file)."""
    from bot.core.audit_keys import KEY_ID
    from integrations.audit_anchor import Ed25519Signer

    kid = args.key_id or f"k{datetime.now(UTC):%Y%m%d}"
    if not KEY_ID.match(kid):
        raise ConfigError(f"key id {kid!r} must match {KEY_ID.pattern}")
    signer = Ed25519Signer.generate()
    print("# The audit HMAC key: give it to every process (serve, worker, anchor, verify). To rotate, append it")
    print("# to the existing list; the last entry seals new events, keep the old ones so old events verify.")
    print(f"MAPLE_AUDIT_KEYS={kid}:{secrets.token_urlsafe(32)}")
    print(f"# The anchor key pair (key id {signer.key_id}). The private half only in the anchoring process:")
    if args.output:
        path = Path(args.output)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise ConfigError(f"{path} exists: refusing to overwrite an anchor key") from exc
        with os.fdopen(fd, "w") as handle:
            handle.write(signer.private_text() + "\n")
        print(f"MAPLE_AUDIT_ANCHOR_KEY_FILE={path}")
    else:
        print(f"MAPLE_AUDIT_ANCHOR_KEY={signer.private_text()}")
    print("# The public half wherever chains are verified (append to the list when rotating the anchor key):")
    print(f"MAPLE_AUDIT_ANCHOR_PUBLIC_KEYS={signer.public_text()}")
    return 0


async def audit_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "keygen":
        return keygen(args)
    import redis.asyncio as aioredis

    from bot.app import worker_id
    from bot.app_audit import anchor_signer, audit_keyring, build_audit
    from config.loader import load_spec

    spec = load_spec(settings.config_path)
    keys = audit_keyring(settings, local=True)  # the local workspace's key file is read, never made here
    signer = anchor_signer(settings, local=True)
    r = aioredis.from_url(settings.redis_url, socket_connect_timeout=2)
    audit, anchor = build_audit(settings, spec, r, keys=keys, signer=signer, worker=worker_id())
    try:
        if args.action in ("verify", "keys"):
            verifier = audit.anchors.verifier if audit.anchors else None
            if audit.anchors and audit.anchors.has_lines() and not (verifier and verifier.key_ids):
                raise ConfigError(f"{audit.anchors.path} holds anchors but no anchor public key is configured: "
                                  "set MAPLE_AUDIT_ANCHOR_PUBLIC_KEYS to check them")
            report = await audit.verify()
            if args.action == "keys":
                return _print_keys(report.keyring, report.current_key, report.key_use(), report.anchor_signers)
            print("\n".join(report.lines()))
            return 0 if report.ok else 2
        if args.action == "export":
            return await _export(audit, args)
        if anchor is None:
            raise ConfigError(NO_SIGNER.format(action=args.action))
        if args.action == "trim":
            result = await anchor.trim(datetime.now(UTC) - parse_age(args.older_than))
            print("\n".join(result.lines()))
            return 0
        every = parse_age(args.every, least=MIN_ANCHOR_EVERY) if args.every else None
        return await _anchor(anchor, every=every, path=spec.audit.anchor_file)
    finally:
        await r.aclose()


def _print_keys(configured: list[str], current: str | None, use: dict[str, int], signers: dict[str, int]) -> int:
    for kid in configured:
        mark = " (current: seals new events)" if kid == current else ""
        print(f"audit key {kid}{mark}: {use.get(kid, 0)} event(s) in the trail")
    for kid, count in use.items():
        if kid not in configured:
            print(f"audit key {kid}: {count} event(s) in the trail, NOT CONFIGURED: they cannot be verified")
    for kid, count in signers.items():
        print(f"anchor key {kid}: {count} signed line(s) in the anchor file")
    return 0


async def _export(audit: RedisAuditLog, args: argparse.Namespace) -> int:
    """Events as JSON lines on standard output, or into ``--output``: written beside it and moved into place only
    once complete, so an export that fails (Redis gone, a full disk) leaves the file of the last one whole."""
    since = datetime.now(UTC) - parse_age(args.since)
    if not args.output:
        async for event in audit.export(since):
            sys.stdout.write(json.dumps(event, default=str) + "\n")
        return 0
    target = Path(args.output)
    try:
        fd, aside = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent or ".")
    except OSError as exc:
        raise MapleError(f"cannot write {target}: {exc.strerror or type(exc).__name__} (nothing was exported)") \
            from exc
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            async for event in audit.export(since):
                out.write(json.dumps(event, default=str) + "\n")
                count += 1
        os.replace(aside, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(aside)
        if isinstance(exc, OSError):
            raise MapleError(f"cannot write {target}: {exc.strerror or type(exc).__name__} (nothing was "
                             "exported)") from exc
        raise
    print(f"wrote {count} events to {target}")
    return 0


async def _anchor(anchor: AuditAnchor, *, every: timedelta | None, path: str) -> int:
    """Anchor once, or every ``every`` until SIGTERM / SIGINT (the anchoring process of a deployment)."""
    from bot.cli import _until_signal

    stop = asyncio.ensure_future(_until_signal()) if every else None
    while True:
        points = await anchor.anchor()
        print(f"anchored {len(points)} chain head(s) in {path}", flush=True)
        if stop is None:
            return 0
        done, _ = await asyncio.wait({stop}, timeout=every.total_seconds() if every else None)
        if done:
            return 0
