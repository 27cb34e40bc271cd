"""Classification without a model over tests/data/goals.yaml: accuracy, confusion, time per goal."""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.classify import Classifier, needs_model  # noqa: E402
from tests.unit.core_env import make_spec  # noqa: E402


def main() -> None:
    spec = make_spec()
    classifier = Classifier(spec.workflows)
    goals = yaml.safe_load((ROOT / "tests/data/goals.yaml").read_text())
    confusion: Counter[tuple[str, str]] = Counter()
    times: list[float] = []
    right = labelled = asked = vague = 0
    for _ in range(20):
        for g in goals:
            start = time.perf_counter()
            found = classifier.classify(g["goal"])
            times.append((time.perf_counter() - start) * 1000)
    for g in goals:
        found = classifier.classify(g["goal"])
        got = "ask back" if needs_model(found, spec.classify_threshold) else str(found.workflow)
        want = g["workflow"] or "ask back"
        confusion[(want, got)] += 1
        if g["workflow"]:
            labelled += 1
            right += got == want
        else:
            vague += 1
            asked += got == "ask back"
    q = statistics.quantiles(times, n=100)
    print(f"goals: {len(goals)} ({labelled} labelled with a workflow, {vague} vague)")
    print(f"accuracy without a model: {right}/{labelled} = {100 * right / labelled:.1f}%")
    print(f"vague goals asked back: {asked}/{vague}")
    print(f"time per goal: mean {statistics.mean(times):.3f} ms  p99 {q[98]:.3f} ms")
    for (want, got), n in sorted(confusion.items()):
        if want != got:
            print(f"  confused: {want} -> {got} x{n}")


if __name__ == "__main__":
    main()
