"""Surface and Directory on the Slack Web API (slack_sdk AsyncWebClient).

Rate limits: the client retries 429s honouring Retry-After (slack_sdk's retry handler), and transient server and
connection errors. Slack errors are translated into the core's SurfaceError tree here, at the edge.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import NotInChannel, SurfaceError, SurfaceUnavailable
from bot.core.ports import Directory, MessageRef, Place, Surface, View
from bot.core.tools.history import ChannelReader, HistoryMessage, SourceKind

Renderer = Callable[[View], tuple[str, list[dict[str, Any]]]]
METADATA_EVENT = "maple_run"
_NOT_IN = {"not_in_channel", "channel_not_found", "is_archived"}


def make_client(*, token: str, base_url: str, retries: int = 3) -> AsyncWebClient:
    client = AsyncWebClient(token=token, base_url=base_url, timeout=10)
    client.retry_handlers.extend([
        AsyncRateLimitErrorRetryHandler(max_retry_count=retries),
        AsyncServerErrorRetryHandler(max_retry_count=2),
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
    ])
    return client


async def call(client: AsyncWebClient, method: str, channel: str | None = None, **params: Any) -> dict[str, Any]:
    """One Web API call with Slack errors mapped to the core's errors."""
    if channel is not None:
        params = {"channel": channel, **params}
    try:
        if method.startswith(("chat.", "views.")):
            resp = await client.api_call(method, json=params)
        else:  # read methods take form parameters, as slack_sdk's own typed methods send them
            form = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items()}
            resp = await client.api_call(method, params=form)
        return dict(resp.data) if isinstance(resp.data, dict) else {}
    except SlackApiError as exc:
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        if channel and error in _NOT_IN:
            raise NotInChannel(channel) from exc
        if error == "ratelimited" or (exc.response is not None and exc.response.status_code == 429):
            raise SurfaceUnavailable(f"{method}: rate limited") from exc
        raise SurfaceError(f"{method}: {error or 'error'}") from exc
    except (SlackClientError, OSError, TimeoutError) as exc:
        raise SurfaceUnavailable(f"{method}: {type(exc).__name__}") from exc


class SlackSurface(Surface, Directory):
    def __init__(self, *, client: AsyncWebClient, render: Renderer, group_ttl: float = 300.0) -> None:
        self._client = client
        self._render = render
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._group_ttl = group_ttl
        self._members: dict[str, float] = {}
        self._guests: dict[str, tuple[float, bool]] = {}
        self._guest_set: tuple[float, frozenset[str]] | None = None

    async def check_member(self, *, channel: str) -> None:
        if channel.startswith("D") or self._members.get(channel, 0) > time.monotonic():
            return
        info = (await call(self._client, "conversations.info", channel)).get("channel", {})
        if not (info.get("is_member") or info.get("is_im")):
            raise NotInChannel(channel)
        self._members[channel] = time.monotonic() + 60

    async def place(self, *, channel: str) -> Place:
        if channel.startswith("D"):
            return Place(kind="dm")
        info = (await call(self._client, "conversations.info", channel)).get("channel", {})
        if info.get("is_im"):
            return Place(kind="dm")
        if info.get("is_ext_shared") or info.get("is_shared") or info.get("is_org_shared"):
            return Place(kind="shared")
        return Place(kind="private" if info.get("is_private") or info.get("is_group") else "public")

    async def is_guest(self, *, user: str) -> bool:
        cached = self._guests.get(user)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            info = (await call(self._client, "users.info", user=user)).get("user", {})
        except SurfaceError:
            return True  # fail closed: unknown → treated as a guest
        guest = bool(info.get("is_restricted") or info.get("is_ultra_restricted") or info.get("is_stranger"))
        self._guests[user] = (time.monotonic() + 600, guest)
        return guest

    async def open_dm(self, *, user: str) -> str:
        data = await call(self._client, "conversations.open", users=user)
        return str(data["channel"]["id"])

    async def post(
        self, *, channel: str, view: View, run_id: str, effect: str, thread_ts: str | None = None
    ) -> MessageRef:
        text, blocks = self._render(view)  # the renderer keeps a message within Slack's 50 blocks
        params: dict[str, Any] = {
            "text": text, "blocks": blocks, "unfurl_links": False, "unfurl_media": False,
            "metadata": {"event_type": METADATA_EVENT, "event_payload": {"run_id": run_id, "effect": effect}},
        }
        if thread_ts:
            params["thread_ts"] = thread_ts
        data = await call(self._client, "chat.postMessage", channel, **params)
        return MessageRef(channel=str(data.get("channel", channel)), ts=str(data["ts"]))

    async def find_posted(
        self, *, channel: str, run_id: str, effect: str, thread_ts: str | None = None
    ) -> MessageRef | None:
        if thread_ts:
            data = await call(self._client, "conversations.replies", channel, ts=thread_ts, limit=200,
                              include_all_metadata=True)
        else:
            data = await call(self._client, "conversations.history", channel, limit=200, include_all_metadata=True)
        for message in data.get("messages", []):
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if (meta.get("event_type") == METADATA_EVENT and payload.get("run_id") == run_id
                    and payload.get("effect") == effect):
                return MessageRef(channel=channel, ts=str(message["ts"]))
        return None

    async def update(self, *, ref: MessageRef, view: View) -> None:
        text, blocks = self._render(view)
        await call(self._client, "chat.update", ref.channel, ts=ref.ts, text=text, blocks=blocks[:50])

    async def post_ephemeral(self, *, channel: str, user: str, text: str, thread_ts: str | None = None) -> None:
        rendered, blocks = self._render(View(kind="notice", text=text))
        params: dict[str, Any] = {"user": user, "text": rendered, "blocks": blocks}
        if thread_ts:
            params["thread_ts"] = thread_ts
        await call(self._client, "chat.postEphemeral", channel, **params)

    async def group_members(self, group_id: str) -> frozenset[str]:
        cached = self._groups.get(group_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            data = await call(self._client, "usergroups.users.list", usergroup=group_id)
        except SurfaceError:
            return cached[1] if cached else frozenset()
        members = frozenset(str(u) for u in data.get("users", []))
        self._groups[group_id] = (time.monotonic() + self._group_ttl, members)
        return members

    async def channel_members(self, channel_id: str) -> frozenset[str]:
        cached = self._groups.get(channel_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            members = await SlackChannelReader(self._client).members(channel_id)
        except SurfaceError:
            return cached[1] if cached else frozenset()  # fail closed: no access without an answer
        self._groups[channel_id] = (time.monotonic() + self._group_ttl, members)
        return members

    async def guests(self) -> frozenset[str] | None:
        """The workspace's guest accounts, from ``users.list`` (paged), cached for ten minutes."""
        if self._guest_set is not None and self._guest_set[0] > time.monotonic():
            return self._guest_set[1]
        found: set[str] = set()
        cursor = ""
        try:
            for _page in range(100):
                data = await call(self._client, "users.list", limit=1000, cursor=cursor)
                found.update(str(u.get("id")) for u in data.get("members", [])
                             if u.get("is_restricted") or u.get("is_ultra_restricted") or u.get("is_stranger"))
                cursor = (data.get("response_metadata") or {}).get("next_cursor") or ""
                if not cursor:
                    break
            else:
                return None  # too many pages to be sure
        except SurfaceError:
            return None
        self._guest_set = (time.monotonic() + 600, frozenset(found))
        return self._guest_set[1]

    def forget_group(self, group_id: str | None = None) -> None:
        """Drop cached memberships (on ``subteam_members_changed``)."""
        if group_id is None:
            self._groups.clear()
        else:
            self._groups.pop(group_id, None)


class SlackChannelReader(ChannelReader):
    """ChannelReader on the Web API: conversations.members (paged) and history / replies."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def members(self, channel: str) -> frozenset[str]:
        users: set[str] = set()
        cursor = ""
        for _page in range(50):
            data = await call(self._client, "conversations.members", channel, limit=1000, cursor=cursor)
            users.update(str(u) for u in data.get("members", []))
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                break
        return frozenset(users)

    async def kind(self, channel: str) -> SourceKind:
        if channel.startswith("D"):
            return "dm"
        info = (await call(self._client, "conversations.info", channel)).get("channel", {})
        if info.get("is_im") or info.get("is_mpim"):
            return "dm"
        if info.get("is_ext_shared") or info.get("is_shared") or info.get("is_org_shared"):
            return "shared"
        return "private" if info.get("is_private") or info.get("is_group") else "public"

    async def history(self, channel: str, *, thread_ts: str | None, limit: int) -> list[HistoryMessage]:
        if thread_ts:
            data = await call(self._client, "conversations.replies", channel, ts=thread_ts, limit=limit)
        else:
            data = await call(self._client, "conversations.history", channel, limit=limit)
        return [HistoryMessage(user=str(m.get("user") or m.get("bot_id") or "?"), text=str(m.get("text", "")),
                               ts=str(m.get("ts", "0"))) for m in data.get("messages", [])
                if not (m.get("metadata") or {}).get("event_type") == METADATA_EVENT]

    async def window(self, channel: str, *, oldest: str, latest: str, max_messages: int) -> list[HistoryMessage]:
        """Every top-level message of the period, paged through ``conversations.history`` (200 a page) with
        ``oldest``/``latest`` (exclusive) — Maple's own posts left out."""
        found: list[HistoryMessage] = []
        cursor = ""
        for _page in range(max(1, max_messages // 200)):
            data = await call(self._client, "conversations.history", channel, oldest=oldest, latest=latest,
                              inclusive=False, limit=200, cursor=cursor, include_all_metadata=True)
            found.extend(HistoryMessage(user=str(m.get("user") or m.get("bot_id") or "?"), text=str(m.get("text", "")),
                                        ts=str(m.get("ts", "0"))) for m in data.get("messages", [])
                         if not (m.get("metadata") or {}).get("event_type") == METADATA_EVENT)
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor or not data.get("has_more", True) or len(found) >= max_messages:
                break
        return found[:max_messages]
