"""Side effects that happen at least once and are reconciled: intent recorded before, result after.

``chat.postMessage`` has no idempotency key, so every post carries the run id and effect name (message
metadata); a retry that finds an intent without a result looks for that message before posting again.
"""

from __future__ import annotations

from bot.core.models import Effect, Run
from bot.core.ports import MessageRef, View
from bot.core.services import Services


async def post_once(
    svc: Services, run: Run, *, effect: str, channel: str, view: View, thread_ts: str | None = None
) -> tuple[Run, MessageRef]:
    existing = run.effects.get(effect)
    if existing and existing.done and existing.ts:
        return run, MessageRef(channel=existing.channel, ts=existing.ts)
    if existing is not None:
        found = await svc.surface.find_posted(
            channel=existing.channel, run_id=run.id, effect=effect, thread_ts=existing.thread_ts
        )
        if found is not None:
            return await _done(svc, run, effect, found), found
    else:

        def intend(r: Run) -> None:
            r.effects.setdefault(effect, Effect(channel=channel, thread_ts=thread_ts))

        run = await svc.mutate(run.id, intend)
    target = run.effects[effect]
    ref = await svc.surface.post(
        channel=target.channel, view=view, run_id=run.id, effect=effect, thread_ts=target.thread_ts
    )
    return await _done(svc, run, effect, ref), ref


async def _done(svc: Services, run: Run, effect: str, ref: MessageRef) -> Run:
    def finish(r: Run) -> None:
        r.effects[effect] = Effect(
            channel=ref.channel, thread_ts=r.effects[effect].thread_ts, ts=ref.ts, done=True
        )

    return await svc.mutate(run.id, finish)


def review_refs(run: Run) -> list[MessageRef]:
    return [
        MessageRef(channel=e.channel, ts=e.ts)
        for name, e in run.effects.items()
        if name.startswith("review:") and e.done and e.ts
    ]
