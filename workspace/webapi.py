"""The Slack Web API methods the local workspace answers, under ``/api/<method>``, shaped like Slack's answers.

Requests are POSTs (or GETs) with parameters in the query string, a form body or a JSON body and the token in
``Authorization: Bearer``. Errors are ``{"ok": false, "error": ...}`` with HTTP 200 as Slack does; a method that
is not implemented answers 404 ``unknown_method`` so tests notice. Every call is recorded, failures included.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from workspace.blockkit import block_problems
from workspace.state import (
    APP_ID,
    BOT_ID,
    BOT_USER,
    TEAM,
    TEAM_NAME,
    Channel,
    Message,
    WorkspaceState,
)

Params = dict[str, Any]
Method = Callable[[WorkspaceState, Params], Params]
METHODS: dict[str, Method] = {}  # filled here and by workspace.views (imported with the package)
_JSON_FIELDS = ("blocks", "attachments", "metadata", "view")


class ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error, self.extra = error, extra


def method(name: str) -> Callable[[Method], Method]:
    def register(func: Method) -> Method:
        METHODS[name] = func
        return func
    return register


def flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def required(params: Params, key: str) -> Any:
    if params.get(key) in (None, ""):
        raise ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] missing required field: {key}"]})
    return params[key]


async def read_params(request: web.Request) -> Params:
    """Query string, then form or JSON body; JSON-encoded form fields (blocks, metadata, view) are decoded."""
    params: Params = dict(request.query)
    body = await request.text()
    if body and request.content_type == "application/json":
        data = json.loads(body)
        if isinstance(data, dict):
            params.update(data)
    elif body:
        params.update(parse_qsl(body, keep_blank_values=True))
    for key in _JSON_FIELDS:
        if isinstance(params.get(key), str) and params[key].strip()[:1] in ("[", "{"):
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                raise ApiError(f"invalid_{key}") from None
    return params


class WebApi:
    """The ``/api/{method}`` handler: authenticate, record, inject failures, dispatch."""

    def __init__(self, state: WorkspaceState, *, token: str) -> None:
        self.state, self.token = state, token

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        try:
            params = await read_params(request)
        except (ApiError, ValueError) as exc:
            call = self.state.record(name, {})
            call.error = exc.error if isinstance(exc, ApiError) else "invalid_json"
            return web.json_response({"ok": False, "error": call.error})
        call = self.state.record(name, params)
        error = self._auth_error(request, params)
        if error:
            call.error = error
            return web.json_response({"ok": False, "error": error})
        if self.state.failures.get(name):
            failure = self.state.failures[name].pop(0)
            call.status, call.error = failure.status, failure.error
            headers = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
            return web.json_response({"ok": False, "error": failure.error}, status=failure.status, headers=headers)
        func = METHODS.get(name)
        if func is None:
            call.status, call.error = 404, "unknown_method"
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        try:
            result = func(self.state, params)
        except ApiError as exc:
            call.error = exc.error
            return web.json_response({"ok": False, "error": exc.error, **exc.extra})
        return web.json_response({"ok": True, **result})

    def _auth_error(self, request: web.Request, params: Params) -> str | None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else params.get("token", "")
        if not token:
            return "not_authed"
        return None if token == self.token else "invalid_auth"


# channels and messages ------------------------------------------------------------------------------------
def _channel(state: WorkspaceState, params: Params, *, key: str = "channel") -> Channel:
    """The channel the bot may see: unknown, or private without the bot, is ``channel_not_found``."""
    found = state.channel(str(required(params, key)))
    if found is None or (found.private and BOT_USER not in found.members and not found.is_im):
        raise ApiError("channel_not_found")
    return found


def _member_channel(state: WorkspaceState, params: Params) -> Channel:
    found = _channel(state, params)
    if BOT_USER not in found.members:
        raise ApiError("not_in_channel")
    return found


def _content(params: Params) -> tuple[str, list[Any]]:
    text, blocks = params.get("text") or "", params.get("blocks") or []
    if not text and not blocks and not params.get("attachments"):
        raise ApiError("no_text")
    if len(text) > 40_000:
        raise ApiError("msg_too_long")
    problems = block_problems(blocks, limit=50)
    if problems:
        raise ApiError("invalid_blocks", errors=problems)
    return text, blocks


def _metadata(params: Params) -> dict[str, Any] | None:
    meta = params.get("metadata")
    if meta in (None, ""):
        return None
    if not (isinstance(meta, dict) and isinstance(meta.get("event_type"), str)
            and isinstance(meta.get("event_payload"), dict)):
        raise ApiError("invalid_metadata_format")
    return meta


def public(message: Message, *, metadata: bool) -> Message:
    shown = {k: v for k, v in message.items() if v is not None and k not in ("to", "channel")}
    if not metadata:
        shown.pop("metadata", None)
    return shown


@method("auth.test")
def auth_test(state: WorkspaceState, params: Params) -> Params:
    return {"url": "https://maple-local.slack.com/", "team": TEAM_NAME, "user": "maple", "team_id": TEAM,
            "user_id": BOT_USER, "bot_id": BOT_ID, "app_id": APP_ID, "is_enterprise_install": False}


@method("chat.postMessage")
def chat_post_message(state: WorkspaceState, params: Params) -> Params:
    channel = _member_channel(state, params)
    text, blocks = _content(params)
    message: Message = {"user": BOT_USER, "bot_id": BOT_ID, "app_id": APP_ID, "text": text, "blocks": blocks,
                        "metadata": _metadata(params)}
    if params.get("thread_ts"):
        message["thread_ts"] = str(params["thread_ts"])
    posted = state.post(channel.id, message)
    return {"channel": channel.id, "ts": posted["ts"], "message": public(posted, metadata=True)}


@method("chat.update")
def chat_update(state: WorkspaceState, params: Params) -> Params:
    channel = _member_channel(state, params)
    message = state.find(channel.id, str(required(params, "ts")))
    if message is None:
        raise ApiError("message_not_found")
    if message.get("user") != BOT_USER:
        raise ApiError("cant_update_message")
    text, blocks = _content({"text": params.get("text") or message.get("text"),
                             "blocks": params["blocks"] if "blocks" in params else message.get("blocks")})
    message.update(text=text, blocks=blocks, edited={"user": BOT_USER, "ts": state.next_ts()})
    if params.get("metadata"):
        message["metadata"] = _metadata(params)
    state.changed(channel.id, message["ts"])
    return {"channel": channel.id, "ts": message["ts"], "text": text, "message": public(message, metadata=True)}


@method("chat.delete")
def chat_delete(state: WorkspaceState, params: Params) -> Params:
    channel = _member_channel(state, params)
    ts = str(required(params, "ts"))
    message = state.find(channel.id, ts)
    if message is None:
        raise ApiError("message_not_found")
    if message.get("user") != BOT_USER:
        raise ApiError("cant_delete_message")
    state.history[channel.id].remove(message)
    state.changed(channel.id, ts)
    return {"channel": channel.id, "ts": ts}


@method("chat.postEphemeral")
def chat_post_ephemeral(state: WorkspaceState, params: Params) -> Params:
    channel = _member_channel(state, params)
    user = str(required(params, "user"))
    if user not in state.users:
        raise ApiError("user_not_found")
    if user not in channel.members:
        raise ApiError("user_not_in_channel")
    text, blocks = _content(params)
    message = state.add_ephemeral(channel=channel.id, user=user, text=text, blocks=blocks,
                                  thread_ts=params.get("thread_ts"))
    return {"message_ts": message["ts"]}


@method("conversations.open")
def conversations_open(state: WorkspaceState, params: Params) -> Params:
    users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
    if len(users) != 1:
        raise ApiError("not_implemented" if users else "users_list_not_supplied")
    if users[0] not in state.users:
        raise ApiError("user_not_found")
    already = ("D" + users[0][1:]) in state.channels
    channel = state.dm_channel(users[0])
    shown = channel.to_slack() if flag(params.get("return_im")) else {"id": channel.id}
    return {"no_op": already, "already_open": already, "channel": shown}


@method("conversations.info")
def conversations_info(state: WorkspaceState, params: Params) -> Params:
    return {"channel": _channel(state, params).to_slack()}


def _page(items: list[Any], params: Params, *, default: int) -> tuple[list[Any], Params]:
    limit = int(params.get("limit") or default) or default
    start = int(params.get("cursor") or 0)
    chunk = items[start:start + limit]
    more = start + limit < len(items)
    return chunk, {"next_cursor": str(start + limit) if more else ""}


@method("conversations.members")
def conversations_members(state: WorkspaceState, params: Params) -> Params:
    members, meta = _page(sorted(_channel(state, params).members), params, default=100)
    return {"members": members, "response_metadata": meta}


@method("conversations.history")
def conversations_history(state: WorkspaceState, params: Params) -> Params:
    channel = _member_channel(state, params)
    oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or "inf")
    top = [m for m in reversed(state.history.get(channel.id, []))
           if m.get("thread_ts") in (None, m["ts"]) and oldest < float(m["ts"]) < latest]
    page, meta = _page(top, params, default=100)
    show = flag(params.get("include_all_metadata"))
    return {"messages": [public(m, metadata=show) for m in page], "has_more": bool(meta["next_cursor"]),
            "response_metadata": meta}


@method("conversations.replies")
def conversations_replies(state: WorkspaceState, params: Params) -> Params:
    channel = _member_channel(state, params)
    ts = str(required(params, "ts"))
    parent = state.find(channel.id, ts)
    if parent is None and (channel.id, ts) not in state.panes:  # a pane's thread has no parent message
        raise ApiError("thread_not_found")
    root = (parent.get("thread_ts") if parent else None) or ts
    thread = [m for m in state.history[channel.id] if m["ts"] == root or m.get("thread_ts") == root]
    page, meta = _page(thread, params, default=100)
    show = flag(params.get("include_all_metadata"))
    return {"messages": [public(m, metadata=show) for m in page], "has_more": bool(meta["next_cursor"]),
            "response_metadata": meta}


# people ---------------------------------------------------------------------------------------------------
@method("users.info")
def users_info(state: WorkspaceState, params: Params) -> Params:
    user = state.users.get(str(required(params, "user")))
    if user is None:
        raise ApiError("user_not_found")
    info = user.to_slack()
    if flag(params.get("include_locale")):
        info["locale"] = user.locale
    return {"user": info}


@method("users.list")
def users_list(state: WorkspaceState, params: Params) -> Params:
    return {"members": [user.to_slack() for user in state.users.values()], "response_metadata": {"next_cursor": ""}}


@method("usergroups.users.list")
def usergroups_users_list(state: WorkspaceState, params: Params) -> Params:
    group = str(required(params, "usergroup"))
    if group not in state.groups:
        raise ApiError("no_such_subteam")
    return {"users": list(state.groups[group])}
