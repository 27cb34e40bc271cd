"""The page's endpoints for the assistant pane, under ``/ui/pane``: open a new thread (Maple gets
``assistant_thread_started``, signed as Slack signs it), read a thread (what Maple set on it through
``assistant.threads.*`` — status, title, suggested prompts — and its messages), and say which channel the person
is viewing (``assistant_thread_context_changed``). What the person writes in the pane, a clicked suggested prompt
included, is a message in that DM thread, sent through ``/ui/send`` as any other."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from workspace.pane import context_event, new_thread, pane_of, started_event
from workspace.webapi import public

if TYPE_CHECKING:
    from workspace.ui import UiRoutes


def _viewing(ui: UiRoutes, user: str, channel: object) -> str | None:
    """A channel the person can see (never a DM), or None."""
    found = ui.state.channels.get(str(channel or ""))
    return found.id if found is not None and not found.is_im and ui.state.can_see(user, found.id) else None


class PaneRoutes:
    def __init__(self, ui: UiRoutes) -> None:
        self.ui = ui

    async def open(self, request: web.Request) -> web.Response:
        data = await self.ui._body(request)
        user = self.ui._user(request, data)
        pane = new_thread(self.ui.state, user)
        reply = await self.ui.people.event(started_event(pane, viewing=_viewing(self.ui, user, data.get("viewing"))))
        return web.json_response({"channel": pane["channel"], "thread_ts": pane["thread_ts"],
                                  "status": reply.status})

    async def context(self, request: web.Request) -> web.Response:
        data = await self.ui._body(request)
        user = self.ui._user(request, data)
        pane = pane_of(self.ui.state, user, str(data.get("thread_ts") or ""))
        viewing = _viewing(self.ui, user, data.get("viewing"))
        if pane is None or viewing is None:
            return web.json_response({"error": "no such pane thread or channel"}, status=404)
        reply = await self.ui.people.event(context_event(pane, viewing=viewing))
        return web.json_response({"status": reply.status})

    async def show(self, request: web.Request) -> web.Response:
        user = self.ui._user(request)
        pane = pane_of(self.ui.state, user, str(request.query.get("thread_ts") or ""))
        if pane is None:
            return web.json_response({"error": "no such pane thread"}, status=404)
        channel, ts = pane["channel"], pane["thread_ts"]
        messages = [public(m, metadata=False) for m in self.ui.state.history.get(channel, [])
                    if m.get("thread_ts") == ts]
        ephemerals = [public(m, metadata=False) for m in self.ui.state.ephemerals
                      if m["to"] == user and m["channel"] == channel and m.get("thread_ts") == ts]
        shown = {k: pane.get(k) for k in ("channel", "thread_ts", "status", "title", "prompts", "prompts_title")}
        return web.json_response({"pane": shown, "messages": messages, "ephemerals": ephemerals})


def add_pane_routes(app: web.Application, ui: UiRoutes) -> None:
    routes = PaneRoutes(ui)
    app.router.add_post("/ui/pane/open", routes.open)
    app.router.add_post("/ui/pane/context", routes.context)
    app.router.add_get("/ui/pane", routes.show)
