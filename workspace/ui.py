"""The page's own endpoints under ``/ui/`` (JSON) and its live updates (server-sent events). The page acts as
one person at a time; everything it does goes to Maple through the same signed requests Slack would send."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from workspace.composer import command_text, message_text
from workspace.people import People
from workspace.signer import Reply
from workspace.state import BOT_USER, SLACKBOT, TEAM, TEAM_NAME, Change, WorkspaceState
from workspace.webapi import public

STATIC = Path(__file__).with_name("static")
HEARTBEAT = 15.0
TOKEN_SLOT = "{{workspace_token}}"


def _reply(reply: Reply | None) -> web.Response:
    if reply is None:
        return web.json_response({"status": None, "body": None})
    return web.json_response({"status": reply.status, "body": reply.body})


class UiRoutes:
    def __init__(self, state: WorkspaceState, people: People, *, token: str) -> None:
        self.state, self.people = state, people
        template = (STATIC / "index.html").read_text(encoding="utf-8")
        assert TOKEN_SLOT in template
        self.page = template.replace(TOKEN_SLOT, token)

    def _user(self, request: web.Request, data: dict[str, Any] | None = None) -> str:
        user = str((data or {}).get("user") or request.query.get("user") or "")
        if user not in self.state.users or self.state.users[user].is_bot:
            raise web.HTTPBadRequest(text=json.dumps({"error": "unknown person"}), content_type="application/json")
        return user

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":  # what a cross-site form cannot send without a preflight
            raise web.HTTPUnsupportedMediaType(text='{"error": "send application/json"}',
                                               content_type="application/json")
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text='{"error": "invalid JSON"}', content_type="application/json") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text='{"error": "invalid JSON"}', content_type="application/json")
        return data

    async def index(self, _request: web.Request) -> web.Response:
        """The page, carrying this start's token (never cached: a restart mints a new one)."""
        return web.Response(text=self.page, content_type="text/html", headers={"Cache-Control": "no-store"})

    async def bootstrap(self, request: web.Request) -> web.Response:
        user = self._user(request)
        people = [{"id": u.id, "name": u.name, "real_name": u.real_name, "is_bot": u.is_bot, "guest": u.guest}
                  for u in self.state.users.values()]
        channels = [{"id": c.id, "name": c.name, "private": c.private, "bot_member": BOT_USER in c.members}
                    for c in self.state.visible_channels(user)]
        dm = self.state.dm_channel(user)
        unread = {c: self.state.unread(user, c) for c in [*(c["id"] for c in channels), dm.id]}
        return web.json_response({"team": {"id": TEAM, "name": TEAM_NAME}, "bot": BOT_USER, "me": user,
                                  "people": people, "channels": channels, "dm": dm.id, "unread": unread,
                                  "all_channels": {c.id: c.name for c in self.state.channels.values()
                                                   if not c.is_im},
                                  "private_channels": [c.id for c in self.state.channels.values()
                                                       if c.private and not c.is_im]})

    async def read(self, request: web.Request) -> web.Response:
        """The person has seen ``channel`` up to ``ts``: its unread count starts again from there."""
        data = await self._body(request)
        user, channel = self._user(request, data), str(data.get("channel") or "")
        try:
            ts = f"{float(str(data.get('ts'))):.6f}"
        except ValueError:
            return web.json_response({"error": "invalid ts"}, status=400)
        if not self.state.can_see(user, channel):
            return web.json_response({"error": "channel_not_found"}, status=404)
        self.state.mark_read(user, channel, ts)
        return web.json_response({"ok": True, "unread": self.state.unread(user, channel)})

    async def channel(self, request: web.Request) -> web.Response:
        user, cid = self._user(request), request.match_info["channel"]
        if not self.state.can_see(user, cid):
            return web.json_response({"error": "channel_not_found"}, status=404)
        messages = [public(m, metadata=False) for m in self.state.history.get(cid, [])]
        ephemerals = [public(m, metadata=False) for m in self.state.ephemerals
                      if m["to"] == user and m["channel"] == cid]
        return web.json_response({"channel": cid, "messages": messages, "ephemerals": ephemerals})

    async def modal(self, request: web.Request) -> web.Response:
        record = self.state.modal_of(self._user(request))
        if record is None:
            return web.json_response({"view": None})
        return web.json_response({"view": record.view, "errors": record.errors})

    async def home(self, request: web.Request) -> web.Response:
        user = self._user(request)
        view_id = self.state.homes.get(user)
        return web.json_response({"view": self.state.views[view_id].view if view_id else None})

    async def send(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        user, text = self._user(request, data), str(data.get("text") or "").strip()
        channel, thread_ts = str(data.get("channel") or ""), data.get("thread_ts") or None
        where = self.state.channel(channel)
        if where is None or not text or not self.state.can_see(user, where.id):
            return web.json_response({"error": "cannot send here"}, status=400)
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            if command != "/maple":
                self.state.add_ephemeral(channel=where.id, user=user, blocks=[], sender=SLACKBOT,
                                         text=f"{command} is not a valid command.")
                return _reply(None)
            return _reply(await self.people.slash(user, where.id, command_text(self.state, user, rest.strip())))
        typed = message_text(self.state, user, text)
        if where.is_im:
            return _reply(await self.people.dm(user, typed, thread_ts=thread_ts))
        if f"<@{BOT_USER}>" in typed:
            if BOT_USER not in where.members:
                self.people.say(user, where.id, typed, thread_ts=thread_ts)
                self.state.add_ephemeral(channel=where.id, user=user, blocks=[], sender=SLACKBOT,
                                         text="Maple is not in this channel. Add the app to the channel first.")
                return _reply(None)
            return _reply(await self.people.mention(user, where.id, typed, thread_ts=thread_ts))
        self.people.say(user, where.id, typed, thread_ts=thread_ts)
        return _reply(None)

    async def click(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        user, action_id = self._user(request, data), str(data.get("action_id") or "")
        try:
            if data.get("view_id"):
                return _reply(await self.people.click_view(user, str(data["view_id"]), action_id))
            value = data.get("value")
            return _reply(await self.people.click(user, str(data.get("ts") or ""), action_id,
                                                  value=str(value) if value is not None else None))
        except LookupError as exc:
            return web.json_response({"error": str(exc)}, status=404)

    async def submit(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        user, view_id = self._user(request, data), str(data.get("view_id") or "")
        raw = data.get("values")
        values: dict[str, Any] = raw if isinstance(raw, dict) else {}
        try:
            return _reply(await self.people.submit_view(user, view_id, values))
        except LookupError as exc:
            return web.json_response({"error": str(exc)}, status=404)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=422)

    async def close(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        try:
            return _reply(await self.people.close_view(self._user(request, data), str(data.get("view_id") or "")))
        except LookupError as exc:
            return web.json_response({"error": str(exc)}, status=404)

    async def dismiss(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        user, ts = self._user(request, data), str(data.get("ts") or "")
        self.state.ephemerals = [m for m in self.state.ephemerals if not (m["to"] == user and m["ts"] == ts)]
        self.state.publish("ephemeral", user, ts=ts)
        return web.json_response({"ok": True})

    async def home_opened(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        return _reply(await self.people.home_opened(self._user(request, data)))

    async def events(self, request: web.Request) -> web.StreamResponse:
        user = self._user(request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        queue = self.state.subscribe()
        try:
            await response.write(b"event: ready\ndata: {}\n\n")
            while True:
                try:
                    change = await asyncio.wait_for(queue.get(), HEARTBEAT)
                except TimeoutError:
                    await response.write(b": ping\n\n")
                    continue
                if change is None:
                    break
                if self._shown(change, user):
                    payload = json.dumps({"kind": change.kind, **change.data})
                    await response.write(f"data: {payload}\n\n".encode())
        except (ConnectionResetError, RuntimeError):
            pass
        finally:
            self.state.unsubscribe(queue)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response


    def _shown(self, change: Change, user: str) -> bool:
        """Only what ``user`` may see: their own changes, and news of channels they can read."""
        if change.audience not in (None, user):
            return False
        channel = change.data.get("channel")
        return change.kind != "message" or not channel or self.state.can_see(user, str(channel))


def add_ui_routes(app: web.Application, *, state: WorkspaceState, people: People, token: str) -> None:
    from workspace.pane_ui import add_pane_routes

    ui = UiRoutes(state, people, token=token)
    add_pane_routes(app, ui)
    app.router.add_get("/", ui.index)
    app.router.add_static("/static/", STATIC, append_version=False)
    app.router.add_get("/ui/bootstrap", ui.bootstrap)
    app.router.add_get("/ui/channel/{channel}", ui.channel)
    app.router.add_get("/ui/modal", ui.modal)
    app.router.add_get("/ui/home", ui.home)
    app.router.add_get("/ui/events", ui.events)
    app.router.add_post("/ui/send", ui.send)
    app.router.add_post("/ui/click", ui.click)
    app.router.add_post("/ui/submit", ui.submit)
    app.router.add_post("/ui/close", ui.close)
    app.router.add_post("/ui/dismiss", ui.dismiss)
    app.router.add_post("/ui/home_opened", ui.home_opened)
    app.router.add_post("/ui/read", ui.read)
