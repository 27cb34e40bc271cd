"""A deferred intake (``MAPLE_ACK=deferred``, the default under ``maple serve``): the worker's half.

The ack did only the cheap checks and one write: the goal, held (no workflow yet), with an ``intake`` job, and a
fixed answer that never repeats the goal (bot/core/desk.py ``Desk._accept``). Here a worker does what the inline
ack path does — roles, the classifier, authorization, the start limits — on that run, and answers the person
through the command's response_url (``effects.respond_once``: replacing the ack; ephemeral or their DM when the
URL is gone):

- a confident workflow, or the one named with ``/maple run``: the run is queued for drafting (``intake.choose``)
  and the answer is the one an inline ack gives ("Working on R-…");
- an unclear goal: the question with a button per workflow offered, or — when the classifier had a guess and a
  cleared model classifies — a ``clarify`` job asks that model first, as inline;
- a refusal (no role, not allowed, the start limit, intake paused meanwhile): the run is refused with the reason.

The run id is the ack's, so a redone job (a worker died mid-job, the queue handed it out again) finds the run it
placed and answers with it again: it never creates a second run or queues a second draft.
"""

from __future__ import annotations

import logging

from bot.core import intake, text
from bot.core.desk import Answer, Desk, working
from bot.core.effects import respond_once
from bot.core.errors import AccessDenied, InputError, InvalidTransition
from bot.core.models import Job, Run, RunState
from bot.core.notify import for_requester, run_language
from bot.core.ports import View
from bot.core.services import Services
from bot.core.states import transition
from bot.core.text import Msg

log = logging.getLogger("maple.intake")

EFFECT = "intake"  # the run's answer to its slash command


async def place_and_answer(svc: Services, run: Run) -> None:
    """The ``intake`` job. Once answered, the response_url (whoever holds one may post to the person for half an
    hour) is dropped from the run."""
    if not (EFFECT in run.effects and run.effects[EFFECT].done):
        run = await _learn_person(svc, run)
        answer = await _place(svc, run)
        run = await svc.store.get(run.id)
        run = await respond_once(svc, run, effect=EFFECT, url=run.reply_url, view=_view(svc, run, answer),
                                 then=_forget_url)
    if run.reply_url:  # answered by a delivery that died before it could forget the URL
        await svc.mutate(run.id, _forget_url)


def _forget_url(r: Run) -> None:
    r.reply_url = None


async def _learn_person(svc: Services, run: Run) -> Run:
    """The ack does not wait for Slack's ``users.info``: when it did not know the requester's zone and locale yet,
    the worker looks them up (within the look-up's wait) and keeps them on the run, so the answer and everything
    after it speak the person's language."""
    if run.timezone or run.locale or svc.people is None:
        return run
    who = await svc.people.person(run.requester)
    if not (who.timezone or who.locale):
        return run

    def learn(r: Run) -> None:
        r.timezone, r.locale = r.timezone or who.timezone, r.locale or who.locale

    return await svc.mutate(run.id, learn)


def _was_decided(run: Run) -> bool:
    """Placed, held or ended — by an earlier delivery of this job, one running at the same time, or an operator."""
    return run.terminal or bool(run.workflow) or bool(run.offered)


async def _place(svc: Services, run: Run) -> Answer:
    desk = Desk(svc=svc, classifier=svc.classifier, people=svc.people)
    if _was_decided(run):  # answer what was decided
        return _decided(svc, desk, run)
    try:
        intake.check_open(svc, intake.Intake(requester=run.requester, origin=run.origin, goal=run.goal,
                                             workflow=""))  # paused since the ack: nothing new starts
        chosen, by = run.named_workflow, "requester"
        if chosen is None:
            placed = await desk.place(run.requester, run.goal)
            if placed.refusal is not None:
                return await _refuse(svc, desk, run, placed.refusal)
            if placed.workflow is None:  # the start is counted before a model is asked, or the person, as inline
                await intake.limit_starts(svc, user=run.requester, team=run.origin.team, run_id=run.id)
                return await _hold(svc, desk, run, placed.offer, ask_model=placed.ask_model)
            chosen, by = placed.workflow, "local"
        workflow = svc.spec.workflow(chosen)
        if workflow is None:  # the config changed since the ack
            raise InputError(text.unknown_workflow(chosen))
        await intake.authorize_run(svc, user=run.requester, workflow=workflow)  # a refusal counts no start
        await intake.limit_starts(svc, user=run.requester, team=run.origin.team, run_id=run.id)
        run = await intake.choose(svc, run_id=run.id, user=run.requester, workflow_id=chosen, by=by)
    except InvalidTransition:  # placed, cancelled or refused meanwhile by someone else
        return _decided(svc, desk, await svc.store.get(run.id))
    except (InputError, AccessDenied) as exc:
        return await _refuse(svc, desk, run, text.as_msg(exc))
    return Answer(desk.behind(working(svc, run)), run_id=run.id)


def _decided(svc: Services, desk: Desk, run: Run) -> Answer:
    """The answer to a goal already decided — by an earlier delivery of this job that died before answering, by
    a delivery running at the same time, or by an operator's cancel."""
    if run.terminal:  # refused or cancelled (with the reason), or placed and already finished
        said = (text.msg("raw", text=run.error) if run.error else
                text.msg("intake_finished", run=run.id) if run.workflow else text.msg("intake_cancelled", run=run.id))
        return Answer(said, run_id=run.id)
    if run.workflow:  # placed: what the delivery that placed it would have said
        return Answer(desk.behind(working(svc, run)), run_id=run.id)
    if run.asked_model:  # its clarify job asks the model, then the person
        return Answer(text.working_out(run.id), run_id=run.id)
    return desk.asked_back(run, run.offered)


async def _hold(svc: Services, desk: Desk, run: Run, offer: list[str], *, ask_model: bool) -> Answer:
    """Not placed: keep the offer on the run; a cleared model is asked first (a ``clarify`` job), else the person.
    Done once: a delivery that finds the goal held already (or placed, or ended) answers what was decided."""

    def keep(r: Run) -> None:
        if _was_decided(r):
            raise InvalidTransition(f"run {r.id} was decided meanwhile")
        r.offered = list(offer) or [""]  # never empty once held (the empty id offers nothing)
        r.asked_model = ask_model

    job = Job(run_id=run.id, kind="clarify") if ask_model else None
    return _decided(svc, desk, await svc.mutate(run.id, keep, job=svc.stamped(job, run) if job else None))


async def _refuse(svc: Services, desk: Desk, run: Run, why: Msg) -> Answer:
    def to_refused(r: Run) -> None:
        if _was_decided(r):
            raise InvalidTransition(f"run {r.id} was decided meanwhile")
        transition(r, RunState.REFUSED)
        r.error = str(for_requester(svc, r, why))  # kept as the requester reads it

    try:
        run = await svc.mutate(run.id, to_refused)
    except InvalidTransition:  # placed by a delivery running at the same time: its answer stands
        return _decided(svc, desk, await svc.store.get(run.id))
    await svc.record("run.refused", run, attrs={"maple.stage": "intake"})
    return Answer(why, run_id=run.id)


def _view(svc: Services, run: Run, answer: Answer) -> View:
    lang = run_language(svc, run)
    said = text.in_language(answer.text, lang)
    if answer.choices:
        return View(kind="choices", run=run, text=said, options=answer.choices, language=lang)
    return View(kind="notice", text=said, run=run, language=lang)
