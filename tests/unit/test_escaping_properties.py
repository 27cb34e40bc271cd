"""Properties of escaping and rendering: any text → valid Block Kit, no live mention, broadcast or link."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import text as say
from bot.core.models import Citation, Decision, DraftVersion, Origin, Run, RunState, Usage
from bot.core.ports import View
from handlers.blocks import edit_modal, render
from handlers.mrkdwn import escape, escape_within, mrkdwn
from workspace.blockkit import block_problems, view_problems

NOW = datetime(2026, 11, 24, 14, 2, tzinfo=UTC)
SPECIAL = st.sampled_from(["<", ">", "&", "&amp;", "<!channel>", "<!here|here>", "<@U0ADMIN>", "<#C0SECRET|x>",
                           "<https://evil.example|bank>", "@channel", "@everyone", "\u202e", "\u2066", "\n",
                           "\n\n", " ", "`", "*", "\u200b", "é", "🙂", "&lt;"])
HOSTILE = st.lists(st.one_of(SPECIAL, st.text(max_size=40)), max_size=400).map("".join)
LINK = "https://wiki.example.com/handbook/travel.md"
OWN = {"<@U0REQUEST>", "<@U0REVIEW>"}  # the only mentions Maple itself writes in these messages
LIVE = re.compile(r"<[^>]*>")
settings.register_profile("maple", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("maple")


def _run(draft: str, *, goal: str, reason: str) -> Run:
    run = Run(requester="U0REQUEST", origin=Origin(channel="C0GENERAL"), goal=goal, workflow="draft",
              created_at=NOW, updated_at=NOW, state=RunState.IN_REVIEW, policy_notes=[reason[:300]],
              citations=[Citation(n=1, collection="handbook", document=goal[:50], title=goal[:80], section=reason[:80],
                                  link=LINK),
                         Citation(n=2, collection="handbook", document="d", title=reason[:80], link="https://evil.example/a b|<!channel>" + goal)],
              approvals=["U0REVIEW"], quorum=2)
    run.drafts.append(DraftVersion(text=f"{draft} [1] [2] [9]", author="model:openai", at=NOW, model="openai",
                                   notes=[reason]))
    run.usage.append(Usage(model="openai", input_tokens=10, output_tokens=5))
    return run


def _live_parts(blocks: list[dict]) -> set[str]:
    """Live markup, Maple's own source links aside (their labels are escaped: they cannot close the link early)."""
    found = set(LIVE.findall(json.dumps(blocks, ensure_ascii=False).replace("\\n", "\n")))
    return {part for part in found if not part.startswith(f"<{LINK}|")}


@given(HOSTILE)
def test_escape_round_trips_and_leaves_no_markup(raw: str) -> None:
    out = escape(raw)
    assert "<" not in out and ">" not in out
    assert not re.search(r"(?<![\w`\u200b])@(channel|here|everyone)\b", out)
    assert "\u202e" not in out and "\u2066" not in out
    back = re.sub(r"\[U\+(20[2-6][0-9A-E])\]", lambda m: chr(int(m.group(1), 16)), out).replace("\u200b", "")
    assert html.unescape(back) == raw.replace("\u200b", "")


@given(HOSTILE, st.integers(min_value=1, max_value=400))
def test_escape_within_keeps_the_limit_on_the_escaped_text(raw: str, limit: int) -> None:
    out = escape_within(raw, limit)
    assert len(out) <= limit
    assert "<" not in out and not re.search(r"&[a-z]*$", out.removesuffix("…"))  # no cut entity


@given(HOSTILE, HOSTILE, HOSTILE)
def test_review_and_result_messages_are_valid_and_inert(draft: str, goal: str, reason: str) -> None:
    run = _run(draft or "x", goal=goal or "g", reason=reason)
    for view in (View(kind="review", run=run, buttons=True),
                 View(kind="review", run=run, banner=say.rejected_banner("U0REVIEW", "14:02"))):
        notification, blocks = render(view)
        assert block_problems(blocks, limit=50) == []
        assert _live_parts(blocks) <= OWN
        assert not LIVE.findall(notification)
    run.state, run.decision = RunState.APPROVED, Decision(kind="approve", by="U0REVIEW", at=NOW)
    _text, blocks = render(View(kind="result", run=run))
    assert block_problems(blocks, limit=50) == [] and _live_parts(blocks) <= OWN


@given(HOSTILE, HOSTILE)
def test_notices_with_untrusted_arguments_are_valid_and_inert(reason: str, goal: str) -> None:
    for message in (say.told_rejected("R-AAAAAAAAAAAAAAAA", "U0REVIEW", reason), say.refused("R-1", reason),
                    say.told_failed("R-1", ValueError(goal)), say.unknown_command(goal),
                    say.run_not_found(goal), say.unknown_workflow(reason)):
        _text, blocks = render(View(kind="notice", text=message))
        assert block_problems(blocks, limit=50) == []
        assert _live_parts(blocks) <= OWN
        assert set(LIVE.findall(mrkdwn(message))) <= OWN


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_mentions_only_of_well_formed_ids(user_id: str) -> None:
    out = mrkdwn(say.approved_banner(user_id, "14:02"))
    if re.fullmatch(r"[UW][A-Z0-9]{2,20}", user_id):
        assert f"<@{user_id}>" in out
    else:
        assert "<" not in out.replace(":white_check_mark:", "")


@given(HOSTILE)
def test_edit_modal_holds_any_draft(draft: str) -> None:
    run = _run(draft * 3 or "x", goal="g", reason="r")
    assert view_problems(edit_modal(run)) == []


@given(st.text(alphabet="a&<>;@#U|x ", max_size=400), st.integers(min_value=5, max_value=300))
def test_a_rendered_line_cut_to_a_limit_never_ends_inside_an_entity_or_a_token(raw: str, limit: int) -> None:
    from handlers.blocks_calls import cut_rendered

    rendered = escape(raw) + " <@U0REVIEW> &amp; more"
    cut = cut_rendered(rendered, limit)
    assert len(cut) <= limit
    body = cut.removesuffix("…")
    last_amp, last_lt = body.rfind("&"), body.rfind("<")
    assert last_amp == -1 or ";" in body[last_amp:]
    assert last_lt == -1 or ">" in body[last_lt:]
