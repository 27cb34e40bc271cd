"""Block Kit rendering of the core's neutral views. Every piece of untrusted text goes through mrkdwn.escape."""

from __future__ import annotations

from typing import Any

from bot.core import text as say
from bot.core.followups import revision_of
from bot.core.knowledge import cited
from bot.core.models import Run
from bot.core.ports import View
from bot.core.text import Msg
from handlers.blocks_calls import outcome_blocks, planned_blocks
from handlers.mrkdwn import (
    INPUT_LIMIT,
    MESSAGE_BLOCK_LIMIT,
    SECTION_LIMIT,
    escape,
    escape_within,
    mrkdwn,
    split_text,
)

Block = dict[str, Any]
APPROVE, EDIT, REJECT = "maple_approve", "maple_edit", "maple_reject"
EDIT_VIEW, REJECT_VIEW = "maple_edit_view", "maple_reject_view"
FEEDBACK = "maple_feedback"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def body_sections(untrusted: str) -> list[Block]:
    return [section(chunk) for chunk in split_text(escape(untrusted))]


def _model_line(run: Run) -> Msg:
    draft = run.draft
    if draft is None:
        return say.msg("raw", text="")
    if draft.model is None:
        return say.msg("model_edited", user=say.User(draft.author))
    if not run.usage:
        return say.msg("raw", text=draft.model)
    spent = run.total_cost  # the whole run: classification and every round included
    cost = f"{spent:.4f}" if spent >= 0.0001 or not spent else f"{spent:.6f}"
    return say.msg("model_line", model=draft.model, tokens=run.total_tokens, cost=cost)


def review_blocks(run: Run, *, banner: Msg | None, buttons: bool) -> list[Block]:
    draft = run.draft
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Draft for review"[:150]}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": "*Requester*\n" + mrkdwn(say.msg("raw", text=say.User(run.requester)))},
            {"type": "mrkdwn", "text": f"*Workflow*\n{escape_within(run.workflow, 100)}"},
            {"type": "mrkdwn", "text": "*Model*\n" + mrkdwn(_model_line(run))},
            {"type": "mrkdwn", "text": f"*Run*\n{escape_within(run.id, 40)}"},
        ]},
        section("*Goal*\n" + escape_within(run.goal, SECTION_LIMIT - 10)),
        {"type": "divider"},
    ]
    notes = [*(draft.notes if draft else []), *run.policy_notes]
    blocks += body_sections(draft.text if draft else "(no draft)")
    blocks += planned_blocks(run)
    blocks += source_blocks(run)
    if notes:
        blocks.append(context(escape_within(" · ".join(notes), SECTION_LIMIT - 100)))
    if (changed := revised_line(run)) is not None:
        blocks.append(context(mrkdwn(changed)))
    if run.approvals and run.state.value == "in_review":
        who = say.lines([say.msg("raw", text=say.User(u)) for u in run.approvals[:20]], sep=", ")
        blocks.append(context(mrkdwn(say.msg("approvals_progress", who=who, count=len(run.approvals),
                                             quorum=run.quorum))))
    if banner:
        blocks.append(context(mrkdwn(banner)))
    if buttons:
        ref = run_ref(run)
        blocks.append({"type": "actions", "block_id": f"review:{ref}", "elements": [
            _button("Approve", APPROVE, ref, "primary"),
            _button("Edit", EDIT, ref, None),
            _button("Reject", REJECT, ref, "danger"),
        ]})
    return fit(blocks, keep_tail=2 if buttons or banner else 0)


def revised_line(run: Run) -> Msg | None:
    """What changed, when the draft is a revision after a follow-up: who asked, what, and the length before and
    after (the previous version is kept on the run)."""
    asked = revision_of(run)
    if asked is None or run.draft is None:
        return None
    before = next((d.text for d in run.drafts if d.version == asked.version), "")
    return say.msg("review_revised", version=run.draft_version, user=say.User(asked.by),
                   asked=say.Quote(asked.text, 300), before=len(before.split()), after=len(run.draft.text.split()))


def run_ref(run: Run) -> str:
    """What a review button or modal carries: the run and the draft version the reviewer is looking at."""
    return f"{run.id}:{run.draft_version}"


def parse_ref(value: str) -> tuple[str, int | None]:
    run_id, _, version = value.partition(":")
    return run_id, int(version) if version.isdigit() and len(version) < 6 else None


def _button(label: str, action_id: str, value: str, style: str | None) -> Block:
    button: Block = {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": action_id,
                     "value": value}
    if style:
        button["style"] = style
    return button


def fit(blocks: list[Block], *, keep_tail: int = 0) -> list[Block]:
    """At most 50 blocks: keep the head and the last ``keep_tail`` blocks (banner, buttons), note the cut."""
    if len(blocks) <= MESSAGE_BLOCK_LIMIT:
        return blocks
    tail = blocks[len(blocks) - keep_tail:] if keep_tail else []
    head = blocks[: MESSAGE_BLOCK_LIMIT - 1 - len(tail)]
    return [*head, context("_…the rest is too long for one message; use Edit to see it in full._"), *tail]


def source_blocks(run: Run) -> list[Block]:
    """The numbered sources the draft cites, rendered by Maple (title, section, link) — never the model's words
    for them. A number that matches no source (an edit can add one) is flagged."""
    draft = run.draft
    used = cited(draft.text) if draft else set()
    shown = [c for c in run.citations if c.n in used][:20]
    unknown = sorted(used - {c.n for c in run.citations})
    lines = [say.msg("source_line", n=c.n, title=say.Link(c.link, c.title or c.document),
                     section=say.msg("source_section", section=say.Quote(c.section, 200)) if c.section
                     else say.msg("raw", text="")) for c in shown]
    if unknown:
        lines.append(say.msg("citation_unknown", numbers=", ".join(f"[{n}]" for n in unknown[:10])))
    if not lines:
        return []
    return [section(escape_within_lines(mrkdwn(say.lines([say.msg("sources_heading"), *lines]))))]


def escape_within_lines(rendered: str) -> str:
    """Rendered mrkdwn kept within a section (sources are few and short; a very long list is cut at a line)."""
    if len(rendered) <= SECTION_LIMIT:
        return rendered
    return rendered[: rendered.rfind("\n", 0, SECTION_LIMIT - 2)] + "\n…"


def result_blocks(run: Run) -> list[Block]:
    draft = run.draft
    blocks = body_sections(draft.text if draft else "") + source_blocks(run) + outcome_blocks(run)
    parts = [say.msg("footer_requested", user=say.User(run.requester), run=run.id)]
    if run.decision:
        parts.append(say.msg("footer_approved", user=say.User(run.decision.by)))
    notes = draft.notes if draft and draft.author.startswith("model:") else []
    if notes and not run.decision:  # unreviewed answers carry their caveats (demo model, no sources…)
        parts.append(say.msg("raw", text=say.Quote(" · ".join(notes), 1000)))
    return fit([*blocks, context(mrkdwn(say.lines(parts, sep=" · "))), feedback_block(run)], keep_tail=2)


def feedback_block(run: Run) -> Block:
    """👍 / 👎 under a delivered answer: Slack's feedback buttons in a context-actions block. Each button's value
    names the run and the vote (``R-…:good``); the click goes to handlers/listeners.py."""

    def button(emoji: str, label: str, vote: str) -> Block:
        return {"text": {"type": "plain_text", "text": emoji}, "accessibility_label": str(say.msg(label)),
                "value": f"{run.id}:{vote}"}

    return {"type": "context_actions", "block_id": f"feedback:{run.id}",
            "elements": [{"type": "feedback_buttons", "action_id": FEEDBACK,
                          "positive_button": button("👍", "feedback_good_label", "good"),
                          "negative_button": button("👎", "feedback_bad_label", "bad")}]}


def render(view: View) -> tuple[str, list[Block]]:
    """(notification text, blocks) for a view. The text never carries the draft."""
    run = view.run
    if view.kind == "review" and run is not None:
        return mrkdwn(say.msg("notice_review", run=run.id)), review_blocks(run, banner=view.banner,
                                                                          buttons=view.buttons)
    if view.kind == "result" and run is not None:
        return mrkdwn(say.msg("notice_result", run=run.id)), result_blocks(run)
    body = mrkdwn(view.text) if view.text is not None else ""
    if view.kind == "choices" and run is not None:
        return split_text(body, 300)[0], choice_blocks(run_id=run.id, question=body, options=view.options)
    return split_text(body, 300)[0], [section(chunk) for chunk in split_text(body)]


def edit_modal(run: Run) -> Block:
    text = run.draft.text if run.draft else ""
    parts = split_text(text, INPUT_LIMIT)
    inputs = [{
        "type": "input", "block_id": f"draft_{i}", "optional": i > 0,
        "label": {"type": "plain_text", "text": "Draft" if len(parts) == 1 else f"Draft (part {i + 1} of {len(parts)})"},
        "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                    "max_length": INPUT_LIMIT, "initial_value": part},
    } for i, part in enumerate(parts)]
    return {"type": "modal", "callback_id": EDIT_VIEW, "private_metadata": run_ref(run),
            "title": {"type": "plain_text", "text": "Edit draft"},
            "submit": {"type": "plain_text", "text": "Save"}, "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": [context(f"Run {run.id} · your edit replaces the draft; the original is kept."), *inputs]}


def reject_modal(run: Run) -> Block:
    return {"type": "modal", "callback_id": REJECT_VIEW, "private_metadata": run_ref(run),
            "title": {"type": "plain_text", "text": "Reject draft"},
            "submit": {"type": "plain_text", "text": "Reject"}, "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": [{"type": "input", "block_id": "reason", "label": {"type": "plain_text", "text": "Reason"},
                        "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                                    "max_length": 2000}}]}


PICK = "maple_pick"


def choice_blocks(*, run_id: str, question: str, options: list[tuple[str, str]]) -> list[Block]:
    """The ask-back (``question`` is rendered mrkdwn): one button per candidate workflow; the value carries
    run id and workflow id."""
    buttons = [{"type": "button", "text": {"type": "plain_text", "text": label[:75]}, "action_id": f"{PICK}_{wf}",
                "value": f"{run_id}:{wf}"} for wf, label in options[:5]]
    return [section(question), {"type": "actions", "block_id": f"pick:{run_id}", "elements": buttons}]


def home_view(workflows: Msg, *, admin: bool, extra: list[Block] | None = None) -> Block:
    """The App Home tab: how to use Maple, what this person may run, and ``extra`` (their schedules)."""
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Maple"}}, section(mrkdwn(say.USAGE)),
              {"type": "divider"}, section(mrkdwn(workflows))]
    if admin:
        blocks.append(context(mrkdwn(say.ADMIN_USAGE)))
    if extra:
        blocks += [{"type": "divider"}, *extra]
    return {"type": "home", "blocks": blocks[:100]}
