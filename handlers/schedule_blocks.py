"""Block Kit for schedules: one section per schedule with its Pause / Resume / Delete / Run now buttons (shown only to
whoever may use them; every click is checked again in the core). Each button's action id carries the schedule id,
so the ids stay unique in a message or the App Home."""

from __future__ import annotations

import re

from bot.core.schedule_desk import ScheduleRow, Verb
from bot.core.text import Msg
from handlers.blocks import Block, context, section
from handlers.mrkdwn import mrkdwn

ACTION = "maple_schedule"
ACTION_RE = re.compile(rf"^{ACTION}_(pause|resume|delete|run):(.+)$")
_LABELS: dict[Verb, str] = {"pause": "Pause", "resume": "Resume", "delete": "Delete", "run": "Run now"}


def action_id(verb: Verb, schedule_id: str) -> str:
    return f"{ACTION}_{verb}:{schedule_id}"


def parse_action(value: str) -> tuple[Verb, str] | None:
    match = ACTION_RE.match(value)
    return (match.group(1), match.group(2)) if match else None  # type: ignore[return-value]


def _button(verb: Verb, schedule_id: str) -> Block:
    button: Block = {"type": "button", "text": {"type": "plain_text", "text": _LABELS[verb]},
                     "action_id": action_id(verb, schedule_id), "value": schedule_id}
    if verb == "delete":
        button["style"] = "danger"
        button["confirm"] = {"title": {"type": "plain_text", "text": "Delete this schedule?"},
                             "text": {"type": "plain_text", "text": f"{schedule_id} will not run again."},
                             "confirm": {"type": "plain_text", "text": "Delete"},
                             "deny": {"type": "plain_text", "text": "Keep it"}}
    return button


def row_blocks(row: ScheduleRow) -> list[Block]:
    s = row.schedule
    blocks: list[Block] = [section(mrkdwn(row.line()))]
    verbs: list[Verb] = []
    if row.may_change:
        verbs += ["pause" if s.state == "active" else "resume", "delete"]
    if row.may_start:
        verbs.append("run")
    if verbs:
        blocks.append({"type": "actions", "block_id": f"schedule:{s.id}",
                       "elements": [_button(v, s.id) for v in verbs]})
    return blocks


def schedule_blocks(header: Msg, rows: list[ScheduleRow], *, notice: Msg | None = None, limit: int = 46) -> list[Block]:
    blocks: list[Block] = []
    if notice is not None:
        blocks.append(context(mrkdwn(notice)))
    blocks.append(section(mrkdwn(header)))
    for row in rows:
        more = row_blocks(row)
        if len(blocks) + len(more) > limit:
            blocks.append(context("_…more schedules than fit here_"))
            break
        blocks += more
    return blocks
