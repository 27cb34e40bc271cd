"""Maple's Prometheus metrics (the official ``prometheus-client``), and their exposition for ``GET /metrics``.

Every metric is defined here, once, in the process-wide registry. When ``PROMETHEUS_MULTIPROC_DIR`` names a
directory (set it in the environment of ``maple serve`` *and* of every ``maple worker`` on the same host, and
empty it before they start) each process writes its samples there and ``/metrics`` on any of them reports the
sum over all of them. ``maple serve`` does this by itself for the worker processes it supervises: it makes a fresh
private directory, hands it to its children and removes it when it stops (bot/supervisor.py). Without it the
metrics are the process's own (``MAPLE_WORKER_MODE=inprocess``: the pools run in serve's process, so its
``/metrics`` covers them).

Gauges read from Redis at scrape time (queue depth, oldest job) are set by the scraping process and reported as
the most recent value (``mostrecent``), not summed over processes.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

log = logging.getLogger("maple.metrics")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
FAST = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SLOW = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)

ACKS = Counter("maple_acks", "Slack requests answered on the ack path, by payload kind and HTTP status",
               ["kind", "status"])
ACK_SECONDS = Histogram("maple_ack_seconds", "Time from a Slack request arriving to its answer, by kind",
                        ["kind"], buckets=FAST)
QUEUE_DEPTH = Gauge("maple_queue_depth", "Jobs not yet acked or dead-lettered (queued, running, retrying)",
                    multiprocess_mode="mostrecent")
QUEUE_WAITING = Gauge("maple_queue_waiting", "Jobs waiting for a worker (not leased)", multiprocess_mode="mostrecent")
QUEUE_OLDEST = Gauge("maple_queue_oldest_seconds", "Age of the oldest job waiting for a worker",
                     multiprocess_mode="mostrecent")
DEAD_LETTERS = Gauge("maple_dead_letters", "Entries in the dead-letter stream", multiprocess_mode="mostrecent")
RUNS = Counter("maple_runs", "Runs entering a state, by workflow and state", ["workflow", "state"])
JOBS = Counter("maple_jobs", "Jobs finished by workers, by kind and outcome", ["kind", "outcome"])
MODEL_CALLS = Counter("maple_model_calls", "Model calls, by model", ["model"])
MODEL_ERRORS = Counter("maple_model_errors", "Model calls that failed, by model and error", ["model", "error"])
MODEL_SECONDS = Histogram("maple_model_seconds", "Model call latency, by model", ["model"], buckets=SLOW)
MODEL_TOKENS = Counter("maple_model_tokens", "Tokens used, by model and direction", ["model", "direction"])
MODEL_COST = Counter("maple_model_cost_usd", "Estimated cost in USD (list prices), by model", ["model"])
BUDGET_RESERVED = Counter("maple_budget_reservations", "Budget reservations, by outcome", ["outcome"])
BUDGET_TOKENS = Counter("maple_budget_tokens_settled", "Tokens settled against the budgets")
BUDGET_COST = Counter("maple_budget_cost_usd_settled", "Cost settled against the budgets (USD)")
TOOL_CALLS = Counter("maple_tool_calls", "Tool calls (Maple's own and MCP), by tool, source and outcome",
                     ["tool", "source", "outcome"])
AUDIT_FAILURES = Counter("maple_audit_append_failures", "Audit appends that failed (deferred to a retry)")
SLACK_RETRIES = Counter("maple_slack_api_retries", "Slack Web API calls retried, by reason", ["reason"])
SLACK_429 = Counter("maple_slack_api_rate_limited", "Slack Web API answers with status 429")
WORKERS = Gauge("maple_workers_alive", "Worker processes alive under this supervisor",
                multiprocess_mode="mostrecent")
WORKER_PROCESSES = Gauge("maple_worker_processes", "Worker processes maple serve supervises that are running now",
                         multiprocess_mode="mostrecent")
WORKER_RESTARTS = Counter("maple_worker_restarts", "Worker processes maple serve started again after they exited")
ACK_PROCESSES = Gauge("maple_ack_processes", "Extra processes serving Slack's requests beside maple serve that are "
                      "running now (MAPLE_ACK_PROCESSES - 1 when all are up)", multiprocess_mode="mostrecent")
ACK_RESTARTS = Counter("maple_ack_restarts", "Ack processes maple serve started again after they exited")
CONTROLS = Gauge("maple_control", "Operator controls in force (1 = on), by control", ["control"],
                 multiprocess_mode="mostrecent")


def registry() -> CollectorRegistry:
    """What ``/metrics`` reports: every process's samples in multi-process mode, else this process's."""
    if os.environ.get(MULTIPROC_ENV):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return merged
    return REGISTRY


async def exposition(refresh: Callable[[], Awaitable[None]] | None = None, *,
                     wait: float | None = None) -> tuple[bytes, str]:
    """The text format, after ``refresh`` updated the gauges read from Redis — given at most ``wait`` seconds:
    when Redis hangs, the scrape still answers (those gauges keep their last value; every counter is current)."""
    if refresh is not None:
        try:
            await asyncio.wait_for(refresh(), wait)
        except TimeoutError:
            log.warning("metrics: the gauges read from Redis were not refreshed (no answer in %s s)", wait)
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def mark_dead(pid: int) -> None:
    """A worker process ended: drop its live gauges (counters stay, as Prometheus expects)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
