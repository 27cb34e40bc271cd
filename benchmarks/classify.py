"""Classification without a model: accuracy on the tuning set and on the held-out set (reported separately), per
workflow, vague goals asked back or guessed, calibration, and the time per goal.

    python benchmarks/classify.py                       # goals.yaml (tuning), goals_heldout.yaml, goals_blind.yaml
    python benchmarks/classify.py --extra other.yaml    # also any labelled set in the same format
    python benchmarks/classify.py --extra other.yaml --details   # and the goals an extra set got wrong

Only aggregate figures are printed for the held-out set; the tuning set's mistakes are listed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.classify import Classification, Classifier, needs_model  # noqa: E402
from tests.unit.core_env import make_spec  # noqa: E402

TUNING = ROOT / "tests/data/goals.yaml"
HELDOUT = ROOT / "tests/data/goals_heldout.yaml"
BLIND = ROOT / "tests/data/goals_blind.yaml"  # written by someone who never saw the classifier
ASK_BACK = "ask back"
BINS = ((0.0, 0.45), (0.45, 0.6), (0.6, 0.8), (0.8, 1.01))


@dataclass
class Tally:
    name: str
    goals: int = 0
    right: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    asked: Counter[str] = field(default_factory=Counter)
    vague_explicit: int = 0
    vague_uncertain: int = 0
    vague_guessed: int = 0
    bins: Counter[tuple[int, bool]] = field(default_factory=Counter)
    mistakes: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, goal: str, want: str | None, found: Classification, threshold: float) -> None:
        self.goals += 1
        got = ASK_BACK if needs_model(found, threshold) else str(found.workflow)
        if want is None:
            self.vague_explicit += found.workflow is None
            self.vague_uncertain += found.workflow is not None and got == ASK_BACK
            self.vague_guessed += got != ASK_BACK
        else:
            self.total[want] += 1
            self.right[want] += got == want
            self.asked[want] += got == ASK_BACK
            band = next(i for i, (lo, hi) in enumerate(BINS) if lo <= found.confidence < hi)
            self.bins[(band, found.workflow == want)] += 1
        if got != (want or ASK_BACK):
            self.mistakes.append((want or ASK_BACK, got, goal))

    @property
    def vague(self) -> int:
        return self.vague_explicit + self.vague_uncertain + self.vague_guessed


def load(path: Path) -> list[dict[str, Any]]:
    goals = yaml.safe_load(path.read_text())
    if not isinstance(goals, list) or not all(isinstance(g, dict) and "goal" in g for g in goals):
        raise SystemExit(f"{path}: expected a list of {{goal: …, workflow: …}}")
    return goals


def evaluate(name: str, goals: list[dict[str, Any]], classifier: Classifier, threshold: float) -> Tally:
    tally = Tally(name)
    for g in goals:
        tally.add(str(g["goal"]), g.get("workflow"), classifier.classify(str(g["goal"])), threshold)
    return tally


def report(t: Tally, workflows: list[str]) -> None:
    labelled, right = sum(t.total.values()), sum(t.right.values())
    pct = 100 * right / labelled if labelled else 0.0
    print(f"\n{t.name}: {t.goals} goals ({labelled} with a workflow, {t.vague} vague)")
    print(f"  right workflow without a model: {right}/{labelled} = {pct:.1f}%")
    for wid in workflows:
        if t.total[wid]:
            print(f"    {wid:<10} {t.right[wid]:>3}/{t.total[wid]:<3} (asked back {t.asked[wid]})")
    asked = t.vague_explicit + t.vague_uncertain
    print(f"  vague goals asked back: {asked}/{t.vague} ({t.vague_explicit} as vague, {t.vague_uncertain} as"
          f" uncertain) — guessed: {t.vague_guessed}")


def calibration(t: Tally) -> None:
    print(f"\ncalibration on {t.name} (goals with a workflow): confidence → top choice right")
    for i, (lo, hi) in enumerate(BINS):
        yes, no = t.bins[(i, True)], t.bins[(i, False)]
        if yes + no:
            print(f"  [{lo:.2f}, {min(hi, 1.0):.2f}) {yes:>3}/{yes + no:<3} = {100 * yes / (yes + no):.0f}%")


def mistakes(t: Tally) -> None:
    for want, got, goal in sorted(t.mistakes):
        print(f"  {want} -> {got}: {goal}")


def timing(classifier: Classifier, goals: list[str], rounds: int) -> None:
    times: list[float] = []
    for _ in range(rounds):
        for goal in goals:
            start = time.perf_counter()
            classifier.classify(goal)
            times.append((time.perf_counter() - start) * 1000)
    q = statistics.quantiles(times, n=100)
    print(f"\ntime per goal ({len(times)} calls): p50 {statistics.median(times):.3f} ms  p99 {q[98]:.3f} ms"
          f"  max {max(times):.3f} ms (goal ≤ 5 ms)")


def longest(classifier: Classifier) -> None:
    """Goals at the length limit (4,000 characters): prose, one long word, markup, arithmetic, accents."""
    goals = ["draft a note to the team about the move " + "and the budget " * 260, "x" * 4000,
             "<#C0AAAA|general> <@U0BBBB> " * 140, "1+" * 2000, "é" * 4000, "what is " * 500, "a b c d " * 1000]
    times = []
    for goal in goals:
        for _ in range(5):
            start = time.perf_counter()
            classifier.classify(goal[:4000])
            times.append((time.perf_counter() - start) * 1000)
    print(f"time per 4,000-character goal ({len(times)} calls): p50 {statistics.median(times):.3f} ms"
          f"  max {max(times):.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--extra", type=Path, action="append", default=[], help="another labelled YAML set")
    parser.add_argument("--details", action="store_true", help="list the goals an extra set got wrong")
    parser.add_argument("--rounds", type=int, default=20, help="timing rounds over every goal")
    args = parser.parse_args()
    spec = make_spec()
    start = time.perf_counter()
    classifier = Classifier(spec.workflows)
    built = (time.perf_counter() - start) * 1000
    workflows = [wf.id for wf in spec.workflows]
    sets = [("tuning", TUNING), ("held-out", HELDOUT), ("blind", BLIND)] + [(f"extra {p}", p) for p in args.extra]
    loaded = {name: load(path) for name, path in sets}
    tallies = {name: evaluate(name, goals, classifier, spec.classify_threshold) for name, goals in loaded.items()}
    print(f"classifier built in {built:.1f} ms; threshold {spec.classify_threshold}")
    for tally in tallies.values():
        report(tally, workflows)
    calibration(tallies["tuning"])
    calibration(tallies["held-out"])
    print("\nmistakes on the tuning set:")
    mistakes(tallies["tuning"])
    for name, tally in tallies.items():
        if name.startswith("extra") and args.details:
            print(f"\nmistakes on {name}:")
            mistakes(tally)
    timing(classifier, [str(g["goal"]) for goals in loaded.values() for g in goals], args.rounds)
    longest(classifier)


if __name__ == "__main__":
    main()
