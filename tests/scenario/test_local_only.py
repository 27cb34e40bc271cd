"""A fresh install with no key at all works end to end on the embedded model, in the local workspace."""

from __future__ import annotations

import pytest
import yaml

from bot.core import text
from config.settings import DEFAULT_CONFIG
from tests.fakes.openai_api import FakeOpenAI
from tests.harness import REQUESTER, REVIEWER, SECRET, TOKEN, Harness
from tests.scenario.test_loop import run_id_of
from workspace import build_workspace

pytestmark = pytest.mark.llama


class _At:
    def __init__(self, url: str) -> None:
        self.url = url


async def test_shipped_config_without_a_key_drafts_on_the_local_model(
    openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["roles"] = {"user": [REQUESTER, REVIEWER], "reviewer": ["S0REVIEWERS"], "admin": []}
    data["models"][0]["max_tokens"] = 48  # keep the test quick; the shipped default is larger
    async with build_workspace(signing_secret=SECRET, maple_url="", bot_token=TOKEN) as ws:
        h = Harness(slack=_At(ws.api_url), openai=openai_fake, spec=data)  # type: ignore[arg-type]
        await h.start()
        ws.maple_url = h.url + "/slack/events"
        try:
            assert sorted(h.maple.models) == ["local"]  # type: ignore[union-attr]
            status, body = await ws.slash(REQUESTER, "C0GENERAL", "draft a short thank-you note to the team")
            assert status == 200 and "Working on it" in str(body)
            run_id = run_id_of({"text": str(body)})
            run = await h.wait_state(run_id, "in_review", timeout=180)
            assert run.routes[0].chosen == "local" and "demo model" in str(text.notes_msg(run.drafts[0].notes))
            assert run.drafts[0].text.strip()
            review = await h.wait_for(lambda: [p for p in ws.posted() if "review:" in str(p.get("metadata"))],
                                      what="the review post")
            message = next(m for m in ws.messages(review[0]["channel"]) if "Draft for review" in m["text"])
            await ws.click(REVIEWER, message["ts"], "maple_approve")
            await h.wait_state(run_id, "delivered")
            assert any(run.id in str(m.get("blocks")) for m in ws.messages("C0GENERAL"))
        finally:
            await h.stop()
            await h.cleanup_redis()
