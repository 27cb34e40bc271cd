"""The run state machine, in one place."""

from __future__ import annotations

from bot.core.errors import InvalidTransition
from bot.core.models import Run, RunState

S = RunState
ALLOWED: dict[RunState, frozenset[RunState]] = {
    S.QUEUED: frozenset({S.DRAFTING, S.FAILED, S.REFUSED}),
    S.DRAFTING: frozenset({S.DRAFTING, S.IN_REVIEW, S.APPROVED, S.FAILED, S.REFUSED}),
    S.IN_REVIEW: frozenset({S.IN_REVIEW, S.APPROVED, S.REJECTED, S.FAILED, S.DRAFTING}),  # drafting: a follow-up
    S.APPROVED: frozenset({S.DELIVERED, S.FAILED}),
    S.REJECTED: frozenset(),
    S.DELIVERED: frozenset(),
    S.FAILED: frozenset(),
    S.REFUSED: frozenset(),
}


def transition(run: Run, target: RunState) -> None:
    """Move ``run`` to ``target`` in place, or raise InvalidTransition."""
    if target not in ALLOWED[run.state]:
        raise InvalidTransition(f"{run.state.value} -> {target.value}")
    run.state = target
