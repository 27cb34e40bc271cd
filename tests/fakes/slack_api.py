"""A fake Slack Web API for tests: a real local HTTP server that answers like Slack and records every call."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from workspace.blockkit import block_problems

BOT_USER = "U0MAPLEBOT"
TEAM = "T0TEST"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    ok: bool = False


@dataclass
class FakeSlack:
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    deleted: list[tuple[str, str]] = field(default_factory=list)  # (channel, ts) of chat.delete calls
    calls: list[Call] = field(default_factory=list)
    connections: set[Any] = field(default_factory=set)  # the client ends (host, port) Web API calls came from
    failures: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    guests: set[str] = field(default_factory=set)
    team: str = TEAM
    enterprise: str | None = None
    org_wide: bool = False
    external: dict[str, str] = field(default_factory=dict)  # Slack Connect users (strangers) → their own team
    missing_users: set[str] = field(default_factory=set)  # users.info answers user_not_found
    deactivated: set[str] = field(default_factory=set)  # users.info answers deleted: true (people who left)
    grid_teams: dict[str, list[str]] = field(default_factory=dict)  # members of the org → their workspaces
    responses: list[dict[str, Any]] = field(default_factory=list)  # bodies posted to response_urls
    expired: set[str] = field(default_factory=set)  # response_url keys that answer 404 expired_url, as Slack's do
    names: dict[str, str] = field(default_factory=dict)  # users.info profile.display_name per user
    zones: dict[str, str] = field(default_factory=dict)  # users.info tz per user (default America/Toronto)
    locales: dict[str, str] = field(default_factory=dict)  # users.info locale per user (default en-US)
    page_size: int = 0  # conversations.members page size (0 = everything at once)
    held: dict[str, Any] = field(default_factory=dict)  # method → asyncio.Event: calls wait until it is set
    sockets: list[Any] = field(default_factory=list)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    stalled: set[str] = field(default_factory=set)
    _released: Any = None
    _runner: web.AppRunner | None = None
    _ts: int = 0

    def add_channel(self, cid: str, *, member: bool = True, private: bool = False, members: list[str] = (),
                    shared: bool = False) -> None:
        self.channels[cid] = {"id": cid, "is_member": member, "is_private": private, "members": list(members),
                              "is_ext_shared": shared}

    def fail_next(self, method: str, *, error: str = "ratelimited", status: int = 429, retry_after: int = 1,
                  times: int = 1) -> None:
        self.failures[method].extend([{"error": error, "status": status, "retry_after": retry_after}] * times)

    def stall(self, method: str) -> None:
        """Calls to ``method`` hang (as a Slack that stopped answering would) until ``release()``."""
        import asyncio

        self.stalled.add(method)
        self._released = asyncio.Event()

    def release(self) -> None:
        self.stalled.clear()
        if self._released is not None:
            self._released.set()

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        return [c.params for c in self.calls_to("chat.postMessage")
                if c.ok and (channel is None or c.params.get("channel") == channel)]

    def _next_ts(self) -> str:
        self._ts += 1
        return f"{int(time.time())}.{self._ts:06d}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/api/{method}", self._handle)
        app.router.add_get("/api/{method}", self._handle)
        app.router.add_post("/response/{key}", self._respond)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/api/"

    async def _respond(self, request: web.Request) -> web.Response:
        """A response_url: what was posted to it is kept in ``responses`` (an expired one keeps nothing)."""
        if request.match_info["key"] in self.expired:
            return web.Response(status=404, text="expired_url")
        self.responses.append({"key": request.match_info["key"], **(await request.json())})
        return web.json_response({"ok": True})

    def response_url(self, key: str) -> str:
        return self.url.removesuffix("/api/") + f"/response/{key}"

    async def stop(self) -> None:
        for ws in self.sockets:
            await ws.close()
        if self._runner:
            await self._runner.cleanup()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        body = await request.text()
        if request.content_type == "application/json" and body:
            params.update(json.loads(body))
        elif body:
            params.update({k: v[0] for k, v in parse_qs(body).items()})
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        call = Call(method, params)
        self.calls.append(call)
        if request.transport is not None:
            self.connections.add(request.transport.get_extra_info("peername"))
        if method in self.stalled and self._released is not None:
            await self._released.wait()
        if self.failures[method]:
            f = self.failures[method].pop(0)
            headers = {"Retry-After": str(f["retry_after"])} if f["status"] == 429 else {}
            return web.json_response({"ok": False, "error": f["error"]}, status=f["status"], headers=headers)
        if method in self.held:
            await self.held[method].wait()
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        result = handler(params)
        call.ok = "error" not in result
        return web.json_response({"ok": "error" not in result, **result})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, forward queued envelopes, collect the app's acks."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0MAPLE"}})
        async for msg in ws:
            if msg.type == web.WSMsgType.TEXT:
                self.socket_acks.append(json.loads(msg.data))
        return ws

    async def socket_send(self, envelope: dict[str, Any]) -> None:
        for ws in self.sockets:
            await ws.send_json(envelope)

    def m_apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.url.replace("http://", "ws://").replace("/api/", "/socket")}

    def m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"user_id": BOT_USER, "bot_id": "B0MAPLE", "team_id": self.team, "url": "https://test.slack/",
                "enterprise_id": self.enterprise, "is_enterprise_install": self.org_wide}

    def _can_post(self, channel: str) -> bool:
        return channel.startswith("D") or self.channels.get(channel, {}).get("is_member", False)

    def m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = p["channel"]
        if not self._can_post(channel):
            return {"error": "not_in_channel"}
        if problems := _block_problems(p):
            return {"error": "invalid_blocks", "errors": problems}
        msg = {"ts": self._next_ts(), "text": p.get("text", ""), "blocks": _json(p.get("blocks")) or [],
               "user": BOT_USER, "bot_id": "B0MAPLE", "thread_ts": p.get("thread_ts"),
               "metadata": _json(p.get("metadata"))}
        self.messages[channel].append(msg)
        return {"channel": channel, "ts": msg["ts"], "message": msg}

    def m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        if problems := _block_problems(p):
            return {"error": "invalid_blocks", "errors": problems}
        for msg in self.messages[p["channel"]]:
            if msg["ts"] == p["ts"]:
                msg.update(text=p.get("text", ""), blocks=_json(p.get("blocks")) or [])
                if p.get("metadata") is not None:  # like Slack: an update may replace the metadata
                    msg["metadata"] = _json(p.get("metadata"))
                return {"channel": p["channel"], "ts": p["ts"]}
        return {"error": "message_not_found"}

    # Streamed messages (chat.startStream / appendStream / stopStream): a reply that grows, then is finished.
    def m_chat_startStream(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = p.get("channel") or ""
        if not self._can_post(channel):
            return {"error": "not_in_channel"}
        if not p.get("thread_ts"):
            return {"error": "invalid_arguments"}
        if not channel.startswith("D") and not (p.get("recipient_user_id") and p.get("recipient_team_id")):
            return {"error": "invalid_arguments"}  # Slack needs the recipient outside a DM
        msg = {"ts": self._next_ts(), "text": p.get("markdown_text") or "", "blocks": [], "user": BOT_USER,
               "bot_id": "B0MAPLE", "thread_ts": p["thread_ts"], "metadata": None, "streaming": True}
        self.messages[channel].append(msg)
        return {"channel": channel, "ts": msg["ts"]}

    def _streaming(self, p: dict[str, Any]) -> dict[str, Any] | None:
        return next((m for m in self.messages[p.get("channel") or ""] if m["ts"] == p.get("ts")), None)

    def m_chat_appendStream(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._streaming(p)
        if msg is None:
            return {"error": "message_not_found"}
        if not msg.get("streaming"):
            return {"error": "message_not_in_streaming_state"}
        if not p.get("markdown_text"):
            return {"error": "invalid_arguments"}
        msg["text"] += p["markdown_text"]
        return {"channel": p["channel"], "ts": msg["ts"]}

    def m_chat_stopStream(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._streaming(p)
        if msg is None:
            return {"error": "message_not_found"}
        if not msg.get("streaming"):
            return {"error": "message_not_in_streaming_state"}
        msg["text"] += p.get("markdown_text") or ""
        msg["streaming"] = False
        if p.get("metadata"):
            msg["metadata"] = _json(p["metadata"])
        return {"channel": p["channel"], "ts": msg["ts"], "message": msg}

    def appended(self, ts: str | None = None) -> list[str]:
        """The chunks appended to streams (to the one started at ``ts``), in order."""
        return [c.params.get("markdown_text", "") for c in self.calls_to("chat.appendStream")
                if c.ok and (ts is None or c.params.get("ts") == ts)]

    def m_chat_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        kept = [m for m in self.messages[p["channel"]] if m["ts"] != p["ts"]]
        if len(kept) == len(self.messages[p["channel"]]):
            return {"error": "message_not_found"}
        self.messages[p["channel"]] = kept
        self.deleted.append((p["channel"], p["ts"]))
        return {"channel": p["channel"], "ts": p["ts"]}

    def m_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        if problems := _block_problems(p):
            return {"error": "invalid_blocks", "errors": problems}
        return {"message_ts": self._next_ts()}

    # The assistant pane: Slack answers ok for a thread in a DM with the app, and records nothing we can read back;
    # the fake keeps what was set so tests (and the local workspace) can see it.
    def _pane(self, p: dict[str, Any]) -> dict[str, Any]:
        channel, thread_ts = str(p.get("channel_id") or ""), p.get("thread_ts")
        if not channel:
            return {"error": "channel_not_found"}
        if not thread_ts:
            return {"error": "invalid_arguments"}
        if not channel.startswith("D"):
            return {"error": "not_allowed"}
        return {}

    def m_assistant_threads_setStatus(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._pane(p)

    def m_assistant_threads_setTitle(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._pane(p) or ({} if p.get("title") else {"error": "invalid_arguments"})

    def m_assistant_threads_setSuggestedPrompts(self, p: dict[str, Any]) -> dict[str, Any]:
        prompts = _json(p.get("prompts")) or []
        if not isinstance(prompts, list) or not 1 <= len(prompts) <= 4:
            return {"error": "invalid_arguments"}
        if any(not isinstance(x, dict) or not x.get("title") or not x.get("message") for x in prompts):
            return {"error": "invalid_arguments"}
        return self._pane(p)

    def pane_calls(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls_to(f"assistant.threads.{method}") if c.ok]

    def m_conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"channel": {"id": "D" + str(p["users"]).lstrip("UW")}}

    def m_conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self.channels.get(p["channel"])
        return {"channel": ch} if ch else {"error": "channel_not_found"}

    def m_conversations_members(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self.channels.get(p["channel"])
        if not ch:
            return {"error": "channel_not_found"}
        if not self.page_size:
            return {"members": ch["members"]}
        start = int(p.get("cursor") or 0)
        end = start + self.page_size
        more = end < len(ch["members"])
        return {"members": ch["members"][start:end], "response_metadata": {"next_cursor": str(end) if more else ""}}

    def m_conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        """Newest first, like Slack; ``oldest``/``latest`` (exclusive unless ``inclusive``), ``limit`` and a
        ``cursor`` page through it."""
        low, high = float(p.get("oldest") or 0), float(p.get("latest") or "inf")
        inclusive = str(p.get("inclusive", "false")).lower() in ("1", "true")
        top = [m for m in reversed(self.messages[p["channel"]]) if m.get("thread_ts") in (None, m["ts"])
               and (low <= float(m["ts"]) <= high if inclusive else low < float(m["ts"]) < high)]
        limit = int(p.get("limit") or 100) or 100
        start = int(p.get("cursor") or 0)
        page, more = top[start:start + limit], start + limit < len(top)
        return {"messages": _shown(page, p), "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def m_conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        msgs = [m for m in self.messages[p["channel"]] if m.get("thread_ts") == p["ts"] or m["ts"] == p["ts"]]
        return {"messages": _shown(msgs, p), "has_more": False}

    def m_views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"view": {"id": "V" + self._next_ts().replace(".", ""), **(_json(p.get("view")) or {})}}

    def m_views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"view": {"id": "VHOME"}}

    def m_usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"users": self.groups.get(p["usergroup"], [])}

    def m_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        known = sorted({u for ch in self.channels.values() for u in ch["members"]} | self.guests)
        return {"members": [{"id": u, "is_restricted": u in self.guests} for u in known],
                "response_metadata": {"next_cursor": ""}}

    def m_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = p["user"]
        if user in self.missing_users:
            return {"error": "user_not_found"}
        home = self.external.get(user) or (self.grid_teams.get(user) or [self.team])[0]
        info: dict[str, Any] = {"id": user, "name": user.lower(), "tz": self.zones.get(user, "America/Toronto"),
                                "profile": {"display_name": self.names.get(user, ""), "real_name": ""},
                                "team_id": home, "is_restricted": user in self.guests, "is_bot": user == BOT_USER,
                                "deleted": user in self.deactivated}
        if str(p.get("include_locale", "")).lower() == "true":
            info["locale"] = self.locales.get(user, "en-US")
        if user in self.external:
            info["is_stranger"] = True
        if user in self.grid_teams:
            info["enterprise_user"] = {"id": user, "enterprise_id": self.enterprise, "teams": self.grid_teams[user]}
        return {"user": info}


def _shown(messages: list[dict[str, Any]], p: dict[str, Any]) -> list[dict[str, Any]]:
    """Like Slack: a message's metadata only with ``include_all_metadata``."""
    if str(p.get("include_all_metadata", "")).lower() in ("1", "true"):
        return messages
    return [{k: v for k, v in m.items() if k != "metadata"} for m in messages]


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _block_problems(p: dict[str, Any]) -> list[str]:
    """Block Kit limits as Slack enforces them (the local workspace's validator), so a message Slack would refuse
    is refused here too."""
    blocks = _json(p.get("blocks"))
    return block_problems(blocks, limit=50) if blocks else []
