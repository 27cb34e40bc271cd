"""Block Kit for schedules: one section per schedule with its Pause / Resume / Delete / Run now buttons (shown only to
whoever may use them; every click is checked again in the core). Each button's action id carries the schedule id,
so the ids stay unique in a message or the App Home."""

from __future__ import annotations

import re

from bot.core import text as say
from bot.core.schedule_desk import ScheduleRow, Verb
from bot.core.text import Msg
from handlers.blocks import Block, context, label, said, section

ACTION = "maple_schedule"
ACTION_RE = re.compile(rf"^{ACTION}_(pause|resume|delete|run):(.+)$")
_LABELS: dict[Verb, str] = {"pause": "button_pause", "resume": "button_resume", "delete": "button_delete",
                            "run": "button_run_now"}


def action_id(verb: Verb, schedule_id: str) -> str:
    return f"{ACTION}_{verb}:{schedule_id}"


def parse_action(value: str) -> tuple[Verb, str] | None:
    match = ACTION_RE.match(value)
    return (match.group(1), match.group(2)) if match else None  # type: ignore[return-value]


def _button(verb: Verb, schedule_id: str, language: str) -> Block:
    button: Block = {"type": "button", "text": {"type": "plain_text", "text": label(_LABELS[verb], language)},
                     "action_id": action_id(verb, schedule_id), "value": schedule_id}
    if verb == "delete":
        button["style"] = "danger"
        button["confirm"] = {
            "title": {"type": "plain_text", "text": label("schedule_delete_title", language)},
            "text": {"type": "plain_text", "text": label("schedule_delete_text", language, id=schedule_id[:60])},
            "confirm": {"type": "plain_text", "text": label("button_delete", language)},
            "deny": {"type": "plain_text", "text": label("schedule_keep", language)}}
    return button


def row_blocks(row: ScheduleRow, *, language: str = "en") -> list[Block]:
    s = row.schedule
    blocks: list[Block] = [section(said(row.line(), language))]
    verbs: list[Verb] = []
    if row.may_change:
        verbs += ["pause" if s.state == "active" else "resume", "delete"]
    if row.may_start:
        verbs.append("run")
    if verbs:
        blocks.append({"type": "actions", "block_id": f"schedule:{s.id}",
                       "elements": [_button(v, s.id, language) for v in verbs]})
    return blocks


def schedule_blocks(header: Msg, rows: list[ScheduleRow], *, notice: Msg | None = None, limit: int = 46,
                    language: str = "en") -> list[Block]:
    blocks: list[Block] = []
    if notice is not None:
        blocks.append(context(said(notice, language)))
    blocks.append(section(said(header, language)))
    for row in rows:
        more = row_blocks(row, language=language)
        if len(blocks) + len(more) > limit:
            blocks.append(context(said(say.msg("schedules_more"), language)))
            break
        blocks += more
    return blocks
