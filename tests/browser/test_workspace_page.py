"""The workspace page as a person uses it: long conversations scroll and open at the newest message, the message
box shows focus, modals are dialogs, unread conversations are marked, text meets WCAG AA contrast, app
messages carry no "(edited)", private channels show a lock, and states never depend on an emoji font."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from tests.browser.conftest import screenshot_path
from tests.browser.contrast import audit, contrast
from tests.browser.test_workspace_browser import GOAL, act_as, open_page, type_in
from tests.harness import Harness
from workspace import ADMIN, GENERAL, REQUESTER, REVIEW_CHANNEL, REVIEWER, Workspace

pytestmark = pytest.mark.browser
WORDS = "the shipment from the supplier is late again and the customer would like a short, factual update " * 2
MODAL = {"type": "modal", "callback_id": "local_note", "title": {"type": "plain_text", "text": "Add a note"},
         "submit": {"type": "plain_text", "text": "Save"}, "close": {"type": "plain_text", "text": "Cancel"},
         "blocks": [{"type": "input", "block_id": "note", "label": {"type": "plain_text", "text": "Note"},
                     "element": {"type": "plain_text_input", "action_id": "text", "multiline": True}}]}


@pytest.fixture
async def slack(workspace: Workspace) -> AsyncIterator[AsyncWebClient]:
    """The Web API as Maple calls it."""
    yield AsyncWebClient(token=workspace.api.token, base_url=workspace.api_url, timeout=5)


def fill(workspace: Workspace, channel: str, count: int) -> None:
    for i in range(count):
        workspace.people.say(REQUESTER if i % 2 else ADMIN, channel, f"message number {i}: {WORDS}")


async def scroll_state(page: Any, testid: str = "message-list") -> dict[str, float]:
    return await page.get_by_test_id(testid).evaluate(  # type: ignore[no-any-return]
        "b => ({top: b.scrollTop, height: b.scrollHeight, client: b.clientHeight,"
        " gap: b.scrollHeight - b.scrollTop - b.clientHeight})")


async def in_window(page: Any, locator: Any) -> bool:
    """Whether ``locator`` is entirely inside the browser window (not below it, not cut off)."""
    box = await locator.bounding_box()
    size = page.viewport_size
    return bool(box) and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]


async def until(page: Any, expression: str) -> None:
    """Poll ``expression`` in the page (the page's CSP forbids the eval behind Playwright's wait_for_function)."""
    import asyncio

    for _ in range(1200):
        if await page.evaluate(expression):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never true: {expression}")


async def test_a_long_channel_scrolls_and_opens_at_the_newest_message(page: Any, workspace: Workspace) -> None:
    fill(workspace, GENERAL, 60)
    await open_page(page, workspace, REQUESTER)
    newest = page.get_by_test_id("message").filter(has_text=re.compile(r"message number 59\b"))
    await newest.wait_for()
    state = await scroll_state(page)
    assert state["height"] > 3 * state["client"] and state["gap"] < 2, state  # it overflows, shown from its end
    assert await in_window(page, newest) and await in_window(page, page.get_by_test_id("composer"))
    await page.screenshot(path=screenshot_path("11-long-channel-opens-at-the-end"))
    await page.get_by_test_id("message-list").hover()
    await page.mouse.wheel(0, -1500)  # the wheel moves it…
    await until(page, f"document.querySelector('[data-testid=message-list]').scrollTop < {state['top'] - 1000}")
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await page.keyboard.press("Home")  # …and so do Home and End, wherever the focus is (but the text box)
    assert (await scroll_state(page))["top"] == 0
    await page.get_by_test_id("channel-" + GENERAL).focus()
    await page.keyboard.press("End")
    assert (await scroll_state(page))["gap"] < 2
    workspace.people.say(ADMIN, GENERAL, "a newer message arrives")  # at the end it stays at the end
    await page.get_by_test_id("message").filter(has_text="a newer message arrives").wait_for()
    assert (await scroll_state(page))["gap"] < 2
    await page.keyboard.press("PageUp")
    reading = (await scroll_state(page))["top"]
    workspace.people.say(ADMIN, GENERAL, "and another while I read older ones")
    await page.get_by_test_id("message").filter(has_text="and another while I read").wait_for()
    assert (await scroll_state(page))["top"] == reading  # reading older messages is not interrupted
    await page.get_by_test_id("dm-maple").click()  # another conversation opens at its end too
    fill(workspace, "D0REQUEST", 30)
    await page.get_by_test_id("message").filter(has_text=re.compile(r"message number 29\b")).wait_for()
    await page.get_by_test_id(f"channel-{GENERAL}").click()
    await page.get_by_test_id("message").filter(has_text="and another while I read").wait_for()
    assert (await scroll_state(page))["gap"] < 2


async def test_a_reviewer_opening_their_messages_sees_the_waiting_review(page: Any, maple: Harness,
                                                                      workspace: Workspace) -> None:
    runs = []
    for n in range(4):
        status, body = await workspace.slash(REQUESTER, GENERAL, f"{GOAL} (batch {n})")
        assert status == 200
        runs.append(re.search(r"R-[0-9A-Z]{16}", str(body)).group(0))  # type: ignore[union-attr]
    for run_id in runs:
        await maple.wait_state(run_id, "in_review")
    def review_of(run_id: str) -> dict[str, Any] | None:
        return next((m for m in workspace.messages(REVIEWER) if "Draft for review" in m["text"]
                     and run_id in m["text"] + str(m.get("blocks"))), None)

    for run_id in runs[:3]:  # the reviews arrive in whatever order the workers drafted them: approve by run
        review = await maple.wait_for(lambda run_id=run_id: review_of(run_id), what=f"the review of {run_id}")
        await workspace.click(REVIEWER, review["ts"], "maple_approve")
    for run_id in runs[:3]:
        await maple.wait_state(run_id, "delivered")
    await open_page(page, workspace, REVIEWER)
    await page.get_by_test_id("dm-maple").click()
    waiting = page.get_by_test_id("message").filter(has_text=runs[3]).get_by_test_id("button-maple_approve")
    await waiting.wait_for()
    assert (await scroll_state(page))["height"] > (await scroll_state(page))["client"]  # more than a screen
    assert await in_window(page, waiting), "the waiting review's Approve button is below the window"
    await page.screenshot(path=screenshot_path("12-reviewer-sees-the-waiting-review"))
    await waiting.click()
    await maple.wait_state(runs[3], "delivered")


async def test_the_message_box_shows_where_the_focus_is(page: Any, workspace: Workspace) -> None:
    await open_page(page, workspace, REQUESTER)
    composer = page.get_by_test_id("composer")
    ring = "e => getComputedStyle(e).boxShadow"
    await page.get_by_test_id("message-list").focus()
    assert await composer.evaluate(ring) == "none"
    await page.keyboard.press("Tab")  # from the conversation to the message box
    assert await page.evaluate("document.activeElement.dataset.testid") == "composer-input"
    shadow = await composer.evaluate(ring)
    assert shadow != "none" and "2px" in shadow, shadow
    assert contrast(shadow) >= 3, f"the focus ring's contrast is {contrast(shadow):.2f}:1 (WCAG asks 3:1)"
    await page.screenshot(path=screenshot_path("13-message-box-focused"))


async def test_modals_are_dialogs(page: Any, workspace: Workspace, slack: AsyncWebClient) -> None:
    await open_page(page, workspace, REQUESTER)
    await page.get_by_test_id("composer-input").focus()
    await slack.views_open(trigger_id=workspace.state.issue_trigger(REQUESTER, GENERAL), view=MODAL)
    modal = page.get_by_role("dialog", name="Add a note")
    await modal.wait_for()
    assert await modal.get_attribute("aria-modal") == "true"
    assert await page.evaluate("document.activeElement.dataset.testid") == "input-note"  # focus moved in
    assert await page.evaluate("document.getElementById('app').inert")  # the page behind is out of reach
    for _ in range(5):
        await page.keyboard.press("Tab")
        assert await page.evaluate("!!document.activeElement.closest('[role=dialog]')"), "focus left the modal"
    await page.keyboard.press("Shift+Tab")
    assert await page.evaluate("!!document.activeElement.closest('[role=dialog]')")
    await page.screenshot(path=screenshot_path("14-modal-dialog"))
    await page.keyboard.press("Escape")
    await modal.wait_for(state="detached")
    assert workspace.modal(REQUESTER) is None
    assert await page.evaluate("document.activeElement.dataset.testid") == "composer-input"  # focus is back
    assert not await page.evaluate("document.getElementById('app').inert")


async def test_news_elsewhere_is_marked_unread(page: Any, maple: Harness, workspace: Workspace) -> None:
    await open_page(page, workspace, REVIEWER)  # Rob reads #general…
    status, body = await workspace.slash(REQUESTER, GENERAL, GOAL)  # …while Rita's goal goes to review
    badge = page.get_by_test_id("unread-D0REVIEW")
    await badge.filter(has_text="1").wait_for()
    assert "unread" in (await page.get_by_test_id("dm-maple").get_attribute("class") or "")
    workspace.people.say(ADMIN, REVIEW_CHANNEL, "can someone look at the supplier draft?")
    workspace.people.say(REVIEWER, REVIEW_CHANNEL, "my own message is never unread to me")
    await page.get_by_test_id(f"unread-{REVIEW_CHANNEL}").filter(has_text="1").wait_for()
    await page.screenshot(path=screenshot_path("15-unread-badges"))
    assert await page.get_by_test_id(f"unread-{GENERAL}").count() == 0  # the conversation on screen
    await page.get_by_test_id("dm-maple").click()
    await page.get_by_test_id("message").filter(has_text="Draft for review").wait_for()
    await badge.wait_for(state="detached")
    await open_page(page, workspace, REVIEWER)  # seen stays seen
    assert await page.get_by_test_id("unread-D0REVIEW").count() == 0
    assert await page.get_by_test_id(f"unread-{REVIEW_CHANNEL}").count() == 1
    assert status == 200 and body


async def test_text_contrast_meets_wcag_aa_everywhere(page: Any, maple: Harness, workspace: Workspace,
                                                      slack: AsyncWebClient) -> None:
    workspace.people.say(ADMIN, GENERAL, "ping @rob.reviewer: `code`, <#C0REVIEW|maple-review> and a <link>")
    await workspace.slash(REQUESTER, GENERAL, GOAL)
    await maple.wait_for(lambda: any("Draft for review" in m["text"] for m in workspace.messages(REVIEWER)),
                         what="the review")
    await slack.chat_postEphemeral(channel=GENERAL, user=REVIEWER, text="Only you can see this ephemeral note")
    await open_page(page, workspace, REVIEWER)  # with an unread review in the sidebar
    await page.get_by_test_id("ephemeral").wait_for()
    await page.get_by_test_id("composer-input").fill("")
    problems = await audit(page)  # the sidebar (hint, unread badge), #general: messages, mentions, ephemeral
    await page.get_by_test_id("dm-maple").click()
    review = page.get_by_test_id("message").filter(has_text="Draft for review")
    await review.get_by_test_id("button-maple_reject").wait_for()
    problems += await audit(page)  # a review: header, fields, context, Approve / Edit / Reject
    await review.get_by_test_id("button-maple_reject").click()
    await page.get_by_test_id("modal").wait_for()
    problems += await audit(page)  # a modal with its placeholder
    await page.get_by_test_id("modal-close").click()
    await page.get_by_test_id("app-home").click()
    await page.get_by_test_id("home-view").wait_for()
    problems += await audit(page)
    assert not problems, "\n".join(problems)


async def test_app_messages_carry_no_edited_mark(page: Any, workspace: Workspace, slack: AsyncWebClient) -> None:
    posted = await slack.chat_postMessage(channel=GENERAL, text="Draft for review")
    await slack.chat_update(channel=GENERAL, ts=posted["ts"], text="Approved by <@U0REVIEW>")
    await open_page(page, workspace, REQUESTER)
    message = page.get_by_test_id("message").filter(has_text="Approved by @rob.reviewer")
    await message.wait_for()
    assert "(edited)" not in await message.inner_text()
    assert workspace.messages(GENERAL)[0].get("edited")  # updated, as Slack records it, just not marked


async def test_private_channels_show_a_lock(page: Any, workspace: Workspace) -> None:
    await open_page(page, workspace, REVIEWER)
    private = page.get_by_test_id(f"channel-{REVIEW_CHANNEL}")
    public = page.get_by_test_id(f"channel-{GENERAL}")
    assert await private.locator("svg[data-icon=lock]").count() == 1
    assert (await private.inner_text()).strip() == "maple-review"  # no "#" (nor the old "◆")
    assert await private.get_by_role("img", name="private channel").count() == 1
    assert (await public.inner_text()).replace("\n", "").startswith("#")
    await private.click()
    assert await page.get_by_test_id("channel-title").locator("svg[data-icon=lock]").count() == 1
    assert (await page.get_by_test_id("channel-title").inner_text()).strip() == "maple-review"
    await page.screenshot(path=screenshot_path("16-private-channel"))


EMOJI_FONT_GLYPHS = re.compile("[\u2600-\u27bf\U0001f300-\U0001faff\ufe0f]")


async def test_states_do_not_depend_on_an_emoji_font(page: Any, workspace: Workspace,
                                                     slack: AsyncWebClient) -> None:
    await slack.chat_postMessage(channel=GENERAL, text="states", blocks=[
        {"type": "header", "text": {"type": "plain_text", "text": ":hourglass: Waiting for review", "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": ":white_check_mark: Approved by <@U0REVIEW>"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": ":x: Rejected · :warning: check · :sparkles:"}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": ":double_vertical_bar: paused · :+1: 1 · :-1: 0"}]},
        {"type": "actions", "elements": [{"type": "button", "action_id": "b", "text": {
            "type": "plain_text", "text": ":pencil2: Edit", "emoji": True}}]}])
    await open_page(page, workspace, REQUESTER)
    message = page.get_by_test_id("message").filter(has_text="Approved by")
    await message.wait_for()
    for code in ("hourglass", "white_check_mark", "x", "warning", "pencil2", "double_vertical_bar", "+1", "-1"):
        icon = message.locator(f".emoji[data-emoji='{code}']")
        assert await icon.locator("svg").count() == 1, code
        box = await icon.bounding_box()
        assert box and box["width"] > 8 and box["height"] > 8, code  # drawn, not an empty box
        assert await icon.get_attribute("aria-label"), code
    text = await message.inner_text()
    assert not EMOJI_FONT_GLYPHS.search(text), text  # nothing left for an emoji font to draw
    assert ":sparkles:" in text  # a code with no drawing stays the code, as Slack shows unknown ones
    await page.screenshot(path=screenshot_path("17-states-without-an-emoji-font"))


async def test_typed_channel_names_become_channel_links(page: Any, workspace: Workspace) -> None:
    from tests.unit.workspace_receiver import Receiver

    receiver = Receiver()
    await receiver.start()
    workspace.maple_url = receiver.url
    try:
        await open_page(page, workspace, REVIEWER)
        await type_in(page, "/maple summarize #maple-review for @rita.requester")
        await _wait(lambda: receiver.received)
        assert receiver.last_form()["text"] == \
            "summarize <#C0REVIEW|maple-review> for <@U0REQUEST|rita.requester>"  # as Slack escapes them
        await page.get_by_test_id("dm-maple").click()
        await type_in(page, "what was said in #general and #maple-review?")
        await _wait(lambda: len(receiver.received) == 2)
        event = receiver.last_event()
        assert event["text"] == "what was said in <#C0GENERAL|general> and <#C0REVIEW|maple-review>?"
        shown = page.get_by_test_id("message").filter(has_text="what was said in")
        assert await shown.locator(".channel-mention").all_inner_texts() == ["#general", "#maple-review"]
        await act_as(page, "U0OUTSIDE")  # not in #maple-review: Slack never links it for them
        await page.get_by_test_id(f"channel-{GENERAL}").click()
        await type_in(page, "/maple summarize #maple-review")
        await _wait(lambda: len(receiver.received) == 3)
        assert receiver.last_form()["text"] == "summarize #maple-review"
    finally:
        await receiver.stop()


async def _wait(condition: Any) -> None:
    import asyncio

    for _ in range(2400):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the workspace sent nothing to Maple")
