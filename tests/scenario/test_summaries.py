"""What a summary's model reads, over signed requests: people by their display names (in the text too), none of
Maple's own messages, and a ``#name`` Slack did not link (no such channel, or one the person cannot see) is a clear
refusal — never the current channel read instead."""

from __future__ import annotations

from tests.harness import ADMIN, CHANNEL, REQUESTER, REVIEWER, Harness
from tests.scenario.test_loop import run_id_of


async def test_the_model_reads_names_not_ids_and_not_maples_own_posts(harness: Harness) -> None:
    h = harness
    h.slack.names.update({ADMIN: "Ada Admin", REVIEWER: "Rui Reviewer"})
    h.slack.messages[CHANNEL] += [
        {"ts": "100.0001", "user": ADMIN, "text": "the launch moves to Friday, <@U0REVIEW> please confirm"},
        {"ts": "100.0002", "user": REVIEWER, "text": "confirmed <!here>, see <#C0REVIEW|maple-review>"},
        {"ts": "100.0003", "user": "U0MAPLEBOT", "bot_id": "B0MAPLE", "text": "Result of run R-AAAAAAAAAAAAAAAA"},
        {"ts": "100.0004", "bot_id": "B0MAPLE", "text": "Draft for review", "metadata": {"event_type": "maple_run"}},
    ]
    _, reply = await h.slash(REQUESTER, "summarize this channel")
    await h.wait_state(run_id_of(reply), "in_review")
    read = h.openai.requests[-1]["messages"][-1]["content"]
    assert "Ada Admin: the launch moves to Friday, @Rui Reviewer please confirm" in read
    assert "Rui Reviewer: confirmed @here, see #maple-review" in read
    assert "U0ADMIN" not in read and "R-AAAAAAAAAAAAAAAA" not in read and "Draft for review" not in read


async def test_an_unlinked_channel_name_is_refused_not_replaced(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, "summarize #maple-review")
    run = await h.wait_state(run_id_of(reply), "refused")
    assert "can't find a channel called #maple-review" in (run.error or "")
    assert not [c for c in h.slack.calls if c.method == "conversations.history"]
