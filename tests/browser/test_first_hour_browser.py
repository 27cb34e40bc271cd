"""The first hour through the real Block Kit in Chromium: the review message, the requester's run message through
its life, Revise after a rejection, an edit that leaves nobody to approve, and the App Home of each person. The
screenshots land in test-artifacts/ (the README's images in docs/ are copies of them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.browser.conftest import _SlackAt, screenshot_path
from tests.browser.test_workspace_browser import GOAL, act_as, open_review, submit_goal
from tests.fakes.openai_api import FakeOpenAI
from tests.harness import Harness, spec_dict
from workspace import ADMIN, GENERAL, REQUESTER, REVIEWER, Workspace

pytestmark = pytest.mark.browser


@pytest.fixture
async def lone(workspace: Workspace, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    """Maple with one reviewer, behind the local workspace."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    roles = {"user": [REQUESTER, REVIEWER, ADMIN], "reviewer": [REVIEWER], "admin": [ADMIN]}
    harness = Harness(slack=_SlackAt(workspace), openai=openai_fake, spec=spec_dict(roles=roles))  # type: ignore[arg-type]
    await harness.start()
    workspace.maple_url = harness.url + "/slack/events"
    yield harness
    await harness.stop()
    await harness.cleanup_redis()


async def run_message(page: Any, run_id: str) -> Any:
    """As the requester, in their DM with Maple: the one message that follows the run."""
    await act_as(page, REQUESTER)
    await page.get_by_test_id("dm-maple").click()
    found = page.get_by_test_id("message").filter(has_text=run_id).filter(has_text=GOAL)
    await found.first.wait_for()
    return found


async def test_review_message_and_run_message_through_its_life(page: Any, maple: Harness,
                                                               workspace: Workspace) -> None:
    run_id = await submit_goal(page, workspace)
    message = await run_message(page, run_id)
    await message.filter(has_text="With reviewers").wait_for()
    assert "@rob.reviewer" in await message.inner_text()
    assert await message.get_by_test_id("button-maple_cancel").count() == 1
    await page.screenshot(path=screenshot_path("run-message-review"))
    review = await open_review(page, workspace, run_id)
    shown = await review.inner_text()
    assert shown.index("Approve posts to") < shown.index("\nDraft\n") < shown.index(run_id)
    assert "#general — public channel" in shown and "Internal" in shown
    await page.screenshot(path=screenshot_path("review-message"))
    await review.get_by_test_id("button-maple_approve").click()
    await review.filter(has_text="Approved by").wait_for()
    await maple.wait_state(run_id, "delivered")
    message = await run_message(page, run_id)
    await message.filter(has_text="posted in #general").wait_for()
    assert await message.get_by_test_id("button-maple_cancel").count() == 0
    assert await page.get_by_test_id("message").filter(has_text=run_id).count() == 1, "one message per run"
    await page.screenshot(path=screenshot_path("run-message-approved"))


async def test_a_rejected_run_is_revised_from_its_message(page: Any, maple: Harness, workspace: Workspace) -> None:
    run_id = await submit_goal(page, workspace)
    review = await open_review(page, workspace, run_id)
    await review.get_by_test_id("button-maple_reject").click()
    await page.get_by_test_id("input-reason").fill("Give the new delivery date.")
    await page.get_by_test_id("modal-submit").click()
    await review.filter(has_text="Rejected").wait_for()
    message = await run_message(page, run_id)
    await message.filter(has_text="Give the new delivery date").wait_for()
    await page.screenshot(path=screenshot_path("run-message-rejected"))
    await message.get_by_test_id("button-maple_revise").click()
    modal = page.get_by_test_id("modal")
    await modal.filter(has_text="Give the new delivery date").wait_for()
    await page.get_by_test_id("input-goal").fill(GOAL + ", with the new date May 3")
    await page.get_by_test_id("modal-submit").click()
    await modal.wait_for(state="detached")
    await page.get_by_test_id("message").filter(has_text="May 3").filter(has_text="Drafting").or_(
        page.get_by_test_id("message").filter(has_text="May 3").filter(has_text="With reviewers")).first.wait_for()


async def home(page: Any, user: str) -> Any:
    await act_as(page, user)
    await page.get_by_test_id("app-home").click()
    view = page.get_by_test_id("home-view")
    await view.filter(has_text="Your runs").wait_for()
    return view


async def test_an_edit_that_leaves_nobody_and_the_home_of_each_person(page: Any, lone: Harness,
                                                                      workspace: Workspace) -> None:
    run_id = await submit_goal(page, workspace)
    review = await open_review(page, workspace, run_id)
    await review.get_by_test_id("button-maple_edit").click()
    modal = page.get_by_test_id("modal")
    await modal.filter(has_text="Nobody else can approve").wait_for()
    await page.screenshot(path=screenshot_path("edit-leaves-nobody"))
    await page.get_by_test_id("input-draft_0").fill("Dear supplier, please confirm the new date.")
    await page.get_by_test_id("modal-submit").click()
    await modal.wait_for(state="detached")
    await review.filter(has_text="You edited this version").wait_for()
    assert await review.get_by_test_id("button-maple_approve").count() == 0
    assert "edited by @rob.reviewer" in await review.inner_text()  # the mention, rendered once
    requester = await home(page, REQUESTER)
    await requester.filter(has_text="with reviewers").wait_for()
    await page.screenshot(path=screenshot_path("home-requester"))
    reviewer = await home(page, REVIEWER)
    await reviewer.filter(has_text="Waiting for your review").filter(has_text="stuck").wait_for()
    await page.screenshot(path=screenshot_path("home-reviewer"))
    admin = await home(page, ADMIN)
    await admin.filter(has_text="Needs attention").wait_for()
    await page.screenshot(path=screenshot_path("home-admin"))
    await admin.get_by_test_id("button-maple_cancel").click()
    await lone.wait_state(run_id, "cancelled")
    await admin.filter(has_text="was cancelled").wait_for()
    assert not [c for c in workspace.calls("chat.postMessage") if c.params.get("channel") == GENERAL]


async def test_a_french_reviewers_review_message_is_in_french(page: Any, maple: Harness,
                                                              workspace: Workspace) -> None:
    """The reviewer's Slack locale is French: the review message in their DM — header, fields, labels, buttons and
    the Edit form — is French; the draft is shown as the model wrote it; the requester (English) sees English."""
    workspace.state.users[REVIEWER].locale = "fr-CA"
    run_id = await submit_goal(page, workspace)
    await act_as(page, REVIEWER)
    await page.get_by_test_id("dm-maple").click()
    review = page.get_by_test_id("message").filter(has_text=run_id).filter(has_text="Demandée par")
    await review.get_by_test_id("button-maple_approve").wait_for()
    shown = await review.inner_text()
    assert shown.index("L'approbation publie dans") < shown.index("\nÉbauche\n") < shown.index(run_id)
    assert "Ébauche à réviser" in shown and "#general — canal public" in shown and "Interne" in shown
    assert [await review.get_by_test_id(f"button-maple_{b}").inner_text() for b in ("approve", "edit", "reject")] == [
        "Approuver", "Modifier", "Refuser"]
    for english in ("Approve posts to", "Sensitivity", "Requested by", "Draft for review"):
        assert english not in shown, english
    await page.screenshot(path=screenshot_path("review-message-fr"))
    await review.get_by_test_id("button-maple_edit").click()
    modal = page.get_by_test_id("modal")
    await modal.filter(has_text="Modifier l'ébauche").wait_for()
    assert await page.get_by_test_id("modal-submit").inner_text() == "Enregistrer"
    await page.get_by_test_id("modal-close").click()
    await modal.wait_for(state="detached")
    message = await run_message(page, run_id)
    await message.filter(has_text="With reviewers").wait_for()  # the requester reads English
