"""Logs are JSON lines with run ids and never contain tokens, secrets, goals or drafts."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import setup_logging
from tests.harness import REVIEWER, SECRET, TOKEN, Harness
from tests.scenario.test_loop import start_draft

GOAL = "draft a note about Project Nightingale's confidential budget"


async def test_logs_hold_no_secrets_goals_or_drafts(harness: Harness) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    buf = io.StringIO()
    setup_logging("DEBUG", stream=buf)
    try:
        harness.openai.reply = "UNIQUE-DRAFT-TEXT about the budget"
        run_id = await start_draft(harness, GOAL)
        await harness.click(REVIEWER, "maple_approve", run_id)
        await harness.wait_state(run_id, "delivered")
        await harness.slash("U0OUTSIDE", "run draft " + "y" * 5000)  # a refused, oversized goal
        logging.getLogger("maple.test").error("boom with %s", TOKEN)
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    out = buf.getvalue()
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert lines and all("level" in entry and "msg" in entry for entry in lines)
    assert any(entry.get("run_id") == run_id for entry in lines)
    for forbidden in (TOKEN, SECRET, "sk-test-secret-key", "Nightingale", "UNIQUE-DRAFT-TEXT", "yyyyyyyy"):
        assert forbidden not in out, forbidden
