"""Untrusted text stays inert on its way into Slack: escaped after it is cut, within Block Kit's limits."""

from __future__ import annotations

import json

from tests.harness import REQUESTER, REVIEWER, Harness
from tests.scenario.test_loop import review_posts, run_id_of, start_draft

HOSTILE = "<!channel> see <https://evil.example|the real docs> & <@U0ADMIN> \u202etxt.exe"


def _texts(post: dict) -> str:
    return json.dumps(post.get("blocks")) + json.dumps(post.get("text", ""))


async def test_rejection_reason_reaches_the_requester_inert(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)
    status, _ = await h.submit(REVIEWER, "maple_reject_view", run_id, {"reason": HOSTILE})
    assert status == 200
    await h.wait_state(run_id, "rejected")

    def told() -> list[dict]:
        return [p for p in h.slack.posted() if (p.get("metadata") or {}).get("event_payload", {})
                .get("effect") == "notify:rejected"]

    notice = _texts((await h.wait_for(told, what="rejection notice"))[0])
    assert "<!channel>" not in notice and "<https://evil" not in notice and "<@U0ADMIN>" not in notice
    assert "&lt;!channel&gt;" in notice and "&lt;https://evil.example|the real docs&gt;" in notice
    assert "\u202e" not in notice and "[U+202E]" in notice
    assert "<@U0REVIEW>" in notice  # the reviewer Maple names is still a real mention


async def test_long_goal_of_special_characters_is_cut_after_escaping(harness: Harness) -> None:
    h = harness
    goal = "reply to " + "<&>" * 1300  # 3,909 characters; five times longer once escaped
    status, reply = await h.slash(REQUESTER, f"run draft {goal}")
    assert status == 200 and "Working on it" in reply["text"]
    run_id = run_id_of(reply)
    await h.wait_state(run_id, "in_review")
    posts = await h.wait_for(lambda: len(review_posts(h, run_id)) >= 2 and review_posts(h, run_id),
                             what="review posts accepted by Slack")
    for post in posts:
        for block in post["blocks"]:
            text = (block.get("text") or {}).get("text", "")
            assert len(text) <= 3000
        assert "<&>" not in _texts(post)


async def test_hostile_draft_is_shown_literally_in_review_and_result(harness: Harness) -> None:
    h = harness
    h.openai.reply = HOSTILE
    run_id = await start_draft(h)
    for post in review_posts(h, run_id):
        assert "<!channel>" not in _texts(post) and "&lt;!channel&gt;" in _texts(post)
    await h.click(REVIEWER, "maple_approve", run_id)
    await h.wait_state(run_id, "delivered")
    result = [p for p in h.slack.posted() if (p.get("metadata") or {}).get("event_payload", {})
              .get("effect") == "result"][0]
    assert "<!channel>" not in _texts(result) and "[U+202E]" in _texts(result)
