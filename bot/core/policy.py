"""Policy on drafts, before anyone sees them: personal data the request did not contain, banned terms,
citations where a workflow needs them, length. Each violation blocks or annotates, as configured."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.core.services import Assessor
from bot.core.spec import PolicySpec

Action = Literal["block", "annotate"]
_CITATION = re.compile(r"\[\d{1,3}\]")


@dataclass(frozen=True)
class Violation:
    rule: str
    action: Action
    message: str


def check_draft(
    policy: PolicySpec, *, workflow: str, draft: str, sources: list[str], assess: Assessor
) -> list[Violation]:
    """Every policy violation of ``draft`` given what the request (goal, context) contained."""
    found: list[Violation] = []
    _, draft_hits = assess(draft)
    known: dict[str, int] = {}
    for text in sources:
        for kind, count in assess(text)[1].items():
            known[kind] = known.get(kind, 0) + count
    new = sorted(kind for kind, count in draft_hits.items() if count > known.get(kind, 0))
    if new:
        found.append(Violation("new_personal_data", policy.new_personal_data,
                               "the draft contains personal data the request did not: " + ", ".join(new)))
    lowered = draft.lower()
    banned = sorted({t for t in policy.banned_terms if re.search(rf"(?<!\w){re.escape(t.lower())}(?!\w)", lowered)})
    if banned:
        found.append(Violation("banned_terms", policy.banned_action, f"banned term(s): {', '.join(banned)}"))
    if workflow in policy.require_citations and not _CITATION.search(draft):
        found.append(Violation("citations", "annotate", "the answer cites no source"))
    if len(draft) > policy.max_chars:
        found.append(Violation("length", "block", f"the draft is {len(draft):,} characters; the limit is "
                                                  f"{policy.max_chars:,}"))
    return found


def blocking(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.action == "block"]
