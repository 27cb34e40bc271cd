"""Token budgets over signed HTTP: every model call (classification included) is reserved before it is made and
settled after, concurrent goals cannot overspend, and an endpoint's usage is validated before it is counted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import REQUESTER, Harness, spec_dict
from tests.scenario.test_loop import review_posts, run_id_of

TEAM = "T0TEST"


async def started(slack: FakeSlack, openai: FakeOpenAI, *, user_tokens: int, workers: int = 1,
                  **model: Any) -> Harness:
    data = spec_dict(budgets={"user_tokens_per_day": user_tokens, "team_tokens_per_day": 10**9})
    data["models"] = [{**data["models"][0], **model}]
    h = Harness(slack=slack, openai=openai, spec=data, workers=workers)
    await h.start()
    h.svc.router.backoff = 0.01
    return h


@pytest.fixture
async def env(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[dict[str, Any]]:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    made: dict[str, Any] = {"slack": slack, "openai": openai_fake, "harnesses": []}
    yield made
    for h in made["harnesses"]:
        await h.stop()
        await h.cleanup_redis()


async def harness_in(env: dict[str, Any], **kwargs: Any) -> Harness:
    h = await started(env["slack"], env["openai"], **kwargs)
    env["harnesses"].append(h)
    return h


async def user_tokens(h: Harness) -> int:
    tokens, *_ = await h.svc.ledger.spent(user=REQUESTER, team=TEAM)
    return int(tokens)


def clarify_posts(h: Harness) -> list[dict[str, Any]]:
    return [p for p in h.slack.posted("D0REQUEST") if p["metadata"]["event_payload"]["effect"] == "clarify"]


async def test_zero_budget_ambiguous_goal_never_calls_the_paid_model(env: dict[str, Any]) -> None:
    h = await harness_in(env, user_tokens=0)
    h.openai.reply = "draft"
    _, reply = await h.slash(REQUESTER, "sort out the supplier situation before the audit")
    run_id = run_id_of(reply)
    await h.wait_for(lambda: clarify_posts(h) or h.openai.requests, what="buttons or a model call")
    assert h.openai.requests == []
    assert "maple_pick_draft" in str(clarify_posts(h)[0]["blocks"])
    assert (await h.run(run_id)).workflow == "" and await user_tokens(h) == 0


async def test_classification_is_metered_on_the_run_the_ledger_and_the_review(env: dict[str, Any]) -> None:
    h = await harness_in(env, user_tokens=100_000)
    h.openai.reply = "draft"
    _, reply = await h.slash(REQUESTER, "sort out the supplier situation before the audit")
    run_id = run_id_of(reply)
    run = await h.wait_state(run_id, "in_review")
    classify, draft = h.openai.requests
    assert "exactly one workflow id" in classify["messages"][0]["content"]
    assert classify["max_tokens"] <= 16  # a workflow id, not a 1,024-token answer
    assert [(u.input_tokens, u.output_tokens) for u in run.usage] == [(40, 16), (40, 20)]
    assert [r.step for r in run.routes] == ["classify", "generate"]
    assert await user_tokens(h) == run.total_tokens == 116
    assert run.total_cost == pytest.approx((80 * 0.15 + 36 * 0.6) / 1e6)
    posts = await h.wait_for(lambda: review_posts(h, run_id), what="review posts")
    assert "116 tokens" in str(posts[0]["blocks"])
    _, status = await h.slash(REQUESTER, f"status {run_id}")
    assert "Used 116 tokens" in status["text"] and "Workflow chosen by the openai model" in status["text"]
    assert draft["max_tokens"] == 512


async def test_concurrent_goals_cannot_spend_past_the_budget(env: dict[str, Any]) -> None:
    """Eight goals in flight at once against a budget that holds one call's worst case: the fake model holds every
    answer until each run has either reached it or been refused, so the calls really overlap."""
    h = await harness_in(env, user_tokens=400, workers=4, max_tokens=20)
    h.openai.gate = asyncio.Event()
    replies = await asyncio.gather(*(h.slash(REQUESTER, f"run draft note number {i} to the team")
                                     for i in range(8)))
    run_ids = [run_id_of(reply) for _, reply in replies]

    async def everyone_placed() -> bool:
        refused = [r for r in [await h.run(i) for i in run_ids] if r.state.value == "refused"]
        return len(h.openai.requests) + len(refused) >= 8

    await h.wait_for(everyone_placed, what="each run at the model or refused")
    h.openai.gate.set()
    runs = [await h.wait_state(i, "in_review", "refused") for i in run_ids]
    drafted = [r for r in runs if r.state.value == "in_review"]
    refused = [r for r in runs if r.state.value == "refused"]
    spent = await user_tokens(h)
    assert spent <= 400, f"{len(h.openai.requests)} calls spent {spent} tokens"
    assert spent == sum(r.total_tokens for r in drafted) == 60 * len(h.openai.requests)
    assert drafted and refused and all("budget" in (r.error or "") for r in refused)


@pytest.mark.parametrize("usage", ["-5000000,20", "40,-20", '"40",20', "40.5,20", "true,20", "null,null",
                                   "40,100000", "90000000,20"])
async def test_implausible_usage_from_an_endpoint_is_never_counted(env: dict[str, Any], usage: str) -> None:
    """Negative, non-integer or missing counts, more output than max_tokens or more input than was sent: the
    answer is refused at the adapter (the router retries), and the ledger only ever grows by real usage."""
    h = await harness_in(env, user_tokens=100_000)
    h.openai.script.extend([f"usage:{usage}"])
    _, reply = await h.slash(REQUESTER, "run draft a thank-you note")
    run = await h.wait_state(run_id_of(reply), "in_review")
    assert len(h.openai.requests) == 2  # the implausible answer was refused, the retry counted
    assert "implausible token usage" in run.routes[0].reason
    assert run.total_tokens == 60 and await user_tokens(h) == 60
