"""A streamed answer in the local workspace's page: asked in the DM with Maple, it grows in the thread as the fake
model writes (chat.startStream / appendStream through the workspace's Web API, rendered live), then becomes the
checked answer with its sources."""

from __future__ import annotations

from typing import Any

import pytest

from bot.cli_ingest import SAMPLE
from tests.browser.conftest import screenshot_path
from tests.browser.test_workspace_browser import open_page, type_in
from tests.fakes.openai_api import FakeOpenAI
from tests.harness import Harness, spec_dict
from tests.knowledge_corpus import Corpus
from workspace import REQUESTER, Workspace

pytestmark = pytest.mark.browser

ANSWER = ("The meal allowance is $75 per day while travelling for work [1]. Keep every receipt and submit them "
          "within thirty days of your return, with the trip's purchase order number on the claim form [1]. "
          "Alcohol is never reimbursed, and tips above fifteen percent are paid by the traveller [1]. "
          "Ask your manager before booking anything that is not in the travel policy, and book through the "
          "company's travel desk so the trip is covered by its insurance [1].")


@pytest.fixture
async def streaming_maple(workspace: Workspace, openai_fake: FakeOpenAI,
                          monkeypatch: pytest.MonkeyPatch) -> Any:
    from tests.browser.conftest import _SlackAt

    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    openai_fake.reply, openai_fake.chunk_delay, openai_fake.chunk_chars = ANSWER, 0.08, 6
    spec = spec_dict()
    spec["models"][0]["timeout"] = 60  # the slow stream (a few seconds) stays within the model's deadline
    harness = Harness(slack=_SlackAt(workspace), openai=openai_fake, spec=spec,  # type: ignore[arg-type]
                      streaming=True)
    await harness.start()
    workspace.maple_url = harness.url + "/slack/events"
    yield harness
    await harness.stop()
    await harness.cleanup_redis()


async def test_an_answer_grows_live_in_its_thread(page: Any, workspace: Workspace, streaming_maple: Harness) -> None:
    maple = streaming_maple
    corpus = Corpus(spec=maple.svc.spec, prefix=maple.prefix)
    try:
        await corpus.ingest.run(collection="handbook", paths=[SAMPLE])
        await open_page(page, workspace, REQUESTER)
        await page.get_by_test_id("dm-maple").click()
        await type_in(page, "run ask what is the meal allowance when travelling?")
        asked = page.get_by_test_id("message").filter(has_text="meal allowance when travelling?")
        await asked.get_by_test_id("thread-link").filter(has_text="repl").wait_for()
        await asked.get_by_test_id("thread-link").click()
        growing = page.locator("#thread-messages [data-streaming='true']")
        await growing.wait_for()
        first = await _length(growing)
        # the same message, longer: appended to while it is on screen (no reload, the page's live updates)
        await page.wait_for_function(
            "([n]) => { const m = document.querySelector(\"#thread-messages [data-streaming='true'] "
            "[data-testid='message-content']\"); return m && m.innerText.length > n; }", arg=[first])
        await page.screenshot(path=screenshot_path("streaming-growing"))
        shown = await growing.get_by_test_id("message-content").inner_text()
        assert shown and ANSWER.startswith(shown.strip()[:40])
        ts = await growing.get_attribute("data-ts")
        done = page.locator(f"#thread-messages [data-ts='{ts}']").filter(has_text="Sources")
        await done.wait_for()
        await page.screenshot(path=screenshot_path("streaming-done"))
        assert await done.get_attribute("data-streaming") is None
        final = await done.inner_text()
        assert "travel desk" in final and "$75 per day" in final
        methods = [c.method for c in workspace.calls()]
        assert "chat.startStream" in methods and methods.count("chat.appendStream") >= 2
        assert "chat.stopStream" in methods
    finally:
        await corpus.close()


async def _length(locator: Any) -> int:
    return len(await locator.get_by_test_id("message-content").inner_text())
