"""The assistant pane in the local workspace's page, in Chromium: opening it starts a thread whose suggested prompts
are the person's own; a clicked prompt runs with Maple's status shown while it works and its answer in the thread;
a follow-up reply there revises the answer as the run's next version; the feedback buttons under it record a
vote. All of it through the Web API methods Slack has (assistant.threads.*, chat.postMessage with thread_ts) and
the events Slack sends (assistant_thread_started, message.im). The screenshot is the README's docs/workspace-pane.png."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.browser.conftest import _SlackAt, screenshot_path
from tests.browser.test_workspace_browser import open_page
from tests.fakes.openai_api import FakeOpenAI
from tests.harness import Harness, spec_dict
from tests.scenario.test_followups_delivered import IDEA
from workspace import GENERAL, OUTSIDER, REQUESTER, Workspace

pytestmark = pytest.mark.browser


@pytest.fixture
async def ideas(workspace: Workspace, openai_fake: FakeOpenAI,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    """Maple behind the local workspace, with a workflow that answers at once (no review) listed first."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    data = spec_dict()
    data["workflows"] = [IDEA, *data["workflows"]]
    harness = Harness(slack=_SlackAt(workspace), openai=openai_fake, spec=data)  # type: ignore[arg-type]
    await harness.start()
    workspace.maple_url = harness.url + "/slack/events"
    yield harness
    await harness.stop()
    await harness.cleanup_redis()


async def open_pane(page: Any, workspace: Workspace, user: str) -> Any:
    await open_page(page, workspace, user)
    await page.get_by_test_id(f"channel-{GENERAL}").click()
    await page.get_by_test_id("assistant-open").click()
    pane = page.get_by_test_id("assistant-pane")
    await pane.get_by_test_id("message").first.wait_for()  # Maple's greeting
    return pane


async def test_opening_the_pane_shows_the_persons_suggested_prompts(page: Any, ideas: Harness,
                                                                    workspace: Workspace) -> None:
    pane = await open_pane(page, workspace, REQUESTER)
    prompts = pane.get_by_test_id("pane-prompt")
    await prompts.first.wait_for()
    titles = [t.split("\n")[0] for t in await prompts.all_inner_texts()]
    assert titles == ["Ideas", "Draft", "Ask", "Summarize"]
    started = [c for c in workspace.calls("assistant.threads.setSuggestedPrompts") if c.ok]
    assert started and started[0].params["channel_id"] == "D0REQUEST"
    viewed = [m for m in workspace.messages("D0REQUEST") if m.get("metadata")]
    assert viewed[0]["metadata"]["event_payload"]["channel_id"] == GENERAL  # the channel on screen, as context
    await pane.get_by_test_id("pane-close").click()
    outsider = await open_pane(page, workspace, OUTSIDER)
    await outsider.get_by_test_id("message").filter(has_text="don't have access").wait_for()
    assert await outsider.get_by_test_id("pane-prompt").count() == 0


async def test_a_prompt_runs_with_a_status_is_revised_by_a_follow_up_and_takes_a_vote(
        page: Any, ideas: Harness, workspace: Workspace) -> None:
    h = ideas
    h.openai.reply = "Maple Leaf. Northwind. Bluebird. Aurora."
    h.openai.gate = asyncio.Event()  # the model answers when the test says: the status is seen meanwhile
    pane = await open_pane(page, workspace, REQUESTER)
    await pane.get_by_test_id("pane-prompt").filter(has_text="Ideas").click()
    status = pane.get_by_test_id("pane-status")
    await status.filter(has_text="is working on").wait_for()
    run_id = re.search(r"R-[0-9A-Z]{16}", await status.inner_text()).group(0)  # type: ignore[union-attr]
    assert await pane.get_by_test_id("pane-title").inner_text() == "brainstorm names for the new product"
    assert await pane.get_by_test_id("pane-prompts").is_hidden()  # the person wrote: the prompts step aside
    h.openai.gate.set()
    await pane.get_by_test_id("message").filter(has_text="Northwind").wait_for()
    await status.wait_for(state="hidden")  # Maple's answer in the thread cleared its status
    h.openai.reply = "Maple Leaf. Aurora."
    box = pane.get_by_test_id("pane-input")
    await box.fill("only two of them")
    await box.press("Enter")
    revised = pane.get_by_test_id("message").filter(has_text="revised after a follow-up")
    await revised.wait_for()
    assert "Northwind" not in await revised.inner_text() and "only two of them" in await revised.inner_text()
    run = await h.wait_state(run_id, "delivered")
    assert run.round == 1 and run.followups[0].text == "only two of them"
    await revised.get_by_test_id("feedback-good").click()
    await pane.get_by_test_id("ephemeral").filter(has_text="recorded").wait_for()
    await page.screenshot(path=screenshot_path("pane"))
    votes = [e for e in await h.svc.audit.timeline(run_id) if e.kind == "feedback.given"]
    assert [(e.actor, e.attrs["maple.vote"]) for e in votes] == [(REQUESTER, "positive")]
    first = pane.get_by_test_id("message").filter(has_text="Northwind")
    await first.get_by_test_id("feedback-bad").click()  # the earlier answer's buttons: refused, not counted
    await pane.get_by_test_id("ephemeral").filter(has_text="revised since").wait_for()
    assert [(t.up, t.down) for t in await h.svc.feedback.tallies()] == [(1, 0)]
