"""Faults under load: the end-to-end driver of benchmarks/load.py (a private Redis, `maple serve` with two worker
processes, signed goals, review clicks) with each fault running while runs are in flight. Every accepted run is
delivered, and none twice."""

from __future__ import annotations

import pytest

from benchmarks.load import FAULTS, Driver, Options

GOALS = 30


# A run gives up on its model after attempts_per_model (2) calls in each of limits.max_attempts (3) deliveries: 6
# failed calls in a row fail the run, and its requester is told. Bursts shorter than that (5 answers 5xx, 4 drip),
# each waiting for the runs the last one hit, must lose nothing (the benchmark's bursts of 12 can fail a run whose
# every call lands in one: that is a failed run, not a lost one).
MODEL_BURST = 5


@pytest.mark.parametrize("fault", FAULTS)
async def test_no_run_is_lost_or_delivered_twice(fault: str) -> None:
    driver = Driver(Options(goals=GOALS, workers=2, concurrency=4, latency="realistic", fault=fault,
                            visibility=3.0, deadline=400.0, max_faults=4,
                            model_burst=MODEL_BURST))
    try:
        await driver.start()
        report = await driver.run()
        hit = _evidence(driver, fault)
    finally:
        await driver.stop()
    assert report.accepted == GOALS
    assert report.lost == 0, f"{report.lost} runs accepted but never delivered"
    assert report.duplicates == 0, f"{report.duplicates} results posted twice"
    assert report.recover, "the fault never hit a run in flight"
    assert hit, f"no sign of the {fault} fault"


def _evidence(driver: Driver, fault: str) -> bool:
    """That the fault happened where it should: Slack answered 429s, the model failed or dripped, Redis went away
    (goals were answered "unavailable" or the run went on after its restart), a worker process was replaced."""
    if fault == "slack-429":
        return any(c.method == "chat.postMessage" and not c.ok for c in driver.slack.calls)
    if fault in ("model-5xx", "model-drip"):
        return len(driver.model.requests) > GOALS + driver.warm_runs  # failed or cut-off calls were made again
    if fault == "redis-restart":
        return bool(driver.report.notes)
    return len(driver.report.recover) >= 1  # worker-kill: a killed process was replaced (timed in recover)
