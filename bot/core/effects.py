"""Side effects that happen at least once and are reconciled: intent recorded before, result after.

``chat.postMessage`` has no idempotency key, so every post carries the run id and effect name (message
metadata). The intent is a *claim*: one compare-and-set records who is about to post and when. A delivery that
finds a fresh claim of someone else's does not post (it raises EffectInProgress and the job is retried); one that
finds an old claim, or a claim of its own from an earlier attempt, looks for the message by its metadata before
posting again. So two deliveries of one job at the same moment post once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.core.errors import EffectInProgress, MapleError, SurfaceError, SurfaceUnavailable
from bot.core.models import Effect, Run
from bot.core.ports import MessageRef, View
from bot.core.services import Services
from bot.core.text import Msg

CLAIM_FOR = timedelta(seconds=120)  # longer than a post with the Slack client's retries can take


@dataclass(frozen=True, kw_only=True)
class Post:
    """One message to post once, as the effect ``effect`` of a run."""

    effect: str
    channel: str
    view: View
    thread_ts: str | None = None


async def post_once(
    svc: Services, run: Run, *, effect: str, channel: str, view: View, thread_ts: str | None = None
) -> tuple[Run, MessageRef]:
    run, refs = await post_all(svc, run, [Post(effect=effect, channel=channel, view=view, thread_ts=thread_ts)])
    return run, refs[0]


async def post_all(svc: Services, run: Run, posts: Sequence[Post], *,
                   then: Callable[[Run], None] | None = None) -> tuple[Run, list[MessageRef]]:
    """Post each of ``posts`` once: every intent is claimed in one write, the messages are posted in order (or
    found, when an earlier attempt may have posted them), and all are marked done in one write — with ``then``
    applied in that same write (a state change the posts complete). A failure marks done what was posted and
    releases the other claims (a retry may go at once), then propagates."""
    refs: dict[str, MessageRef] = {}
    pending: list[Post] = []
    for post in posts:
        existing = run.effects.get(post.effect)
        if existing and existing.done and existing.ts:
            refs[post.effect] = MessageRef(channel=existing.channel, ts=existing.ts)
        else:
            pending.append(post)
    if not pending:
        if then is not None:
            run = await svc.mutate(run.id, then)
        return run, [refs[p.effect] for p in posts]
    run, token, tried = await _claim(svc, run, pending)
    performed: dict[str, MessageRef] = {}
    try:
        for post in pending:
            target = run.effects[post.effect]
            if target.done and target.ts:
                refs[post.effect] = MessageRef(channel=target.channel, ts=target.ts)
                continue
            found, tag = None, tagged(run, post.effect)
            if post.effect in tried:
                found = await svc.surface.find_posted(channel=target.channel, run_id=run.id, effect=tag,
                                                      thread_ts=target.thread_ts)
            performed[post.effect] = found or await svc.surface.post(
                channel=target.channel, view=post.view, run_id=run.id, effect=tag, thread_ts=target.thread_ts)
    except BaseException:
        await _settle(svc, run.id, performed, token=token, release=[p.effect for p in pending])
        raise
    if performed or then is not None:
        run = await svc.mutate(run.id, _finish(performed, then))
    refs.update(performed)
    return run, [refs[p.effect] for p in posts]


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
    run, token, _tried = await _claim(svc, run, [Post(effect=effect, channel=channel, view=view,
                                                      thread_ts=thread_ts)])
    if run.effects[effect].done:
        return run
    try:
        await svc.surface.post_ephemeral(channel=channel, user=user, text=view.text or Msg("raw", {"text": ""}),
                                         thread_ts=thread_ts, view=view)
    except SurfaceError as exc:
        if isinstance(exc, SurfaceUnavailable):  # Slack is down or throttling: the job is retried
            await _settle(svc, run.id, {}, token=token, release=[effect])
            raise
        try:  # e.g. not_in_channel: ephemeral is impossible there
            dm = await svc.surface.open_dm(user=user)
            run, ref = await post_once(svc, run, effect=f"{effect}:dm", channel=dm, view=view)
        except BaseException:  # a throttled DM: released, so that the retry asks (never held until retries run out)
            await _settle(svc, run.id, {}, token=token, release=[effect])
            raise
        return await svc.mutate(run.id, _finish({effect: ref}))
    except BaseException:
        await _settle(svc, run.id, {}, token=token, release=[effect])
        raise
    return await svc.mutate(run.id, _finish({effect: MessageRef(channel=channel, ts="")}))


async def respond_once(svc: Services, run: Run, *, effect: str, url: str | None, view: View,
                       then: Callable[[Run], None] | None = None) -> Run:
    """Answer a slash command through its response_url (replacing its ephemeral ack), then mark it done (with
    ``then`` applied in that same write). No claim is needed first: replacing the ack is idempotent, so two
    deliveries answering at once, or one that died between answering and marking it done and is retried, show the
    same message once. When the URL is refused or expired (Slack keeps one 30 minutes), the answer goes to the
    person alone as ``whisper_once`` sends it (claimed: ephemeral where they asked, else their DM)."""
    existing = run.effects.get(effect)
    if existing and existing.done:
        return run
    if url:
        try:
            await svc.surface.respond(url=url, view=view)
        except SurfaceError:
            pass  # told another way, below
        else:
            def answered(r: Run) -> None:
                r.effects[effect] = Effect(channel=r.origin.channel, done=True)
                if then is not None:
                    then(r)

            return await svc.mutate(run.id, answered)
    run = await whisper_once(svc, run, effect=effect, channel=run.origin.channel, user=run.requester, view=view)
    return await svc.mutate(run.id, then) if then is not None else run


def _finish(performed: dict[str, MessageRef], then: Callable[[Run], None] | None = None) -> Callable[[Run], None]:
    def finish(r: Run) -> None:
        for effect, ref in performed.items():
            r.effects[effect] = Effect(channel=ref.channel, thread_ts=r.effects[effect].thread_ts, ts=ref.ts,
                                       done=True)
        if then is not None:
            then(r)

    return finish


async def _settle(svc: Services, run_id: str, performed: dict[str, MessageRef], *, token: str,
                  release: list[str]) -> None:
    """After a failure: what was posted is done; this delivery's other claims are released."""
    finish = _finish(performed)

    def settle(r: Run) -> None:
        finish(r)
        for effect in release:
            current = r.effects.get(effect)
            if effect not in performed and current is not None and not current.done and current.claim == token:
                r.effects[effect] = current.model_copy(update={"claim": None, "claimed_at": None})

    try:
        await svc.mutate(run_id, settle)
    except MapleError:
        pass  # the claims lapse after CLAIM_FOR; a retry finds what was posted by its metadata


async def _claim(svc: Services, run: Run, posts: list[Post]) -> tuple[Run, str, set[str]]:
    """Claim every effect of ``posts`` for this delivery, in one write; the effects an earlier attempt may
    already have performed are returned with the claimed run."""
    token, now = secrets.token_hex(8), svc.clock.now()
    tried: set[str] = set()

    def claim(r: Run) -> None:
        tried.clear()
        for post in posts:
            current = r.effects.get(post.effect)
            if current is None:
                r.effects[post.effect] = Effect(channel=post.channel, thread_ts=post.thread_ts, claim=token,
                                                claimed_at=now)
                continue
            if current.done:
                continue
            fresh = current.claimed_at is not None and now - current.claimed_at < CLAIM_FOR
            if current.claim is not None and fresh:
                raise EffectInProgress(f"{post.effect} is being performed by another delivery")
            r.effects[post.effect] = current.model_copy(update={"claim": token, "claimed_at": now})
            tried.add(post.effect)

    claimed = await svc.mutate(run.id, claim)
    return claimed, token, set(tried)


def review_refs(run: Run) -> list[MessageRef]:
    return [
        MessageRef(channel=e.channel, ts=e.ts)
        for name, e in run.effects.items()
        if name.startswith("review:") and e.done and e.ts
    ]
