"""Traces: off and free without an OTLP endpoint; model-call spans carry GenAI semantic-convention attributes and
never a prompt or an answer (checked with the SDK's in-memory exporter)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest
import yaml
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bot.core import intake, review
from bot.core.errors import ModelUnavailable
from bot.core.models import ChatMessage, Origin, RunState
from bot.core.ports import CollectionInfo, Passage, Retriever
from bot.core.services import Services
from bot.core.spec import MapleSpec
from bot.core.worker import handle_job
from config.settings import DEFAULT_CONFIG
from integrations import tracing
from integrations.metered import MeteredModel
from tests.fakes.memory import MemoryStore, ScriptedModel
from tests.unit.core_env import make_services, make_spec

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


GOAL = "Summarise the handbook's travel rules for the Lisbon offsite"
DRAFT = "For the offsite: book economy class, file receipts within thirty days [1]"
STAGES = ["maple.ack", "maple.queue wait", "maple.classify", "maple.retrieve", "maple.generate", "maple.check",
          "maple.review wait", "maple.deliver"]


class OneDocument(Retriever):
    """A knowledge base of one passage (a fake of the port, as in the core's other tests)."""

    async def search(self, *, query: str, collections: Sequence[str], top_k: int, embed: bool) -> list[Passage]:
        return [Passage(id="p1", collection="handbook", document="travel.md", title="Travel", section="Rules",
                        text="Book economy class; file receipts within thirty days.", score=1.0)]

    async def quotes(self, *, query: str, passages: Sequence[Passage], limit: int) -> list[tuple[int, str]]:
        return []

    async def describe(self, collections: Sequence[str]) -> list[CollectionInfo]:
        return []


def briefing_spec() -> MapleSpec:
    workflows = yaml.safe_load(DEFAULT_CONFIG.read_text())["workflows"]
    return make_spec(workflows=[*workflows, {"id": "brief", "title": "Brief", "description": "Brief from the handbook",
                              "steps": [{"kind": "retrieve"}, {"kind": "generate", "capability": "draft",
                                                                "tier": "standard"},
                                        {"kind": "check"}, {"kind": "review"}, {"kind": "deliver", "to": "origin"}]}])


async def drain(svc: Services) -> None:
    store = svc.store
    assert isinstance(store, MemoryStore)
    while store.jobs:
        await handle_job(svc, store.jobs.pop(0))


async def test_a_run_is_one_trace_with_a_span_per_stage_and_no_text(spans: InMemorySpanExporter) -> None:
    spec = briefing_spec()
    model = MeteredModel(ScriptedModel("openai", "brief", DRAFT), next(m for m in spec.models if m.name == "openai"))
    svc = replace(make_services(spec=spec, models={"openai": model}),  # type: ignore[dict-item]
                  stages=tracing.OtelStages(), knowledge=OneDocument())
    run = await intake.hold(svc, intake.Intake(requester="U0REQUEST", origin=Origin(channel="C1"), goal=GOAL,
                                               workflow=""), ask_model=True)
    await drain(svc)  # the model classifies (a "clarify" job), then the draft job retrieves, generates, checks
    drafted = await svc.store.get(run.id)
    assert drafted.workflow == "brief" and drafted.state is RunState.IN_REVIEW
    await review.decide(svc, run_id=run.id, user="U0REVIEW", kind="approve", seen_version=drafted.draft_version)
    await drain(svc)
    assert (await svc.store.get(run.id)).state is RunState.DELIVERED

    finished = spans.get_finished_spans()
    names = [s.name for s in finished]
    for stage in STAGES:
        assert stage in names, f"no {stage} span in {names}"
    assert {s.context.trace_id for s in finished} == {finished[0].context.trace_id}, "one trace per run"
    chat = [s for s in finished if s.name.startswith("chat ")]
    assert len(chat) == 2 and all(s.attributes and s.attributes["gen_ai.operation.name"] == "chat" for s in chat)
    for span in finished:
        shown = span.name + " ".join(str(v) for v in (span.attributes or {}).values())
        assert "Lisbon" not in shown and "economy" not in shown and "travel rules" not in shown.lower(), span.name


async def test_with_tracing_off_a_run_carries_no_trace_context() -> None:
    svc = make_services()
    run = await intake.submit(svc, intake.Intake(requester="U0REQUEST", origin=Origin(channel="C1"), goal=GOAL,
                                                 workflow="draft"))
    store = svc.store
    assert isinstance(store, MemoryStore)
    assert run.trace is None and store.jobs[0].trace is None and store.jobs[0].queued_at is None
    assert tracing.stages() is None  # nothing installed: Services gets no stages, and no span is made
