"""A goal over the limit keeps its text: the refusal states the limit and by how much it was passed, and shows the
text back (inert, in sections Slack accepts), for a slash command and a mention alike; help states the limit."""

from __future__ import annotations

from tests.harness import CHANNEL, REQUESTER, Harness


def long_goal(limit: int) -> str:
    words = "draft a note about the shipment <!channel> <@U0ADMIN> "
    return (words * (limit // len(words) + 2))[: limit + 120].strip() + " THE END"


async def test_an_oversized_goal_is_shown_back_with_the_limit(harness: Harness) -> None:
    h = harness
    limit = h.svc.spec.limits.max_goal_chars
    goal = long_goal(limit)
    _, reply = await h.slash(REQUESTER, goal)
    over = len(goal) - limit
    assert f"That goal is {len(goal):,} characters; the limit is {limit:,} ({over:,} too many)" in reply["text"]
    shown = "".join(b["text"]["text"] for b in reply["blocks"])
    assert all(len(b["text"]["text"]) <= 3000 for b in reply["blocks"])
    assert shown.rstrip().endswith("THE END")  # every character kept
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown and "<@U0ADMIN>" not in shown
    assert "R-" not in shown and not h.slack.calls_to("chat.postMessage")


async def test_a_mention_over_the_limit_gets_its_text_back_privately(harness: Harness) -> None:
    h = harness
    goal = long_goal(h.svc.spec.limits.max_goal_chars)
    await h.event({"type": "app_mention", "user": REQUESTER, "channel": CHANNEL, "ts": "1700000000.000200",
                   "text": f"<@U0MAPLEBOT> {goal}", "team": "T0TEST"})
    told = await h.wait_for(lambda: h.slack.calls_to("chat.postEphemeral"), what="ephemeral")
    assert told[0].params["user"] == REQUESTER
    shown = "".join(b["text"]["text"] for b in told[0].params["blocks"])
    assert "the limit is" in shown and shown.rstrip().endswith("THE END")


async def test_help_states_the_goal_limit(harness: Harness) -> None:
    _, helped = await harness.slash(REQUESTER, "help")
    assert f"A goal can be up to {harness.svc.spec.limits.max_goal_chars:,} characters." in helped["text"]
