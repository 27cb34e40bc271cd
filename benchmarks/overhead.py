"""Orchestration overhead per run: Maple persisting every step in Redis, side by side with the same flow in LangGraph.

The flow, for every run: intake → classify → assess → route → generate (a stub model that answers at once) →
check → review wait → approve → deliver. No model latency, no Slack: the figures are what the orchestration
itself costs.

- **Maple**: the real core (``intake.submit``, the worker's ``handle_job``, ``review.decide``) over the real Redis
  adapters (run store with its compare-and-set script, the job queue with leases and the real ``WorkerPool``, the
  hash-chained audit log, the usage ledger), a stub ``ChatModel`` behind the real ``MeteredModel``, and a recording
  delivery port (``tests.fakes.memory.MemorySurface``) instead of Slack. Keys live under a private prefix, deleted
  afterwards.
- **LangGraph**: a ``StateGraph`` with one node per step doing the same work (Maple's classifier, assessor,
  router, the same stub model and policy check, the same recording port), the review wait an ``interrupt`` resumed
  with ``Command(resume=...)``; once with its in-memory checkpointer (``InMemorySaver``) and once with its
  PostgreSQL checkpointer (``AsyncPostgresSaver`` on 127.0.0.1:5432, database ``test``, in a private schema dropped
  afterwards). LangGraph's Redis checkpointer needs Redis modules this Redis lacks.

LangGraph is installed only for this benchmark (``make bench-overhead`` or ``--install``), never for Maple.
Each flow runs ``--sequential`` runs one at a time (the overhead of one run: p50/p99 from intake to delivered; the
approval is sent as soon as the review is posted, so no reviewer time is in it), then ``--runs`` runs with
``--concurrency`` in flight (p50/p99 per run, runs/s). Each figure also gives this process's CPU time per run
(Redis's and PostgreSQL's own CPU are not in it). Run it on a quiet machine; the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import metered_models  # noqa: E402
from bot.core import intake, review  # noqa: E402
from bot.core.access import Access  # noqa: E402
from bot.core.audit_keys import Keyring  # noqa: E402
from bot.core.classify import Classifier  # noqa: E402
from bot.core.models import ChatMessage, Completion, Job, Origin  # noqa: E402
from bot.core.policy import check_draft  # noqa: E402
from bot.core.ports import ChatModel, SystemClock, View  # noqa: E402
from bot.core.router import Router  # noqa: E402
from bot.core.sensitivity import assessor  # noqa: E402
from bot.core.services import Services  # noqa: E402
from bot.core.worker import handle_job  # noqa: E402
from integrations.metered import MeteredAudit, MeteredLedger, MeteredRunStore  # noqa: E402
from integrations.redis_audit import RedisAuditLog  # noqa: E402
from integrations.redis_conn import PoolSize, connect  # noqa: E402
from integrations.redis_feedback import RedisFeedback  # noqa: E402
from integrations.redis_queue import RedisJobQueue  # noqa: E402
from integrations.redis_usage import RedisUsageLedger  # noqa: E402
from integrations.worker_pool import WorkerPool  # noqa: E402
from tests.fakes.memory import MemorySurface  # noqa: E402
from tests.unit.core_env import make_spec  # noqa: E402

REDIS_URL = os.environ.get("MAPLE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
PG_URL = os.environ.get("MAPLE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
DRAFT = "Hello team, the shipment is late by two days; we will keep you posted."
GOALS = ["draft a reply to the supplier about the late shipment number {i}",
         "write an announcement for the office move to floor {i}",
         "compose a message to the team about the new on-call rota, week {i}"]


class StubModel(ChatModel):
    """Answers at once with the same draft (no model latency: the benchmark measures the orchestration)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def complete(self, *, messages: Any, max_tokens: int, timeout: float, tools: Any = None) -> Completion:
        return Completion(text=DRAFT, model=self.name, input_tokens=40, output_tokens=20)


@dataclass
class Figures:
    name: str
    samples: list[float]
    elapsed: float
    cpu: float  # this process's CPU seconds over the measured runs (not Redis's or PostgreSQL's)

    def line(self) -> str:
        q = statistics.quantiles(self.samples, n=100)
        return (f"{self.name:35} p50 {statistics.median(self.samples):8.2f} ms  p99 {q[98]:8.2f} ms  "
                f"{len(self.samples) / self.elapsed:7.1f} runs/s  {1000 * self.cpu / len(self.samples):6.2f} ms CPU/run")


async def drive(name: str, *, runs: int, concurrency: int, one: Callable[[int], Awaitable[float]]) -> Figures:
    """``runs`` runs of ``one`` with ``concurrency`` in flight; a warm-up of ``concurrency`` runs first."""
    await asyncio.gather(*(one(-1 - i) for i in range(concurrency)))
    slots = asyncio.Semaphore(concurrency)
    samples: list[float] = []

    async def slot(i: int) -> None:
        async with slots:
            samples.append(await one(i))

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(slot(i) for i in range(runs)))
    return Figures(name, samples, time.perf_counter() - start, time.process_time() - cpu)


# ---------------------------------------------------------------- Maple


class Recording(MemorySurface):
    """The recording delivery port: keeps what Maple posted, and lets the driver wait for a run's review post."""

    def __init__(self) -> None:
        super().__init__(groups={"S0REVIEWERS": {"U0REVIEW2"}})
        self.reviews: dict[str, asyncio.Future[int]] = {}

    async def post(self, *, channel: str, view: View, run_id: str, effect: str,
                   thread_ts: str | None = None) -> Any:
        ref = await super().post(channel=channel, view=view, run_id=run_id, effect=effect, thread_ts=thread_ts)
        self.posts.clear()  # a recording port that does not grow over a long run
        if os.environ.get("BENCH_DEBUG"):
            print("post", run_id, effect, view.kind)
        waiter = self.reviews.get(run_id)
        if effect.startswith("review:") and waiter is not None and not waiter.done() and view.run is not None:
            waiter.set_result(view.run.draft_version)  # the version the reviewer's click carries
        return ref


async def maple_flow(*, runs: int, concurrency: int) -> Figures:
    spec = make_spec(limits={**make_spec().limits.model_dump(), "runs_per_user_per_minute": 0,
                             "runs_per_team_per_minute": 0})
    prefix = f"bench:overhead:{uuid.uuid4().hex[:8]}:"
    r = connect(REDIS_URL, size=PoolSize(max_connections=concurrency * 3 + 8))  # the app's own client settings
    clock = SystemClock()
    surface = Recording()
    store = MeteredRunStore(redis=r, prefix=prefix, ttl_seconds=spec.audit.text_ttl_days * 86400)
    queue = RedisJobQueue(redis=r, prefix=prefix)
    models = metered_models(spec, {"local": StubModel("local")})
    portfolio = [m for m in spec.models if m.name == "local"]
    audit = MeteredAudit(RedisAuditLog(redis=r, keys=Keyring([("bench", secrets.token_bytes(32))]), prefix=prefix,
                                       worker="bench", clock=clock))
    svc = Services(spec=spec, store=store, queue=queue, surface=surface, clock=clock, audit=audit,
                   router=Router(portfolio=portfolio, clients=dict(models), backoff=0.0), access=Access(spec, surface),
                   ledger=MeteredLedger(RedisUsageLedger(redis=r, prefix=prefix)), assess=assessor(spec.sensitivity),
                   feedback=RedisFeedback(redis=r, prefix=prefix))
    classifier = Classifier(spec.workflows)
    delivered: dict[str, asyncio.Future[None]] = {}

    async def handler(job: Job) -> None:
        await handle_job(svc, job)
        waiter = delivered.get(job.run_id)
        if job.kind == "deliver" and waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def dead(job: Job, why: str) -> None:
        raise SystemExit(f"a job died in the benchmark: {job.kind} {why}")

    pool = WorkerPool(queue=queue, consumer="bench-0", handler=handler, on_dead=dead, concurrency=concurrency,
                      idle_wait=0.2)
    worker = asyncio.create_task(pool.run())
    loop = asyncio.get_running_loop()

    async def one(i: int) -> float:
        goal = GOALS[i % len(GOALS)].format(i=i)
        start = time.perf_counter()
        found = classifier.classify(goal)
        assert found.workflow == "draft", found
        run_id = f"R-{uuid.uuid4().hex[:12]}"
        reviewed = surface.reviews[run_id] = loop.create_future()
        done = delivered[run_id] = loop.create_future()
        try:
            await intake.submit(svc, intake.Intake(requester="U0REQUEST", origin=Origin(channel="C1", team="T1"),
                                                   goal=goal, workflow=found.workflow, run_id=run_id))
            version = await reviewed
            await review.decide(svc, run_id=run_id, user="U0REVIEW", kind="approve", seen_version=version)
            await done
        finally:
            surface.reviews.pop(run_id, None)
            delivered.pop(run_id, None)
        return (time.perf_counter() - start) * 1000

    try:
        return await drive("Maple (Redis, every step persisted)", runs=runs, concurrency=concurrency, one=one)
    finally:
        await pool.stop(grace=5)
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        keys = [k async for k in r.scan_iter(match=prefix + "*", count=1000)]
        for start in range(0, len(keys), 500):
            await r.delete(*keys[start:start + 500])
        await r.aclose()


# ---------------------------------------------------------------- LangGraph


class FlowState(TypedDict, total=False):
    goal: str
    requester: str
    workflow: str
    level: str
    model: str
    draft: str
    violations: list[str]
    decision: str
    delivered: bool


def langgraph_builder() -> Any:
    """The same flow as a LangGraph StateGraph: the same work in each node, the review wait an ``interrupt``."""
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    spec = make_spec()
    classifier = Classifier(spec.workflows)
    assess = assessor(spec.sensitivity)
    models = metered_models(spec, {"local": StubModel("local")})
    router = Router(portfolio=[m for m in spec.models if m.name == "local"], clients=dict(models), backoff=0.0)
    surface = Recording()
    workflows = {wf.id: wf for wf in spec.workflows}

    def intake_node(state: FlowState) -> FlowState:
        goal = state["goal"].strip()
        if not goal or len(goal) > spec.limits.max_goal_chars:
            raise ValueError("bad goal")
        return {"goal": goal}

    def classify_node(state: FlowState) -> FlowState:
        return {"workflow": classifier.classify(state["goal"]).workflow or ""}

    def assess_node(state: FlowState) -> FlowState:
        return {"level": assess(state["goal"])[0].label}

    def route_node(state: FlowState) -> FlowState:
        step = next(s for s in workflows[state["workflow"]].steps if s.kind == "generate")
        level = assess(state["goal"])[0]
        plan = router.plan(step="generate", capability=step.capability, tier=step.tier, sensitivity=level)
        return {"model": plan.chain[0].name}

    async def generate_node(state: FlowState) -> FlowState:
        messages = [ChatMessage(role="system", content="Draft the message."),
                    ChatMessage(role="user", content=state["goal"])]
        done = await models[state["model"]].complete(messages=messages, max_tokens=256, timeout=30)
        return {"draft": done.text}

    def check_node(state: FlowState) -> FlowState:
        found = check_draft(spec.policy, workflow=state["workflow"], draft=state["draft"], sources=[state["goal"]],
                            assess=assess)
        return {"violations": [v.rule for v in found]}

    def review_node(state: FlowState) -> FlowState:
        return {"decision": interrupt({"draft": state["draft"]})}

    async def deliver_node(state: FlowState) -> FlowState:
        if state["decision"] == "approve":
            await surface.post(channel="C1", view=View(kind="notice", text=state["draft"]), run_id="lg",
                               effect="result")
        return {"delivered": True}

    graph = StateGraph(FlowState)
    names = ["intake", "classify", "assess", "route", "generate", "check", "review", "deliver"]
    for name, node in zip(names, [intake_node, classify_node, assess_node, route_node, generate_node, check_node,
                                  review_node, deliver_node], strict=True):
        graph.add_node(name, node)  # type: ignore[call-overload]
    graph.add_edge(START, names[0])
    for a, b in zip(names, names[1:], strict=False):
        graph.add_edge(a, b)
    graph.add_edge(names[-1], END)
    return graph


async def langgraph_flow(name: str, saver: Any, *, runs: int, concurrency: int) -> Figures:
    from langgraph.types import Command

    app = langgraph_builder().compile(checkpointer=saver)

    async def one(i: int) -> float:
        config = {"configurable": {"thread_id": uuid.uuid4().hex}}
        start = time.perf_counter()
        await app.ainvoke({"goal": GOALS[i % len(GOALS)].format(i=i), "requester": "U0REQUEST"}, config)
        final = await app.ainvoke(Command(resume="approve"), config)
        assert final["delivered"], final
        return (time.perf_counter() - start) * 1000

    return await drive(name, runs=runs, concurrency=concurrency, one=one)


async def langgraph_postgres(modes: list[tuple[int, int]]) -> list[Figures]:
    """The flow on LangGraph's PostgreSQL checkpointer, in a schema of its own, dropped afterwards."""
    import psycopg
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    schema = f"bench_overhead_{uuid.uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(PG_URL, autocommit=True) as admin:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            size = max(1, min(max(c for _r, c in modes), 20))
            pool = AsyncConnectionPool(PG_URL, min_size=1, max_size=size, open=False, kwargs={
                "autocommit": True, "prepare_threshold": 0, "row_factory": dict_row,
                "options": f"-c search_path={schema}"})
            await pool.open()
            try:
                saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
                await saver.setup()
                return [await langgraph_flow("LangGraph, PostgreSQL checkpointer", saver, runs=runs,
                                             concurrency=concurrency) for runs, concurrency in modes]
            finally:
                await pool.close()
        finally:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def ensure_langgraph(install: bool) -> None:
    try:
        import langgraph  # noqa: F401
        import langgraph.checkpoint.postgres  # noqa: F401
    except ImportError:
        if not install:
            raise SystemExit("LangGraph is not installed: run `make bench-overhead`, or this script with --install") from None
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "langgraph", "langgraph-checkpoint-postgres",
                        "psycopg[binary]", "psycopg-pool"], check=True)


async def main(args: argparse.Namespace) -> None:
    from importlib.metadata import PackageNotFoundError, version

    modes = [(args.sequential, 1), (args.runs, args.concurrency)]
    try:
        langgraph = f"langgraph {version('langgraph')}"
    except PackageNotFoundError:
        langgraph = "langgraph not installed"
    print(f"orchestration overhead per run: stub model, no Slack; {args.sequential} runs one at a time, then "
          f"{args.runs} runs {args.concurrency} at a time ({langgraph}, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    print("load average before: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    rows: list[list[Figures]] = [[await maple_flow(runs=r, concurrency=c) for r, c in modes]]
    if not args.maple_only:
        from langgraph.checkpoint.memory import InMemorySaver

        memory = InMemorySaver()
        rows.append([await langgraph_flow("LangGraph, in-memory checkpointer", memory, runs=r, concurrency=c)
                     for r, c in modes])
        rows.append(await langgraph_postgres(modes))
    for i, (_runs, concurrency) in enumerate(modes):
        print(f"{concurrency} in flight:")
        for row in rows:
            print("  " + row[i].line())
    if len(rows) == 3:
        p50 = statistics.median
        maple, memory_row, postgres = (row[0] for row in rows)
        print(f"per run, one at a time (p50): Maple / LangGraph-PostgreSQL {p50(maple.samples) / p50(postgres.samples):.2f}×, "
              f"Maple / LangGraph-in-memory {p50(maple.samples) / p50(memory_row.samples):.2f}×")
    print("load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs at --concurrency")
    parser.add_argument("--sequential", type=int, default=300, help="runs one at a time (latency per run)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--install", action="store_true", help="pip install LangGraph into this venv if missing")
    parser.add_argument("--maple-only", action="store_true", help="measure Maple alone (profiling)")
    options = parser.parse_args()
    if not options.maple_only:
        ensure_langgraph(options.install)
    asyncio.run(main(options))
