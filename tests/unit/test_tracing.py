"""Traces: off and free without an OTLP endpoint; model-call spans carry GenAI semantic-convention attributes and
never a prompt or an answer (checked with the SDK's in-memory exporter)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bot.core.errors import ModelUnavailable
from bot.core.models import ChatMessage
from integrations import tracing
from integrations.metered import MeteredModel
from tests.fakes.memory import ScriptedModel
from tests.unit.core_env import make_spec

PROMPT = "Draft a note: Jane Roe's SIN is 046 454 286"
ANSWER = "Dear team, the secret answer text"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    yield exporter
    tracing.use(None)


def test_tracing_is_off_without_an_endpoint() -> None:
    assert not tracing.configured({})
    assert not tracing.setup({"OTEL_SERVICE_NAME": "maple"})
    assert not tracing.configured({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"})
    assert tracing.configured({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"})


async def test_a_model_call_span_has_genai_attributes_and_no_text(spans: InMemorySpanExporter) -> None:
    spec = next(m for m in make_spec().models if m.name == "openai")
    model = MeteredModel(ScriptedModel("openai", ANSWER), spec)
    await model.complete(messages=[ChatMessage(role="user", content=PROMPT)], max_tokens=64, timeout=5)
    (span,) = spans.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert span.name == f"chat {spec.model}"
    assert attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.request.model"] == spec.model
    assert attrs["gen_ai.usage.input_tokens"] == 10 and attrs["gen_ai.usage.output_tokens"] == 5
    shown = " ".join(str(v) for v in attrs.values()) + span.name
    assert "046" not in shown and "Jane" not in shown and "secret answer" not in shown


async def test_a_failed_call_span_names_the_error(spans: InMemorySpanExporter) -> None:
    spec = next(m for m in make_spec().models if m.name == "local")
    model = MeteredModel(ScriptedModel("local", ModelUnavailable("503")), spec)
    with pytest.raises(ModelUnavailable):
        await model.complete(messages=[ChatMessage(role="user", content=PROMPT)], max_tokens=64, timeout=5)
    (span,) = spans.get_finished_spans()
    assert span.attributes and span.attributes["error.type"] == "ModelUnavailable"
    assert span.attributes["gen_ai.provider.name"] == "llama.cpp"
