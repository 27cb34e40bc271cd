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


async def test_a_summary_review_says_what_it_read_where_it_posts_and_its_level(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, "run summarize this channel")
    run_id = run_id_of(reply)
    posts = await h.wait_for(lambda: review_posts(h, run_id), what="the review")
    fields = " ".join(f["text"] for f in posts[0]["blocks"][1]["fields"])
    assert f"*Read from*\n<#{CHANNEL}>" in fields
    assert f"*Approve posts to*\n<#{CHANNEL}> — public channel" in fields and "*Sensitivity*\nInternal" in fields
    assert posts[0]["blocks"][0]["text"]["text"] == "Draft for review"
    await h.click(REVIEWER, "maple_approve", run_id)
    await h.wait_state(run_id, "delivered")
    headers = [u.params["blocks"][0]["text"]["text"] for u in h.slack.calls_to("chat.update")
               if u.params.get("blocks") and u.params["blocks"][0]["type"] == "header"]
    assert "Approved" in headers


def run_message(h: Harness, run_id: str) -> str:
    """The requester's run message as it is now (the fake keeps each message with its updates)."""
    found = [m for m in h.slack.messages["D0REQUEST"]
             if (m.get("metadata") or {}).get("event_payload") == {"run_id": run_id, "effect": "progress"}]
    assert len(found) <= 1, "one run message"
    return str(found[0]["blocks"]) if found else ""


async def test_the_run_message_follows_the_run_and_offers_revise(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, "run draft a reply to the supplier about the late shipment")
    assert "direct messages" in reply["text"] and "late shipment" not in reply["text"]  # the ack is logged
    run_id = run_id_of(reply)
    await h.wait_for(lambda: len(review_posts(h, run_id)) >= 2, what="the reviews")
    await h.wait_for(lambda: "With reviewers" in run_message(h, run_id), what="with reviewers")
    assert f"<@{REVIEWER}>" in run_message(h, run_id)
    await h.click(REVIEWER, "maple_reject", run_id)
    await h.submit(REVIEWER, "maple_reject_view", run_id, {"reason": "mention the new date"})
    await h.wait_for(lambda: "Rejected by" in run_message(h, run_id), what="rejected")
    assert "maple_revise" in run_message(h, run_id)
    told = await h.wait_for(lambda: [p for p in h.slack.posted("D0REQUEST") if "mention the new date" in p["text"]],
                            what="the rejection told")  # it may follow the run message's update
    assert told[0].get("thread_ts") and "late shipment" in told[0]["text"]
    await h.interact({"type": "block_actions", "user": {"id": REQUESTER}, "channel": {"id": "D0REQUEST"},
                      "trigger_id": "t3", "actions": [{"action_id": "maple_revise", "value": run_id,
                                                       "type": "button", "action_ts": "1.4"}]})
    modal = h.slack.calls_to("views.open")[-1].params["view"]
    assert "late shipment" in str(modal) and "mention the new date" in str(modal)
    status, _ = await h.interact({
        "type": "view_submission", "user": {"id": REQUESTER},
        "view": {"id": "V2", "type": "modal", "callback_id": "maple_revise_view", "private_metadata": run_id,
                 "state": {"values": {"goal": {"text": {"type": "plain_text_input",
                                                        "value": "draft a reply about the shipment, new date May 3"}}}}}})
    assert status == 200
    again = await h.wait_for(lambda: [p for p in h.slack.posted("D0REQUEST") if "May 3" in p["text"]
                                      and p["metadata"]["event_payload"]["effect"] == "progress"],
                             what="the revised run's message")
    assert again[0]["metadata"]["event_payload"]["run_id"] != run_id


async def test_the_requester_cancels_from_the_run_message(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, "run draft a reply to the supplier about the late shipment")
    run_id = run_id_of(reply)
    await h.wait_for(lambda: "maple_cancel" in run_message(h, run_id), what="cancel offered")
    await h.interact({"type": "block_actions", "user": {"id": REQUESTER}, "channel": {"id": "D0REQUEST"},
                      "trigger_id": "t4", "actions": [{"action_id": "maple_cancel", "value": run_id,
                                                       "type": "button", "action_ts": "1.5"}]})
    await h.wait_state(run_id, "cancelled")
    await h.wait_for(lambda: "Cancelled by" in run_message(h, run_id), what="cancelled shown")
    assert not [p for p in h.slack.posted(CHANNEL) if p["metadata"]["event_payload"]["effect"] == "result"]


async def home_of(h: Harness, user: str) -> str:
    before = len(h.slack.calls_to("views.publish"))
    await h.event({"type": "app_home_opened", "user": user, "tab": "home"})
    published = await h.wait_for(lambda: h.slack.calls_to("views.publish")[before:], what=f"home of {user}")
    assert published[-1].params["user_id"] == user
    return str(published[-1].params["view"])


async def test_app_home_per_person(lone: Harness) -> None:
    h = lone
    run_id = await edited_by_the_only_reviewer(h)
    await h.wait_for(lambda: [p for p in h.slack.posted("D0ADMIN") if "stuck" in p["text"]], what="stuck")
    requester = await home_of(h, REQUESTER)
    assert "Your runs" in requester and "late shipment" in requester and "Needs attention" not in requester
    reviewer = await home_of(h, REVIEWER)
    assert "Waiting for your review" in reviewer and "stuck" in reviewer
    admin = await home_of(h, ADMIN)
    assert "Needs attention" in admin and "maple_take" in admin and run_id in admin
    await h.interact({"type": "block_actions", "user": {"id": ADMIN}, "container": {"type": "view", "view_id": "V9"},
                      "trigger_id": "t5", "actions": [{"action_id": "maple_cancel", "value": run_id,
                                                       "type": "button", "action_ts": "1.6"}]})
    await h.wait_state(run_id, "cancelled")
    republished = h.slack.calls_to("views.publish")[-1].params
    assert republished["user_id"] == ADMIN and "cancelled" in str(republished["view"])


async def test_an_outsiders_mention_is_refused_privately_naming_the_admins(harness: Harness) -> None:
    h = harness
    await h.event({"type": "app_mention", "user": "U0OUTSIDE", "channel": CHANNEL, "ts": "100.1",
                   "text": "<@U0MAPLE> draft a note for everyone"})
    refusal = await h.wait_for(lambda: [c.params for c in h.slack.calls_to("chat.postEphemeral")
                                        if c.params["user"] == "U0OUTSIDE"], what="the private refusal")
    assert f"<@{ADMIN}>" in refusal[0]["text"]
    assert not [p for p in h.slack.posted(CHANNEL) if "access" in p.get("text", "")], "nothing public"
