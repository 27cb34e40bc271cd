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
from collections.abc import Mapping

from opentelemetry import trace

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


def tracer() -> trace.Tracer:
    return (_provider or trace.get_tracer_provider()).get_tracer("maple")
