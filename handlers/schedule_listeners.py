"""The schedule buttons (in the ``/maple schedules`` answer and in the App Home): the core decides, then the list
the person clicked in is shown again with the outcome."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.core import text
from bot.core.desk import Desk
from bot.core.errors import AccessDenied, InputError, MapleError, StoreUnavailable
from bot.core.home import home_runs
from bot.core.schedule_desk import ScheduleDesk
from bot.core.text import Msg
from handlers.blocks import home_view, runs_blocks
from handlers.mrkdwn import mrkdwn
from handlers.schedule_blocks import ACTION_RE, parse_action, schedule_blocks

log = logging.getLogger("maple.handlers.schedules")


def register_schedules(app: AsyncApp, *, desk: Desk) -> None:
    schedules = desk.schedules
    if schedules is None:
        return

    @app.action(ACTION_RE)
    async def on_schedule_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: Any,
                                 respond: Any) -> None:
        await ack()
        user = body["user"]["id"]
        parsed = parse_action(str(action.get("action_id", "")))
        if parsed is None:
            return
        verb, schedule_id = parsed
        try:
            notice = await schedules.act(user=user, schedule_id=schedule_id, verb=verb)
        except StoreUnavailable:
            notice = text.UNAVAILABLE
        except (AccessDenied, InputError, MapleError) as exc:
            notice = text.as_msg(exc)
        log.info("schedule button", extra={"schedule": schedule_id, "verb": verb})
        try:
            if (body.get("container") or {}).get("type") == "view":
                await publish_home(client, desk=desk, user=user, notice=notice)
            elif body.get("response_url"):
                header, rows = await schedules.listing(user)
                lang = await desk.language(user)
                await respond(text=mrkdwn(text.in_language(notice, lang)),
                              blocks=schedule_blocks(header, rows, notice=notice, language=lang),
                              replace_original=True, response_type="ephemeral")
        except Exception as exc:  # noqa: BLE001 - showing the list again is best effort; the change is saved
            log.warning("could not show the schedules again", extra={"error": type(exc).__name__})


async def home_blocks(schedules: ScheduleDesk | None, *, user: str, notice: Msg | None = None,
                      language: str = "en") -> list[dict[str, Any]]:
    """The App Home's schedules part: my schedules with their buttons, in the reader's language."""
    if schedules is None:
        return []
    rows = await schedules.rows(user)
    header = text.msg("home_schedules")
    if not rows:
        return schedule_blocks(header, [], notice=notice, language=language) + [
            {"type": "context", "elements": [{"type": "mrkdwn",
                                              "text": mrkdwn(text.in_language(text.SCHEDULES_NONE, language))}]}]
    return schedule_blocks(header, rows, notice=notice, limit=60, language=language)


async def publish_home(client: Any, *, desk: Desk, user: str, notice: Msg | None = None,
                       run_notice: Msg | None = None) -> None:
    """The App Home tab: how to use Maple, what this person may run, and their schedules with the buttons."""
    lang = await desk.language(user)
    listing = text.in_language(await desk.workflows(user), lang)
    admin = await desk.svc.access.is_admin(user)
    runs = await home_runs(desk.svc, user)
    extra = await home_blocks(desk.schedules, user=user, notice=notice, language=lang)
    await client.views_publish(user_id=user, view=home_view(listing, admin=admin, extra=extra, language=lang,
                                                            lead=runs_blocks(runs, notice=run_notice, language=lang)))
