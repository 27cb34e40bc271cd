"""Block Kit for a run's planned tool calls: exactly which calls approval makes, with their arguments (shown
literally — they are untrusted), and afterwards what each call answered."""

from __future__ import annotations

from typing import Any

from bot.core import text as say
from bot.core.actions import MAX_PLANNED_CALLS, approved_calls, dropped_calls, shown_arguments
from bot.core.models import Run
from handlers.mrkdwn import SECTION_LIMIT, escape, mrkdwn, split_text

Block = dict[str, Any]
MAX_SHOWN = MAX_PLANNED_CALLS


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _said(message: say.Msg, language: str) -> str:
    return mrkdwn(say.in_language(message, language))


def planned_blocks(run: Run, *, language: str = "en") -> list[Block]:
    """For the review message: each call the current version will make — every one, with its arguments whole
    (the core plans no more calls, and no longer arguments, than a review shows) — and a note when an edit
    dropped some."""
    calls = approved_calls(run)
    blocks: list[Block] = []
    if calls:
        blocks.append(_section(_said(say.msg("calls_planned"), language)))
    for call in calls[:MAX_SHOWN]:
        body = _said(say.call_planned_msg(call.tool, call.what), language)
        chunks = split_text(escape(shown_arguments(call.arguments)), SECTION_LIMIT - len(body) - 10)
        blocks.append(_section(f"{body}\n```{chunks[0]}```"))
        blocks += [_section(f"```{chunk}```") for chunk in chunks[1:]]
    if dropped_calls(run) and run.state.value == "in_review":
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _said(say.msg("calls_dropped"), language)}]})
    return blocks


def outcome_blocks(run: Run, *, language: str = "en") -> list[Block]:
    """For the result message: what each call made after approval answered."""
    made = [c for c in run.calls if c.state in ("done", "failed", "unknown")]
    if not made:
        return []
    lines = [say.call_outcome(c.tool, c.state, result=c.result, error=c.error) for c in made[:MAX_SHOWN]]
    return [_section(_said(say.msg("calls_made"), language)),
            *[_section(cut_rendered(_said(line, language), SECTION_LIMIT)) for line in lines]]


def cut_rendered(rendered: str, limit: int, *, marker: str = "…") -> str:
    """Rendered mrkdwn at most ``limit`` characters long, never cut inside an entity (``&amp;``) or a token
    (``<@U…>``, ``<#C…>``, a link): a cut one would show half an escape or open markup that was never closed."""
    if len(rendered) <= limit:
        return rendered
    cut = rendered[: limit - len(marker)]
    for opener, closer in (("&", ";"), ("<", ">")):
        at = cut.rfind(opener)
        if at != -1 and closer not in cut[at:]:
            cut = cut[:at]
    return cut + marker
