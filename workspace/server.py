"""The local workspace: one aiohttp application serving the Slack Web API (``/api/<method>``), response URLs
(``/response/<id>``) and the page at ``/`` with its live updates, plus the Python API tests drive it with."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from aiohttp import web

from workspace.guard import Guard, loopback_names
from workspace.people import People
from workspace.signer import Reply, Signer
from workspace.state import Call, Channel, Failure, Message, User, ViewRecord, WorkspaceState
from workspace.ui import add_ui_routes
from workspace.webapi import WebApi


class Workspace:
    """State + aiohttp Application. ``async with build_workspace(...) as ws`` or ``await ws.start()``."""

    def __init__(self, *, state: WorkspaceState, signing_secret: str, maple_url: str, bot_token: str) -> None:
        self.state = state
        self.url = ""
        self.signer = Signer(signing_secret=signing_secret, maple_url=maple_url)
        self.people = People(state, self.signer, base_url=lambda: self.url or "http://127.0.0.1")
        self.api = WebApi(state, token=bot_token)
        self.guard = Guard()
        self.app = web.Application(client_max_size=2_000_000, middlewares=[self.guard.middleware])
        self.app.on_response_prepare.append(self.guard.add_headers)
        self.app.router.add_route("*", "/api/{method}", self.api.handle)
        self.app.router.add_post("/response/{key}", self._response)
        add_ui_routes(self.app, state=state, people=self.people, token=self.guard.token)
        self._runner: web.AppRunner | None = None

    # lifecycle ----------------------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        """Listen on ``host`` (a loopback address: ValueError otherwise) and ``port`` (0: any free one)."""
        names = loopback_names(host)
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = int(self._runner.addresses[0][1])
        self.guard.bind(host, bound)
        self.url = f"http://{names[0]}:{bound}"
        return self

    async def stop(self) -> None:
        self.state.close_subscribers()
        await self.signer.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start() if self._runner is None else self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        """The base URL for slack_sdk: ``http://127.0.0.1:<port>/api/``."""
        return f"{self.url}/api/"

    @property
    def maple_url(self) -> str:
        return self.signer.maple_url

    @maple_url.setter
    def maple_url(self, value: str) -> None:
        self.signer.maple_url = value

    async def _response(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_payload"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"ok": False, "error": "invalid_payload"}, status=400)
        if not self.people.respond(request.match_info["key"], body):
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        return web.json_response({"ok": True})

    # what tests inspect ---------------------------------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self.state.call_log if method is None or c.method == method]

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Parameters of successful chat.postMessage calls (optionally to ``channel`` as given)."""
        return [c.params for c in self.calls("chat.postMessage") if c.ok
                and (channel is None or c.params.get("channel") == channel)]

    def messages(self, channel: str) -> list[Message]:
        """Every message of ``channel`` (a C…/D… ID, a U… ID for that person's DM, or a name), oldest first,
        thread replies included."""
        found = self.state.channel(channel)
        return list(self.state.history.get(found.id, [])) if found else []

    def ephemerals(self, user: str | None = None) -> list[Message]:
        return [m for m in self.state.ephemerals if user is None or m["to"] == user]

    def modal(self, user: str) -> ViewRecord | None:
        """The modal on top of ``user``'s screen, with any validation errors Maple returned."""
        return self.state.modal_of(user)

    def home(self, user: str) -> dict[str, Any] | None:
        view_id = self.state.homes.get(user)
        return self.state.views[view_id].view if view_id else None

    # what tests set up ----------------------------------------------------------------------------------------
    def fail_next(self, method: str, *, error: str | None = None, status: int = 429, retry_after: int = 1,
                  times: int = 1) -> None:
        """The next ``times`` calls of ``method`` fail: 429 ``ratelimited`` with Retry-After by default, or a
        Slack error (``status=200, error="channel_not_found"``), or a server error (``status=500``)."""
        default = "ratelimited" if status == 429 else "internal_error" if status >= 500 else "fatal_error"
        failure = Failure(error=error or default, status=status, retry_after=retry_after)
        self.state.failures[method].extend([failure] * times)

    def add_user(self, user_id: str, name: str, *, guest: bool = False, single_channel: bool = False) -> User:
        return self.state.add_user(user_id, name, guest=guest, single_channel=single_channel)

    def add_channel(self, channel_id: str, name: str, *, private: bool = False, shared: bool = False,
                    bot_member: bool = True, members: list[str] | tuple[str, ...] = ()) -> Channel:
        return self.state.add_channel(channel_id, name, private=private, shared=shared, bot_member=bot_member,
                                      members=members)

    def add_group(self, group_id: str, members: list[str] | tuple[str, ...]) -> None:
        self.state.add_group(group_id, members)

    def expire_triggers(self) -> None:
        self.state.expire_triggers()

    # what people do (each returns Maple's HTTP status and body) -------------------------------------------
    async def slash(self, user: str, channel: str, text: str) -> Reply:
        return await self.people.slash(user, channel, text)

    async def click(self, user: str, message_ts: str, action_id: str) -> Reply:
        return await self.people.click(user, message_ts, action_id)

    async def click_view(self, user: str, view_id: str, action_id: str) -> Reply:
        return await self.people.click_view(user, view_id, action_id)

    async def submit_view(self, user: str, view_id: str, values: dict[str, Any]) -> Reply:
        return await self.people.submit_view(user, view_id, values)

    async def close_view(self, user: str, view_id: str) -> Reply | None:
        return await self.people.close_view(user, view_id)

    async def mention(self, user: str, channel: str, text: str, *, thread_ts: str | None = None) -> Reply:
        return await self.people.mention(user, channel, text, thread_ts=thread_ts)

    async def dm(self, user: str, text: str, *, thread_ts: str | None = None) -> Reply:
        return await self.people.dm(user, text, thread_ts=thread_ts)

    async def event(self, event: dict[str, Any], *, event_id: str | None = None,
                    retry_num: int | None = None) -> Reply:
        return await self.people.event(event, event_id=event_id, retry_num=retry_num)

    async def url_verification(self, challenge: str = "local-challenge") -> Reply:
        return await self.people.url_verification(challenge)


def build_workspace(*, signing_secret: str, maple_url: str, bot_token: str, seed: bool = True) -> Workspace:
    """A workspace seeded with a requester, a reviewer, an outsider, an admin, #general and #maple-review."""
    state = WorkspaceState()
    if seed:
        state.seed()
    return Workspace(state=state, signing_secret=signing_secret, maple_url=maple_url, bot_token=bot_token)
