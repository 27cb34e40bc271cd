"""Block Kit rendering of the core's neutral views. Every piece of untrusted text goes through mrkdwn.escape."""

from __future__ import annotations

from typing import Any

from bot.core import text as say
from bot.core.access import edited_last_by
from bot.core.feedback import answer_ref
from bot.core.followups import changes, previous_text, revision_of
from bot.core.home import HomeRuns
from bot.core.knowledge import cited
from bot.core.models import Run
from bot.core.ports import View
from bot.core.text import Msg
from handlers.blocks_calls import cut_rendered, outcome_blocks, planned_blocks
from handlers.mrkdwn import (
    INPUT_LIMIT,
    MESSAGE_BLOCK_LIMIT,
    SECTION_LIMIT,
    escape,
    mrkdwn,
    split_text,
)
from handlers.mrkdwn import mrkdwn as show_msg

Block = dict[str, Any]
APPROVE, EDIT, REJECT = "maple_approve", "maple_edit", "maple_reject"
EDIT_VIEW, REJECT_VIEW = "maple_edit_view", "maple_reject_view"
FEEDBACK = "maple_feedback"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def said(message: Msg, language: str) -> str:
    """``message`` as mrkdwn, in ``language`` (the reader's: see bot/core/notify.py ``language_at``)."""
    return mrkdwn(say.in_language(message, language))


def label(key: str, language: str, **args: say.Arg) -> str:
    """A plain-text label (a button, a modal's title or field) in ``language``."""
    return str(say.in_language(say.msg(key, **args), language))


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


def review_blocks(run: Run, *, banner: Msg | None, buttons: bool, viewer: str | None = None,
                  notice: Msg | None = None, language: str = "en") -> list[Block]:
    """The review message leads with the decision a reviewer makes: the draft (labelled), where Approve posts it
    and whether that is public, its sensitivity, what it read; then the details (workflow, model, tokens, cost,
    run id). After a decision its header says which. Every label is in ``language``; the draft is as written."""
    def m(message: Msg) -> str:
        return said(message, language)

    draft = run.draft
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": label(_header(run), language)[:150]}},
        {"type": "section", "fields": decision_fields(run, language=language)},
        section(m(say.msg("label_goal", goal=say.Quote(run.goal, SECTION_LIMIT - 20)))),
        *planned_blocks(run, language=language),  # before the draft: a long draft is cut, never a call it makes
        {"type": "divider"},
        section(m(say.msg("label_draft"))),
    ]
    notes = [*(draft.notes if draft else []), *run.policy_notes]
    blocks += body_sections(draft.text) if draft else [section(m(say.msg("no_draft")))]
    if draft is not None and draft.truncated:
        blocks.append(context(m(say.msg("draft_truncated"))))
    blocks += source_blocks(run, language=language)
    if notes:
        blocks.append(context(cut_rendered(m(say.notes_msg(notes)), SECTION_LIMIT - 100)))
    if (changed := revised_line(run)) is not None:
        blocks.append(context(m(changed)))
        blocks += changes_blocks(run, language=language)
    tail: list[Block] = [{"type": "divider"}, context(m(say.msg(
        "review_details", workflow=say.Quote(run.workflow, 100), model=_model_line(run), run=run.id)))]
    if run.approvals and run.state.value == "in_review":
        who = say.lines([say.msg("raw", text=say.User(u)) for u in run.approvals[:20]], sep=", ")
        tail.append(context(m(say.msg("approvals_progress", who=who, count=len(run.approvals), quorum=run.quorum))))
    editor = edited_last_by(run)
    if buttons and editor is not None:
        tail.append(context(m(say.msg("review_you_edited") if viewer == editor
                              else say.msg("review_editor_cannot", user=say.User(editor)))))
    if notice and buttons:
        tail.append(context(m(notice)))
    if banner:
        tail.append(context(m(banner)))
    if buttons:
        ref = run_ref(run)
        approve = ([] if viewer is not None and viewer == editor
                   else [_button(label("button_approve", language), APPROVE, ref, "primary")])
        tail.append({"type": "actions", "block_id": f"review:{ref}", "elements": [
            *approve,
            _button(label("button_edit", language), EDIT, ref, None),
            _button(label("button_reject", language), REJECT, ref, "danger"),
        ]})
    return fit([*blocks, *tail], keep_tail=len(tail), language=language)


def _header(run: Run) -> str:
    decided = run.decision.kind if run.decision else None
    if run.state.value == "in_review":
        return "review_header"
    if decided == "approve":
        return "header_approved"
    return {"reject": "header_rejected", "cancel": "header_cancelled"}.get(decided or "", "header_closed")


def decision_fields(run: Run, *, language: str = "en") -> list[Block]:
    """Where Approve posts (and what kind of conversation that is), the draft's level, who asked, what it read."""
    posted = "result" in run.effects or run.state.value in ("approved", "delivered")
    where = _where(run)
    level = say.msg(f"level_{run.sensitivity.label}")
    found = ", ".join(sorted(run.sensitivity_hits))[:200]
    fields = [say.msg("field_posted_to" if posted else "field_posts_to", where=where),
              say.msg("field_level_found", level=level, found=found) if found else say.msg("field_level", level=level),
              say.msg("field_requester", user=say.User(run.requester))]
    if run.read_from:
        fields.append(say.msg("field_read", channels=say.lines(
            [say.where(c) for c in run.read_from[:5]], sep=", ")))
    return [{"type": "mrkdwn", "text": escape_within_lines(said(f, language))[:2000]} for f in fields]


def _where(run: Run) -> Msg:
    target = run.target
    if target is None:
        return say.msg("where_unknown")
    if target.kind == "dm":
        shown = say.msg("where_dm")
    else:
        shown = say.msg(f"where_{target.kind}", channel=say.Channel(target.channel))
    if target.thread_ts:
        shown = say.msg("where_thread", where=shown)
    if target.instead_of:
        shown = say.msg("where_instead", where=shown, channel=say.where(target.instead_of))
    return shown


TAKE, CANCEL = "maple_take", "maple_cancel"


def stuck_blocks(run: Run, message: Msg, *, language: str = "en") -> list[Block]:
    """To an admin: a run nobody left may approve, with Take the review / Cancel run."""
    return [section(said(message, language)), {"type": "actions", "block_id": f"stuck:{run.id}", "elements": [
        _button(label("button_take_review", language), TAKE, run.id, "primary"),
        _button(label("button_cancel_run", language), CANCEL, run.id, "danger")]}]


def revised_line(run: Run) -> Msg | None:
    """What changed, when the draft is a revision after a follow-up: who asked, what, and the length before and
    after (the previous version is kept on the run)."""
    asked = revision_of(run)
    if asked is None or run.draft is None:
        return None
    before = next((d.text for d in run.drafts if d.version == asked.version), "")
    return say.msg("review_revised", version=run.draft_version, user=say.User(asked.by),
                   asked=say.Quote(asked.text, 300), before=len(before.split()), after=len(run.draft.text.split()))


def changes_blocks(run: Run, *, language: str = "en") -> list[Block]:
    """What changed from the version a follow-up revised to this one, sentence by sentence: removed ones struck
    through, added ones marked — each sentence cut, then escaped; Maple's own words in ``language``."""
    before, asked = previous_text(run), revision_of(run)
    if before is None or asked is None or run.draft is None:
        return []
    found, more = changes(before, run.draft.text)
    if not found:
        return [context(said(say.msg("changes_none", version=asked.version), language))]
    rows = [say.msg("change_removed" if sign == "-" else "change_added", text=say.Quote(sentence, 300))
            for sign, sentence in found]
    if more:
        rows.append(say.msg("changes_more", count=more))
    return [section(escape_within_lines(said(say.lines([say.msg("changes_head", version=asked.version), *rows]),
                                             language)))]


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


def fit(blocks: list[Block], *, keep_tail: int = 0, language: str = "en") -> list[Block]:
    """At most 50 blocks: keep the head and the last ``keep_tail`` blocks (banner, buttons), note the cut."""
    if len(blocks) <= MESSAGE_BLOCK_LIMIT:
        return blocks
    tail = blocks[len(blocks) - keep_tail:] if keep_tail else []
    head = blocks[: MESSAGE_BLOCK_LIMIT - 1 - len(tail)]
    return [*head, context(said(say.msg("rest_too_long"), language)), *tail]


def source_blocks(run: Run, *, language: str = "en") -> list[Block]:
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
    return [section(escape_within_lines(said(say.lines([say.msg("sources_heading"), *lines]), language)))]


def escape_within_lines(rendered: str) -> str:
    """Rendered mrkdwn kept within a section (sources are few and short; a very long list is cut at a line)."""
    if len(rendered) <= SECTION_LIMIT:
        return rendered
    return rendered[: rendered.rfind("\n", 0, SECTION_LIMIT - 2)] + "\n…"


def result_blocks(run: Run, *, language: str = "en") -> list[Block]:
    """The delivered result: its label when no person reviewed it, the text, its sources and calls, who asked
    and who approved. Maple's own words are in ``language``; the result's text is as written."""
    draft = run.draft
    blocks = [*unreviewed_label(run, language=language), *body_sections(draft.text if draft else ""),
              *source_blocks(run, language=language), *outcome_blocks(run, language=language)]
    parts = [say.msg("footer_requested", user=say.User(run.requester), run=run.id)]
    if run.decision:
        parts.append(say.msg("footer_approved", user=say.User(run.decision.by)))
    if (changed := revised_line(run)) is not None:  # a revised answer says which version it is, and why
        blocks.append(context(said(changed, language)))
    return fit([*blocks, context(said(say.lines(parts, sep=" · "), language)), feedback_block(run, language=language)],
               keep_tail=2, language=language)


def feedback_block(run: Run, *, language: str = "en") -> Block:
    """👍 / 👎 under a delivered answer: Slack's feedback buttons in a context-actions block. Each button's value
    names the run and the vote (``R-…:good``); the click goes to handlers/listeners.py."""

    label_of = label

    def button(emoji: str, key: str, vote: str) -> Block:
        return {"text": {"type": "plain_text", "text": emoji}, "accessibility_label": label_of(key, language),
                "value": f"{answer_ref(run)}:{vote}"}

    return {"type": "context_actions", "block_id": f"feedback:{answer_ref(run)}",
            "elements": [{"type": "feedback_buttons", "action_id": FEEDBACK,
                          "positive_button": button("👍", "feedback_good_label", "good"),
                          "negative_button": button("👎", "feedback_bad_label", "bad")}]}


def unreviewed_label(run: Run, *, language: str = "en") -> list[Block]:
    """What a reader must know before reading text a model wrote that no person reviewed — above it, not in a
    footer: whether it comes from the approved documents (its valid citations), and its caveats (demo model…)."""
    draft = run.draft
    if run.decision is not None or draft is None or not draft.author.startswith("model:"):
        return []
    grounded = bool(cited(draft.text) & {c.n for c in run.citations})
    if draft.model == "knowledge":  # Maple's own words: "not covered", or passages quoted as they are
        label = say.msg("label_quoted") if grounded else None
    else:
        label = say.msg("label_unreviewed_cited" if grounded else "label_unreviewed")
    lines = [label] if label is not None else []
    if draft.notes:
        lines.append(say.msg("label_notes", notes=say.notes_msg(draft.notes)))
    return [section(said(say.lines(lines), language))] if lines else []


REVISE, REVISE_VIEW = "maple_revise", "maple_revise_view"


def progress_blocks(run: Run, *, stuck: Msg | None = None, language: str = "en") -> list[Block]:
    """The requester's run message: the goal, where the run is (and who has it), Cancel while it is pending and
    Revise after a rejection — in the requester's language."""
    def m(message: Msg) -> str:
        return said(message, language)

    blocks: list[Block] = [section(m(say.msg("progress_goal", goal=say.Quote(run.goal, 300)))),
                           section(m(stuck if stuck is not None and run.state.value == "in_review"
                                     else _progress_line(run))),
                           context(m(say.msg("progress_details", workflow=say.Quote(run.workflow, 100), run=run.id)))]
    if not run.terminal and run.state.value != "approved":
        blocks.append({"type": "actions", "block_id": f"progress:{run.id}", "elements": [
            _button(label("button_cancel_run", language), CANCEL, run.id, "danger")]})
    elif run.state.value in ("rejected", "cancelled"):
        blocks.append({"type": "actions", "block_id": f"progress:{run.id}", "elements": [
            _button(label("button_revise", language), REVISE, run.id, "primary")]})
    return blocks


def _progress_line(run: Run) -> Msg:
    state, decision = run.state.value, run.decision
    at = f"{decision.at:%H:%M} UTC" if decision else ""
    by = say.User(decision.by) if decision else say.User("")
    if state == "queued":
        return say.msg("progress_queued")
    if state == "drafting":
        return say.msg("progress_drafting")
    if state == "in_review":
        who = say.lines([_reviewer(name) for name in run.effects if name.startswith("review:")][:10], sep=", ")
        if run.quorum > 1:
            return say.msg("progress_review_quorum", who=who, count=len(run.approvals), quorum=run.quorum)
        return say.msg("progress_review", who=who)
    if state == "approved":
        return say.msg("progress_approved", user=by)
    if state == "delivered":
        result = run.effects.get("result")
        channel = result.channel if result else ""
        if not decision:
            return say.msg("raw", text="")
        if channel.startswith("D"):
            return say.msg("progress_delivered_dm", user=by, at=at)
        return say.msg("progress_delivered", user=by, at=at, where=say.where(channel))
    if state == "rejected":
        return say.msg("progress_rejected", user=by, at=at, reason=say.Quote((decision.reason if decision else "")
                                                                             or "", 500))
    if state == "cancelled":
        return say.msg("progress_cancelled", user=by, at=at)
    return say.msg("progress_failed" if state == "failed" else "progress_refused",
                   why=say.Quote(run.error or "", 500))


def text_of_progress(run: Run) -> Msg:
    return say.lines([say.run_name(run.id, run.goal), _progress_line(run)], sep=" — ")


def _reviewer(effect: str) -> Msg:
    who = effect.partition(":")[2]
    return say.msg("raw", text=say.User(who) if who.startswith(("U", "W")) else say.Channel(who))


def revise_modal(run: Run, *, limit: int, language: str = "en") -> Block:
    """Revise a rejected (or cancelled) run: its goal, pre-filled, to resubmit as a new run of the same workflow."""
    reason = []
    if run.decision and run.decision.kind == "reject":
        reason = [context(said(say.msg("revise_reason", user=say.User(run.decision.by),
                                       reason=say.Quote(run.decision.reason or "", 1500)), language))]
    return {"type": "modal", "callback_id": REVISE_VIEW, "private_metadata": run.id,
            "title": {"type": "plain_text", "text": label("revise_title", language)[:24]},
            "submit": {"type": "plain_text", "text": label("revise_submit", language)[:24]},
            "close": {"type": "plain_text", "text": label("modal_close", language)[:24]},
            "blocks": [*reason, {"type": "input", "block_id": "goal",
                                 "label": {"type": "plain_text", "text": label("revise_goal", language)},
                                 "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                                             "max_length": min(limit, INPUT_LIMIT),
                                             "initial_value": run.goal[:min(limit, INPUT_LIMIT)]}}]}


def render(view: View) -> tuple[str, list[Block]]:
    """(notification text, blocks) for a view, in the view's language. The text never carries the draft."""
    run, lang = view.run, view.language
    if view.kind == "review" and run is not None:
        return said(say.msg("notice_review", run=run.id), lang), review_blocks(
            run, banner=view.banner, buttons=view.buttons, viewer=view.viewer, notice=view.notice, language=lang)
    if view.kind == "progress" and run is not None:
        return said(text_of_progress(run), lang), progress_blocks(run, stuck=view.notice, language=lang)
    if view.kind == "stuck" and run is not None and view.text is not None:
        return split_text(said(view.text, lang), 300)[0], stuck_blocks(run, view.text, language=lang)
    if view.kind == "result" and run is not None:
        return said(say.msg("notice_result", run=run.id), lang), result_blocks(run, language=lang)
    body = said(view.text, lang) if view.text is not None else ""
    if view.kind == "choices" and run is not None:
        return split_text(body, 300)[0], choice_blocks(run_id=run.id, question=body, options=view.options,
                                                       language=view.language)
    return split_text(body, 300)[0], [section(chunk) for chunk in split_text(body)]


def edit_modal(run: Run, *, warning: Msg | None = None, language: str = "en") -> Block:
    text = run.draft.text if run.draft else ""
    parts = split_text(text, INPUT_LIMIT)
    inputs = [{
        "type": "input", "block_id": f"draft_{i}", "optional": i > 0,
        "label": {"type": "plain_text", "text": label("edit_field", language) if len(parts) == 1
                  else label("edit_field_part", language, part=i + 1, parts=len(parts))},
        "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                    "max_length": INPUT_LIMIT, "initial_value": part},
    } for i, part in enumerate(parts)]
    return {"type": "modal", "callback_id": EDIT_VIEW, "private_metadata": run_ref(run),
            "title": {"type": "plain_text", "text": label("edit_title", language)[:24]},
            "submit": {"type": "plain_text", "text": label("edit_submit", language)[:24]},
            "close": {"type": "plain_text", "text": label("modal_close", language)[:24]},
            "blocks": [context(said(say.msg("edit_intro", run=run.id), language)),
                       *([section(said(warning, language))] if warning is not None else []), *inputs]}


def reject_modal(run: Run, *, language: str = "en") -> Block:
    return {"type": "modal", "callback_id": REJECT_VIEW, "private_metadata": run_ref(run),
            "title": {"type": "plain_text", "text": label("reject_title", language)[:24]},
            "submit": {"type": "plain_text", "text": label("reject_submit", language)[:24]},
            "close": {"type": "plain_text", "text": label("modal_close", language)[:24]},
            "blocks": [{"type": "input", "block_id": "reason",
                        "label": {"type": "plain_text", "text": label("reject_reason", language)},
                        "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                                    "max_length": 2000}}]}


PICK = "maple_pick"
DISMISS = "maple_dismiss"


def choice_blocks(*, run_id: str, question: str, options: list[tuple[str, str, str]],
                  language: str = "en") -> list[Block]:
    """The ask-back (``question`` is rendered mrkdwn, and quotes the goal): one section per offered workflow, its
    title and description beside a *Choose* button whose value carries run id and workflow id; then *None of
    these*."""
    choose, none = label("choose", language), label("none_of_these", language)
    blocks: list[Block] = [section(question)]
    for wf, title, description in options[:5]:
        line = section(said(say.choice_line(title, description), language))
        line["block_id"] = f"pick:{run_id}:{wf}"
        line["accessory"] = {"type": "button", "text": {"type": "plain_text", "text": choose},
                             "action_id": f"{PICK}_{wf}", "value": f"{run_id}:{wf}",
                             "accessibility_label": f"{choose} {title}"[:75]}
        blocks.append(line)
    blocks.append({"type": "actions", "block_id": f"pick:{run_id}", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": none},
         "action_id": DISMISS, "value": run_id}]})
    return blocks


def runs_blocks(runs: HomeRuns, *, notice: Msg | None = None, language: str = "en") -> list[Block]:
    """The App Home's runs, per person: mine, waiting for my review (stuck ones marked), and for admins what needs
    attention, stuck runs with their buttons."""
    def mrkdwn(message: Msg) -> str:  # in the reader's language
        return show_msg(say.in_language(message, language))

    blocks: list[Block] = [context(mrkdwn(notice))] if notice is not None else []
    for title, none, lines in (("home_waiting", "home_waiting_none", runs.waiting),
                               ("home_mine", "home_mine_none", runs.mine)):
        shown = say.lines([say.msg(title), *lines]) if lines else say.lines([say.msg(title), say.msg(none)])
        blocks.append(section(escape_within_lines(mrkdwn(shown))))
    if runs.admin:
        blocks.append({"type": "divider"})
        if not runs.stuck and not runs.attention:
            blocks.append(section(mrkdwn(say.lines([say.msg("home_attention"), say.msg("home_attention_none")]))))
        else:
            blocks.append(section(escape_within_lines(mrkdwn(say.lines([say.msg("home_attention"),
                                                                        *runs.attention])))))
        for run, message in runs.stuck:
            blocks += stuck_blocks(run, message, language=language)
    return blocks


def home_view(workflows: Msg, *, admin: bool, extra: list[Block] | None = None,
              lead: list[Block] | None = None, language: str = "en") -> Block:
    """The App Home tab: ``lead`` (this person's runs) first, then how to use Maple, what this person may run, and
    ``extra`` (their schedules)."""
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Maple"}}, *(lead or []),
              *([{"type": "divider"}] if lead else []), section(mrkdwn(say.in_language(say.USAGE, language))),
              {"type": "divider"}, section(mrkdwn(workflows))]
    if admin:
        blocks.append(context(mrkdwn(say.in_language(say.ADMIN_USAGE, language))))
    if extra:
        blocks += [{"type": "divider"}, *extra]
    return {"type": "home", "blocks": blocks[:100]}
