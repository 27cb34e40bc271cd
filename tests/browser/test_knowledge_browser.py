"""A cited answer in the local workspace's page, from the sample collection `make run` ships."""

from __future__ import annotations

from typing import Any

import pytest

from bot.cli_ingest import SAMPLE
from tests.browser.conftest import screenshot_path
from tests.browser.test_workspace_browser import open_page, type_in
from tests.harness import Harness
from tests.knowledge_corpus import Corpus
from workspace import REQUESTER, Workspace

pytestmark = pytest.mark.browser


async def test_a_question_gets_an_answer_with_its_sources(page: Any, workspace: Workspace, maple: Harness) -> None:
    corpus = Corpus(spec=maple.svc.spec, prefix=maple.prefix)
    try:
        await corpus.ingest.run(collection="handbook", paths=[SAMPLE])
        await _ask(page, workspace, maple)
    finally:
        await corpus.close()


async def _ask(page: Any, workspace: Workspace, maple: Harness) -> None:
    maple.openai.reply = "The meal allowance is $75 per day while travelling [1]."
    await open_page(page, workspace, REQUESTER)
    await type_in(page, "/maple run ask what is the meal allowance when travelling?")
    # the handbook is readable by Maple's users, not by everyone who can join #general: the answer comes privately
    await page.get_by_test_id("dm-maple").click()
    answer = page.get_by_test_id("message").filter(has_text="Sources")
    try:
        await answer.wait_for()
    finally:
        await page.screenshot(path=screenshot_path("knowledge-answer"))
    await page.screenshot(path=screenshot_path("knowledge-answer"))
    shown = await answer.inner_text()
    assert "$75 per day" in shown and "[1] Business Travel — Meals and per diem" in shown
    link = answer.locator("a", has_text="Business Travel")
    assert await link.get_attribute("href") == "https://intranet.birchwood.example/policies/travel"
