"""Sensitive goals never reach an external model that is not cleared for them (fail closed)."""

from __future__ import annotations

import pytest

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import ADMIN, REQUESTER, REVIEWER, Harness, spec_dict
from tests.scenario.test_loop import review_posts, run_id_of

SIN_GOAL = "run draft a letter to Luc Tremblay about his SIN 130 692 544 being on the wrong form"
HEALTH_GOAL = "run draft a note for Priya: OHIP 1286-844-020-AB, diagnosed with diabetes, on metformin"
LOCAL = {"name": "local", "kind": "local-gguf", "tier": "demo", "clearance": "restricted", "max_tokens": 48,
         "context_window": 2048, "timeout": 120}


async def test_sin_with_only_an_external_model_is_refused(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, SIN_GOAL)
    run_id = run_id_of(reply)
    run = await h.wait_state(run_id, "refused")
    assert "restricted data" in (run.error or "") and "Nothing was sent" in (run.error or "")
    assert h.openai.requests == []  # the external endpoint received nothing at all
    told = await h.wait_for(lambda: [p for p in h.slack.posted("D0REQUEST") if "refused" in p["text"]],
                            what="refusal")
    assert "130 692 544" not in str(told)
    _, status = await h.slash(REQUESTER, f"status {run_id}")
    assert "Refused:" in status["text"]


@pytest.mark.llama
async def test_health_card_goes_to_the_local_model(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    data = spec_dict()
    data["models"] = [LOCAL, *data["models"]]
    h = Harness(slack=slack, openai=openai_fake, spec=data)
    await h.start()
    try:
        _, reply = await h.slash(REQUESTER, HEALTH_GOAL)
        run_id = run_id_of(reply)
        run = await h.wait_state(run_id, "in_review", timeout=180)
        assert run.sensitivity.label == "restricted" and run.sensitivity_hits["health_card"] == 1
        assert run.routes[0].chosen == "local" and "openai" in run.routes[0].skipped
        assert "clearance internal < restricted" in run.routes[0].skipped["openai"]
        assert openai_fake.requests == []
        await h.wait_for(lambda: review_posts(h, run_id), what="review posts")
        _, admin = await h.slash(ADMIN, f"audit {run_id}")
        assert "sensitivity.assessed" in admin["text"]
        # an internal goal in the same deployment goes to the external model
        _, reply = await h.slash(REVIEWER, "run draft a thank-you note to the facilities team")
        other = await h.wait_state(run_id_of(reply), "in_review")
        assert other.routes[0].chosen == "openai" and len(openai_fake.requests) == 1
    finally:
        await h.stop()
        await h.cleanup_redis()
