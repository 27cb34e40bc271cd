"""Models may request tools (OpenAI tool calling); every call is validated, cleared, and re-routed on its output."""

from __future__ import annotations

from dataclasses import replace

from bot.core.levels import Sensitivity
from bot.core.models import Completion, RunState, ToolCall
from bot.core.sensitivity import assessor
from bot.core.tools import ToolRegistry
from bot.core.tools.box import ToolBox
from bot.core.tools.builtin import Calculator, SlackHistory
from bot.core.tools.history import ChannelReader, HistoryMessage, SourceKind
from integrations.compute import ProcessCompute
from tests.fakes.memory import FixedClock, ScriptedModel
from tests.unit.core_env import make_services, make_spec
from tests.unit.test_core_flow import drain, goal


class Reader(ChannelReader):
    async def members(self, channel: str) -> frozenset[str]:
        return frozenset({"U0REQUEST"})

    async def kind(self, channel: str) -> SourceKind:
        return "private" if channel.startswith("G") else "public"

    async def history(self, channel: str, *, thread_ts: str | None, limit: int) -> list[HistoryMessage]:
        return [HistoryMessage("U2", "Patient diagnosed with diabetes, on metformin", "1.0")]


def asks(*calls: tuple[str, str]) -> Completion:
    return Completion(text="", model="openai", tool_calls=[ToolCall(id=f"c{i}", name=n, arguments=a)
                                                           for i, (n, a) in enumerate(calls)])


def services(compute: ProcessCompute, *models: ScriptedModel):  # type: ignore[no-untyped-def]
    spec = make_spec(models=[
        {"name": "local", "kind": "local-gguf", "tier": "demo", "clearance": "restricted"},
        {"name": "openai", "kind": "openai-compatible", "tier": "standard", "clearance": "internal", "tools": True,
         "price_in": 1, "price_out": 1}])
    assess = assessor(spec.sensitivity)
    box = ToolBox(registry=ToolRegistry([Calculator(compute), SlackHistory(Reader())]), assess=assess, clock=FixedClock(),
                  timezone="UTC")
    return replace(make_services(spec=spec, models={m.name: m for m in models}), assess=assess, tools=box)


async def test_model_calls_the_calculator_then_answers(compute: ProcessCompute) -> None:
    openai = ScriptedModel("openai", asks(("calculator", '{"expression": "1200*1.13"}')), "It comes to 1,356.")
    svc = services(compute, openai, ScriptedModel("local"))
    run = await goal(svc, "draft a note on the price with tax")
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.drafts[0].text == "It comes to 1,356." and run.state is RunState.IN_REVIEW
    assert "calculator" in openai.tools_offered[0]
    assert openai.seen[1][-1].role == "tool" and openai.seen[1][-1].content == "1200*1.13 = 1,356"
    assert len(run.usage) == 2


async def test_invalid_or_unknown_tool_calls_are_refused_and_reported_back(compute: ProcessCompute) -> None:
    openai = ScriptedModel("openai", asks(("shell", '{"cmd": "rm -rf /"}'), ("calculator", '{"expression": 7}')),
                           "Done without tools.")
    svc = services(compute, openai, ScriptedModel("local"))
    run = await goal(svc)
    await drain(svc)
    tool_replies = [m.content for m in openai.seen[1] if m.role == "tool"]
    assert tool_replies[0].startswith("error: there is no tool") and "invalid arguments" in tool_replies[1]
    assert any(e["kind"] == "tool.refused" for e in svc.audit.events)
    assert (await svc.store.get(run.id)).drafts[0].text == "Done without tools."


async def test_sensitive_tool_output_is_not_sent_back_to_an_uncleared_model(compute: ProcessCompute) -> None:
    openai = ScriptedModel("openai", asks(("slack_history", '{"channel": "C0GEN"}')), "must not be asked again")
    local = ScriptedModel("local", "Summary from inside.")
    svc = services(compute, openai, local)
    run = await goal(svc, "draft a summary of the channel")
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.sensitivity is Sensitivity.RESTRICTED
    assert len(openai.seen) == 1 and "metformin" not in str(openai.seen)
    assert run.drafts[0].text == "Summary from inside." and run.drafts[0].model == "local"
