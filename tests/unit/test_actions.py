"""Approved side effects in the core: a planned call is made only for the approved version, at most once; a call
found started by a delivery that died is ``unknown`` and never repeated; one still running elsewhere is waited
for; a workflow without review still gets one when its draft plans a side effect."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import BaseModel, ConfigDict

from bot.core.actions import CallInProgress, make_approved_calls
from bot.core.levels import Sensitivity
from bot.core.models import Completion, Decision, PlannedCall, Run, RunState, ToolCall
from bot.core.services import Services
from bot.core.tools import Tool, ToolContext, ToolRegistry, ToolResult
from bot.core.tools.box import ToolBox
from tests.fakes.memory import FixedClock, ScriptedModel
from tests.unit.core_env import make_services, make_spec
from tests.unit.test_core_flow import drain, goal


class TicketArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str


class Tickets(Tool):
    """A tool whose every call changes something and can wait for approval (as an MCP side effect does)."""

    name, description, args_model = "desk__create", "open a ticket", TicketArgs
    side_effect, plannable, clearance, timeout = True, True, Sensitivity.INTERNAL, 5.0

    def __init__(self) -> None:
        self.made: list[str] = []

    async def run(self, args: TicketArgs, *, ctx: ToolContext) -> ToolResult:
        self.made.append(args.title)
        return ToolResult(text=f"opened {args.title}")


def services(tool: Tickets, *models: ScriptedModel, review: bool = True) -> Services:
    spec = make_spec(models=[{"name": "openai", "kind": "openai-compatible", "tier": "standard",
                              "clearance": "internal", "tools": True}],
                     workflows=[{"id": "act", "review": review, "steps": [{"kind": "generate"}]}])
    svc = make_services(spec=spec, models={m.name: m for m in models} or {"openai": ScriptedModel("openai")})
    box = ToolBox(registry=ToolRegistry([tool]), assess=svc.assessment, clock=svc.clock, timezone="UTC",
                  audit=svc.audit)
    return replace(svc, tools=box)


async def approved_run(svc: Services, *, call: PlannedCall, version: int = 1) -> Run:
    run = await goal(svc, "open a ticket", workflow="act")

    def approve(r: Run) -> None:
        r.state, r.draft_version, r.calls = RunState.APPROVED, version, [call]
        r.decision = Decision(kind="approve", by="U0REVIEW", at=svc.clock.now())

    return await svc.mutate(run.id, approve)


def a_call(**changes: object) -> PlannedCall:
    return PlannedCall.model_validate({"id": "c1", "tool": "desk__create", "arguments": {"title": "VPN"},
                                       "what": "a ticket", "version": 1, **changes})


async def test_an_approved_call_is_made_once_and_audited() -> None:
    tool = Tickets()
    svc = services(tool)
    run = await approved_run(svc, call=a_call())
    run = await make_approved_calls(svc, run)
    run = await make_approved_calls(svc, await svc.store.get(run.id))  # delivered again
    assert tool.made == ["VPN"] and run.calls[0].state == "done" and run.calls[0].result == "opened VPN"
    events = [e for e in svc.audit.events if e["kind"] == "mcp.called"]
    assert len(events) == 1 and events[0]["maple.tool.call.state"] == "done"


async def test_a_call_planned_with_another_version_is_dropped() -> None:
    tool = Tickets()
    svc = services(tool)
    run = await make_approved_calls(svc, await approved_run(svc, call=a_call(version=1), version=2))
    assert tool.made == [] and run.calls[0].state == "dropped"


async def test_a_started_call_without_an_answer_is_unknown_never_repeated() -> None:
    tool = Tickets()
    svc = services(tool)
    assert isinstance(svc.clock, FixedClock)
    past = svc.clock.now() - timedelta(seconds=1)
    run = await make_approved_calls(svc, await approved_run(svc, call=a_call(state="started", until=past)))
    assert tool.made == [] and run.calls[0].state == "unknown"
    assert [e["error.type"] for e in svc.audit.events if e["kind"] == "mcp.called"] == ["ToolOutcomeUnknown"]


async def test_a_call_another_delivery_is_making_is_waited_for() -> None:
    tool = Tickets()
    svc = services(tool)
    soon = svc.clock.now() + timedelta(seconds=60)
    run = await approved_run(svc, call=a_call(state="started", until=soon))
    with pytest.raises(CallInProgress):
        await make_approved_calls(svc, run)
    assert tool.made == []


async def test_a_side_effect_needs_review_even_when_the_workflow_has_none() -> None:
    tool = Tickets()
    model = ScriptedModel("openai", Completion(text="", model="openai", tool_calls=[
        ToolCall(id="t1", name="desk__create", arguments='{"title": "VPN"}')]), "I will open a ticket.")
    svc = services(tool, model, review=False)
    run = await goal(svc, "open a ticket about the VPN", workflow="act")
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.state is RunState.IN_REVIEW and tool.made == []
    assert [(c.tool, c.arguments, c.version) for c in run.calls] == [("desk__create", {"title": "VPN"}, 1)]
    assert "planned, not made" in model.seen[1][-1].content
