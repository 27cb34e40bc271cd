"""The run state machine, in one place."""

from __future__ import annotations

from bot.core.errors import InvalidTransition
from bot.core.models import Run, RunState

S = RunState
ALLOWED: dict[RunState, frozenset[RunState]] = {
    S.QUEUED: frozenset({S.DRAFTING, S.FAILED, S.REFUSED, S.CANCELLED}),
    S.DRAFTING: frozenset({S.DRAFTING, S.IN_REVIEW, S.APPROVED, S.FAILED, S.REFUSED, S.CANCELLED}),
    S.IN_REVIEW: frozenset({S.IN_REVIEW, S.APPROVED, S.REJECTED, S.FAILED, S.CANCELLED,
                            S.DRAFTING}),  # drafting: a follow-up
    S.APPROVED: frozenset({S.DELIVERED, S.FAILED}),
    S.REJECTED: frozenset(),
    S.DELIVERED: frozenset({S.DRAFTING}),  # a follow-up on the delivered answer: its next version
    S.FAILED: frozenset(),
    S.REFUSED: frozenset(),
    S.CANCELLED: frozenset(),
}


def transition(run: Run, target: RunState) -> None:
    """Move ``run`` to ``target`` in place, or raise InvalidTransition."""
    if target not in ALLOWED[run.state]:
        raise InvalidTransition(f"{run.state.value} -> {target.value}")
    run.state = target


def reopen(run: Run, target: RunState) -> None:
    """An operator's retry (``maple runs retry``): a failed run goes back to queued, or to approved when its draft
    was approved — the only way out of a final state."""
    if run.state is not S.FAILED or target not in (S.QUEUED, S.APPROVED):
        raise InvalidTransition(f"only a failed run can be retried ({run.state.value} -> {target.value})")
    run.state = target
