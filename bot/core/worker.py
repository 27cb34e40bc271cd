"""The work path: what a worker does with each job taken off the durable queue.

Every step is idempotent: a job may be delivered again after a crash, so each handler looks at the run's
persisted state and effects and does only what is not yet done.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.core import askback, budget, progress, reviewers, streaming, text
from bot.core.actions import make_approved_calls
from bot.core.classify import model_prompt, parse_model_choice
from bot.core.deferred import place_and_answer
from bot.core.desk import run_name, working
from bot.core.destinations import deliver_to, refusal
from bot.core.drafting import produce_draft
from bot.core.effects import Post, post_all, post_once, whisper_once
from bot.core.errors import (
    AccessDenied,
    BudgetExceeded,
    InvalidTransition,
    ModelError,
    NoEligibleModel,
    NoModelConfigured,
    NotInChannel,
    PolicyViolation,
    SurfaceError,
    ToolError,
)
from bot.core.intake import choose
from bot.core.models import AuditIntent, Job, JobKind, Run, RunState, Target
from bot.core.notify import for_requester, language_at, notice, run_language, tell_requester
from bot.core.ports import MessageRef, View
from bot.core.router import Plan
from bot.core.services import Services
from bot.core.spec import WorkflowSpec
from bot.core.states import transition
from bot.core.text import Msg

log = logging.getLogger("maple.worker")


async def handle_job(svc: Services, job: Job) -> None:
    run = await svc.store.get(job.run_id)
    with svc.traced(job.trace or run.trace):  # the run's one trace, whichever process runs the job
        svc.waited("queue wait", run.id, start=job.queued_at, end=svc.clock.now(), **{"maple.job.kind": job.kind})
        with svc.stage(f"job {job.kind}", run.id, **{"maple.job.kind": job.kind}):
            await _handle(svc, job, run)


async def _handle(svc: Services, job: Job, run: Run) -> None:
    if run.outbox:  # audit events of a decision whose append did not happen yet
        run = await svc.flush_audit(run)
    log.info("job start", extra={"run_id": run.id, "job": job.kind, "state": run.state.value})
    try:
        await HANDLERS[job.kind](svc, run)
    except NotInChannel as exc:
        await fail(svc, run.id, why=text.not_in_channel(exc.channel))


async def fail(svc: Services, run_id: str, *, why: Msg) -> None:
    """Mark a run failed (if it is not finished) and tell the requester why."""

    def to_failed(r: Run) -> None:
        if not r.terminal:
            transition(r, RunState.FAILED)
            r.error = str(for_requester(svc, r, why))  # kept as the requester reads it

    run = await svc.mutate(run_id, to_failed)
    await svc.record("run.failed", run)
    if run.state is RunState.FAILED:
        await tell_requester(svc, run, effect="failed", message=text.told_failed(_named(svc, run), why))
        await _show(svc, run.id)


def _named(svc: Services, run: Run) -> Msg:
    return run_name(svc, run)


async def _show(svc: Services, run_id: str) -> None:
    """The requester's run message shows the run as it is now."""
    await progress.show(svc, await svc.store.get(run_id))


async def _ack_in_thread(svc: Services, run: Run) -> Run:
    """A mention or DM gets its "working on it" in the thread (slash commands got theirs in the ack)."""
    if run.origin.kind not in ("mention", "dm"):
        return run
    lang = await language_at(svc, run, channel=run.origin.channel)  # a thread in a channel: everyone's language
    run, _ = await post_once(svc, run, effect="ack", channel=run.origin.channel, thread_ts=run.origin.thread_ts,
                             view=View(kind="notice", text=text.in_language(working(svc, run), lang), language=lang))
    return run


async def _pane_status(svc: Services, run: Run) -> None:
    """In the assistant pane, show that Maple is working (after its ack, which clears a status; Slack clears this
    one with Maple's next message in the thread). Cosmetic: a failure is logged, never a reason to fail the run."""
    if not run.origin.pane or not run.origin.thread_ts or run.followups:  # a revision was answered "revising…"
        return
    try:
        await svc.surface.set_status(channel=run.origin.channel, thread_ts=run.origin.thread_ts,
                                     status=text.pane_working(run.id))
    except SurfaceError as exc:
        log.warning("could not set the pane's status", extra={"run_id": run.id, "error": type(exc).__name__})


async def _clarify(svc: Services, run: Run) -> None:
    """A goal the local stage could not place: ask a (cleared) model, else ask the requester with buttons."""
    if run.workflow or run.terminal:
        return
    options = [wf for wf in svc.spec.workflows
               if not wf.unreviewed_text and await svc.access.may_run(run.requester, wf)]
    if svc.router.can_classify():
        with svc.stage("classify", run.id, **{"maple.classify.by": "model"}):
            chosen = await _model_choice(svc, run, options)
        if chosen:
            return
    offer = run.offered or askback.offered(options, [])
    view = View(kind="choices", run=run, text=for_requester(svc, run, text.ask_back(run.goal, withhold=bool(svc.assessment(run.goal)[1]))),
                options=askback.choices([i for i in offer if any(wf.id == i for wf in options)], options),
                language=run_language(svc, run))
    if run.origin.kind == "mention" and not run.origin.channel.startswith("D"):  # asked in front of others
        await whisper_once(svc, run, effect="clarify", channel=run.origin.channel, user=run.requester, view=view,
                           thread_ts=run.origin.thread_ts if run.origin.in_thread else None)
        return
    in_thread = run.origin.kind in ("mention", "dm")
    channel = run.origin.channel if in_thread else await svc.surface.open_dm(user=run.requester)
    await post_once(svc, run, effect="clarify", channel=channel, view=view,
                    thread_ts=run.origin.thread_ts if in_thread else None)


async def _model_choice(svc: Services, run: Run, options: list[WorkflowSpec]) -> bool:
    """Ask a classify-capable model for one workflow id — a reserved, metered call like every other. When the
    budget has no room for it (and no free model classifies well enough), the requester is asked instead."""
    level, _hits = svc.assessment(run.goal)
    messages = model_prompt(run.goal, options)

    def route(free_only: bool) -> Plan:
        plan = svc.router.plan(step="classify", capability="classify", tier="basic", sensitivity=level,
                               free_only=free_only)
        if free_only and plan.below_tier:
            raise NoEligibleModel("no free model classifies well enough")
        return plan

    try:
        grant = await budget.reserve(svc, run=run, plan=route(False), free_plan=lambda: route(True),
                                     messages=messages, max_output=budget.CLASSIFY_MAX_TOKENS)
        done, usage, decision = await budget.metered(svc, grant, messages=messages)
    except (NoEligibleModel, NoModelConfigured, ModelError, BudgetExceeded):
        return False  # fail closed to asking the person
    run = await budget.charge_run(svc, run.id, usage=usage, route=decision)
    choice = parse_model_choice(done.text, [wf.id for wf in options])
    await svc.record("run.classified", run, attrs={"maple.classify.by": "model", "maple.workflow": choice or "",
                                                    "maple.route.chosen": decision.chosen,
                                                    "gen_ai.usage.input_tokens": usage.input_tokens,
                                                    "gen_ai.usage.output_tokens": usage.output_tokens,
                                                    "maple.cost.usd": usage.cost_usd})
    if choice is None:
        return False
    try:
        await choose(svc, run_id=run.id, user=run.requester, workflow_id=choice)
    except InvalidTransition:
        return True
    return True


async def _draft(svc: Services, run: Run) -> None:
    """Draft, then review or deliver. A stream this job left open (it failed, or the answer went elsewhere) is
    replaced by a notice at the end (bot/core/streaming.py)."""
    try:
        await _draft_and_route(svc, run)
    finally:
        if svc.streaming:
            await streaming.settle_open(svc, run.id)


async def _draft_and_route(svc: Services, run: Run) -> None:
    if run.terminal:  # cancelled before a worker took it
        return
    if run.state is RunState.QUEUED:  # audited here, off the ack path
        await svc.record("run.created", run, actor=run.requester,
                         attrs={"maple.workflow": run.workflow, "maple.origin": run.origin.kind})
    run = await _ack_in_thread(svc, run)
    if run.state in (RunState.QUEUED, RunState.DRAFTING):
        if streaming.open_stream(run) is not None:  # an earlier attempt died while it streamed
            await streaming.retire(svc, run.id, reason="retried", notice=text.msg("stream_interrupted"))
        await _pane_status(svc, run)
        await svc.surface.check_member(channel=run.origin.channel)  # fail before anyone reviews undeliverable work
        if progress.tracked(svc, run):
            run = await progress.show(svc, await svc.mutate(run.id, _to_drafting))
        try:
            run = await produce_draft(svc, run)
        except (NoModelConfigured, NoEligibleModel, BudgetExceeded, PolicyViolation, ToolError, AccessDenied) as exc:
            if run.followups and run.draft is not None and run.draft_version == run.followups[-1].version:
                await _refuse_followup(svc, run, exc)  # the follow-up is refused, not the draft in review
            else:
                await _refuse(svc, run, exc)
            return
    revised = run.followups or len(run.drafts) > 1  # a follow-up's, or an operator's retry's new version
    if run.state is RunState.IN_REVIEW and revised and any(n.startswith("review:") for n in run.effects):
        await _refresh_reviews(svc, run)  # a revision: the new version on the review messages, with what changed
    elif run.state is RunState.IN_REVIEW:
        await _post_reviews(svc, run)
    elif run.state is RunState.APPROVED:
        await _deliver(svc, run)


def _to_drafting(r: Run) -> None:
    if r.state is RunState.QUEUED:
        transition(r, RunState.DRAFTING)


async def _refuse(svc: Services, run: Run, exc: Exception) -> None:
    why = text.NO_MODEL if isinstance(exc, NoModelConfigured) else text.as_msg(exc)
    if isinstance(exc, PolicyViolation):
        why = text.policy_blocked(exc)

    def to_refused(r: Run) -> None:
        transition(r, RunState.REFUSED)
        r.error = str(for_requester(svc, r, why))  # kept as the requester reads it

    run = await svc.mutate(run.id, to_refused)
    await svc.record("run.refused", run, attrs={"error.type": type(exc).__name__})
    await tell_requester(svc, run, effect="refused", message=text.refused(_named(svc, run), why))
    await _show(svc, run.id)


async def _refuse_followup(svc: Services, run: Run, exc: Exception) -> None:
    """A follow-up that cannot be drafted (a freeze, the budget, a policy, no cleared model): the run goes back
    to review with the version it had, the follow-up is dropped, and the requester is told why."""
    why = text.NO_MODEL if isinstance(exc, NoModelConfigured) else text.as_msg(exc)
    if isinstance(exc, PolicyViolation):
        why = text.policy_blocked(exc)

    def back(r: Run) -> None:
        if r.state is not RunState.DRAFTING or not r.followups:
            raise InvalidTransition(f"run {r.id} is {r.state.value}: no follow-up to refuse")
        transition(r, RunState.IN_REVIEW)
        r.followups.pop()
        r.outbox.append(AuditIntent(id=f"{r.id}:followup_refused:{r.version + 1}", kind="draft.followup.refused",
                                    attrs={"error.type": type(exc).__name__}))

    try:
        run = await svc.mutate(run.id, back, job=Job(run_id=run.id, kind="refresh_reviews"))
    except InvalidTransition:
        return  # cancelled or decided meanwhile: nothing to go back to
    told = text.msg("followup_refused", run=_named(svc, run), why=why)
    await tell_requester(svc, run, effect=f"followup_refused:{run.version}", message=told)


async def review_targets(svc: Services, run: Run) -> tuple[list[tuple[str, str]], list[Msg]]:
    """(effect key, channel) for every place the draft may go for review — the review channel, else the
    approvers' DMs — each passed through the destination gate; and why the others were left out."""
    skipped: list[Msg] = []
    review_channel = svc.spec.review.channel
    if review_channel:
        why = await refusal(svc, run=run, channel=review_channel)
        if why is None:
            await svc.surface.check_member(channel=review_channel)
            return [(f"review:{review_channel}", review_channel)], []
        skipped.append(why)
    approvers = await reviewers.reviewers_of(svc, run)
    targets = []
    for user in approvers:
        if user == run.requester and not svc.spec.review.allow_self_approval and len(approvers) > 1:
            continue
        dm = await svc.surface.open_dm(user=user)
        why = await refusal(svc, run=run, channel=dm, user=user)
        if why is None:
            targets.append((f"review:{user}", dm))
        else:
            skipped.append(why)
    return targets, skipped


def _no_reviewers(skipped: list[Msg]) -> Msg:
    return text.msg("no_reviewer_may_see", why=skipped[0]) if skipped else text.NO_REVIEWERS


async def _post_reviews(svc: Services, run: Run) -> None:
    targets, skipped = await review_targets(svc, run)
    if not targets:
        await fail(svc, run.id, why=_no_reviewers(skipped))
        return
    fresh = not any(name.startswith("review:") for name in run.effects)
    run = await _aim(svc, run)
    notice = await _stuck_notice(svc, run)
    run, _ = await post_all(svc, run, [Post(effect=effect, channel=channel, view=review_view(
        run, viewer=_viewer(effect), notice=notice,
        language=await language_at(svc, run, channel=channel, reader=_viewer(effect)))) for effect, channel in targets])
    timeout = _review_timeout(svc, run)
    if fresh and timeout:
        await svc.queue.enqueue_at(Job(run_id=run.id, kind="review_timeout"),
                                   at=svc.clock.now() + timedelta(minutes=timeout))
    await svc.record("review.requested", run, attrs={"maple.review.targets": len(targets)})
    if notice is not None:
        await _tell_stuck(svc, run)
        await _show(svc, run.id)
    else:
        await progress.show(svc, run)  # as the posts' write left it


async def _aim(svc: Services, run: Run) -> Run:
    """Work out where Approve will post, for the review message: the workflow's destination as the gate allows it
    (or the requester's DM instead), and what kind of conversation that is."""
    if "result" in run.effects:
        return run
    channel, thread, why = await _destination(svc, run)
    target = None
    if channel is not None:
        place = await svc.surface.place(channel=channel)
        meant = (await deliver_to(svc, run))[0] if why is not None else None
        target = Target(channel=channel, thread_ts=thread, kind=place.kind, instead_of=meant)
    if target == run.target:
        return run

    def aim(r: Run) -> None:
        r.target = target

    return await svc.mutate(run.id, aim)


def _viewer(effect: str) -> str | None:
    """The person a review message is for ("review:U…"), None for the review channel."""
    who = effect.partition(":")[2]
    return who if who.startswith(("U", "W")) else None


async def _stuck_notice(svc: Services, run: Run) -> Msg | None:
    if not await reviewers.is_stuck(svc, run):
        return None
    return text.msg("review_stuck", why=await reviewers.stuck_reason(svc, run))


async def _tell_stuck(svc: Services, run: Run) -> None:
    """Nobody left may approve this version: ask the admins (with buttons to take it or cancel) and tell the
    requester — once per draft version."""
    why = await reviewers.stuck_reason(svc, run)
    name = _named(svc, run)
    admins = await reviewers.admins(svc)
    for admin in admins:
        channel = await svc.surface.open_dm(user=admin)
        if await refusal(svc, run=run, channel=channel, user=admin) is not None:
            continue
        lang = await language_at(svc, run, channel=channel, reader=admin)
        run, _ = await post_once(svc, run, effect=f"stuck:{run.draft_version}:{admin}", channel=channel,
                                 view=View(kind="stuck", run=run, text=text.msg("stuck_admins", run=name, why=why),
                                           language=lang))
    told = text.msg("told_stuck", run=name, why=why, admins=text.the_admins(admins))
    await tell_requester(svc, run, effect=f"stuck:{run.draft_version}", message=told)
    await svc.record("review.stuck", run, attrs={"maple.review.notified": len(admins)})


def _review_timeout(svc: Services, run: Run) -> int | None:
    workflow = svc.spec.workflow(run.workflow)
    return next((s.timeout_minutes for s in (workflow.steps if workflow else [])
                 if s.kind == "review" and s.timeout_minutes), None)


async def _escalate(svc: Services, run: Run) -> None:
    """A draft waited longer than its review timeout: remind the approvers and tell the admins, once."""
    if run.state is not RunState.IN_REVIEW:
        return
    since = run.drafts[-1].at if run.drafts else run.created_at
    waited = int((svc.clock.now() - since).total_seconds() // 60)
    message = text.review_overdue(_named(svc, run), run.workflow, waited)
    admins = {u for role in svc.spec.admin_roles for u in svc.spec.roles.get(role, []) if u.startswith(("U", "W"))}
    workflow = svc.spec.workflow(run.workflow)
    people = sorted(admins | set(await svc.access.approvers(workflow) if workflow else []))
    for user in people:
        channel = await svc.surface.open_dm(user=user)
        if await refusal(svc, run=run, channel=channel, user=user) is not None:
            continue
        lang = await language_at(svc, run, channel=channel, reader=user)
        run, _ = await post_once(svc, run, effect=f"escalate:{user}", channel=channel,
                                 view=View(kind="notice", text=message, run=run, language=lang))
    await svc.record("review.escalated", run, attrs={"maple.review.notified": len(people)})


def review_view(run: Run, banner: Msg | None = None, *, viewer: str | None = None,
                notice: Msg | None = None, language: str = "en") -> View:
    return View(kind="review", run=run, banner=banner, buttons=banner is None and run.state is RunState.IN_REVIEW,
                viewer=viewer, notice=notice, language=language)


async def _refresh_reviews(svc: Services, run: Run, banner: Msg | None = None) -> None:
    """Show the run's current state on its review messages. While in review the draft may have changed (an
    edit can raise its level): every review message is checked against the gate again; where it may no longer
    be shown, its content is replaced by a notice and the draft goes to reviewers who may see it. Updating a
    message is cosmetic: a deleted or unreachable one is logged, never a reason to fail the run. When nobody
    left may approve the current version, the messages say so and the admins and the requester are told."""
    refs = review_messages(run)
    notice: Msg | None = None
    if run.state is RunState.IN_REVIEW:
        targets, skipped = await review_targets(svc, run)
        allowed = {channel for _effect, channel in targets}
        for effect, ref in [(e, r) for e, r in refs if r.channel not in allowed]:
            why = skipped[0] if skipped else text.NO_REVIEWERS
            lang = await language_at(svc, run, channel=ref.channel, reader=_viewer(effect))
            await _update_quietly(svc, run, ref, View(kind="notice", text=text.msg("review_moved", why=why),
                                                      language=lang))
        refs = [(e, r) for e, r in refs if r.channel in allowed]
        if not targets:
            await fail(svc, run.id, why=_no_reviewers(skipped))
            return
        run = await _aim(svc, run)  # an edit can raise the level, and so change where Approve posts
        notice = await _stuck_notice(svc, run)
        run, _ = await post_all(svc, run, [Post(effect=effect, channel=channel, view=review_view(
            run, viewer=_viewer(effect), notice=notice,
            language=await language_at(svc, run, channel=channel, reader=_viewer(effect))))
            for effect, channel in targets])
    for effect, ref in refs:
        lang = await language_at(svc, run, channel=ref.channel, reader=_viewer(effect))
        await _update_quietly(svc, run, ref, review_view(run, banner, viewer=_viewer(effect), notice=notice,
                                                         language=lang))
    if notice is not None:
        await _tell_stuck(svc, run)
    await _show(svc, run.id)


def review_messages(run: Run) -> list[tuple[str, MessageRef]]:
    """(effect, message) of every review message posted for ``run``."""
    return [(name, MessageRef(channel=e.channel, ts=e.ts)) for name, e in run.effects.items()
            if name.startswith("review:") and e.done and e.ts]


async def _update_quietly(svc: Services, run: Run, ref: MessageRef, view: View) -> None:
    try:
        await svc.surface.update(ref=ref, view=view)
    except SurfaceError as exc:
        log.warning("could not update a review message", extra={"run_id": run.id, "error": type(exc).__name__})


def _stamp(svc: Services, run: Run) -> str:
    at = run.decision.at if run.decision else svc.clock.now()
    return at.strftime("%H:%M UTC")


async def _deliver(svc: Services, run: Run) -> None:
    if run.state is not RunState.APPROVED:
        return
    _review_waited(svc, run)
    with svc.stage("deliver", run.id, **{"maple.sensitivity.level": run.sensitivity.label}):
        await _delivering(svc, run)


def _review_waited(svc: Services, run: Run) -> None:
    """The span of the run's wait for its reviewers: from the draft under review to the decision."""
    if run.decision is not None and run.drafts:
        svc.waited("review wait", run.id, start=run.drafts[-1].at, end=run.decision.at,
                   **{"maple.review.decision": run.decision.kind, "maple.draft.version": run.draft_version})


async def _delivering(svc: Services, run: Run) -> None:
    if run.decision:
        await _refresh_reviews(svc, run, text.approved_banner(run.decision.by, _stamp(svc, run)))
    if run.calls:  # approved side effects, each at most once, before the result that reports them
        run = await make_approved_calls(svc, run)
    channel, thread_ts, why = await _destination(svc, run)
    if channel is None:
        await fail(svc, run.id, why=why or text.not_for_you(run.sensitivity.label))
        return
    await svc.surface.check_member(channel=channel)
    lang = await language_at(svc, run, channel=channel)  # a channel's language; a DM, the requester's
    run, streamed = await _settle_stream(svc, run, channel=channel, thread_ts=thread_ts, why=why, language=lang)
    posts = [Post(effect="result", channel=channel, view=View(kind="result", run=run, language=lang),
                  thread_ts=thread_ts)]  # already done when the stream became the result
    if why:  # the requester is told where it went instead, and who approved it: after the result, in order
        posts.append(await notice(svc, run, effect="rerouted", message=why))
    if run.decision:
        told = text.told_approved(_named(svc, run), run.decision.by, channel)
        posts.append(await notice(svc, run, effect="approved", message=told))

    def to_delivered(r: Run) -> None:
        if r.state is RunState.APPROVED:
            transition(r, RunState.DELIVERED)

    run, refs = await post_all(svc, run, posts, then=to_delivered)  # posted, marked done and delivered: one write
    delivered = run.draft.text if run.draft else None
    await svc.record("run.delivered", run, attrs={"maple.destination": refs[0].channel,
                                                  "maple.sensitivity.level": run.sensitivity.label,
                                                  "maple.delivery.streamed": streamed,
                                                  **svc.audit.text_attrs("maple.delivered.text", delivered)})
    await progress.show(svc, run)  # as the write above left it


async def _settle_stream(svc: Services, run: Run, *, channel: str, thread_ts: str | None,
                         why: Msg | None, language: str) -> tuple[Run, bool]:
    """The answer's stream made the checked result when it streamed here (True: the result is posted); a stream
    shown where the whole answer may not go is replaced by a notice first (False: the result is to be posted)."""
    streamed = await streaming.finish(svc, run, channel=channel, thread_ts=thread_ts, language=language)
    if streamed is not None:
        return streamed[0], True
    if streaming.open_stream(run) is not None:
        shown = text.msg("stream_moved", why=why) if why else text.msg("stream_withheld")
        await streaming.retire(svc, run.id, reason="moved", notice=shown)
    return run, False


async def _destination(svc: Services, run: Run) -> tuple[str | None, str | None, Msg | None]:
    """(channel, thread, note): where the workflow says when the gate allows it, else the requester's DM."""
    existing = run.effects.get("result")
    if existing is not None:
        return existing.channel, existing.thread_ts, None
    channel, thread, person = await deliver_to(svc, run)
    why = await refusal(svc, run=run, channel=channel, user=person)
    if why is None:
        return channel, thread, None
    dm = await svc.surface.open_dm(user=run.requester)
    if await refusal(svc, run=run, channel=dm, user=run.requester) is None:
        return dm, None, text.rerouted(_named(svc, run), channel, why)
    return None, None, text.not_for_you(run.sensitivity.label)


async def _rejected(svc: Services, run: Run) -> None:
    if run.state is not RunState.REJECTED or run.decision is None:
        return
    _review_waited(svc, run)
    await _refresh_reviews(svc, run, text.rejected_banner(run.decision.by, _stamp(svc, run)))
    reason = run.decision.reason or "(no reason given)"
    await tell_requester(
        svc, run, effect="rejected", message=text.told_rejected(_named(svc, run), run.decision.by, reason)
    )
    await _show(svc, run.id)


async def _cancelled(svc: Services, run: Run) -> None:
    """A cancelled run: its review messages say so (without buttons), and the requester is told when someone
    else cancelled it."""
    if run.state is not RunState.CANCELLED or run.decision is None:
        return
    await _refresh_reviews(svc, run, text.msg("cancelled_banner", user=text.User(run.decision.by),
                                              at=_stamp(svc, run)))
    if run.decision.by != run.requester:
        told = text.msg("told_cancelled", run=_named(svc, run), user=text.User(run.decision.by))
        await tell_requester(svc, run, effect="cancelled", message=told)


Handler = Callable[[Services, Run], Awaitable[None]]
HANDLERS: dict[JobKind, Handler] = {
    "intake": place_and_answer,
    "draft": _draft,
    "deliver": _deliver,
    "reject": _rejected,
    "refresh_reviews": _refresh_reviews,
    "clarify": _clarify,
    "review_timeout": _escalate,
    "cancelled": _cancelled,
}
