"""Each resource bound holds, through signed requests, and the rest of Maple keeps answering. (CPU time per tool call:
tests/scenario/test_bounded_tools.py; runs per person and per workspace per minute: tests/scenario/test_throttle.py.)"""

from __future__ import annotations

import aiohttp

from tests.harness import CHANNEL, REQUESTER, REVIEWER, Harness
from tests.scenario.test_loop import run_id_of


async def _healthy(h: Harness) -> bool:
    async with aiohttp.ClientSession() as s, s.get(h.url + "/healthz") as r:
        return r.status == 200


async def test_goal_size_is_bounded_and_others_keep_going(harness: Harness) -> None:
    h = harness
    limit = h.svc.spec.limits.max_goal_chars
    _, reply = await h.slash(REQUESTER, "run draft " + "word " * (limit // 5 + 1))
    assert f"the limit is {limit:,}" in reply["text"] and "R-" not in reply["text"]
    _, other = await h.slash(REVIEWER, "run draft a short note")
    assert "Working on it" in other["text"] and await _healthy(h)


async def test_tool_input_is_bounded(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, "run calc " + "+".join(["1"] * 300))  # 599 characters, 300 numbers
    run = await h.wait_state(run_id_of(reply), "refused")
    assert "at most 500 characters" in (run.error or ""), run.error
    _, other = await h.slash(REVIEWER, "run calc 6*7")
    assert (await h.wait_state(run_id_of(other), "delivered")).drafts[-1].text.endswith("= 42")


async def test_tool_output_is_bounded_before_it_reaches_a_model(harness: Harness) -> None:
    h = harness
    for i in range(200):  # 200 messages of about 1,000 characters: 200,000 characters of history
        h.slack.messages[CHANNEL].append({"ts": f"100.{i:04d}", "user": REVIEWER,
                                          "text": f"update {i}: " + "the launch plan is on track " * 36})
    _, reply = await h.slash(REQUESTER, "summarize this channel")
    await h.wait_state(run_id_of(reply), "in_review")
    sent = h.openai.requests[-1]["messages"][-1]["content"]
    assert len(sent) < 13_000, len(sent)  # the goal and at most 12,000 characters of the conversation
    assert await _healthy(h)


async def test_model_output_is_bounded(harness: Harness) -> None:
    h = harness
    h.openai.reply = "A very long draft. " * 2000  # 38,000 characters
    _, reply = await h.slash(REQUESTER, "run draft a long note")
    run = await h.wait_state(run_id_of(reply), "in_review", "refused")
    assert all(len(d.text) <= h.svc.spec.limits.max_draft_chars for d in run.drafts)
    _, other = await h.slash(REVIEWER, "run draft a short note")
    assert "Working on it" in other["text"]
