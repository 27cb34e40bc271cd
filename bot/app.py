"""The composition root: the one place that builds adapters from settings and hands them to the core and handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.core.access import Access
from bot.core.classify import Classifier
from bot.core.desk import Desk
from bot.core.errors import ConfigError, MapleError, NotFound
from bot.core.models import Job
from bot.core.ports import AuditLog, ChatModel, SystemClock
from bot.core.router import Router
from bot.core.sensitivity import assessor
from bot.core.services import Services
from bot.core.spec import MapleSpec, ModelSpec
from bot.core.tools import Tool, ToolRegistry
from bot.core.tools.box import ToolBox
from bot.core.tools.builtin import Calculator, DateMath, SlackHistory
from bot.core.worker import fail, handle_job
from config.loader import load_spec, resolve_local_path
from config.settings import Settings
from handlers import blocks
from handlers.front import FrontDoor
from handlers.http import build_http_app
from handlers.listeners import register
from handlers.socket_mode import FrontDoorSocketModeHandler
from integrations.http_tool import HttpTool
from integrations.local_model import LlamaCppModel, default_model_path
from integrations.openai_model import OpenAICompatibleModel
from integrations.redis_audit import RedisAuditLog
from integrations.redis_deliveries import RedisDeliveries
from integrations.redis_limits import RedisRateLimiter
from integrations.redis_queue import RedisJobQueue, WorkerPool
from integrations.redis_store import RedisRunStore
from integrations.redis_usage import RedisUsageLedger
from integrations.scheduler import Schedules
from integrations.slack_surface import SlackChannelReader, SlackInstallation, SlackSurface, make_client

log = logging.getLogger("maple.app")
ACK_WAIT = 1.0  # seconds a request waits, at most, for a directory look-up or the installation's identity


def build_models(spec: MapleSpec, settings: Settings) -> dict[str, ChatModel]:
    """Clients for the enabled models. An openai-compatible model whose key variable is unset is left out."""
    clients: dict[str, ChatModel] = {}
    for m in spec.models:
        if not m.enabled:
            continue
        if m.kind == "local-gguf":
            path = resolve_local_path(m.path, settings.local_model) or default_model_path()
            clients[m.name] = LlamaCppModel(name=m.name, path=path, context=m.context_window)
            continue
        key = os.environ.get(m.api_key_env) if m.api_key_env else "unused"
        if not key:
            continue
        base = m.base_url or (settings.openai_base_url if m.api_key_env == "OPENAI_API_KEY" else None)
        clients[m.name] = OpenAICompatibleModel(name=m.name, model=m.model, api_key=key, base_url=base,
                                                timeout=m.timeout)
    return clients


def active_portfolio(spec: MapleSpec, clients: dict[str, ChatModel]) -> list[ModelSpec]:
    return [m for m in spec.models if m.name in clients]


async def redis_warnings(r: aioredis.Redis) -> list[str]:
    """Loud warnings when Redis could lose data or evict keys."""
    try:
        conf: dict[str, Any] = {}
        for key in ("appendonly", "save", "maxmemory-policy"):
            conf.update(await r.config_get(key))
    except Exception:  # noqa: BLE001 - managed Redis may forbid CONFIG
        return ["could not read Redis persistence settings (CONFIG GET refused): make sure AOF or RDB is on "
                "and maxmemory-policy is noeviction"]
    warnings = []
    if str(conf.get("appendonly", "no")) != "yes" and not str(conf.get("save", "")).strip():
        warnings.append("Redis has neither AOF nor RDB persistence: runs are lost if Redis restarts")
    policy = str(conf.get("maxmemory-policy", "noeviction"))
    if policy != "noeviction":
        warnings.append(f"Redis maxmemory-policy is {policy}: runs and queued jobs may be evicted")
    return warnings


@dataclass(kw_only=True)
class Maple:
    settings: Settings
    spec: MapleSpec
    redis: aioredis.Redis
    svc: Services
    queue: RedisJobQueue
    surface: SlackSurface
    bolt: AsyncApp
    front: FrontDoor
    installation: SlackInstallation
    http: web.Application
    models: dict[str, ChatModel]
    pools: list[WorkerPool] = field(default_factory=list)
    schedules: Schedules | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start_workers(self, count: int) -> None:
        consumer = worker_id()
        for i in range(count):
            pool = WorkerPool(queue=self.queue, redis=self.redis, consumer=f"{consumer}-{i}",
                              handler=self._handle, on_dead=self._dead, concurrency=2,
                              visibility_timeout=self.settings.visibility_timeout,
                              max_attempts=self.spec.limits.max_attempts)
            self.pools.append(pool)
            self.tasks.append(asyncio.create_task(pool.run()))

    async def connect_socket_mode(self, app_token: str) -> Any:
        """Socket Mode: Slack pushes requests over a WebSocket opened with ``apps.connections.open`` (no public
        URL). Every envelope goes through the same front door as an HTTP request, then is acked on the socket."""
        await learn_installation(self.installation)
        handler = FrontDoorSocketModeHandler(self.bolt, app_token, front=self.front)
        await handler.connect_async()
        return handler

    def start_schedules(self) -> None:
        self.schedules = Schedules(svc=self.svc, redis=self.redis, prefix=self.settings.redis_prefix)
        self.schedules.start()

    def start_anchoring(self) -> None:
        """Anchor the audit chain heads outside Redis every ``audit.anchor_every_seconds``."""
        audit = self.svc.audit
        if isinstance(audit, RedisAuditLog):
            self.tasks.append(asyncio.create_task(self._anchor_loop(audit)))

    async def _anchor_loop(self, audit: RedisAuditLog) -> None:
        while True:
            await asyncio.sleep(self.spec.audit.anchor_every_seconds)
            try:
                await audit.anchor()
            except MapleError as exc:
                log.warning("audit anchoring failed", extra={"error": type(exc).__name__})

    async def _handle(self, job: Job) -> None:
        await handle_job(self.svc, job)

    async def _dead(self, job: Job, why: str) -> None:
        try:
            await fail(self.svc, job.run_id, why="Maple gave up after several attempts; an admin can see it "
                                                  "with `maple runs failed`")
        except (NotFound, MapleError):
            log.error("could not mark dead run failed", extra={"run_id": job.run_id, "why": why})

    async def stop(self) -> None:
        if self.schedules:
            self.schedules.stop()
        await asyncio.gather(*(p.stop(grace=self.settings.shutdown_grace) for p in self.pools))
        if isinstance(self.svc.audit, RedisAuditLog):
            with contextlib.suppress(MapleError):
                await self.svc.audit.anchor()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for model in self.models.values():
            await model.close()
        await self.surface.close()
        await self.redis.aclose()


async def learn_installation(installation: SlackInstallation) -> None:
    """Learn which workspace Maple is installed in (``auth.test``) before serving; until it is known every request
    is refused (and it is asked again on the next request)."""
    if await installation.tenancy(wait=15) is None:
        log.error("could not learn the installed workspace from auth.test; refusing requests until it answers")


def audit_key(settings: Settings) -> bytes:
    """MAPLE_AUDIT_KEY, or a key kept in a local file (created once, mode 0600) — never in Redis."""
    configured = settings.secret("audit_key")
    if configured:
        return configured.encode()
    path = settings.audit_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        log.warning("no MAPLE_AUDIT_KEY: created an audit key file; back it up, or set MAPLE_AUDIT_KEY",
                    extra={"path": str(path)})
    return path.read_text().strip().encode()


def worker_id() -> str:
    host = "".join(ch for ch in socket.gethostname() if ch.isalnum())[:12] or "host"
    return f"{host}-{os.getpid()}"


def build_audit(settings: Settings, spec: MapleSpec, r: aioredis.Redis) -> RedisAuditLog:
    return RedisAuditLog(redis=r, key=audit_key(settings), prefix=settings.redis_prefix, worker=worker_id(),
                         clock=SystemClock(), anchor_path=spec.audit.anchor_file)


def build_tools(spec: MapleSpec, client: Any) -> ToolBox:
    tools: list[Tool] = [Calculator(), DateMath(), SlackHistory(SlackChannelReader(client))]
    if spec.tools.http:
        tools.append(HttpTool(targets=list(spec.tools.http), timeout=spec.tools.http_timeout,
                              max_bytes=spec.tools.http_max_bytes))
    return ToolBox(registry=ToolRegistry(tools), assess=assessor(spec.sensitivity), clock=SystemClock(),
                   timezone=spec.tools.timezone)


def redis_client(url: str) -> aioredis.Redis:
    """One client (and pool) per process. A burst of requests waits for a free connection (up to 5 s) instead of
    failing with "too many connections", so "temporarily unavailable" means Redis really cannot be reached."""
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=128, timeout=5, socket_connect_timeout=2,
                                                    socket_timeout=5, health_check_interval=30)
    return aioredis.Redis.from_pool(pool)


def build(settings: Settings, *, spec: MapleSpec | None = None, audit: AuditLog | None = None) -> Maple:
    spec = spec or load_spec(settings.config_path)
    token = settings.secret("slack_bot_token")
    signing = settings.secret("slack_signing_secret")
    if not token or not signing:
        raise ConfigError("SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET must be set (or run `maple dev`)")
    r = redis_client(settings.redis_url)
    store = RedisRunStore(redis=r, prefix=settings.redis_prefix, ttl_seconds=spec.audit.text_ttl_days * 86400)
    queue = RedisJobQueue(redis=r, prefix=settings.redis_prefix)
    client = make_client(token=token, base_url=settings.slack_api_url)
    installation = SlackInstallation(client=client, tenants=spec.tenants)
    surface = SlackSurface(client=client, render=blocks.render, installation=installation, wait=ACK_WAIT)
    models = build_models(spec, settings)
    router = Router(portfolio=active_portfolio(spec, models), clients=models)
    svc = Services(spec=spec, store=store, queue=queue, surface=surface, router=router,
                   access=Access(spec, surface), audit=audit or build_audit(settings, spec, r),
                   clock=SystemClock(), ledger=RedisUsageLedger(redis=r, prefix=settings.redis_prefix),
                   assess=assessor(spec.sensitivity), tools=build_tools(spec, client),
                   limiter=RedisRateLimiter(redis=r, prefix=settings.redis_prefix))
    bolt = AsyncApp(signing_secret=signing, client=client, process_before_response=True,
                    request_verification_enabled=False, logger=logging.getLogger("maple.bolt"))
    desk = Desk(svc=svc, classifier=Classifier(spec.workflows))
    register(bolt, desk=desk, on_group_change=surface.forget_group, on_member_change=surface.member_changed)
    front = FrontDoor(bolt=bolt, deliveries=RedisDeliveries(redis=r, prefix=settings.redis_prefix),
                      tenancy=lambda: installation.tenancy(wait=ACK_WAIT))
    http = build_http_app(front=front, signing_secret=signing, healthy=store.ping,
                          on_startup=lambda: learn_installation(installation))
    return Maple(settings=settings, spec=spec, redis=r, svc=svc, queue=queue, surface=surface, bolt=bolt,
                 front=front, installation=installation, http=http, models=models)
