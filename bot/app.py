"""The composition root: the one place that builds adapters from settings and hands them to the core and handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.app_audit import audit_keyring, build_audit, process_signer
from bot.app_ops import heartbeat, readiness, refresh_gauges
from bot.core import retention, text
from bot.core.access import Access
from bot.core.classify import Classifier
from bot.core.desk import Desk
from bot.core.errors import ConfigError, MapleError, NotFound
from bot.core.models import Job
from bot.core.ops_report import OpsReport
from bot.core.ports import AuditAnchoring, AuditLog, ChatModel, Compute, SystemClock
from bot.core.router import Router
from bot.core.schedule_desk import ScheduleDesk
from bot.core.schedules import Scheduling
from bot.core.sensitivity import assessor
from bot.core.services import Services
from bot.core.spec import MapleSpec, ModelSpec
from bot.core.tools import Tool, ToolRegistry
from bot.core.tools.box import ToolBox
from bot.core.tools.builtin import Calculator, DateMath, SlackHistory
from bot.core.worker import fail, handle_job
from bot.supervisor import Supervisor
from config.loader import load_spec, resolve_local_path
from config.settings import Settings
from handlers import blocks, mrkdwn
from handlers.front import FrontDoor
from handlers.http import Previous, build_http_app
from handlers.listeners import command_ack, register
from handlers.socket_mode import FrontDoorSocketModeHandler
from integrations import metrics, tracing
from integrations.compute import ProcessCompute
from integrations.http_tool import HttpTool
from integrations.knowledge.embeddings import build_embedder, embedding_key
from integrations.knowledge.retriever import LlamaIndexRetriever
from integrations.knowledge.store import CollectionStore
from integrations.local_model import LlamaCppModel, default_model_path
from integrations.mcp_tools import McpTools, build_mcp_tools
from integrations.metered import MeteredAudit, MeteredLedger, MeteredModel, MeteredRunStore, tool_observed
from integrations.openai_model import OpenAICompatibleModel
from integrations.redis_conn import PoolSize, check_topology, connect
from integrations.redis_controls import RedisControls
from integrations.redis_deliveries import RedisDeliveries
from integrations.redis_feedback import RedisFeedback
from integrations.redis_limits import RedisRateLimiter
from integrations.redis_memberships import MembershipNews
from integrations.redis_queue import RedisJobQueue
from integrations.redis_schedules import RedisScheduleStore
from integrations.redis_usage import RedisUsageLedger
from integrations.scheduler import Schedules
from integrations.slack_surface import SlackChannelReader, SlackInstallation, SlackSurface, make_client
from integrations.slack_zones import SlackZones
from integrations.timetable import ApsTimetable
from integrations.worker_pool import WorkerPool, consumer_prefix

log = logging.getLogger("maple.app")
ACK_WAIT = 1.0  # seconds a request waits, at most, for a directory look-up or the installation's identity


MAX_ROTATION = timedelta(days=7)


def previous_secret(settings: Settings) -> Previous | None:
    """Signing-secret rotation: the previous secret, accepted until ``MAPLE_SIGNING_SECRET_PREVIOUS_UNTIL``."""
    old = settings.secret("slack_signing_secret_previous")
    if not old:
        return None
    until = settings.signing_previous_until
    if until is None or until.tzinfo is None:
        raise ConfigError("SLACK_SIGNING_SECRET_PREVIOUS needs MAPLE_SIGNING_SECRET_PREVIOUS_UNTIL, a time with its "
                          "zone (e.g. 2026-12-03T12:00:00Z) after which the previous secret is refused")
    if until > datetime.now(UTC) + MAX_ROTATION:  # the secret being retired may be one that leaked
        raise ConfigError("MAPLE_SIGNING_SECRET_PREVIOUS_UNTIL is more than 7 days away: a rotation window is hours, "
                          "at most 7 days, after which the previous secret is refused")
    return Previous(secret=old, until=until)


def build_models(spec: MapleSpec, settings: Settings) -> dict[str, ChatModel]:
    """Clients for the enabled models. An openai-compatible model whose key variable is unset (in the environment
    and in ``.env``) is left out."""
    clients: dict[str, ChatModel] = {}
    environ = settings.environ()
    for m in spec.models:
        if not m.enabled:
            continue
        if m.kind == "local-gguf":
            path = resolve_local_path(m.path, settings.local_model) or default_model_path()
            clients[m.name] = LlamaCppModel(name=m.name, path=path, context=m.context_window,
                                            wait_timeout=settings.local_model_wait)
            continue
        key = environ.get(m.api_key_env) if m.api_key_env else "unused"
        if not key:
            continue
        base = m.base_url or (settings.openai_base_url if m.api_key_env == "OPENAI_API_KEY" else None)
        clients[m.name] = OpenAICompatibleModel(name=m.name, model=m.model, api_key=key, base_url=base,
                                                timeout=m.timeout)
    return clients


def metered_models(spec: MapleSpec, clients: dict[str, ChatModel]) -> dict[str, ChatModel]:
    """Each client counted in ``/metrics`` (calls, errors, latency, tokens, cost)."""
    specs = {m.name: m for m in spec.models}
    return {name: MeteredModel(client, specs[name]) for name, client in clients.items()}


def active_portfolio(spec: MapleSpec, clients: dict[str, ChatModel]) -> list[ModelSpec]:
    return [m for m in spec.models if m.name in clients]


async def redis_warnings(r: aioredis.Redis) -> list[str]:
    """Loud warnings when Redis could lose data or evict keys. Refuses Redis Cluster (ConfigError): Maple needs
    a single primary (see integrations/redis_conn.py)."""
    await check_topology(r)
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
    worker_redis: aioredis.Redis | None = None
    scheduling: Scheduling | None = None
    schedule_store: RedisScheduleStore | None = None
    schedules: Schedules | None = None
    compute: Compute | None = None
    anchoring: AuditAnchoring | None = None  # only in the process holding the anchor key
    mcp: McpTools | None = None
    knowledge: LlamaIndexRetriever | None = None
    controls: RedisControls | None = None
    news: MembershipNews | None = None  # membership events between the processes that answer Slack
    supervisor: Supervisor | None = None  # maple serve's worker processes (bot/supervisor.py), when it has them
    fronts: Supervisor | None = None  # maple serve's extra ack processes on its port (MAPLE_ACK_PROCESSES - 1)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start_workers(self, count: int) -> None:
        """``count`` pools of ``MAPLE_WORKER_CONCURRENCY`` slots. Claims and lease renewals go through a Redis
        pool of their own, so a burst on the ack path never delays a renewal."""
        if count <= 0:
            return
        if self.controls is not None:
            await self.controls.open()  # a worker routes: it must see a freeze within seconds
        if self.news is not None:
            await self.news.open()  # a worker checks roles from cached member lists: it must hear membership news
        if self.mcp is not None and not self.pools:
            await self.mcp.open()  # connect and list every MCP server's tools (bounded; failures are logged)
        if self.knowledge is not None:
            await self.knowledge.open()  # the workers search: keep every collection's current version loaded
        s = self.settings
        if self.worker_redis is None:
            self.worker_redis = connect(s.redis_url, size=PoolSize(
                max_connections=count * (s.worker_concurrency + 2) + 4, pool_wait=s.redis_pool_wait))
        queue = RedisJobQueue(redis=self.worker_redis, prefix=s.redis_prefix, dead_max=s.dead_letter_max)
        consumer = consumer_prefix()
        if not self.pools:
            self.tasks.append(asyncio.create_task(heartbeat(queue, consumer)))
        for i in range(len(self.pools), len(self.pools) + count):
            pool = WorkerPool(queue=queue, consumer=f"{consumer}-{i}", handler=self._handle, on_dead=self._dead,
                              concurrency=s.worker_concurrency, visibility_timeout=s.visibility_timeout,
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

    async def start_schedules(self) -> None:
        """Run schedules in this process (every ``maple serve`` does; they fire once across all of them), and the
        retention sweep with them (``bot.core.retention``: idempotent, so every process may run it)."""
        assert self.scheduling is not None and self.schedule_store is not None
        self.schedules = Schedules(sch=self.scheduling, store=self.schedule_store,
                                   sweep_seconds=self.settings.schedule_sweep)
        await self.schedules.start()
        self.tasks.append(asyncio.create_task(self._retention_loop()))

    async def _retention_loop(self) -> None:
        while True:
            try:
                await retention.sweep(self.svc)
            except MapleError as exc:
                log.warning("retention sweep failed; it runs again later", extra={"error": type(exc).__name__})
            await asyncio.sleep(retention.SWEEP_SECONDS)

    def start_anchoring(self) -> None:
        """Anchor the audit chain heads outside Redis every ``audit.anchor_every_seconds`` — if this process
        holds the anchor key; otherwise say where anchoring has to happen."""
        if self.anchoring is None:
            log.warning("AUDIT: this process holds no anchor key, so it does not anchor the audit chains; run "
                        "`maple audit anchor --every 5m` where MAPLE_AUDIT_ANCHOR_KEY is kept")
            return
        self.tasks.append(asyncio.create_task(self._anchor_loop(self.anchoring)))

    async def _anchor_loop(self, anchoring: AuditAnchoring) -> None:
        while True:
            await asyncio.sleep(self.spec.audit.anchor_every_seconds)
            try:
                await anchoring.anchor()
            except MapleError as exc:
                log.warning("audit anchoring failed", extra={"error": type(exc).__name__})

    async def _handle(self, job: Job) -> None:
        try:
            await handle_job(self.svc, job)  # its spans (one trace per run) come from the core's stages
        except BaseException as exc:
            metrics.JOBS.labels(job.kind, type(exc).__name__).inc()
            raise
        metrics.JOBS.labels(job.kind, "ok").inc()

    async def _dead(self, job: Job, why: str) -> None:
        """A job that failed ``limits.max_attempts`` times: mark its run failed and tell the requester. A run
        that no longer exists has nobody to tell; any other failure propagates, so the job is retried."""
        try:
            if job.kind == "intake" and await self._placed(job.run_id):
                log.error("the answer to a placed goal could not be given; its run goes on",
                          extra={"run_id": job.run_id, "why": why})
                return
            await fail(self.svc, job.run_id, why=text.GAVE_UP)
        except NotFound:
            log.error("dead job for a run that no longer exists", extra={"run_id": job.run_id, "why": why})

    async def _placed(self, run_id: str) -> bool:
        """A deferred intake that placed (or held) its goal before its answer failed: the run is not failed for it."""
        run = await self.svc.store.get(run_id)
        return bool(run.workflow or run.offered)

    async def stop(self) -> None:
        if self.schedules:
            await self.schedules.stop()
        if self.controls is not None:
            await self.controls.close()
        await asyncio.gather(*(p.stop(grace=self.settings.shutdown_grace) for p in self.pools))
        if self.news is not None:  # after the pools: the jobs they finish check roles until the end
            await self.news.close()
        if self.anchoring is not None:
            with contextlib.suppress(MapleError):
                await self.anchoring.anchor()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.knowledge is not None:
            await self.knowledge.close()
        for model in self.models.values():
            await model.close()
        if self.mcp is not None:
            await self.mcp.close()
        if self.compute is not None:
            await self.compute.close()
        if self.worker_redis is not None:
            await self.worker_redis.aclose()
        await self.surface.close()
        await self.redis.aclose()


def processes_report(maple: Maple) -> dict[str, object]:
    """For ``/readyz``'s body: which process answered, and the child processes it supervises."""
    report: dict[str, object] = {"pid": os.getpid()}
    if maple.supervisor is not None:
        report["worker_processes"] = maple.supervisor.report()
    if maple.fronts is not None:
        report["ack_processes"] = maple.fronts.report()
    return report


async def _serving(installation: SlackInstallation, controls: RedisControls, news: MembershipNews) -> None:
    await controls.open()  # intake reads the controls in force (pause) from memory
    await news.open()  # membership events another process took drop this one's cached lists
    await learn_installation(installation)


async def learn_installation(installation: SlackInstallation) -> None:
    """Learn which workspace Maple is installed in (``auth.test``) before serving; until it is known every request
    is refused (and it is asked again on the next request)."""
    if await installation.tenancy(wait=15) is None:
        log.error("could not learn the installed workspace from auth.test; refusing requests until it answers")


def worker_id() -> str:
    host = "".join(ch for ch in socket.gethostname() if ch.isalnum())[:12] or "host"
    return f"{host}-{os.getpid()}"


def build_tools(spec: MapleSpec, client: Any, compute: Compute, *, ops: OpsReport | None = None,
                audit: AuditLog | None = None, mcp: McpTools | None = None,
                frozen: Callable[[], bool] = lambda: False) -> ToolBox:
    limit = spec.tools.compute_timeout
    tools: list[Tool] = [Calculator(compute, time_limit=limit),
                         DateMath(compute, holidays=spec.tools.holidays, time_limit=limit),
                         SlackHistory(SlackChannelReader(client))]
    if ops is not None:
        tools.append(ops)
    if spec.tools.http:
        tools.append(HttpTool(targets=list(spec.tools.http), timeout=spec.tools.http_timeout,
                              max_bytes=spec.tools.http_max_bytes))
    tools.extend(mcp.tools if mcp is not None else [])
    return ToolBox(registry=ToolRegistry(tools, observe=tool_observed), assess=assessor(spec.sensitivity), clock=SystemClock(),
                   timezone=spec.tools.timezone, audit=audit, frozen=frozen)


def build_knowledge(settings: Settings, spec: MapleSpec, r: aioredis.Redis) -> LlamaIndexRetriever:
    """The knowledge base every process shares through Redis (and the embedding model, when one is configured)."""
    embeddings = spec.knowledge.embeddings
    embedder = build_embedder(embeddings, api_key=embedding_key(embeddings, settings.environ()),
                              default_base_url=settings.openai_base_url)
    return LlamaIndexRetriever(store=CollectionStore(redis=r, prefix=settings.redis_prefix), spec=spec,
                               embedder=embedder)


def build(
    settings: Settings, *, spec: MapleSpec | None = None, audit: AuditLog | None = None, local: bool = False,
    anchoring: bool = True,
) -> Maple:
    """``local``: the single-process local workspace (may make its own audit key files). ``anchoring``: this
    process may anchor the audit chains, if it holds the anchor key (a ``maple worker`` never does)."""
    spec = spec or load_spec(settings.config_path)
    token = settings.secret("slack_bot_token")
    signing = settings.secret("slack_signing_secret")
    if not token or not signing:
        raise ConfigError("SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET must be set (or run `maple dev`)")
    keys = None if audit else audit_keyring(settings, local=local, create=local)  # no shared key: refused here
    r = connect(settings.redis_url, size=PoolSize(max_connections=settings.redis_max_connections,
                                                  pool_wait=settings.redis_pool_wait))
    anchor: AuditAnchoring | None = None
    if keys is not None:
        audit, anchor = build_audit(settings, spec, r, keys=keys, worker=worker_id(),
                                    signer=process_signer(settings, local=local, anchoring=anchoring))
    assert audit is not None
    audit = MeteredAudit(audit)
    store = MeteredRunStore(redis=r, prefix=settings.redis_prefix, ttl_seconds=spec.audit.text_ttl_days * 86400)
    queue = RedisJobQueue(redis=r, prefix=settings.redis_prefix, dead_max=settings.dead_letter_max)
    client = make_client(token=token, base_url=settings.slack_api_url)
    installation = SlackInstallation(client=client, tenants=spec.tenants)
    surface = SlackSurface(client=client, render=blocks.render, installation=installation, wait=ACK_WAIT,
                           escape=mrkdwn.escape)
    models = metered_models(spec, build_models(spec, settings))
    controls = RedisControls(redis=r, prefix=settings.redis_prefix, queue=queue)
    router = Router(portfolio=active_portfolio(spec, models), clients=models, controls=controls)
    compute = ProcessCompute(workers=spec.tools.compute_workers)
    access, clock = Access(spec, surface), SystemClock()
    ledger = MeteredLedger(RedisUsageLedger(redis=r, prefix=settings.redis_prefix))
    ops = OpsReport(store=store, ledger=ledger, spec=spec, access=access, clock=clock)
    mcp = build_mcp_tools(spec, environ=settings.environ())
    knowledge = build_knowledge(settings, spec, r)
    people = SlackZones(client, wait=ACK_WAIT)
    svc = Services(spec=spec, store=store, queue=queue, surface=surface, router=router, access=access, audit=audit,
                   clock=clock, ledger=ledger, assess=assessor(spec.sensitivity),
                   tools=build_tools(spec, client, compute, ops=ops, audit=audit, mcp=mcp, frozen=router.frozen),
                   limiter=RedisRateLimiter(redis=r, prefix=settings.redis_prefix), knowledge=knowledge,
                   controls=controls, feedback=RedisFeedback(redis=r, prefix=settings.redis_prefix),
                   streaming=settings.streaming, people=people, stages=tracing.stages(),
                   classifier=Classifier(spec.workflows))
    bolt = AsyncApp(signing_secret=signing, client=client, process_before_response=True,
                    request_verification_enabled=False, logger=logging.getLogger("maple.bolt"))
    classifier = svc.classifier
    schedule_store = RedisScheduleStore(redis=r, prefix=settings.redis_prefix)
    scheduling = Scheduling(svc=svc, store=schedule_store, timetable=ApsTimetable(),
                            lease_seconds=settings.schedule_lease)
    schedule_desk = ScheduleDesk(sch=scheduling, zones=people, classifier=classifier,
                                 max_per_user=settings.schedules_per_user, grace_seconds=settings.schedule_grace)
    desk = Desk(svc=svc, classifier=classifier, schedules=schedule_desk, people=people,
                deferred=settings.ack == "deferred")
    news = MembershipNews(redis=r, prefix=settings.redis_prefix, surface=surface)  # to the other ack processes
    register(bolt, desk=desk, on_group_change=news.group_changed, on_member_change=news.member_changed)
    front = FrontDoor(bolt=bolt, deliveries=RedisDeliveries(redis=r, prefix=settings.redis_prefix),
                      tenancy=lambda: installation.tenancy(wait=ACK_WAIT), language=spec.language,
                      checked_in_write=lambda p: desk.defers(str(p.data.get("text", "")), p.data.get("response_url")),
                      command=lambda fields, once: command_ack(desk, fields, once))
    http = build_http_app(front=front, signing_secret=signing, healthy=store.ping,
                          on_startup=lambda: _serving(installation, controls, news),
                          ready=lambda: readiness(store=store, queue=queue, router=router,
                                                  processes=maple.supervisor),  # `maple` is bound below
                          details=lambda: processes_report(maple),
                          refresh=lambda: refresh_gauges(queue=queue), previous=previous_secret(settings))
    maple = Maple(settings=settings, spec=spec, redis=r, svc=svc, queue=queue, surface=surface, bolt=bolt,
                  front=front, installation=installation, http=http, models=models, compute=compute,
                  anchoring=anchor, scheduling=scheduling, schedule_store=schedule_store, mcp=mcp,
                  knowledge=knowledge, controls=controls, news=news)
    return maple
