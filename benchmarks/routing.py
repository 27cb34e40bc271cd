"""Routing benchmark: what Maple's sensitivity detection does to routing, measured against a human label.

1. Detection and routing (tests/data/routing_tasks.yaml: capability, text, the level a careful human gives it, and
   its set — ``template``: generated from a few dozen sentence templates with made-up people and identifiers;
   ``disguised``: identifiers written with zero-width characters, odd separators, full-width or spelled-out digits;
   ``paraphrased``: sensitive or harmless content in free wording, often with no identifier at all).
   For each task the detectors give a level; the router plans with it. Reported per set:
   - detection vs label: exact, over (detected higher: safe, maybe dearer), under (detected lower);
   - routing: the model chosen from the detected level vs the model the router chooses from the human label;
   - **leaks**: the model chosen is not cleared for the human label — sensitive text sent to a model not cleared
     for its true level. This is the figure that matters; it is not zero, and the tasks that leak are listed.
   Routing itself is exact given a level (the router is a pure function of it): the benchmark measures detection.
   Cost is **modelled**, not measured: list prices (USD per 1M tokens) × token estimates (characters / 4 + 60 for
   the prompt, 300 output tokens), compared with sending everything to a frontier model.
2. Orchestration overhead per run with stub models (instant answers, in-memory ports): submit → draft → review
   posts → approve → deliver, p50/p99 in ms.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core import intake, review  # noqa: E402
from bot.core.errors import NoEligibleModel  # noqa: E402
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
SETS = ("template", "disguised", "paraphrased")


def _choose(portfolio: list[ModelSpec], task: dict[str, Any], level: Sensitivity) -> ModelSpec | None:
    try:
        plan = plan_route(portfolio, step="g", capability=task["capability"], tier=TIER[task["capability"]],
                          sensitivity=level)
    except NoEligibleModel:
        return None
    return next((m for m in portfolio if m.name == plan.decision.chosen), None)


def routing(portfolio: list[ModelSpec], title: str) -> None:
    tasks = yaml.safe_load((ROOT / "tests/data/routing_tasks.yaml").read_text())
    assess = assessor(make_spec().sensitivity)
    stats: dict[str, Counter[str]] = defaultdict(Counter)
    leaked: list[str] = []
    cost = frontier_cost = 0.0
    for task in tasks:
        group = task.get("set", "template")
        label = Sensitivity.parse(task["sensitivity"])
        detected, _hits = assess(task["text"])
        row = stats[group]
        row["n"] += 1
        row["exact" if detected == label else "over" if detected > label else "under"] += 1
        chosen, ideal = _choose(portfolio, task, detected), _choose(portfolio, task, label)
        row["same_model"] += (chosen and chosen.name) == (ideal and ideal.name)
        if chosen is None:
            row["refused"] += 1
            continue
        if chosen.clearance < label:
            row["leaks"] += 1
            leaked.append(f"{label.label:>12} → {chosen.name}: {task['text'][:90]}")
        tokens_in = len(task["text"]) // 4 + 60
        cost += estimate_cost(chosen, input_tokens=tokens_in, output_tokens=OUTPUT_TOKENS)
        frontier_cost += estimate_cost(FRONTIER, input_tokens=tokens_in, output_tokens=OUTPUT_TOKENS)
    _report(title, stats, leaked, cost, frontier_cost)


def _report(title: str, stats: dict[str, Counter[str]], leaked: list[str], cost: float, frontier: float) -> None:
    print(f"[{title}]")
    print(f"{'set':12} {'tasks':>5} {'level = label':>13} {'over':>5} {'under':>6} {'same model':>11} "
          f"{'leaks':>6} {'refused':>8}")
    total: Counter[str] = Counter()
    for group in (*SETS, *sorted(set(stats) - set(SETS))):
        row = stats.get(group)
        if not row:
            continue
        total.update(row)
        print(f"{group:12} {row['n']:5} {row['exact']:13} {row['over']:5} {row['under']:6} {row['same_model']:11} "
              f"{row['leaks']:6} {row['refused']:8}")
    n = total["n"]
    print(f"{'all':12} {n:5} {total['exact']:13} {total['over']:5} {total['under']:6} {total['same_model']:11} "
          f"{total['leaks']:6} {total['refused']:8}")
    print(f"detected level = human label: {total['exact']}/{n} ({100 * total['exact'] / n:.1f}%); "
          f"model = the one the label would choose: {total['same_model']}/{n} ({100 * total['same_model'] / n:.1f}%); "
          f"leaks: {total['leaks']}/{n} ({100 * total['leaks'] / n:.1f}%)")
    for line in leaked:
        print(f"  leak: {line}")
    print(f"modelled cost (list prices × estimated tokens) vs always-frontier: ${cost:.4f} vs ${frontier:.4f} = "
          f"{100 * cost / frontier:.1f}%")


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
