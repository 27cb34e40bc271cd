"""The ask-back over signed requests: it quotes the goal, each option says what it does, the offered set fits the
goal ("Acme" is not a calculation; Draft is offered), *None of these* ends the held goal, and a mention is asked
the same question with the same options as the slash command — to the person alone, never in the channel."""

from __future__ import annotations

from typing import Any

from tests.harness import CHANNEL, OUTSIDER, REQUESTER, Harness
from tests.scenario.test_loop import run_id_of


def offered(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(b["accessory"]["action_id"].removeprefix("maple_pick_"), b["text"]["text"])
            for b in blocks if b.get("accessory", {}).get("action_id", "").startswith("maple_pick_")]


async def test_a_vague_goal_is_quoted_and_offered_what_fits(harness: Harness) -> None:
    _, reply = await harness.slash(REQUESTER, "Acme")
    assert reply["text"].startswith("I'm not sure which workflow fits “Acme”")
    options = offered(reply["blocks"])
    assert [wf for wf, _ in options] == ["draft", "ask"]  # not calc (no numbers), not digest (nothing to read)
    assert options[0][1] == "*Draft* — Draft a message or reply, reviewed before it is posted."
    assert all(b["accessory"]["text"]["text"] == "Choose" for b in reply["blocks"] if "accessory" in b)


async def test_none_of_these_ends_the_held_goal(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, "Acme")
    run_id = run_id_of({"text": str(reply["blocks"])})
    payload = {"type": "block_actions", "user": {"id": OUTSIDER}, "team": {"id": "T0TEST"},
               "channel": {"id": CHANNEL}, "trigger_id": "t",
               "actions": [{"action_id": "maple_dismiss", "value": run_id}]}
    await h.interact(payload)
    assert (await h.run(run_id)).state.value == "queued"  # only the requester answers
    url = h.slack.response_url("dismiss")
    payload = {**payload, "user": {"id": REQUESTER}, "response_url": url}
    status, _ = await h.interact(payload)
    assert status == 200
    run = await h.wait_state(run_id, "refused")
    assert run.error and "none of the offered workflows" in run.error
    replaced = await h.wait_for(lambda: [r for r in h.slack.responses if r.get("replace_original")], what="reply")
    assert "Nothing was started for “Acme”" in replaced[0]["text"]


async def test_a_mention_is_asked_the_same_question_privately(harness: Harness) -> None:
    """The ask-back to a mention quotes the goal: it is shown to the person who asked alone (ephemeral, in the
    channel they asked in), never posted in the channel, and its buttons work from there."""
    h = harness
    _, slash = await h.slash(REQUESTER, "Acme")
    status, _ = await h.event({"type": "app_mention", "user": REQUESTER, "channel": CHANNEL, "ts": "1700000000.000100",
                               "text": "<@U0MAPLE> Acme", "team": "T0TEST"})
    assert status == 200
    asked = await h.wait_for(lambda: [c.params for c in h.slack.calls_to("chat.postEphemeral")
                                      if c.ok and "“Acme”" in c.params.get("text", "")], what="ask-back")
    assert asked[0]["channel"] == CHANNEL and asked[0]["user"] == REQUESTER
    assert offered(asked[0]["blocks"]) == offered(slash["blocks"])
    assert not [p for p in h.slack.posted(CHANNEL) if "Acme" in str(p)]  # nothing about it in the channel
    run_id = run_id_of({"text": str(asked[0]["blocks"])})
    url = h.slack.response_url("picked")
    await h.interact({"type": "block_actions", "user": {"id": REQUESTER}, "team": {"id": "T0TEST"},
                      "channel": {"id": CHANNEL}, "trigger_id": "t", "response_url": url,
                      "container": {"type": "message", "is_ephemeral": True},
                      "actions": [{"action_id": "maple_pick_draft", "value": f"{run_id}:draft"}]})
    await h.wait_state(run_id, "in_review")
    replaced = await h.wait_for(lambda: [r for r in h.slack.responses if r.get("replace_original")], what="answer")
    assert run_id in replaced[0]["text"]


async def test_a_mention_where_maple_cannot_whisper_is_asked_in_a_direct_message(harness: Harness) -> None:
    h = harness
    h.slack.fail_next("chat.postEphemeral", error="not_in_channel", status=200)
    await h.event({"type": "app_mention", "user": REQUESTER, "channel": CHANNEL, "ts": "1700000000.000200",
                   "text": "<@U0MAPLE> Acme", "team": "T0TEST"})
    dm = await h.wait_for(lambda: [p for p in h.slack.posted("D0REQUEST") if "“Acme”" in p["text"]],
                          what="ask-back by DM")
    assert offered(dm[0]["blocks"]) and not [p for p in h.slack.posted(CHANNEL) if "Acme" in str(p)]


async def test_a_mention_whose_direct_message_is_throttled_is_still_asked(harness: Harness) -> None:
    """Slack cannot show the ask-back in the channel, and throttles the direct message it falls back to: the job is
    retried and the person is asked once, by DM — the throttled attempt does not keep the ask-back claimed until
    the retries run out (which would fail the run instead)."""
    h = harness
    h.slack.fail_next("chat.postEphemeral", error="not_in_channel", status=200, times=3)
    h.slack.fail_next("conversations.open", retry_after=0, times=4)  # past the Slack client's own retries
    await h.event({"type": "app_mention", "user": REQUESTER, "channel": CHANNEL, "ts": "1700000000.000300",
                   "text": "<@U0MAPLE> Acme", "team": "T0TEST"})
    dm = await h.wait_for(lambda: [p for p in h.slack.posted("D0REQUEST") if "“Acme”" in p["text"]],
                          what="ask-back by DM")
    assert len(dm) == 1 and offered(dm[0]["blocks"])
    assert not [p for p in h.slack.posted(CHANNEL) if "Acme" in str(p)]
