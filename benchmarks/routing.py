"""Routing benchmark.

1. Correctness and leaks: >= 200 labelled tasks (tests/data/routing_tasks.yaml: capability, text, the sensitivity a
   careful human gives it). The bot's own detectors assess each text; the router plans with that. A task is routed
   correctly when the model chosen equals the model the router would choose knowing the true label; a leak is a
   model whose clearance is below the label (must be 0). Cost is compared with always using the frontier model.
2. Orchestration overhead per run with stub models (instant answers, in-memory ports): submit → draft → review
   posts → approve → deliver, p50/p99 in ms.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core import intake, review  # noqa: E402
from bot.core.levels import Sensitivity  # noqa: E402
from bot.core.models import Origin  # noqa: E402
from bot.core.router import estimate_cost, plan_route  # noqa: E402
from bot.core.sensitivity import assessor  # noqa: E402
from bot.core.spec import ModelSpec  # noqa: E402
from bot.core.worker import handle_job  # noqa: E402
from tests.fakes.memory import ScriptedModel  # noqa: E402
from tests.unit.core_env import current, make_services, make_spec  # noqa: E402

PORTFOLIO = [
    ModelSpec(name="local", kind="local-gguf", tier="demo", clearance="restricted"),
    ModelSpec(name="private", kind="openai-compatible", tier="standard", clearance="confidential",
              price_in=0.02, price_out=0.02),
    ModelSpec(name="openai", kind="openai-compatible", tier="standard", clearance="internal",
              price_in=0.15, price_out=0.60),
]
FRONTIER = ModelSpec(name="frontier", kind="openai-compatible", tier="frontier", clearance="internal",
                     price_in=2.50, price_out=10.00)
SHIPPED = [PORTFOLIO[0], PORTFOLIO[2]]
TIER = {"classify": "basic", "draft": "standard", "summarize": "standard", "reason": "standard"}
OUTPUT_TOKENS = 300


def routing(portfolio: list[ModelSpec], title: str) -> None:
    tasks = yaml.safe_load((ROOT / "tests/data/routing_tasks.yaml").read_text())
    spec = make_spec()
    assess = assessor(spec.sensitivity)
    by_name = {m.name: m for m in [*portfolio, FRONTIER]}
    correct = leaks = 0
    cost = frontier_cost = 0.0
    for task in tasks:
        label = Sensitivity.parse(task["sensitivity"])
        detected, _hits = assess(task["text"])
        tier = TIER[task["capability"]]
        ideal = plan_route(portfolio, step="g", capability=task["capability"], tier=tier, sensitivity=label)
        chosen = plan_route(portfolio, step="g", capability=task["capability"], tier=tier, sensitivity=detected)
        model = by_name[chosen.decision.chosen or ""]
        correct += model.name == ideal.decision.chosen
        leaks += model.clearance < label
        tokens_in = len(task["text"]) // 4 + 60
        cost += estimate_cost(model, input_tokens=tokens_in, output_tokens=OUTPUT_TOKENS)
        frontier_cost += estimate_cost(by_name["frontier"], input_tokens=tokens_in, output_tokens=OUTPUT_TOKENS)
    n = len(tasks)
    print(f"[{title}] routing tasks: {n}")
    print(f"routing correctness: {correct}/{n} = {100 * correct / n:.1f}%")
    print(f"sensitive leaks (model cleared below the true level): {leaks}")
    print(f"cost vs always-frontier: ${cost:.4f} vs ${frontier_cost:.4f} = {100 * cost / frontier_cost:.1f}%")


async def overhead(runs: int = 300) -> None:
    spec = make_spec()
    svc = make_services(spec=spec, models={"local": ScriptedModel("local", default="A stub draft.")})
    samples: list[float] = []
    for i in range(runs):
        start = time.perf_counter()
        run = await intake.submit(svc, intake.Intake(requester="U0REQUEST", origin=Origin(channel="C1"),
                                                     goal=f"draft a note number {i}", workflow="draft"))
        while svc.store.jobs:
            await handle_job(svc, svc.store.jobs.pop(0))
        await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", kind="approve")
        while svc.store.jobs:
            await handle_job(svc, svc.store.jobs.pop(0))
        samples.append((time.perf_counter() - start) * 1000)
    samples = samples[20:]  # warm-up
    q = statistics.quantiles(samples, n=100)
    print(f"orchestration overhead per run (stub model, in-memory ports, {len(samples)} runs): "
          f"p50 {statistics.median(samples):.2f} ms  p99 {q[98]:.2f} ms")


if __name__ == "__main__":
    routing(SHIPPED, "shipped portfolio: local + openai")
    routing([*PORTFOLIO, FRONTIER], "local + private + openai + frontier")
    asyncio.run(overhead())
