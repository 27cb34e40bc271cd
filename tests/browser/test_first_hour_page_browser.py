"""The first hour, in the local workspace's page through the real Block Kit: the ask-back quotes the goal and
describes each option, *None of these* ends it; status speaks plain words in the person's zone; a goal over the
limit comes back whole; a person whose Slack locale is French is answered in French."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import screenshot_path
from tests.browser.test_workspace_browser import open_page, submit_goal, type_in
from tests.harness import Harness
from workspace import REQUESTER, REVIEWER, Workspace

pytestmark = pytest.mark.browser


async def test_the_ask_back_quotes_the_goal_and_describes_each_option(page: Any, maple: Harness,
                                                                      workspace: Workspace) -> None:
    await open_page(page, workspace, REQUESTER)
    await type_in(page, "/maple Acme")
    asked = page.get_by_test_id("ephemeral").filter(has_text="“Acme”")
    await asked.get_by_test_id("button-maple_dismiss").wait_for()
    said = await asked.inner_text()
    assert "I'm not sure which workflow fits “Acme”. Did you mean:" in said
    assert "Draft — Draft a message or reply, reviewed before it is posted." in said
    assert "Ask — Answer a question from approved documents" in said and "Calculate" not in said
    assert await asked.get_by_test_id("button-maple_pick_draft").inner_text() == "Choose"
    assert await asked.get_by_test_id("button-maple_dismiss").inner_text() == "None of these"
    await page.screenshot(path=screenshot_path("ask-back"))
    await asked.get_by_test_id("button-maple_dismiss").click()
    await page.get_by_test_id("ephemeral").filter(has_text="Nothing was started for “Acme”").wait_for()


async def test_status_in_plain_words_in_the_workspace(page: Any, maple: Harness, workspace: Workspace) -> None:
    run_id = await submit_goal(page, workspace)
    await maple.wait_state(run_id, "in_review")
    await type_in(page, f"/maple status {run_id}")
    shown = page.get_by_test_id("ephemeral").filter(has_text="Times are in")
    await shown.wait_for()
    said = await shown.inner_text()
    assert f"— run {run_id}" in said and "Waiting for review by @" in said
    assert re.search(r"since \w{3} \d\d \w{3} \d{4} \d\d:\d\d E[SD]T", said) and "UTC" not in said
    await type_in(page, "/maple audit")
    await page.get_by_test_id("ephemeral").filter(has_text="Say which run").wait_for()


async def test_a_goal_over_the_limit_comes_back_whole(page: Any, maple: Harness, workspace: Workspace) -> None:
    limit = maple.svc.spec.limits.max_goal_chars
    goal = ("draft a long note about the shipment " * (limit // 30))[: limit + 50] + " THE END"
    await open_page(page, workspace, REQUESTER)
    await page.get_by_test_id("composer-input").fill(f"/maple {goal}")
    await page.get_by_test_id("composer-input").press("Enter")
    back = page.get_by_test_id("ephemeral").filter(has_text="the limit is")
    await back.wait_for()
    said = await back.inner_text()
    assert f"the limit is {limit:,}" in said and "long note THE END" in said  # the whole text, kept


async def test_a_french_locale_is_answered_in_french(page: Any, maple: Harness, workspace: Workspace) -> None:
    workspace.state.users[REQUESTER].locale = "fr-CA"
    await open_page(page, workspace, REQUESTER)
    await type_in(page, "/maple Acme")
    asked = page.get_by_test_id("ephemeral").filter(has_text="« Acme »")
    await asked.get_by_test_id("button-maple_dismiss").wait_for()
    assert await asked.get_by_test_id("button-maple_pick_draft").inner_text() == "Choisir"
    assert await asked.get_by_test_id("button-maple_dismiss").inner_text() == "Aucun de ceux-ci"
    await page.screenshot(path=screenshot_path("ask-back-fr"))


async def test_a_mentions_ask_back_is_for_the_asker_alone(page: Any, maple: Harness, workspace: Workspace) -> None:
    """@Maple with a vague goal in #general: the ask-back appears to the person who asked ("Only visible to you"),
    its buttons work there, and nobody else sees it in the channel."""
    await open_page(page, workspace, REQUESTER)
    await type_in(page, "@Maple Acme")
    asked = page.get_by_test_id("ephemeral").filter(has_text="“Acme”")
    await asked.get_by_test_id("button-maple_pick_draft").wait_for()
    assert not [c for c in workspace.calls("chat.postMessage") if "Acme" in str(c.params)]
    await page.screenshot(path=screenshot_path("ask-back-mention"))
    await asked.get_by_test_id("button-maple_dismiss").click()
    await page.get_by_test_id("ephemeral").filter(has_text="Nothing was started for “Acme”").wait_for()
    assert not workspace.ephemerals(REVIEWER)
