"""Workflows beyond drafting: deterministic tools with no model, summaries of channels the requester can read."""

from __future__ import annotations

from tests.harness import CHANNEL, OUTSIDER, REQUESTER, REVIEWER, Harness
from tests.scenario.test_loop import run_id_of


async def test_calc_runs_a_tool_and_no_model(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, "what is 17.5% of 2,340")
    run_id = run_id_of(reply)
    run = await h.wait_state(run_id, "delivered")
    assert run.workflow == "calc" and run.drafts[0].text.endswith("= 409.5")
    result = [p for p in h.slack.posted(CHANNEL) if p["metadata"]["event_payload"]["effect"] == "result"]
    assert "409.5" in str(result[0]["blocks"])
    assert h.openai.requests == []  # a deterministic tool, no model


async def test_calc_date_math_and_refusal(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, "run calc how many days until 2099-01-01")
    run = await h.wait_state(run_id_of(reply), "delivered")
    assert "days until 2099-01-01" in run.drafts[0].text
    _, reply = await h.slash(REQUESTER, "run calc 9**9**9")
    run = await h.wait_state(run_id_of(reply), "refused")
    assert "exponents" in (run.error or "")


async def test_summarize_reads_only_what_the_requester_can(harness: Harness) -> None:
    h = harness
    h.slack.messages[CHANNEL].append({"ts": "100.1", "user": "U0REVIEW", "text": "We decided to ship on Friday."})
    h.slack.add_channel("C0SECRET", member=True, members=["U0ADMIN"])
    h.slack.messages["C0SECRET"].append({"ts": "100.2", "user": "U0ADMIN", "text": "secret plans"})
    _, reply = await h.slash(REQUESTER, "summarize this channel")
    run = await h.wait_state(run_id_of(reply), "in_review")
    assert run.workflow == "summarize"
    assert "We decided to ship on Friday." in h.openai.texts_received()
    _, reply = await h.slash(REQUESTER, "summarize <#C0SECRET|secret>")
    run = await h.wait_state(run_id_of(reply), "refused")
    assert "not a member" in (run.error or "")
    assert "secret plans" not in h.openai.texts_received()
    members_checked = [c.params["channel"] for c in h.slack.calls_to("conversations.members")]
    assert "C0SECRET" in members_checked
    assert REVIEWER and OUTSIDER


async def test_ambiguous_goal_asks_a_cleared_model_then_the_person(harness: Harness) -> None:
    h = harness
    h.openai.reply = "draft"
    _, reply = await h.slash(REQUESTER, "sort out the supplier situation before the audit")
    assert "Working out which workflow fits" in reply["text"]
    run = await h.wait_state(run_id_of(reply), "in_review")
    assert run.workflow == "draft"
    assert "exactly one workflow id" in h.openai.requests[0]["messages"][0]["content"]

    h.openai.reply = "I am not sure, maybe ask or draft"
    _, reply = await h.slash(REQUESTER, "sort out the warehouse situation before the audit")
    run_id = run_id_of(reply)
    buttons = await h.wait_for(lambda: [p for p in h.slack.posted("D0REQUEST")
                                        if p["metadata"]["event_payload"]["effect"] == "clarify"], what="buttons")
    assert "maple_pick_draft" in str(buttons[0]["blocks"])
    assert (await h.run(run_id)).workflow == ""


async def test_sensitive_ambiguous_goal_is_not_sent_to_an_uncleared_model(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, "do the thing with SIN 130 692 544")
    await h.wait_for(lambda: [p for p in h.slack.posted("D0REQUEST")
                              if p["metadata"]["event_payload"]["effect"] == "clarify"], what="buttons")
    assert h.openai.requests == []
    assert run_id_of(reply)
