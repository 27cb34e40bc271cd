"""The ``maple`` command: start, serve, worker, dev, config check, runs failed, audit…"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gc
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path

from aiohttp import web

from bot.cli_audit import add_audit_parser, audit_command
from bot.cli_ingest import add_ingest_parser, ingest_command
from bot.cli_ops import add_ops_parsers, add_purge_parser, control_command, purge_command, runs_command
from bot.core.errors import ConfigError, MapleError, StoreUnavailable
from bot.core.spec import MapleSpec
from bot.logs import setup_logging
from config.settings import Settings, mask
from integrations.redis_deployment import PRODUCTION, claim_prefix

log = logging.getLogger("maple.cli")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # integrations.metrics.MULTIPROC_ENV, without importing it here
SERVE_CONFIG_ENV = "MAPLE_SERVE_CONFIG_DIGEST"  # set by serve for its ack processes: see config_digest


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)  # POSIX only, like the rest of the deployment story
    await stop.wait()


async def claim(settings: Settings, *, prefix: str, kind: str) -> None:
    """Record that a ``kind`` deployment uses ``prefix`` on ``REDIS_URL``; PrefixInUse when another kind does."""
    import redis.asyncio as aioredis

    r = aioredis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        await claim_prefix(r, prefix=prefix, kind=kind)
    finally:
        await r.aclose()


async def serve(
    settings: Settings, *, workers: int | None = None, http: bool = True, spec: MapleSpec | None = None,
    deployment: str = PRODUCTION, front: bool = False,
) -> None:
    """``deployment``: production, or the single-process local workspace. A worker-only process (``http=False``)
    never anchors. ``maple serve`` runs its workers as supervised processes (``MAPLE_WORKER_MODE=process``, the
    default) or as pools in its own event loop (``inprocess``; always for the local workspace), and over HTTP
    ``MAPLE_ACK_PROCESSES - 1`` ack processes beside it on its port. An ack process (``front``, ``maple front``)
    answers Slack's requests and nothing else: no workers, schedules, retention sweep, anchoring or Socket Mode."""
    from bot.app import build, redis_warnings
    from config.loader import config_warnings, load_spec
    from integrations import tracing

    digest = config_digest(settings)  # what this process reads below
    if front and os.environ.get(SERVE_CONFIG_ENV, digest) != digest:
        raise ConfigError(f"{settings.config_path} or .env changed since maple serve read them: this ack process "
                          "would answer with another configuration than serve does; restart maple serve to apply it")
    supervised = not front and supervises(settings, http=http, deployment=deployment)
    app_token = None if front else settings.secret("slack_app_token")
    fronts = settings.ack_processes - 1 if supervised and not app_token else 0
    port_lock = None
    if fronts:  # serve's own bind shares the port: it must not join another process's socket
        port_lock = hold_port(settings.port)  # held until serve exits: a serve starting beside it is refused
        try:
            refuse_taken_port(settings.host, settings.port)
        except MapleError:
            if port_lock is not None:
                port_lock.close()
            raise
    tracing.setup()  # OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set; nothing otherwise
    try:
        await claim(settings, prefix=settings.redis_prefix, kind=deployment)
    except StoreUnavailable:
        if deployment != PRODUCTION:
            raise
        log.warning("could not record the deployment marker: Redis is unreachable; Maple answers "
                    "'temporarily unavailable' until it is back")
    spec = spec or load_spec(settings.config_path)
    for warning in config_warnings(spec):
        log.warning("CONFIG WARNING: " + warning)
    maple = build(settings, spec=spec, local=deployment != PRODUCTION, anchoring=http and not front)
    if not front:
        for warning in await redis_warnings(maple.redis):
            log.warning("REDIS DURABILITY WARNING: " + warning)
    count = 0 if front else settings.workers if workers is None else workers
    if supervised:
        from bot.supervisor import Supervisor

        maple.supervisor = Supervisor(count=count, nice=settings.worker_nice, hang_seconds=settings.hang_seconds)
        await maple.supervisor.start()
    else:
        await maple.start_workers(count)
    if http and not front:
        maple.start_anchoring()
        await maple.start_schedules()
    runner: web.AppRunner | None = None
    socket_handler = None
    if http:
        runner = web.AppRunner(maple.http, access_log=None)
        await runner.setup()
        # serve binds first; its ack processes then join the same port (the kernel spreads new connections)
        await web.TCPSite(runner, settings.host, settings.port, reuse_port=bool(fronts) or front).start()
    if fronts:
        from bot.supervisor import Supervisor

        maple.fronts = Supervisor(count=fronts, argv=[sys.executable, "-m", "bot.cli", "front"], role="ack",
                                  env={**os.environ, SERVE_CONFIG_ENV: digest}, hang_seconds=settings.hang_seconds)
        await maple.fronts.start()
    if app_token and http:
        socket_handler = await maple.connect_socket_mode(app_token)
    _settle_memory()
    log.info("maple started", extra={"port": settings.port if http else None, "workers": count,
                                     "worker_mode": "process" if supervised else "inprocess",
                                     "ack_processes": fronts + 1 if http else 0, "role": "ack" if front else "serve",
                                     "socket_mode": bool(socket_handler)})
    from bot.supervisor import HEARTBEAT_ENV, heartbeat

    beating = asyncio.create_task(heartbeat(os.environ.get(HEARTBEAT_ENV)))  # when serve supervises this process
    await _until_signal()
    log.info("maple stopping: finishing in-flight work")  # the heartbeat goes on: this loop still runs
    stopping = [p.stop(grace=settings.shutdown_grace) for p in (maple.supervisor, maple.fronts) if p is not None]
    if socket_handler:
        stopping.append(socket_handler.close_async())
    if runner:
        stopping.append(runner.cleanup())
    await asyncio.gather(*stopping)  # the workers begin to finish their jobs while the HTTP side closes
    await maple.stop()
    beating.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await beating
    if port_lock is not None:
        port_lock.close()
    log.info("maple stopped")


def config_digest(settings: Settings) -> str:
    """A digest of the configuration file and ``.env`` as they are now. Serve gives its own to the ack processes
    it starts: one (re)started after either was edited (serve not restarted yet) refuses to start rather than
    answer part of Slack's requests with other roles, tenants or signing secrets than serve does."""
    found = hashlib.sha256()
    for path in (Path(settings.config_path), Path(".env")):
        try:
            content = path.read_bytes()
        except OSError:
            content = b"(unreadable)"
        found.update(f"{path}\0{len(content)}\0".encode() + content)
    return found.hexdigest()


def hold_port(port: int) -> socket.socket | None:
    """A lock on ``port`` for this serve's lifetime: a Linux abstract-namespace socket named after it, which only
    one process can bind and the kernel releases when the process ends, however it ends. Two serves started at the
    same moment would otherwise both pass ``refuse_taken_port`` (seconds pass between it and the bind) and then
    share the port. MapleError when another serve holds it; None where abstract sockets do not exist."""
    if not sys.platform.startswith("linux"):
        return None
    lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        lock.bind(f"\0maple-serve-port-{port}")
    except OSError as exc:
        lock.close()
        if exc.errno != errno.EADDRINUSE:
            raise
        raise MapleError(f"port {port} is taken by another maple serve on this host (starting or running)") from None
    return lock


def refuse_taken_port(host: str, port: int) -> None:
    """MapleError when something already listens on ``host:port``. Serve binds its port with SO_REUSEPORT to
    share it with its ack processes, and such a bind silently joins any socket that shares it too — another
    ``maple serve`` (perhaps another deployment, with other secrets or another Redis) or an ack process a killed
    serve left behind — so the kernel would hand them part of Slack's requests. A probe bound without
    SO_REUSEPORT fails on any listener of that port (SO_REUSEADDR only lets it past connections in TIME_WAIT)."""
    for family, kind, proto, _name, address in socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                                  flags=socket.AI_PASSIVE):
        try:
            probe = socket.socket(family, kind, proto)
        except OSError:  # a family this host lacks (no IPv6): asyncio's create_server skips it as well
            continue
        with probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # as the server's own bind does
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                raise MapleError(f"port {port} is already in use on {host or 'every interface'}: another maple "
                                 f"serve, or an ack process left from one, is listening there") from None


def supervises(settings: Settings, *, http: bool, deployment: str = PRODUCTION) -> bool:
    """Whether this ``serve`` runs its workers as child processes: ``maple serve`` in production, unless
    ``MAPLE_WORKER_MODE=inprocess``. A worker-only process and the local workspace run pools in-process."""
    return http and deployment == PRODUCTION and settings.worker_mode == "process"


@contextlib.contextmanager
def metrics_dir() -> Iterator[str]:
    """A fresh private ``PROMETHEUS_MULTIPROC_DIR`` for one ``maple serve`` and the worker processes it spawns
    (they inherit it), removed when serve ends. Set before ``prometheus_client`` is first imported, which reads
    the variable once (this module imports it only inside the commands)."""
    path = tempfile.mkdtemp(prefix="maple-metrics-")
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = path
    try:
        if "prometheus_client" in sys.modules:  # imported early by some embedding: make it write to the dir too
            from prometheus_client import values

            values.ValueClass = values.get_value_class()
        yield path
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
        shutil.rmtree(path, ignore_errors=True)


def _settle_memory() -> None:
    """Move everything built at start-up (SDKs, schemas, config) out of the garbage collector's reach, and
    collect young objects less eagerly: full collections over those long-lived objects were the main source
    of ack-latency outliers."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


async def config_check(settings: Settings) -> int:
    """Validate the config (schema, references, patterns, time zones, crons…): exit 1 with the errors; print
    dangerous grants as warnings (on standard error, and in the JSON) with exit 0."""
    from bot.app import build_models
    from config.loader import config_warnings, load_spec

    spec = load_spec(settings.config_path)
    warnings = config_warnings(spec)
    for warning in warnings:
        print(f"maple: warning: {warning}", file=sys.stderr)
    env = {name: mask(settings.secret(attr)) for name, attr in (
        ("SLACK_BOT_TOKEN", "slack_bot_token"), ("SLACK_SIGNING_SECRET", "slack_signing_secret"),
        ("SLACK_APP_TOKEN", "slack_app_token"), ("OPENAI_API_KEY", "openai_api_key"),
        ("MAPLE_AUDIT_KEYS", "audit_keys"), ("MAPLE_AUDIT_KEY", "audit_key"),
        ("MAPLE_AUDIT_ANCHOR_KEY", "audit_anchor_key"))}
    env.update({"SLACK_API_URL": settings.slack_api_url, "REDIS_URL": _mask_url(settings.redis_url),
                "PORT": str(settings.port), "MAPLE_CONFIG": str(settings.config_path),
                "OPENAI_BASE_URL": settings.openai_base_url or "(default)"})
    try:
        active = sorted(build_models(spec, settings))
    except ConfigError as exc:
        active = [f"error: {exc}"]
    from bot.cli_tools import mcp_errors, mcp_reports  # the mcp SDK: only for the commands using it

    mcp = await mcp_reports(spec, environ=settings.environ())  # connects to each MCP server and lists its tools
    errors = mcp_errors(mcp) + _embedding_errors(spec, settings)
    print(json.dumps({"environment": env, "active_models": active, "warnings": warnings, "errors": errors,
                      "mcp": mcp, "config": spec.model_dump(mode="json")}, indent=2, default=str))
    for error in errors:
        print(f"maple: error: {error}", file=sys.stderr)
    return 1 if errors else 0


def _embedding_errors(spec: MapleSpec, settings: Settings) -> list[str]:
    """An embeddings endpoint whose key is not set: `maple serve` and `maple ingest` would refuse to start."""
    from integrations.knowledge.embeddings import embedding_key

    embeddings = spec.knowledge.embeddings
    if embeddings is None or embeddings.kind != "openai-compatible" or embedding_key(embeddings, settings.environ()):
        return []
    return [f"knowledge.embeddings: {embeddings.api_key_env or 'api_key_env'} is not set (in the environment or "
            ".env): maple serve and maple ingest will not start"]


async def tools_command(settings: Settings) -> int:
    from bot.cli_tools import list_tools
    from config.loader import load_spec

    return await list_tools(load_spec(settings.config_path), environ=settings.environ())


def _mask_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://****@{rest.rsplit('@', 1)[1]}"
    return url


def choose(settings: Settings, *, environ: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """What ``maple start`` (and ``make run``) runs — ``serve`` with a Slack bot token, else ``dev`` — and why,
    from the same settings every command reads (the environment, then ``.env``)."""
    if settings.secret("slack_bot_token"):
        where = "the environment" if environ.get("SLACK_BOT_TOKEN") else ".env"
        how = "Socket Mode" if settings.secret("slack_app_token") else f"HTTP on port {settings.port}"
        return "serve", f"SLACK_BOT_TOKEN is set (in {where}): starting `maple serve` ({how})"
    partial = [name for name, attr in (("SLACK_SIGNING_SECRET", "slack_signing_secret"),
                                       ("SLACK_APP_TOKEN", "slack_app_token")) if settings.secret(attr)]
    if partial:
        raise ConfigError(f"{' and '.join(partial)} {'is' if len(partial) == 1 else 'are'} set but "
                          "SLACK_BOT_TOKEN is not (in the environment or .env): set SLACK_BOT_TOKEN to connect "
                          "to Slack, or unset them to start the local workspace")
    return "dev", ("no SLACK_BOT_TOKEN in the environment or .env: starting the local workspace (`maple dev`) "
                   f"on http://127.0.0.1:{settings.port}/")


async def start(settings: Settings, args: argparse.Namespace) -> int | None:
    command, why = choose(settings)
    print(f"maple start: {why}", flush=True)
    return await (serve(settings) if command == "serve" else _dev(settings, args))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="maple", description="Maple: AI orchestration for Slack")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("start", help="serve when SLACK_BOT_TOKEN is set (environment or .env), else dev")
    sub.add_parser("serve", help="serve Slack requests (HTTP, or Socket Mode with SLACK_APP_TOKEN) with workers")
    sub.add_parser("front", help="answer Slack's HTTP requests on PORT beside a maple serve (serve starts these)")
    w = sub.add_parser("worker", help="run only workers against the same Redis")
    w.add_argument("--count", type=int, default=None)
    sub.add_parser("dev", help="run Maple with the local workspace on http://127.0.0.1:$PORT/")
    c = sub.add_parser("config", help="configuration")
    c.add_argument("action", choices=["check"])
    sub.add_parser("tools", help="every tool a workflow may use (connects to the MCP servers)")
    add_ops_parsers(sub)
    add_purge_parser(sub)
    add_audit_parser(sub)
    add_ingest_parser(sub)
    return p


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], Awaitable[int | None]]] = {
    "serve": lambda s, a: serve(s),
    "front": lambda s, a: serve(s, front=True),
    "worker": lambda s, a: serve(s, workers=a.count, http=False),
    "config": lambda s, a: config_check(s),
    "runs": runs_command,
    "control": control_command,
    "purge": purge_command,
    "tools": lambda s, a: tools_command(s),
    "audit": audit_command,
    "ingest": ingest_command,
    "dev": lambda s, a: _dev(s, a),
    "start": lambda s, a: start(s, a),
}


async def _dev(settings: Settings, _args: argparse.Namespace) -> int | None:
    from bot.dev import run_dev

    return await run_dev(settings)


def _supervising(settings: Settings, args: argparse.Namespace) -> bool:
    """``maple serve`` (or ``maple start`` choosing it) with worker processes: it needs a metrics directory."""
    if args.command == "start":
        try:
            return choose(settings)[0] == "serve" and supervises(settings, http=True)
        except ConfigError:
            return False
    return args.command == "serve" and supervises(settings, http=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except Exception as exc:  # noqa: BLE001 - pydantic's message names the variable
        print(f"maple: invalid environment: {exc}", file=sys.stderr)
        return 1
    setup_logging(settings.log_level)
    handler = COMMANDS[args.command]
    try:
        with metrics_dir() if _supervising(settings, args) else contextlib.nullcontext():
            return asyncio.run(handler(settings, args)) or 0
    except ConfigError as exc:
        print(f"maple: configuration error:\n{exc}", file=sys.stderr)
        return 1
    except MapleError as exc:
        print(f"maple: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
