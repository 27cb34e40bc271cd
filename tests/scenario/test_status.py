"""``/maple status`` over signed requests: plain words, the reader's own zone (users.info tz), who reviews and for
how long, and a precise answer to each mistake (no id, not an id, an unknown run, a bare ``/maple audit``)."""

from __future__ import annotations

import re

from tests.harness import ADMIN, REQUESTER, Harness
from tests.scenario.test_loop import GOAL, start_draft


async def test_status_in_plain_words_and_the_readers_zone(harness: Harness) -> None:
    h = harness
    h.slack.zones[ADMIN] = "Europe/Paris"
    run_id = await start_draft(h)
    _, mine = await h.slash(REQUESTER, f"status {run_id}")
    said = mine["text"]
    assert said.startswith(f"*{GOAL}* — run {run_id}")  # the run is named by its goal
    assert "Waiting for review by <@U0REVIEW>, <@U0REVIEW2> for " in said
    assert "Written by the openai model: the least costly model good enough" in said
    assert "Times are in America/Toronto" in said and re.search(r"since \w{3} \d\d \w{3} \d{4} \d\d:\d\d E[SD]T", said)
    for jargon in ("tier", "eligible", "skipped", "UTC", "in_review"):
        assert jargon not in said, jargon
    _, admin = await h.slash(ADMIN, f"status {run_id}")
    assert "Times are in Europe/Paris" in admin["text"] and re.search(r"\d\d:\d\d CES?T", admin["text"])
    asked = [c for c in h.slack.calls if c.method == "users.info" and c.params.get("user") == ADMIN]
    assert asked and str(asked[0].params.get("include_locale")).lower() == "true"


async def test_each_mistake_gets_its_own_answer(harness: Harness) -> None:
    h = harness
    _, unknown = await h.slash(REQUESTER, "status R-AAAAAAAAAAAAAAAA")
    assert "can't find run R-AAAAAAAAAAAAAAAA" in unknown["text"] and "didn't understand" not in unknown["text"]
    _, typo = await h.slash(REQUESTER, "status R-123")
    assert "“R-123” is not a run id" in typo["text"] and "/maple &lt;goal&gt;" not in typo["text"]
    _, bare_audit = await h.slash(ADMIN, "audit")
    assert "Say which run: `/maple audit R-…`" in bare_audit["text"] and "didn't understand" not in bare_audit["text"]
    _, bare = await h.slash(REQUESTER, "status")
    assert "Say which run" in bare["text"] and "latest runs" not in bare["text"]
    run_id = await start_draft(h)
    _, bare = await h.slash(REQUESTER, "status")
    assert f"Your latest runs: {run_id}" in bare["text"]
