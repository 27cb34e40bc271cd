"""People using Maple through the local workspace's page: goal → review → approve or reject, and refusals.
Every click and submit goes to the real Maple app as a Slack-signed request."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import screenshot_path
from tests.fakes.openai_api import FakeOpenAI
from tests.harness import Harness
from workspace import GENERAL, OUTSIDER, REQUESTER, REVIEWER, Workspace

pytestmark = pytest.mark.browser
GOAL = "draft a reply to the supplier about the late shipment"


async def act_as(page: Any, user: str) -> None:
    await page.get_by_test_id("person-switcher").select_option(user)
    await page.locator(f"body[data-person='{user}']").wait_for(state="attached")  # the switch is done


async def open_page(page: Any, ws: Workspace, user: str) -> None:
    await page.goto(f"{ws.url}/?user={user}")
    await page.locator(f"body[data-person='{user}']").wait_for(state="attached")
    await page.get_by_test_id("connection").filter(has_text="live").wait_for()


async def type_in(page: Any, text: str) -> None:
    box = page.get_by_test_id("composer-input")
    await box.fill(text)
    await box.press("Enter")


async def submit_goal(page: Any, ws: Workspace) -> str:
    """As the requester in #general: type the goal, pick the workflow if Maple asks back; return the run id."""
    await open_page(page, ws, REQUESTER)
    await type_in(page, f"/maple {GOAL}")
    ack = page.get_by_test_id("ephemeral").last
    await ack.wait_for()
    pick = page.get_by_test_id("button-maple_pick_draft")
    if await pick.count():
        await page.screenshot(path=screenshot_path("1a-ask-back"))
        await pick.click()
        await page.get_by_test_id("ephemeral").filter(has_text="Working on it").wait_for()
    text = await page.get_by_test_id("ephemeral").filter(has_text="Working on it").inner_text()
    await page.screenshot(path=screenshot_path("1-requester-ack"))
    match = re.search(r"R-[0-9A-Z]{16}", text)
    assert match, text
    return match.group(0)


async def open_review(page: Any, ws: Workspace, run_id: str) -> Any:
    await act_as(page, REVIEWER)
    await page.get_by_test_id("dm-maple").click()
    review = page.get_by_test_id("message").filter(has_text=run_id).filter(has_text="Requested by")  # any state
    await review.get_by_test_id("button-maple_approve").wait_for()
    return review


async def test_goal_review_approve_delivers_to_the_channel(page: Any, maple: Harness, workspace: Workspace) -> None:
    run_id = await submit_goal(page, workspace)
    assert not workspace.ephemerals(REVIEWER), "the ack is only visible to the requester"
    review = await open_review(page, workspace, run_id)
    await page.screenshot(path=screenshot_path("2-reviewer-draft"))
    await review.get_by_test_id("button-maple_approve").click()
    await review.filter(has_text="Approved by").wait_for()
    await maple.wait_state(run_id, "delivered")
    await act_as(page, REQUESTER)
    await page.get_by_test_id(f"channel-{GENERAL}").click()
    result = page.get_by_test_id("message").filter(has_text=f"run {run_id}")
    await result.filter(has_text="shipment is delayed").wait_for()
    await page.screenshot(path=screenshot_path("3-result-in-channel"))
    assert "@rob.reviewer" in await result.inner_text()  # <@U…> shown as @name


async def test_reject_with_a_reason(page: Any, maple: Harness, workspace: Workspace) -> None:
    run_id = await submit_goal(page, workspace)
    review = await open_review(page, workspace, run_id)
    await review.get_by_test_id("button-maple_reject").click()
    modal = page.get_by_test_id("modal")
    await modal.wait_for()
    await page.get_by_test_id("modal-submit").click()
    await page.get_by_test_id("input-error-reason").filter(has_text="Please fill out").wait_for()
    await page.get_by_test_id("input-reason").fill("Too apologetic; keep it factual & short.")
    await page.screenshot(path=screenshot_path("4-reject-modal"))
    await page.get_by_test_id("modal-submit").click()
    await modal.wait_for(state="detached")
    await review.filter(has_text="Rejected by").wait_for()
    assert (await maple.wait_state(run_id, "rejected")).state.value == "rejected"
    await act_as(page, REQUESTER)
    await page.get_by_test_id("dm-maple").click()
    told = page.get_by_test_id("message").filter(has_text=run_id).filter(has_text="keep it factual & short")
    await told.wait_for()
    await page.screenshot(path=screenshot_path("5-requester-told-rejected"))


async def test_outsider_is_refused(page: Any, maple: Harness, workspace: Workspace) -> None:
    await open_page(page, workspace, OUTSIDER)
    assert await page.get_by_test_id("channel-C0REVIEW").count() == 0  # a private channel they are not in
    await type_in(page, f"/maple {GOAL}")
    refusal = page.get_by_test_id("ephemeral").filter(has_text="don't have access")
    await refusal.wait_for()
    await page.screenshot(path=screenshot_path("6-outsider-refused"))
    assert not [c for c in workspace.calls("chat.postMessage") if c.params.get("channel") != GENERAL]
    await act_as(page, REQUESTER)
    assert await page.get_by_test_id("ephemeral").count() == 0  # the refusal was only visible to the outsider


async def test_untrusted_text_is_shown_as_text(page: Any, maple: Harness, workspace: Workspace,
                                               openai_fake: FakeOpenAI) -> None:
    openai_fake.reply = "Hi <@U0ADMIN> <script>window.pwned=1</script> &amp; <b>bold</b> *really*"
    run_id = await submit_goal(page, workspace)
    review = await open_review(page, workspace, run_id)
    body = await review.inner_text()
    assert "<script>window.pwned=1</script> &amp; <b>bold</b>" in body and "<@U0ADMIN>" in body
    assert await page.evaluate("window.pwned === undefined")
    assert await review.locator("strong", has_text="really").count() == 1  # mrkdwn still renders
    await page.screenshot(path=screenshot_path("7-escaped-draft"))


async def test_mention_help_is_answered_to_the_asker_alone(page: Any, maple: Harness, workspace: Workspace) -> None:
    await open_page(page, workspace, REQUESTER)
    await type_in(page, "@Maple help")
    await page.get_by_test_id("ephemeral").filter(has_text="turns a goal into reviewed work").wait_for()
    await page.screenshot(path=screenshot_path("8-mention-help"))
    assert not [c for c in workspace.calls("chat.postMessage") if "turns a goal" in str(c.params)]


MRKDWN_CASES = [
    ("*bold* and _italic_ and ~gone~", "strong", "bold"),
    ("run `maple help` now", "code", "maple help"),
    ("```line <1>\nline &lt;2&gt;```", "pre", "line <1>\nline <2>"),
    ("&gt; quoted &amp; kept", "blockquote", "quoted & kept"),
    ("see <https://example.com/a?b=1&amp;c=2|the docs>", "a[href='https://example.com/a?b=1&c=2']", "the docs"),
    ("ping <@U0REVIEW> in <#C0REVIEW|maple-review>", ".mention", "@rob.reviewer"),
    ("<#C0GENERAL>", ".channel-mention", "#general"),
    ("&amp;lt;b&amp;gt; stays text", "div.mrkdwn", "&lt;b&gt; stays text"),
]


async def test_mrkdwn_rendering(page: Any, workspace: Workspace) -> None:
    await open_page(page, workspace, REQUESTER)
    for source, selector, expected in MRKDWN_CASES:
        shown = await page.evaluate(
            """([src, sel]) => { const root = Mrkdwn.render(src, {users: ui.users, channels: ui.channels});
                                 const hit = root.matches(sel) ? root : root.querySelector(sel);
                                 return hit ? hit.textContent : null; }""", [source, selector])
        assert shown == expected, (source, shown)
    unsafe = await page.evaluate("""() => { const r = Mrkdwn.render('<javascript:alert(1)|click> <img src=x>', {});
                                         return [r.querySelectorAll('a, img').length, r.textContent]; }""")
    assert unsafe == [0, "click img src=x"]  # not a link, not an element: just its text


async def test_maple_validation_errors_show_in_the_modal(page: Any, maple: Harness, workspace: Workspace) -> None:
    run_id = await submit_goal(page, workspace)
    review = await open_review(page, workspace, run_id)
    await review.get_by_test_id("button-maple_reject").click()
    await page.get_by_test_id("modal").wait_for()
    other = next(m for m in workspace.messages("D0REVIEW2") if run_id in m["text"])
    assert (await workspace.click("U0REVIEW2", other["ts"], "maple_approve")).status == 200  # decided meanwhile
    await maple.wait_state(run_id, "delivered", "approved")
    await page.get_by_test_id("input-reason").fill("too late")
    await page.get_by_test_id("modal-submit").click()
    error = page.get_by_test_id("input-error-reason")
    await error.filter(has_text=re.compile(r"\w")).wait_for()
    await page.screenshot(path=screenshot_path("9-modal-error-from-maple"))
    assert await page.get_by_test_id("input-reason").input_value() == "too late"  # what was typed is kept
    await page.get_by_test_id("modal-close").click()
    await page.get_by_test_id("modal").wait_for(state="detached")


async def test_app_home(page: Any, workspace: Workspace) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=workspace.api.token, base_url=workspace.api_url)
    await client.views_publish(user_id=REQUESTER, view={"type": "home", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Your runs"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*R-1* · in review"}}]})
    await open_page(page, workspace, REQUESTER)
    await page.get_by_test_id("app-home").click()
    await page.get_by_test_id("home-view").filter(has_text="Your runs").wait_for()
    assert workspace.calls()[-1].method == "views.publish"  # app_home_opened went to Maple, not to the API
    await act_as(page, OUTSIDER)
    await page.get_by_test_id("home-view").filter(has_text="has not published").wait_for()
