"""The first hour, over signed Slack requests: nobody left to approve after an edit, admins taking over or
cancelling, unreviewed text kept out of public channels and labelled where it is read."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import ADMIN, CHANNEL, REQUESTER, REVIEWER, Harness, spec_dict
from tests.scenario.test_loop import review_posts, run_id_of

ONE_REVIEWER = {"user": [REQUESTER, REVIEWER, ADMIN], "reviewer": [REVIEWER], "admin": [ADMIN]}


@pytest.fixture
async def lone(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    """Maple with one reviewer."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    h = Harness(slack=slack, openai=openai_fake, spec=spec_dict(roles=ONE_REVIEWER))
    await h.start()
    yield h
    await h.stop()
    await h.cleanup_redis()


def buttons(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def edited_by_the_only_reviewer(h: Harness) -> str:
    _, reply = await h.slash(REQUESTER, "run draft a reply to the supplier about the late shipment")
    run_id = run_id_of(reply)
    await h.wait_for(lambda: review_posts(h, run_id), what="the review")
    await h.click(REVIEWER, "maple_edit", run_id)
    modal = h.slack.calls_to("views.open")[-1].params["view"]
    assert "Nobody else can approve" in str(modal), "said before the edit"
    await h.submit(REVIEWER, "maple_edit_view", run_id, {"draft_0": "Dear supplier, please expedite."})
    return run_id


async def test_edit_by_the_only_reviewer_is_explained_and_an_admin_takes_it(lone: Harness) -> None:
    h = lone
    run_id = await edited_by_the_only_reviewer(h)
    admin_dm = await h.wait_for(lambda: [p for p in h.slack.posted("D0ADMIN") if "stuck" in p["text"]],
                                what="the admins are asked")
    assert {"maple_take", "maple_cancel"} <= set(buttons(admin_dm[0]["blocks"]))
    told = await h.wait_for(lambda: [p for p in h.slack.posted("D0REQUEST") if "nobody left" in p["text"]],
                            what="the requester is told")
    assert f"<@{ADMIN}>" in told[0]["text"]
    updated = [u.params for u in h.slack.calls_to("chat.update") if u.params["channel"] == "D0REVIEW"]
    assert updated and "maple_approve" not in buttons(updated[-1]["blocks"])
    assert "You edited this version" in str(updated[-1]["blocks"])
    _, status = await h.slash(REQUESTER, f"status {run_id}")
    assert "Stuck" in status["text"]
    await h.interact({"type": "block_actions", "user": {"id": ADMIN}, "channel": {"id": "D0ADMIN"},
                      "trigger_id": "t1", "actions": [{"action_id": "maple_take", "value": run_id,
                                                       "type": "button", "action_ts": "1.2"}]})
    await h.wait_for(lambda: [p for p in review_posts(h, run_id) if p["channel"] == "D0ADMIN"],
                     what="the draft in the admin's DM")
    await h.click(ADMIN, "maple_approve", run_id, channel="D0ADMIN")
    await h.wait_state(run_id, "delivered")


async def test_the_requester_cancels_a_stuck_run_and_nothing_is_posted(lone: Harness) -> None:
    h = lone
    run_id = await edited_by_the_only_reviewer(h)
    await h.interact({"type": "block_actions", "user": {"id": REQUESTER}, "channel": {"id": "D0REQUEST"},
                      "trigger_id": "t2", "actions": [{"action_id": "maple_cancel", "value": run_id,
                                                       "type": "button", "action_ts": "1.3"}]})
    await h.wait_state(run_id, "cancelled")
    await h.wait_for(lambda: [u for u in h.slack.calls_to("chat.update")
                              if u.params["channel"] == "D0REVIEW" and "Cancelled by" in str(u.params["blocks"])],
                     what="the review message says cancelled")
    assert not [p for p in h.slack.posted(CHANNEL) if p["metadata"]["event_payload"]["effect"] == "result"]


async def test_ask_back_never_offers_the_digest(harness: Harness) -> None:
    _, reply = await harness.slash(REQUESTER, "hmm")
    labels = [e["text"]["text"] for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert labels and "Digest" not in labels


async def test_a_digest_a_person_starts_goes_to_them_alone_and_says_it_is_unreviewed(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, "run digest of this channel")
    assert "review" not in reply["text"].replace("no one reviews", "") and "you alone" in reply["text"]
    run = await h.wait_state(run_id_of(reply), "delivered", "failed")
    assert run.state.value == "delivered"
    result = [p for p in h.slack.posted() if p["metadata"]["event_payload"].get("effect") == "result"]
    assert [p["channel"] for p in result] == ["D0REQUEST"], "never in the public channel"
    assert "Not reviewed" in str(result[0]["blocks"][0])
