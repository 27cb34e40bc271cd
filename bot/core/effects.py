"""Side effects that happen at least once and are reconciled: intent recorded before, result after.

``chat.postMessage`` has no idempotency key, so every post carries the run id and effect name (message
metadata). The intent is a *claim*: one compare-and-set records who is about to post and when. A delivery that
finds a fresh claim of someone else's does not post (it raises EffectInProgress and the job is retried); one that
finds an old claim, or a claim of its own from an earlier attempt, looks for the message by its metadata before
posting again. So two deliveries of one job at the same moment post once.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from bot.core.errors import EffectInProgress, MapleError, SurfaceError, SurfaceUnavailable
from bot.core.models import Effect, Run
from bot.core.ports import MessageRef, View
from bot.core.services import Services
from bot.core.text import Msg

CLAIM_FOR = timedelta(seconds=120)  # longer than a post with the Slack client's retries can take


async def post_once(
    svc: Services, run: Run, *, effect: str, channel: str, view: View, thread_ts: str | None = None
) -> tuple[Run, MessageRef]:
    existing = run.effects.get(effect)
    if existing and existing.done and existing.ts:
        return run, MessageRef(channel=existing.channel, ts=existing.ts)
    run, tried_before = await _claim(svc, run, effect=effect, channel=channel, thread_ts=thread_ts)
    target = run.effects[effect]
    if target.done and target.ts:
        return run, MessageRef(channel=target.channel, ts=target.ts)
    tag = tagged(run, effect)
    if tried_before:
        found = await svc.surface.find_posted(channel=target.channel, run_id=run.id, effect=tag,
                                              thread_ts=target.thread_ts)
        if found is not None:
            return await _done(svc, run, effect, found), found
    try:
        ref = await svc.surface.post(
            channel=target.channel, view=view, run_id=run.id, effect=tag, thread_ts=target.thread_ts
        )
    except BaseException:
        await _release(svc, run.id, effect, target.claim)  # a retry may go at once (it looks for the post first)
        raise
    return await _done(svc, run, effect, ref), ref


def tagged(run: Run, effect: str) -> str:
    """The effect's name in the message's metadata: with the run's round after a follow-up reopened a delivered run
    (``result@r1``), so a retry looking for the new result never mistakes the previous one for it."""
    return f"{effect}@r{run.round}" if run.round else effect
async def whisper_once(
    svc: Services, run: Run, *, effect: str, channel: str, user: str, view: View, thread_ts: str | None = None
) -> Run:
    """A message only ``user`` sees, in ``channel``'s thread (an ephemeral message), once: claimed, posted, marked
    done. When Slack cannot show it there it goes to ``user``'s direct messages instead (``{effect}:dm``, posted
    once). An ephemeral message cannot be looked up afterwards, so a delivery that died between posting it and
    marking it done shows it again — to that one person, never to the channel."""
    existing = run.effects.get(effect)
    if existing and existing.done:
        return run
    run, _tried = await _claim(svc, run, effect=effect, channel=channel, thread_ts=thread_ts)
    target = run.effects[effect]
    if target.done:
        return run
    try:
        await svc.surface.post_ephemeral(channel=channel, user=user, text=view.text or Msg("raw", {"text": ""}),
                                         thread_ts=thread_ts, view=view)
    except SurfaceError as exc:
        if isinstance(exc, SurfaceUnavailable):  # Slack is down or throttling: the job is retried
            await _release(svc, run.id, effect, target.claim)
            raise
        dm = await svc.surface.open_dm(user=user)  # e.g. not_in_channel: ephemeral is impossible there
        run, ref = await post_once(svc, run, effect=f"{effect}:dm", channel=dm, view=view)
        return await _done(svc, run, effect, ref)
    except BaseException:
        await _release(svc, run.id, effect, target.claim)
        raise
    return await _done(svc, run, effect, MessageRef(channel=channel, ts=""))


async def _release(svc: Services, run_id: str, effect: str, token: str | None) -> None:
    def release(r: Run) -> None:
        current = r.effects.get(effect)
        if current is not None and not current.done and current.claim == token:
            r.effects[effect] = current.model_copy(update={"claim": None, "claimed_at": None})

    try:
        await svc.mutate(run_id, release)
    except MapleError:
        pass  # the claim lapses after CLAIM_FOR


async def _claim(svc: Services, run: Run, *, effect: str, channel: str,
                 thread_ts: str | None) -> tuple[Run, bool]:
    """Claim the effect for this delivery; True when an earlier attempt may already have performed it."""
    token, now = secrets.token_hex(8), svc.clock.now()
    tried: list[bool] = []

    def claim(r: Run) -> None:
        tried.clear()
        current = r.effects.get(effect)
        if current is None:
            r.effects[effect] = Effect(channel=channel, thread_ts=thread_ts, claim=token, claimed_at=now)
            tried.append(False)
            return
        if current.done:
            tried.append(False)
            return
        fresh = current.claimed_at is not None and now - current.claimed_at < CLAIM_FOR
        if current.claim is not None and fresh:
            raise EffectInProgress(f"{effect} is being performed by another delivery")
        r.effects[effect] = current.model_copy(update={"claim": token, "claimed_at": now})
        tried.append(True)

    claimed = await svc.mutate(run.id, claim)
    return claimed, bool(tried and tried[0])


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
