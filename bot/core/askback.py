"""Which workflows to offer when Maple is not sure which one a goal meant — decided once, when the goal arrives,
and kept on the run, so the slash command's answer and the question a worker asks in a thread offer the same.

Workflows the goal gave some sign of come first, best first. Then general ones — those that start from the goal
alone (drafting, answering). A workflow that starts by running a tool on something the goal must name (numbers or
dates to compute, a channel to read) is offered only when the goal gave a sign of it: "Acme" is not a calculation.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.spec import WorkflowSpec

LIMIT = 3


def offered(mine: Sequence[WorkflowSpec], ranked: Sequence[tuple[str, float]], *, limit: int = LIMIT) -> list[str]:
    """The ids of the workflows to offer, from those the person may run (``mine``) and the classifier's scores."""
    scores = dict(ranked)
    signed = sorted((wf for wf in mine if scores.get(wf.id, 0.0) > 0), key=lambda wf: -scores[wf.id])
    general = [wf for wf in mine if scores.get(wf.id, 0.0) <= 0 and not _needs_input(wf)]
    return [wf.id for wf in [*signed, *general][:limit]]


def _needs_input(workflow: WorkflowSpec) -> bool:
    return any(step.kind == "tool" for step in workflow.steps)


def choices(offer: Sequence[str], workflows: Sequence[WorkflowSpec]) -> list[tuple[str, str, str]]:
    """(id, title, description) of each offered workflow that still exists, in the offered order."""
    by_id = {wf.id: wf for wf in workflows}
    return [(wf.id, wf.label, wf.description) for wf in (by_id.get(i) for i in offer) if wf is not None]
