"""``maple control …`` (operator controls) and ``maple runs …`` (list, show, retry, cancel, failed, dead)."""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.core.errors import InvalidTransition, NotFound
from config.settings import Settings

if TYPE_CHECKING:
    from bot.app import Maple

CONTROLS = {"freeze-external": ("freeze_external", True), "unfreeze-external": ("freeze_external", False),
            "pause-intake": ("intake_paused", True), "resume-intake": ("intake_paused", False)}
RUN_ACTIONS = ["list", "show", "retry", "cancel", "failed", "dead"]


def add_ops_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    c = sub.add_parser("control", help="operator controls, in effect on every process within seconds")
    c.add_argument("action", choices=[*CONTROLS, "show"])
    c.add_argument("--by", default=None, help="who is acting (default: the login name)")
    c.add_argument("--reason", default="", help="why (kept in the audit trail as a digest)")
    r = sub.add_parser("runs", help="runs: list, show, retry, cancel; failed and dead letters")
    r.add_argument("action", choices=RUN_ACTIONS)
    r.add_argument("run_id", nargs="?", default=None)
    r.add_argument("--state", default=None, help="list: only runs in this state")
    r.add_argument("--days", type=int, default=1, help="list: runs created in the last N days")
    r.add_argument("--limit", type=int, default=50)
    r.add_argument("--by", default=None, help="retry, cancel: who is acting (default: the login name)")


def add_purge_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("purge", help="erase a person's or a run's content (the audit trail keeps digests)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="every run this Slack user requested")
    who.add_argument("--run", help="one run")
    p.add_argument("--by", default=None, help="who is acting (default: the login name)")


def _actor(args: argparse.Namespace) -> str:
    return str(args.by or f"operator:{getpass.getuser()}")


async def control_command(settings: Settings, args: argparse.Namespace) -> int:
    import redis.asyncio as aioredis

    from bot.app import worker_id
    from bot.app_audit import audit_keyring, build_audit
    from config.loader import load_spec
    from integrations.redis_controls import RedisControls

    r = aioredis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        controls = RedisControls(redis=r, prefix=settings.redis_prefix)
        if args.action != "show":
            name, on = CONTROLS[args.action]
            actor = _actor(args)
            # the audit first: a change it cannot record is refused, not made behind a configuration error
            audit, _ = build_audit(settings, load_spec(settings.config_path), r,
                                   keys=audit_keyring(settings, local=True), signer=None, worker=worker_id())
            change = await controls.set(name, on=on, by=actor, reason=args.reason)
            await audit.append(kind="control.changed", run_id=None, actor=actor,
                               attrs={"maple.control": name, "maple.control.on": on,
                                      **audit.text_attrs("maple.control.reason", args.reason or None)})
            print(f"{args.action}: {name} is now {'on' if change.on else 'off'} (every process within seconds)")
        for name, change in sorted((await controls.read()).items()):
            at = datetime.fromtimestamp(change.at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            print(f"{name}: {'ON' if change.on else 'off'}  set by {change.by} at {at}"
                  + (f"  ({change.reason})" if change.reason else ""))
        return 0
    finally:
        await r.aclose()


@asynccontextmanager
async def _maple(settings: Settings) -> AsyncIterator[Maple]:
    """The app without HTTP, workers or schedules: what a command needs to act on runs as the workers do."""
    from bot.app import build

    maple = build(settings, anchoring=False)
    try:
        yield maple
    finally:
        await maple.stop()


async def runs_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.action in ("list", "show", "failed", "dead"):
        return await _read_runs(settings, args)  # Redis only: no Slack token needed to look
    if not args.run_id:
        print(f"maple runs {args.action} needs a run id (R-…)")
        return 2
    async with _maple(settings) as maple:
        try:
            return await _act(maple, args)
        except NotFound:
            print(f"no run {args.run_id} (never existed, or expired after its retention)")
            return 1
        except InvalidTransition as exc:
            print(f"maple runs {args.action}: {exc}")
            return 1


async def _read_runs(settings: Settings, args: argparse.Namespace) -> int:
    import redis.asyncio as aioredis

    from integrations.redis_queue import RedisJobQueue
    from integrations.redis_store import RedisRunStore

    r = aioredis.from_url(settings.redis_url, socket_connect_timeout=2)
    try:
        store = RedisRunStore(redis=r, prefix=settings.redis_prefix)
        if args.action == "dead":
            queue = RedisJobQueue(redis=r, prefix=settings.redis_prefix)
            for entry in await queue.dead_letters(limit=args.limit):
                print(f"{_run_of(entry.get('job', ''))}  {entry.get('why', '')}")
            return 0
        if args.action == "failed":
            runs = await store.list_failed(limit=args.limit)
            if not runs:
                print("No failed runs.")
                return 0
            return _print_runs(runs)
        if args.action == "list":
            runs = await store.since(datetime.now(UTC) - timedelta(days=args.days), limit=5000)
            runs = [run for run in runs if args.state is None or run.state.value == args.state]
            return _print_runs(list(reversed(runs))[:args.limit])
        if not args.run_id:
            print("maple runs show needs a run id (R-…)")
            return 2
        try:
            print(json.dumps(run_summary(await store.get(args.run_id)), indent=2, default=str))
        except NotFound:
            print(f"no run {args.run_id} (never existed, or expired after its retention)")
            return 1
        return 0
    finally:
        await r.aclose()


async def _act(maple: Maple, args: argparse.Namespace) -> int:
    from bot.core import operate

    act = operate.retry if args.action == "retry" else operate.cancel
    run = await act(maple.svc, args.run_id, by=_actor(args))
    print(f"{run.id}: {args.action} done; now {run.state.value}")
    return 0


def run_summary(run: Any) -> dict[str, Any]:
    """What an operator sees of a run: its state and decisions, never its text (goal, drafts, edits)."""
    return {"id": run.id, "state": run.state.value, "workflow": run.workflow, "requester": run.requester,
            "origin": run.origin.kind, "channel": run.origin.channel, "created_at": run.created_at,
            "updated_at": run.updated_at, "sensitivity": run.sensitivity.label, "goal_chars": len(run.goal),
            "draft_versions": len(run.drafts), "routes": [r.model_dump() for r in run.routes],
            "tokens": run.total_tokens, "cost_usd": round(run.total_cost, 6),
            "decision": run.decision.kind if run.decision else None, "effects": sorted(run.effects),
            "error": run.error}


def _print_runs(runs: list[Any]) -> int:
    if not runs:
        print("No runs.")
    for run in runs:
        print(f"{run.id}  {run.state.value:10}  {run.workflow or '-':10}  {run.created_at:%Y-%m-%d %H:%M}  "
              f"requester={run.requester}  {run.error or ''}")
    return 0


def _run_of(payload: str) -> str:
    from integrations.redis_queue import run_id_of

    return run_id_of(payload) or "(malformed job)"


async def purge_command(settings: Settings, args: argparse.Namespace) -> int:
    """Erase run records (goal, drafts, edits, review notes, model inputs built from them) of one run or of every
    run one person requested, between a ``data.purge.requested`` audit event (appended before the first erasure)
    and a ``data.purged`` one with the count, both naming the subject by digest. The
    audit trail itself holds no text, so nothing in it is rewritten and the chain still verifies."""
    from bot.core.retention import erase_run

    async with _maple(settings) as maple:
        store, audit = maple.svc.store, maple.svc.audit
        subject = ("maple.purge.user", args.user) if args.user else ("maple.purge.run", args.run)
        # record, then act: a purge stopped midway is in the trail from before its first erasure
        await audit.append(kind="data.purge.requested", run_id=None, actor=_actor(args),
                           attrs=audit.text_attrs(subject[0], subject[1]))
        ids = [args.run] if args.run else await store.every_id()  # not the index: it forgets runs still kept
        erased = deleted = 0
        for run_id in ids:
            if args.user:
                try:
                    if (await store.get(run_id)).requester != args.user:
                        continue
                except NotFound:
                    continue
            done, messages = await erase_run(maple.svc, run_id)  # Maple's Slack messages of it first
            erased, deleted = erased + done, deleted + messages
        await audit.append(kind="data.purged", run_id=None, actor=_actor(args),
                           attrs={**audit.text_attrs(subject[0], subject[1]), "maple.purge.runs.count": erased,
                                  "maple.purge.messages.count": deleted})
        print(f"purged {erased} run record(s) and deleted {deleted} Slack message(s) of them; the audit trail keeps "
              "digests and decisions only, and records the purge")
        return 0
