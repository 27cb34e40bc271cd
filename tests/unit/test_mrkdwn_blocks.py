"""Untrusted text is escaped and neutralised, and split to Block Kit limits."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.models import DraftVersion, Origin, Run, RunState, Usage
from bot.core.ports import View
from bot.core.text import approved_banner
from handlers.blocks import edit_modal, fit, render, review_blocks
from handlers.mrkdwn import MESSAGE_BLOCK_LIMIT, SECTION_LIMIT, escape, neutralise, split_text

NOW = datetime(2026, 11, 24, 14, 2, tzinfo=UTC)


def make_run(draft: str, **kw: object) -> Run:
    run = Run(requester="U0REQUEST", origin=Origin(channel="C1"), goal="write <b>&", workflow="draft",
              created_at=NOW, updated_at=NOW, state=RunState.IN_REVIEW, **kw)
    run.drafts.append(DraftVersion(text=draft, author="model:openai", at=NOW, model="openai"))
    run.usage.append(Usage(model="openai", input_tokens=300, output_tokens=112, cost_usd=0.0009))
    return run


def test_escape_amp_lt_gt() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"


def test_broadcasts_are_neutralised() -> None:
    for hostile in ("<!channel>", "<!here>", "<!everyone>", "<!subteam^S123|@team>"):
        out = neutralise(hostile)
        assert "<!" not in out and "<" not in out
    assert "@\u200bchannel" in escape("hey @channel look")
    assert "@\u200bhere" in escape("@here")


def test_mentions_and_links_are_neutralised() -> None:
    out = escape("ping <@U123> and <#C999|general> see <https://evil.example|your bank>")
    assert "<@" not in out and "<#" not in out and "<http" not in out
    assert "&lt;https://evil.example|your bank&gt;" in out


def test_split_respects_section_limit_and_escapes() -> None:
    text = ("word " * 2000) + ("&" * 900)
    chunks = split_text(escape(text))
    assert all(len(c) <= SECTION_LIMIT for c in chunks)
    assert all(not c.endswith("&am") for c in chunks)
    joined = "".join(chunks).replace(" ", "")
    assert joined.count("&amp;") == 900


def test_split_prefers_paragraphs() -> None:
    text = "a" * 2000 + "\n\n" + "b" * 2000
    assert split_text(text) == ["a" * 2000, "b" * 2000]


def test_review_message_parts() -> None:
    run = make_run("Dear <!channel>, thanks & regards")
    blocks = review_blocks(run, banner=None, buttons=True)
    flat = str(blocks)
    assert "<!channel>" not in flat and "&lt;!channel&gt;" in flat
    assert "write &lt;b&gt;&amp;" in flat  # the goal is escaped too
    assert "openai · 412 tokens · $0.0009" in flat
    actions = blocks[-1]
    assert [e["action_id"] for e in actions["elements"]] == ["maple_approve", "maple_edit", "maple_reject"]
    assert all(e["value"] == f"{run.id}:{run.draft_version}" for e in actions["elements"])


def test_long_draft_fits_50_blocks_and_keeps_buttons() -> None:
    run = make_run("x" * 3000 * 60)
    blocks = review_blocks(run, banner=None, buttons=True)
    assert len(blocks) == MESSAGE_BLOCK_LIMIT
    assert blocks[-1]["type"] == "actions"
    assert all(len(b.get("text", {}).get("text", "")) <= SECTION_LIMIT for b in blocks)


def test_fit_untouched_when_small() -> None:
    blocks = [{"type": "divider"}] * 10
    assert fit(blocks) == blocks


def test_decided_review_has_banner_and_no_buttons() -> None:
    run = make_run("ok")
    _text, blocks = render(View(kind="review", run=run, banner=approved_banner("U0REVIEW", "14:02"),
                                   buttons=False))
    assert blocks[-1]["type"] == "context" and "Approved by <@U0REVIEW>" in str(blocks[-1])
    assert not [b for b in blocks if b["type"] == "actions"]


def test_notification_text_never_carries_the_draft() -> None:
    run = make_run("SECRET DRAFT BODY")
    for kind in ("review", "result"):
        text, _ = render(View(kind=kind, run=run, buttons=True))
        assert "SECRET" not in text


def test_edit_modal_splits_long_drafts_across_inputs() -> None:
    run = make_run(("para " * 500 + "\n\n") * 3)
    modal = edit_modal(run)
    inputs = [b for b in modal["blocks"] if b["type"] == "input"]
    assert len(inputs) >= 2
    assert all(len(i["element"]["initial_value"]) <= 3000 for i in inputs)
    assert modal["private_metadata"] == f"{run.id}:{run.draft_version}"


def test_unreviewed_answers_carry_their_caveats() -> None:
    from handlers.blocks import result_blocks

    run = make_run("An answer.")
    run.drafts[0].notes.append("drafted by the local demo model")
    blocks = result_blocks(run)
    first = str(blocks[0])  # above the answer, where it is read, not in the footer
    assert "Not reviewed, and not from approved documents" in first and "demo model" in first
    assert blocks[0]["type"] == "section" and "demo model" not in str(blocks[-1])


def test_an_answer_citing_the_approved_documents_says_so_above_it() -> None:
    from bot.core.models import Citation
    from handlers.blocks import result_blocks

    run = make_run("Ten days a year [1].")
    run.citations.append(Citation(n=1, collection="handbook", document="leave.md", title="Leave"))
    first = str(result_blocks(run)[0])
    assert "from the approved documents" in first and "not from approved" not in first


def test_reviewed_and_computed_results_carry_no_label() -> None:
    from bot.core.models import Decision
    from handlers.blocks import result_blocks

    run = make_run("A reviewed draft.")
    run.decision = Decision(kind="approve", by="U0REVIEW", at=NOW)
    assert "Not reviewed" not in str(result_blocks(run))
    calc = make_run("42")
    calc.drafts[0] = DraftVersion(text="42", author="tool:calculator", at=NOW, model="tool:calculator")
    assert "Not reviewed" not in str(result_blocks(calc))


def test_every_result_ends_with_feedback_buttons_slack_accepts() -> None:
    from handlers.blocks import FEEDBACK, result_blocks
    from workspace.blockkit import block_problems

    run = make_run("An answer. " * 2000)  # long enough to be cut to 50 blocks
    blocks = result_blocks(run)
    assert len(blocks) <= 50 and block_problems(blocks, limit=50) == []
    last = blocks[-1]
    assert last["type"] == "context_actions"
    buttons = last["elements"][0]
    assert buttons["type"] == "feedback_buttons" and buttons["action_id"] == FEEDBACK
    assert buttons["positive_button"]["value"] == f"{run.id}:good"
    assert buttons["negative_button"]["value"] == f"{run.id}:bad"
    assert block_problems([{**last, "elements": [{"type": "button"}]}], limit=50)  # only Slack's two kinds
