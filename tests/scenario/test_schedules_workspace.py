"""The local workspace supports schedules end to end (what `make run` demos): make one with /maple, start it with
its Run now button, see the digest in the channel, then Pause it from the App Home."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.openai_api import FakeOpenAI
from tests.harness import SECRET, TOKEN, Harness
from workspace import GENERAL, REQUESTER, Workspace, build_workspace


class _SlackAt:
    def __init__(self, workspace: Workspace) -> None:
        self.url = workspace.api_url


@pytest.fixture
async def local(openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Workspace, Harness]]:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    async with build_workspace(signing_secret=SECRET, maple_url="", bot_token=TOKEN) as ws:
        h = Harness(slack=_SlackAt(ws), openai=openai_fake)  # type: ignore[arg-type]
        await h.start()
        ws.maple_url = h.url + "/slack/events"
        try:
            yield ws, h
        finally:
            await h.stop()
            await h.cleanup_redis()


def buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b.get("type") == "actions" for e in b.get("elements", [])]


async def test_schedule_run_now_and_pause_from_home(local: tuple[Workspace, Harness]) -> None:
    ws, h = local
    ws.people.say(REQUESTER, GENERAL, "The launch moved to Thursday.")
    await ws.people.slash(REQUESTER, GENERAL, "schedule every weekday at 9:00 digest of this channel")
    answer = ws.state.ephemerals[-1]
    assert "Scheduled S-" in answer["text"] and "Next runs" in answer["text"]
    await ws.people.slash(REQUESTER, GENERAL, "schedules")
    listing = ws.state.ephemerals[-1]
    run_now = next(a for a in buttons(listing["blocks"]) if a.startswith("maple_schedule_run:"))
    await ws.people.click(REQUESTER, listing["ts"], run_now)

    def digest() -> list[dict[str, Any]]:
        return [m for m in ws.state.history[GENERAL] if ((m.get("metadata") or {}).get("event_payload") or {})
                .get("effect") == "result"]

    await h.wait_for(digest, what="the digest in the channel")
    assert "The launch moved to Thursday." in h.openai.texts_received()
    await ws.people.home_opened(REQUESTER)
    home_id = ws.state.homes[REQUESTER]
    home = ws.state.views[home_id].view
    pause = next(a for a in buttons(home["blocks"]) if a.startswith("maple_schedule_pause:"))
    await ws.people.click_view(REQUESTER, home_id, pause)
    schedule_id = pause.split(":", 1)[1]
    assert (await h.maple.schedule_store.get(schedule_id)).state == "paused"  # type: ignore[union-attr]
    await h.wait_for(lambda: any(a.startswith("maple_schedule_resume:")
                                 for a in buttons(ws.state.views[home_id].view["blocks"])), what="home updated")
