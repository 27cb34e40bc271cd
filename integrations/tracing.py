"""OpenTelemetry traces: a span per job a worker runs and per model call, with GenAI semantic-convention
attributes — ids, names, counts and token usage, **never** a prompt, goal, draft or answer.

Off and free unless configured: with no ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``
(or with ``OTEL_SDK_DISABLED=true``) no provider is installed and the API's no-op tracer is used. When one is
set, spans are batched to it over OTLP/HTTP; the other standard ``OTEL_*`` variables (service name, headers,
sampler) are read by the SDK itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger("maple.tracing")
ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_provider: trace.TracerProvider | None = None


def configured(environ: Mapping[str, str] = os.environ) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return any(environ.get(name) for name in ENDPOINTS)


def setup(environ: Mapping[str, str] = os.environ) -> bool:
    """Install the OTLP exporter when an endpoint is configured; True when tracing is on."""
    if not configured(environ):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME", "maple")}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    use(provider)
    log.info("tracing: exporting spans over OTLP")
    return True


def use(provider: trace.TracerProvider | None) -> None:
    """The provider Maple's spans go to (tests pass one with an in-memory exporter; None: the global one)."""
    global _provider
    _provider = provider


def active() -> bool:
    """A provider is installed (``setup`` found an endpoint, or a test gave one): spans are worth making."""
    return _provider is not None


def tracer() -> trace.Tracer:
    return (_provider or trace.get_tracer_provider()).get_tracer("maple")


_PROPAGATOR = TraceContextTextMapPropagator()


def _ns(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000_000)


class OtelStages:
    """The core's ``Stages`` port on OpenTelemetry: a span ``maple.<stage>`` per stage of a run, all in the run's
    one trace — its context (a W3C traceparent) is persisted with the run and carried in each job, so a stage run
    by another process joins it. Attributes are ids, names, counts and levels only."""

    def context(self) -> str | None:
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier)
        return carrier.get("traceparent")

    @contextmanager
    def within(self, trace_context: str | None) -> Iterator[None]:
        if not trace_context:
            yield
            return
        token = otel_context.attach(_PROPAGATOR.extract({"traceparent": trace_context}))
        try:
            yield
        finally:
            otel_context.detach(token)

    def span(self, name: str, *, run_id: str | None, attrs: Mapping[str, Any]) -> AbstractContextManager[object]:
        return tracer().start_as_current_span(f"maple.{name}", attributes=_attributes(run_id, attrs))

    def past(self, name: str, *, run_id: str, start: datetime, end: datetime, attrs: Mapping[str, Any]) -> None:
        span = tracer().start_span(f"maple.{name}", start_time=_ns(start), attributes=_attributes(run_id, attrs))
        span.end(end_time=_ns(end))


def stages() -> OtelStages | None:
    """The stages port for Services when tracing is on; None (no work at all) when it is off."""
    return OtelStages() if active() else None


def _attributes(run_id: str | None, attrs: Mapping[str, Any]) -> dict[str, Any]:
    found = {k: v for k, v in attrs.items() if isinstance(v, str | int | float | bool)}
    return {"maple.run.id": run_id, **found} if run_id else found
