"""Bolt listeners: Slack payloads in, core calls, Block Kit out. Every listener acks within Slack's 3 seconds
and does only ack-path work (verify, persist, enqueue); model calls and posts run in the workers.

Maple acts only on people: mentions and DMs written by a bot (another app, or Maple itself) are ignored."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from bot.core import feedback, intake, review, reviewers, text
from bot.core.desk import Desk, run_name, working
from bot.core.errors import (
    AccessDenied,
    AlreadyUsed,
    InputError,
    InvalidTransition,
    MapleError,
    NotFound,
    StoreUnavailable,
)
from bot.core.models import Origin
from bot.core.text import Msg
from handlers.assistant import build_assistant
from handlers.blocks import (
    APPROVE,
    CANCEL,
    DISMISS,
    EDIT,
    EDIT_VIEW,
    FEEDBACK,
    PICK,
    REJECT,
    REJECT_VIEW,
    REVISE,
    REVISE_VIEW,
    TAKE,
    edit_modal,
    parse_ref,
    reject_modal,
    revise_modal,
)
from handlers.front import COMMAND, USE_ONCE
from handlers.goals import MENTION, ack_params, answer_in_conversation, by_a_person
from handlers.mrkdwn import mrkdwn
from handlers.schedule_listeners import publish_home, register_schedules

log = logging.getLogger("maple.handlers")


class MemberChange(Protocol):
    def __call__(self, *, channel: str, user: str, joined: bool) -> None: ...


async def command_ack(desk: Desk, command: Mapping[str, Any], once: intake.UseOnce | None) -> dict[str, Any] | None:
    """``/maple <goal>``: the ack's parameters (an ephemeral answer), or None for a replay (the front door
    refuses it with 401)."""
    origin = Origin(kind="command", channel=command.get("channel_id", ""), team=command.get("team_id"))
    try:
        answer = await desk.handle(user=command.get("user_id", ""), origin=origin, raw=command.get("text", ""),
                                   reply_url=command.get("response_url") or None, once=once)
    except AlreadyUsed:
        return None
    log.info("command acked", extra={"run_id": answer.run_id})
    return ack_params(answer)


def register(app: AsyncApp, *, desk: Desk, on_group_change: Callable[[str | None], None],
             on_member_change: MemberChange | None = None) -> None:
    """``on_member_change(channel=…, user=…, joined=…)`` keeps cached channel memberships current."""
    svc = desk.svc
    app.assistant(build_assistant(desk=desk))  # the assistant pane: its threads are DM threads, taken before on_message

    @app.command(COMMAND)  # the front door answers it itself (command_ack); Bolt's route for any other caller
    async def on_command(ack: AsyncAck, command: dict[str, Any], context: dict[str, Any]) -> None:
        params = await command_ack(desk, command, context.get(USE_ONCE))
        await (ack(**params) if params is not None else ack())

    register_schedules(app, desk=desk)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], context: dict[str, Any]) -> None:
        if by_a_person(event, context):
            await _conversation(desk, event, kind="mention")

    @app.event("message")
    async def on_message(event: dict[str, Any], context: dict[str, Any]) -> None:
        if event.get("channel_type") == "im" and not event.get("subtype") and by_a_person(event, context):
            await _conversation(desk, event, kind="dm")

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any], client: Any) -> None:
        user = event.get("user", "")
        try:
            await publish_home(client, desk=desk, user=user)
        except Exception as exc:  # noqa: BLE001 - the home tab is best effort
            log.warning("could not publish the home tab", extra={"error": type(exc).__name__})

    @app.event("subteam_members_changed")
    async def on_group(event: dict[str, Any]) -> None:
        on_group_change(event.get("subteam_id"))

    @app.event("member_joined_channel")
    async def on_joined(event: dict[str, Any]) -> None:
        if on_member_change:
            on_member_change(channel=event["channel"], user=event["user"], joined=True)

    @app.event("member_left_channel")
    async def on_left(event: dict[str, Any]) -> None:
        if on_member_change:
            on_member_change(channel=event["channel"], user=event["user"], joined=False)

    @app.action(re.compile(f"^({APPROVE}|{EDIT}|{REJECT})$"))
    async def on_review_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        await ack()
        user, kind = body["user"]["id"], action["action_id"]
        run_id, seen = parse_ref(str(action.get("value", "")))
        try:
            if kind == APPROVE:
                await review.decide(svc, run_id=run_id, user=user, kind="approve", seen_version=seen)
                return
            run, _wf = await review.load_for_review(svc, run_id=run_id, user=user)
            if run.draft_version != seen:
                raise InvalidTransition(text.DRAFT_CHANGED)
            lang = await desk.language(user)  # a modal only the clicker sees: in their language
            if kind == EDIT:
                modal = edit_modal(run, warning=await reviewers.edit_warning(svc, run, editor=user), language=lang)
            else:
                modal = reject_modal(run, language=lang)
            await client.views_open(trigger_id=body["trigger_id"], view=modal)
        except (AccessDenied, InvalidTransition, InputError, NotFound, StoreUnavailable) as exc:
            await _tell(desk, body, _message(exc))
        except SlackApiError as exc:  # e.g. expired_trigger_id when Slack was slow to deliver the click
            log.warning("could not open a modal", extra={"run_id": run_id, "error": exc.response.get("error")})
            await _tell(desk, body, text.MODAL_FAILED)

    @app.action(re.compile(f"^({TAKE}|{CANCEL})$"))
    async def on_run_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        """An admin takes the review of a stuck run; the requester (or an admin) cancels a run."""
        await ack()
        user, run_id = body["user"]["id"], str(action.get("value", ""))[:40]
        try:
            if action["action_id"] == TAKE:
                run = await reviewers.take_over(svc, run_id=run_id, admin=user)
                done = text.msg("took_review", run=run_name(svc, run))
            else:
                run = await reviewers.cancel(svc, run_id=run_id, user=user)
                done = text.msg("cancel_done", run=run_name(svc, run))
        except (AccessDenied, InvalidTransition, InputError, NotFound, StoreUnavailable) as exc:
            done = _message(exc)
        if (body.get("container") or {}).get("type") == "view":  # clicked in the App Home: show it again
            try:
                await publish_home(client, desk=desk, user=user, run_notice=done)
            except Exception as exc:  # noqa: BLE001 - the home tab is best effort; the change is saved
                log.warning("could not publish the home tab", extra={"error": type(exc).__name__})
            return
        await _tell(desk, body, done)

    @app.action(REVISE)
    async def on_revise(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        """The requester revises a rejected run: a form with its goal, pre-filled."""
        await ack()
        user, run_id = body["user"]["id"], str(action.get("value", ""))[:40]
        try:
            run = await svc.store.get(run_id)
            if run.requester != user:
                raise AccessDenied(text.msg("revise_not_yours"))
            await client.views_open(trigger_id=body["trigger_id"], view=revise_modal(
                run, limit=svc.spec.limits.max_goal_chars, language=await desk.language(user)))
        except (AccessDenied, NotFound, StoreUnavailable) as exc:
            await _tell(desk, body, _message(exc))
        except SlackApiError as exc:
            log.warning("could not open a modal", extra={"run_id": run_id, "error": exc.response.get("error")})
            await _tell(desk, body, text.MODAL_FAILED)

    @app.view(REVISE_VIEW)
    async def on_revised(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        goal = view.get("state", {}).get("values", {}).get("goal", {}).get("text", {}).get("value") or ""
        run_id = str(view.get("private_metadata", ""))[:40]
        await _submit_view(ack, "goal", lambda: intake.revise(svc, run_id=run_id, user=body["user"]["id"],
                                                             goal=goal), desk=desk, user=body["user"]["id"])

    @app.action(FEEDBACK)
    async def on_feedback(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        run_id, _, vote = str(action.get("value", "")).rpartition(":")
        try:
            answer = await feedback.give(svc, run_id=run_id, user=body["user"]["id"], vote=vote)
        except MapleError as exc:
            log.warning("feedback not recorded", extra={"run_id": run_id, "error": type(exc).__name__})
            answer = text.FEEDBACK_UNAVAILABLE
        await _tell(desk, body, answer)  # to the voter alone

    @app.action(re.compile(f"^{PICK}_[a-z0-9_-]+$"))
    async def on_pick(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        run_id, _, workflow = str(action.get("value", "")).partition(":")
        try:
            run = await intake.choose(svc, run_id=run_id, user=body["user"]["id"], workflow_id=workflow)
        except (AccessDenied, InvalidTransition, InputError, NotFound, StoreUnavailable) as exc:
            await _tell(desk, body, _message(exc))
            return
        if body.get("response_url"):
            said = text.in_language(working(svc, run), await desk.language(run.requester))
            await respond(text=mrkdwn(said), replace_original=True)

    @app.action(DISMISS)
    async def on_dismiss(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        try:
            run = await intake.dismiss(svc, run_id=str(action.get("value", "")), user=body["user"]["id"])
        except (AccessDenied, InvalidTransition, InputError, NotFound, StoreUnavailable) as exc:
            await _tell(desk, body, _message(exc))
            return
        if body.get("response_url"):
            gone = text.dismissed(run.goal, withhold=bool(svc.assessment(run.goal)[1]))
            said = text.in_language(gone, await desk.language(run.requester))
            await respond(text=mrkdwn(said), replace_original=True)

    @app.view(EDIT_VIEW)
    async def on_edit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view.get("state", {}).get("values", {})
        parts = [(values[b].get("text") or {}).get("value") or "" for b in sorted(values, key=_part_no)
                 if b.startswith("draft_")]
        run_id, seen = parse_ref(str(view.get("private_metadata", "")))
        await _submit_view(ack, "draft_0", lambda: review.edit(
            svc, run_id=run_id, user=body["user"]["id"], new_text="\n".join(parts), seen_version=seen),
            desk=desk, user=body["user"]["id"])

    @app.view(REJECT_VIEW)
    async def on_reject(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = view.get("state", {}).get("values", {}).get("reason", {}).get("text", {}).get("value") or ""
        run_id, seen = parse_ref(str(view.get("private_metadata", "")))
        await _submit_view(ack, "reason", lambda: review.decide(
            svc, run_id=run_id, user=body["user"]["id"], kind="reject", reason=reason, seen_version=seen),
            desk=desk, user=body["user"]["id"])


def _part_no(block_id: str) -> int:
    tail = block_id.rpartition("_")[2]
    return int(tail) if tail.isdigit() else 0


async def _submit_view(ack: AsyncAck, block: str, act: Callable[[], Any], *, desk: Desk, user: str) -> None:
    """Submit a modal; a refusal is shown on the modal's field, in the submitter's language."""
    try:
        await act()
    except (AccessDenied, InvalidTransition, InputError, NotFound, StoreUnavailable) as exc:
        said = text.in_language(_message(exc), await desk.language(user))
        await ack(response_action="errors", errors={block: str(said)[:150]})
        return
    await ack()


def _message(exc: MapleError) -> Msg:
    if isinstance(exc, StoreUnavailable):
        return text.UNAVAILABLE
    if isinstance(exc, NotFound) and exc.msg is None:
        return text.run_not_found(str(exc))
    return text.as_msg(exc)


async def _tell(desk: Desk, body: dict[str, Any], message: Msg) -> None:
    """An ephemeral answer to whoever clicked (a refusal, a thanks), where they clicked, in their language."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    if not channel:
        return
    user = body["user"]["id"]
    said = text.in_language(message, await desk.language(user))
    thread_ts = (body.get("container") or {}).get("thread_ts")  # a click on a message in a thread: answer there
    try:
        await desk.svc.surface.post_ephemeral(channel=channel, user=user, text=said,
                                              thread_ts=thread_ts if isinstance(thread_ts, str) else None)
    except MapleError:
        log.warning("could not answer a click")


async def _conversation(desk: Desk, event: dict[str, Any], *, kind: str) -> None:
    said = event.get("text") or ""  # a message of attachments or files only has no text
    raw = MENTION.sub("", said, count=1) if kind == "mention" else said
    origin = Origin(kind=kind, channel=event.get("channel", ""),  # type: ignore[arg-type]
                    thread_ts=event.get("thread_ts") or event.get("ts"), team=event.get("team"),
                    in_thread=bool(event.get("thread_ts")))
    user = event.get("user", "")
    answer = await desk.handle(user=user, origin=origin, raw=raw)
    await answer_in_conversation(desk, user=user, origin=origin, answer=answer)
