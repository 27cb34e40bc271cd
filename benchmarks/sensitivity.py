"""Precision and recall per detector type over tests/data/sensitivity_corpus.yaml, and time per snippet."""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.sensitivity import assess  # noqa: E402

CORPUS = ROOT / "tests/data/sensitivity_corpus.yaml"


def score() -> dict[str, tuple[int, int, int]]:
    """type → (true positives, false positives, false negatives), counted per snippet."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for item in yaml.safe_load(CORPUS.read_text()):
        found = set(assess(item["text"]).hits)
        want = set(item["types"])
        for kind in found & want:
            tp[kind] += 1
        for kind in found - want:
            fp[kind] += 1
        for kind in want - found:
            fn[kind] += 1
    kinds = set(tp) | set(fp) | set(fn)
    return {k: (tp[k], fp[k], fn[k]) for k in sorted(kinds)}


def main() -> None:
    items = yaml.safe_load(CORPUS.read_text())
    print(f"snippets: {len(items)} ({sum(1 for i in items if not i['types'])} look-alikes with nothing to find)")
    print(f"{'type':15} {'precision':>9} {'recall':>7}  tp  fp  fn")
    for kind, (tp, fp, fn) in score().items():
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        print(f"{kind:15} {precision:9.1%} {recall:7.1%} {tp:3} {fp:3} {fn:3}")
    clean = [i for i in items if not i["types"]]
    flagged = sum(1 for i in clean if assess(i["text"]).hits)
    print(f"false positives on look-alikes: {flagged}/{len(clean)} = {flagged / len(clean):.1%}")
    times = []
    for _ in range(10):
        for item in items:
            start = time.perf_counter()
            assess(item["text"])
            times.append((time.perf_counter() - start) * 1e6)
    long_text = " ".join(i["text"] for i in items)[:4000]
    start = time.perf_counter()
    for _ in range(50):
        assess(long_text)
    print(f"time per snippet: mean {statistics.mean(times):.0f} µs; a 4,000-character text: "
          f"{(time.perf_counter() - start) / 50 * 1000:.2f} ms")


if __name__ == "__main__":
    main()
