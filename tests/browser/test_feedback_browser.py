"""Feedback in the local workspace's page: the 👍 / 👎 buttons under a delivered answer, clicked in Chromium, reach
Maple as Slack's feedback-buttons action and are recorded once."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import screenshot_path
from tests.browser.test_workspace_browser import open_page, type_in
from tests.harness import Harness
from workspace import GENERAL, REQUESTER, Workspace

pytestmark = pytest.mark.browser


async def test_feedback_buttons_under_an_answer_record_a_vote(page: Any, maple: Harness,
                                                              workspace: Workspace) -> None:
    await open_page(page, workspace, REQUESTER)
    await type_in(page, "/maple what is 17.5% of 2,340")
    ack = page.get_by_test_id("ephemeral").filter(has_text="Working on it")
    await ack.wait_for()
    run_id = re.search(r"R-[0-9A-Z]{16}", await ack.inner_text()).group(0)  # type: ignore[union-attr]
    await maple.wait_state(run_id, "delivered")
    await page.get_by_test_id(f"channel-{GENERAL}").click()
    result = page.get_by_test_id("message").filter(has_text="409.5")
    await result.get_by_test_id("feedback-good").wait_for()
    assert await result.get_by_test_id("feedback-bad").get_attribute("aria-label") == "This answer was not helpful"
    for side, icon in (("good", "+1"), ("bad", "-1")):  # drawn, so they never depend on an emoji font
        assert await result.get_by_test_id(f"feedback-{side}").locator(f"[data-icon='{icon}']").count() == 1
    await result.get_by_test_id("feedback-good").click()
    await page.get_by_test_id("ephemeral").filter(has_text="recorded").wait_for()
    await page.screenshot(path=screenshot_path("feedback-recorded"))
    events = [e for e in await maple.svc.audit.timeline(run_id) if e.kind == "feedback.given"]
    assert [e.attrs["maple.vote"] for e in events] == ["positive"]
    clicks = [c for c in workspace.calls() if c.method == "chat.postEphemeral" and "recorded" in str(c.params)]
    assert clicks
