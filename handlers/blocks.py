"""Block Kit rendering of the core's neutral views. Every piece of untrusted text goes through mrkdwn.escape."""

from __future__ import annotations

from typing import Any

from bot.core.models import Run
from bot.core.ports import View
from handlers.mrkdwn import INPUT_LIMIT, MESSAGE_BLOCK_LIMIT, escape, split_text

Block = dict[str, Any]
APPROVE, EDIT, REJECT = "maple_approve", "maple_edit", "maple_reject"
EDIT_VIEW, REJECT_VIEW = "maple_edit_view", "maple_reject_view"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def body_sections(untrusted: str) -> list[Block]:
    return [section(chunk) for chunk in split_text(escape(untrusted))]


def _model_line(run: Run) -> str:
    draft = run.draft
    if draft is None:
        return ""
    if draft.model is None:
        return f"edited by <@{draft.author}>"
    if not run.usage:
        return draft.model
    tokens, spent = run.total_tokens, run.total_cost  # the whole run: classification and every round included
    cost = f"${spent:.4f}" if spent >= 0.0001 or not spent else f"${spent:.6f}"
    return f"{draft.model} · {tokens:,} tokens · {cost}"


def review_blocks(run: Run, *, banner: str | None, buttons: bool) -> list[Block]:
    draft = run.draft
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Draft for review"[:150]}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Requester*\n<@{run.requester}>"},
            {"type": "mrkdwn", "text": f"*Workflow*\n{escape(run.workflow)}"},
            {"type": "mrkdwn", "text": f"*Model*\n{escape(_model_line(run))}"},
            {"type": "mrkdwn", "text": f"*Run*\n{run.id}"},
        ]},
        section("*Goal*\n" + escape(run.goal[:2900])),
        {"type": "divider"},
    ]
    notes = [*(draft.notes if draft else []), *run.policy_notes]
    blocks += body_sections(draft.text if draft else "(no draft)")
    if notes:
        blocks.append(context(" · ".join(escape(n) if "<@" not in n else n for n in notes)[:2900]))
    if run.approvals and run.state.value == "in_review":
        who = ", ".join(f"<@{u}>" for u in run.approvals)
        blocks.append(context(f"Approved by {who} — {len(run.approvals)} of {run.quorum} approvals needed"))
    if banner:
        blocks.append(context(banner))
    if buttons:
        blocks.append({"type": "actions", "block_id": f"review:{run.id}", "elements": [
            _button("Approve", APPROVE, run.id, "primary"),
            _button("Edit", EDIT, run.id, None),
            _button("Reject", REJECT, run.id, "danger"),
        ]})
    return fit(blocks, keep_tail=2 if buttons or banner else 0)


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


def result_blocks(run: Run) -> list[Block]:
    draft = run.draft
    blocks = body_sections(draft.text if draft else "")
    footer = f"Requested by <@{run.requester}> · run {run.id}"
    if run.decision:
        footer += f" · approved by <@{run.decision.by}>"
    if run.citations:
        footer += " · sources: " + ", ".join(escape(c) for c in run.citations[:10])
    notes = [n for n in (draft.notes if draft and draft.author.startswith("model:") else []) if "<@" not in n]
    if notes and not run.decision:  # unreviewed answers carry their caveats (demo model, no sources…)
        footer += " · " + " · ".join(escape(n) for n in notes)
    return fit([*blocks, context(footer[:2900])], keep_tail=1)


def render(view: View) -> tuple[str, list[Block]]:
    """(notification text, blocks) for a view. The text never carries the draft."""
    run = view.run
    if view.kind == "review" and run is not None:
        return f"Draft for review — run {run.id}", review_blocks(run, banner=view.banner, buttons=view.buttons)
    if view.kind == "result" and run is not None:
        return f"Result of run {run.id}", result_blocks(run)
    if view.kind == "choices" and run is not None:
        return view.text[:300], choice_blocks(run_id=run.id, question=view.text, options=view.options)
    return view.text[:300], [section(chunk) for chunk in split_text(view.text)]


def edit_modal(run: Run) -> Block:
    text = run.draft.text if run.draft else ""
    parts = split_text(text, INPUT_LIMIT)
    inputs = [{
        "type": "input", "block_id": f"draft_{i}", "optional": i > 0,
        "label": {"type": "plain_text", "text": "Draft" if len(parts) == 1 else f"Draft (part {i + 1} of {len(parts)})"},
        "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                    "max_length": INPUT_LIMIT, "initial_value": part},
    } for i, part in enumerate(parts)]
    return {"type": "modal", "callback_id": EDIT_VIEW, "private_metadata": run.id,
            "title": {"type": "plain_text", "text": "Edit draft"},
            "submit": {"type": "plain_text", "text": "Save"}, "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": [context(f"Run {run.id} · your edit replaces the draft; the original is kept."), *inputs]}


def reject_modal(run: Run) -> Block:
    return {"type": "modal", "callback_id": REJECT_VIEW, "private_metadata": run.id,
            "title": {"type": "plain_text", "text": "Reject draft"},
            "submit": {"type": "plain_text", "text": "Reject"}, "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": [{"type": "input", "block_id": "reason", "label": {"type": "plain_text", "text": "Reason"},
                        "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                                    "max_length": 2000}}]}


PICK = "maple_pick"


def choice_blocks(*, run_id: str, question: str, options: list[tuple[str, str]]) -> list[Block]:
    """The ask-back: one button per candidate workflow; the value carries run id and workflow id."""
    buttons = [{"type": "button", "text": {"type": "plain_text", "text": label[:75]}, "action_id": f"{PICK}_{wf}",
                "value": f"{run_id}:{wf}"} for wf, label in options[:5]]
    return [section(question), {"type": "actions", "block_id": f"pick:{run_id}", "elements": buttons}]


def home_view(workflows: str, *, admin: bool) -> Block:
    """The App Home tab: how to use Maple and what this person may run."""
    from bot.core import text

    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Maple"}}, section(text.USAGE),
              {"type": "divider"}, section(workflows)]
    if admin:
        blocks.append(context(text.ADMIN_USAGE))
    return {"type": "home", "blocks": blocks}
