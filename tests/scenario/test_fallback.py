"""Fallbacks against the fake OpenAI-compatible server: 429, 500, slow answers and garbage bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.core import text
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import REQUESTER, Harness, spec_dict
from tests.scenario.test_loop import run_id_of
from tests.scenario.test_sensitive_routing import LOCAL


@pytest.fixture
async def both(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    data = spec_dict()
    data["models"] = [LOCAL, {**data["models"][0], "timeout": 1}]
    h = Harness(slack=slack, openai=openai_fake, spec=data)
    await h.start()
    h.svc.router.backoff = 0.01
    yield h
    await h.stop()
    await h.cleanup_redis()


async def test_429_then_success_stays_on_the_external_model(both: Harness) -> None:
    both.openai.script.extend(["429"])
    _, reply = await both.slash(REQUESTER, "run draft a thank-you note")
    run = await both.wait_state(run_id_of(reply), "in_review")
    assert run.routes[0].chosen == "openai" and len(both.openai.requests) == 2
    assert "fallback after openai: openai: rate limited (429)" in run.routes[0].reason


@pytest.mark.llama
@pytest.mark.parametrize("failure", ["500", "garbage", "slow"])
async def test_failures_fall_back_to_the_local_model(both: Harness, failure: str) -> None:
    both.openai.slow_seconds = 5
    both.openai.script.extend([failure] * 2)
    _, reply = await both.slash(REQUESTER, "run draft a thank-you note")
    run = await both.wait_state(run_id_of(reply), "in_review", timeout=180)
    assert run.routes[0].chosen == "local", run.routes[0]
    assert run.drafts[0].model == "local" and "demo model" in str(text.notes_msg(run.drafts[0].notes))
    assert len(both.openai.requests) == 2  # two attempts, then the next model in the chain


async def test_tool_calling_through_the_openai_adapter(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    data = spec_dict()
    data["models"] = [{**data["models"][0], "tools": True}]
    h = Harness(slack=slack, openai=openai_fake, spec=data)
    await h.start()
    try:
        openai_fake.script.append('tool:calculator {"expression": "2340*0.175"}')
        openai_fake.reply = "The tip is 409.5."
        _, reply = await h.slash(REQUESTER, "run draft a note with 17.5 percent of 2340 worked out")
        run = await h.wait_state(run_id_of(reply), "in_review")
        assert run.drafts[0].text == "The tip is 409.5."
        first, second = openai_fake.requests
        assert {t["function"]["name"] for t in first["tools"]} >= {"calculator", "datetime", "slack_history"}
        assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "calculator"
        assert second["messages"][-1] == {"role": "tool", "content": "2340*0.175 = 409.5", "tool_call_id": "call_1"}
    finally:
        await h.stop()
        await h.cleanup_redis()
