"""The whole loop over signed HTTP: goal → draft → review → approve → delivered."""

from __future__ import annotations

import re

from tests.harness import ADMIN, CHANNEL, OUTSIDER, REQUESTER, REVIEWER, Harness

GOAL = "draft a reply to the supplier about the late shipment"


def run_id_of(reply: dict) -> str:
    match = re.search(r"R-[0-9A-Z]{16}", reply["text"])
    assert match, reply
    return match.group(0)


async def start_draft(h: Harness, goal: str = GOAL, *, user: str = REQUESTER, reviews: int = 2) -> str:
    status, reply = await h.slash(user, f"run draft {goal}")
    assert status == 200
    assert "Working on it" in reply["text"]
    assert reply.get("response_type") == "ephemeral"
    run_id = run_id_of(reply)
    await h.wait_state(run_id, "in_review")
    await h.wait_for(lambda: len(review_posts(h, run_id)) >= reviews, what="review posts")
    return run_id


def review_posts(h: Harness, run_id: str) -> list[dict]:
    return [p for p in h.slack.posted() if (p.get("metadata") or {}).get("event_payload", {}).get("effect", "")
            .startswith("review:") and p["metadata"]["event_payload"]["run_id"] == run_id]


async def test_whole_loop(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)
    posts = review_posts(h, run_id)
    assert {p["channel"] for p in posts} == {"D0REVIEW", "D0REVIEW2"}  # approvers' DMs, not the public channel
    blocks = posts[0]["blocks"]
    actions = next(b for b in blocks if b["type"] == "actions")
    ids = [e["action_id"] for e in actions["elements"]]
    assert any("approve" in i for i in ids) and any("edit" in i for i in ids) and any("reject" in i for i in ids)
    flat = str(blocks)
    assert "late shipment" in flat and REQUESTER in flat and run_id in flat and "openai" in flat
    assert posts[0]["unfurl_links"] is False

    status, _ = await h.click(REVIEWER, "maple_approve", run_id)
    assert status == 200
    run = await h.wait_state(run_id, "delivered")
    assert run.decision and run.decision.by == REVIEWER
    result = [p for p in h.slack.posted(CHANNEL) if p["metadata"]["event_payload"]["effect"] == "result"]
    assert len(result) == 1 and "shipment is delayed" in str(result[0]["blocks"])
    updates = h.slack.calls_to("chat.update")
    assert any("Approved by" in str(u.params.get("blocks")) for u in updates)
    told = [p for p in h.slack.posted("D0REQUEST") if "approved" in p.get("text", "")]
    assert told, "the requester is told"
    # the model saw the goal
    assert GOAL in h.openai.texts_received()


async def test_outsider_and_self_approval_refused(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h, user=REVIEWER, reviews=1)  # a reviewer asking for a draft of their own
    assert {p["channel"] for p in review_posts(h, run_id)} == {"D0REVIEW2"}  # not sent to themselves
    await h.click(OUTSIDER, "maple_approve", run_id)
    await h.click(REQUESTER, "maple_approve", run_id)
    await h.click(REVIEWER, "maple_approve", run_id)
    run = await h.run(run_id)
    assert run.state.value == "in_review" and run.decision is None
    refusals = [c.params for c in h.slack.calls_to("chat.postEphemeral")]
    assert {r["user"] for r in refusals} == {OUTSIDER, REQUESTER, REVIEWER}
    assert any("Only the reviewers" in r["text"] for r in refusals)
    assert any("own request" in r["text"] for r in refusals)


async def test_reject_with_reason(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)
    await h.click(REVIEWER, "maple_reject", run_id)
    opened = h.slack.calls_to("views.open")
    assert opened and "Reason" in str(opened[-1].params["view"])
    status, body = await h.submit(REVIEWER, "maple_reject_view", run_id, {"reason": ""})
    assert body["response_action"] == "errors"
    status, body = await h.submit(REVIEWER, "maple_reject_view", run_id, {"reason": "tone is too casual"})
    assert status == 200
    await h.wait_state(run_id, "rejected")
    await h.wait_for(lambda: [p for p in h.slack.posted("D0REQUEST") if "tone is too casual" in p["text"]],
                     what="requester told with reason")
    assert not [p for p in h.slack.posted(CHANNEL) if p["metadata"]["event_payload"]["effect"] == "result"]


async def test_edit_then_approve_keeps_both_versions(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)
    await h.click(REVIEWER, "maple_edit", run_id)
    view = h.slack.calls_to("views.open")[-1].params["view"]
    assert "shipment is delayed" in str(view)
    await h.submit(REVIEWER, "maple_edit_view", run_id, {"draft_0": "Dear supplier, please expedite."})
    run = await h.run(run_id)
    assert [d.author for d in run.drafts] == ["model:openai", REVIEWER]
    # the editor may not be the only approver of their own edit
    await h.click(REVIEWER, "maple_approve", run_id)
    assert (await h.run(run_id)).state.value == "in_review"
    await h.click("U0REVIEW2", "maple_approve", run_id)
    await h.wait_state(run_id, "delivered")
    result = [p for p in h.slack.posted(CHANNEL) if p["metadata"]["event_payload"]["effect"] == "result"]
    assert "please expedite" in str(result[0]["blocks"])


async def test_double_click_delivers_once(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)
    import asyncio

    await asyncio.gather(*(h.click(REVIEWER, "maple_approve", run_id) for _ in range(3)),
                         h.click("U0REVIEW2", "maple_approve", run_id))
    run = await h.wait_state(run_id, "delivered")
    await h.wait_for(lambda: h.slack.posted("D0REQUEST"), what="requester told")
    results = [p for p in h.slack.posted(CHANNEL) if p["metadata"]["event_payload"]["effect"] == "result"]
    assert len(results) == 1
    assert run.decision is not None


async def test_status_visibility(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)
    _, mine = await h.slash(REQUESTER, f"status {run_id}")
    assert "Waiting for review" in mine["text"] and "openai model" in mine["text"]
    _, admin = await h.slash(ADMIN, f"status {run_id}")
    assert run_id in admin["text"]
    _, other = await h.slash(OUTSIDER, f"status {run_id}")
    assert run_id not in other["text"] and "only see" in other["text"]


async def test_app_home_published(harness: Harness) -> None:
    status, _ = await harness.event({"type": "app_home_opened", "user": REQUESTER, "tab": "home"})
    assert status == 200
    published = await harness.wait_for(lambda: harness.slack.calls_to("views.publish"), what="home tab")
    assert published[0].params["user_id"] == REQUESTER
    assert "/maple" in str(published[0].params["view"]) and "Draft" in str(published[0].params["view"])


async def test_workflows_listing_respects_roles(harness: Harness) -> None:
    _, mine = await harness.slash(REQUESTER, "workflows")
    assert "`draft`" in mine["text"] and "`calc`" in mine["text"]
    _, outsider = await harness.slash(OUTSIDER, "workflows")
    assert "no workflows" in outsider["text"]


async def test_goal_is_classified_or_asked_back(harness: Harness) -> None:
    _, reply = await harness.slash(REQUESTER, "draft a reply to the supplier about the late shipment")
    assert "Working on it" in reply["text"]
    _, reply = await harness.slash(REQUESTER, "hmm")
    assert "Did you mean" in reply["text"] and "“hmm”" in reply["text"]
    offered = [b["accessory"]["action_id"] for b in reply["blocks"] if "accessory" in b]
    assert offered == ["maple_pick_draft", "maple_pick_ask"]  # general workflows only: nothing hinted at another
    none = [e["action_id"] for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert none == ["maple_dismiss"]


async def test_expired_trigger_is_explained(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)
    h.slack.fail_next("views.open", status=200, error="expired_trigger_id")
    status, _ = await h.click(REVIEWER, "maple_edit", run_id)
    assert status == 200
    refusals = [c.params["text"] for c in h.slack.calls_to("chat.postEphemeral")]
    assert any("click the button again" in t for t in refusals)
    assert (await h.run(run_id)).state.value == "in_review"
