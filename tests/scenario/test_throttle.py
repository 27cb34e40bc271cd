"""Per-user and per-team rate limits at intake: a flood from one person (or one workspace) is refused with when to
try again, nothing is persisted for a refused goal, and everyone else keeps being served."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import ADMIN, CHANNEL, REQUESTER, REVIEWER, Harness, spec_dict
from tests.scenario.test_bad_input import runs_in_redis

EVERYONE = {"user": ["*"], "reviewer": [REVIEWER], "admin": [ADMIN]}
RETRY = re.compile(r"try again in (\d+) seconds?")


async def started(slack: FakeSlack, openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, **limits: int) -> Harness:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    data = spec_dict(roles=EVERYONE)
    data["limits"] = {**data.get("limits", {}), **limits}
    return await Harness(slack=slack, openai=openai, spec=data).start(workers=0)


def throttled(reply: dict[str, Any]) -> bool:
    match = RETRY.search(reply["text"])
    return bool(match) and 1 <= int(match.group(1)) <= 60 and "Nothing was started" in reply["text"]


async def test_a_flood_from_one_user_is_throttled(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await started(slack, openai_fake, monkeypatch)  # the defaults: 10 runs per user per minute
    try:
        replies = await asyncio.gather(*(h.slash(REQUESTER, f"run draft note number {i}") for i in range(150)))
        accepted = [r for _s, r in replies if "Working on it" in r["text"]]
        refused = [r for _s, r in replies if throttled(r)]
        assert len(accepted) == 10 and len(refused) == 140
        assert all(s == 200 and r["response_type"] == "ephemeral" for s, r in replies)
        assert await runs_in_redis(h) == 10, "nothing is persisted for a throttled goal"
        _, other = await h.slash(REVIEWER, "run draft my own note")
        assert "Working on it" in other["text"], "one person's flood does not stop anyone else"
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_every_way_of_starting_a_run_is_throttled(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await started(slack, openai_fake, monkeypatch, runs_per_user_per_minute=2)
    try:
        assert "Working on it" in (await h.slash(REQUESTER, "run draft one"))[1]["text"]
        assert "Did you mean" in (await h.slash(REQUESTER, "hmm"))[1]["text"]  # a held goal counts too
        assert throttled((await h.slash(REQUESTER, "hmm"))[1])
        assert throttled((await h.slash(REQUESTER, "run draft three"))[1])
        status, _ = await h.event({"type": "app_mention", "user": REQUESTER, "channel": CHANNEL, "ts": "4000.0001",
                                   "text": "<@U0MAPLEBOT> run draft four"})
        assert status == 200
        await h.wait_for(lambda: [c for c in slack.calls_to("chat.postEphemeral")
                                  if c.params.get("user") == REQUESTER and c.params.get("channel") == CHANNEL
                                  and "try again" in str(c.params)],
                         what="the throttled mention answered to the asker alone")
        assert await runs_in_redis(h) == 2
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_a_workspace_has_a_limit_of_its_own(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await started(slack, openai_fake, monkeypatch, runs_per_user_per_minute=0, runs_per_team_per_minute=4)
    try:
        replies = [(await h.slash(f"U0PERSON{i}", "run draft a note"))[1] for i in range(6)]
        assert ["Working on it" in r["text"] for r in replies] == [True] * 4 + [False] * 2
        assert throttled(replies[4]) and "your workspace" in replies[4]["text"]
        assert await runs_in_redis(h) == 4
    finally:
        await h.stop()
        await h.cleanup_redis()
