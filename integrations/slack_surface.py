"""Surface and Directory on the Slack Web API (slack_sdk AsyncWebClient).

Rate limits: the client retries 429s honouring Retry-After (slack_sdk's retry handler), and transient server and
connection errors. Slack errors are translated into the core's SurfaceError tree here, at the edge.

Directory answers (who is in a user group or channel, who is a member of the served workspace) are cached and
loaded in the background (integrations/slack_lookups.py): on the ack path a request waits at most ``wait``
seconds for one and otherwise gets "not known" (fail closed). Channel member lists are read at most
``member_pages`` pages of 1,000 and kept current by ``member_joined_channel`` / ``member_left_channel`` events.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import NotInChannel, SurfaceError, SurfaceUnavailable
from bot.core.lru import Recent
from bot.core.ports import Directory, MessageRef, Place, Surface, View
from bot.core.spec import TenantsSpec
from bot.core.tenancy import Installed, Tenancy
from bot.core.text import Msg
from bot.core.tools.history import ChannelReader, HistoryMessage, SourceKind
from integrations import metrics
from integrations.slack_lookups import FAILED_PERSON_RETRY, Lookups

Renderer = Callable[[View], tuple[str, list[dict[str, Any]]]]
METADATA_EVENT = "maple_run"
DM_TTL = 86_400.0  # seconds a person's DM channel id is reused before Slack is asked again
DM_MAX = 50_000  # people whose DM channel id a process keeps (least recently used dropped first)
_NOT_IN = {"not_in_channel", "channel_not_found", "is_archived"}
log = logging.getLogger("maple.slack")
Profile = dict[str, Any]


class _Counted:
    """Counts each retry a handler makes (``maple_slack_api_retries_total{reason}``)."""

    reason = ""

    async def prepare_for_next_attempt_async(self, **kwargs: Any) -> None:
        metrics.SLACK_RETRIES.labels(self.reason).inc()
        await super().prepare_for_next_attempt_async(**kwargs)  # type: ignore[misc]


class _RateLimited(_Counted, AsyncRateLimitErrorRetryHandler):
    reason = "rate_limited"

    async def can_retry_async(self, *, state: RetryState, request: HttpRequest,
                              response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        if response is not None and response.status_code == 429:
            metrics.SLACK_429.inc()  # every 429 answer, retried or not
        return await super().can_retry_async(state=state, request=request, response=response, error=error)


class _ServerError(_Counted, AsyncServerErrorRetryHandler):
    reason = "server_error"


class _ConnectionError(_Counted, AsyncConnectionErrorRetryHandler):
    reason = "connection_error"


class KeptAliveClient(AsyncWebClient):
    """slack_sdk's client opens an HTTP session — a new TCP (and TLS) connection — for every call it is not given
    a session for, and closes it after. This one keeps a session per event loop, so calls reuse their connections
    (HTTP keep-alive): no handshake per post, update or lookup. A connection the server closed while idle fails
    its next call with ServerDisconnectedError, which the connection-error retry handler sends again."""

    _session_loop: asyncio.AbstractEventLoop | None = None

    async def _request(self, *, http_verb: str, api_url: str, req_args: dict[str, Any]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        if self.session is None or self.session.closed or self._session_loop is not loop:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout),
                                                 trust_env=self.trust_env_in_session)
            self._session_loop = loop
        result: dict[str, Any] = await super()._request(http_verb=http_verb, api_url=api_url, req_args=req_args)
        return result

    async def close(self) -> None:
        if self.session is not None and not self.session.closed and self._session_loop is asyncio.get_running_loop():
            await self.session.close()
        self.session = None


def make_client(*, token: str, base_url: str, retries: int = 3) -> AsyncWebClient:
    client = KeptAliveClient(token=token, base_url=base_url, timeout=10)
    handlers: list[AsyncRetryHandler] = [_RateLimited(max_retry_count=retries), _ServerError(max_retry_count=2),
                                         _ConnectionError(max_retry_count=2)]
    client.retry_handlers.extend(handlers)
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


class SlackInstallation:
    """The workspace (and Enterprise Grid org) Maple's bot token is installed in, learned once from ``auth.test``
    (again after a failure), and the tenancy it implies with the config's ``tenants:``."""

    def __init__(self, *, client: AsyncWebClient, tenants: TenantsSpec) -> None:
        self._client = client
        self._tenants = tenants
        self._learned: Lookups[Tenancy] = Lookups(name="auth.test", load=self._learn, ttl=float("inf"))

    async def tenancy(self, *, wait: float | None = None) -> Tenancy | None:
        return await self._learned.get("auth", wait=wait)

    async def _learn(self, _key: str) -> Tenancy:
        data = await call(self._client, "auth.test")
        installed = Installed(team_id=_str(data.get("team_id")), enterprise_id=_str(data.get("enterprise_id")),
                              is_enterprise_install=data.get("is_enterprise_install") is True,
                              bot_user_id=_str(data.get("user_id")), bot_id=_str(data.get("bot_id")))
        log.info("installation learned", extra={"team_id": installed.team_id, "enterprise_id": installed.enterprise_id,
                                                 "org_wide": installed.is_enterprise_install})
        return Tenancy.of(installed, self._tenants)

    async def close(self) -> None:
        await self._learned.close()


class SlackSurface(Surface, Directory):
    def __init__(self, *, client: AsyncWebClient, render: Renderer, installation: SlackInstallation | None = None,
                 group_ttl: float = 300.0, wait: float = 1.0, member_pages: int = 20,
                 escape: Callable[[str], str] | None = None) -> None:
        self._client = client
        self._render = render
        self._escape = escape or _escaped
        self._installation = installation or SlackInstallation(client=client, tenants=TenantsSpec())
        self._wait = wait
        self._member_pages = member_pages
        self._groups: Lookups[frozenset[str]] = Lookups(name="usergroups.users.list", load=self._group, ttl=group_ttl)
        self._channels: Lookups[frozenset[str]] = Lookups(name="conversations.members", load=self._channel,
                                                          ttl=group_ttl)
        self._people: Lookups[Profile] = Lookups(name="users.info", load=self._person, ttl=600.0,
                                                retry_after=FAILED_PERSON_RETRY)
        self._members: dict[str, float] = {}
        self._dms: Recent[str, str] = Recent(DM_MAX, ttl=DM_TTL)  # user → DM channel id
        self._guest_set: tuple[float, frozenset[str]] | None = None
        self._hooks: aiohttp.ClientSession | None = None  # response_url answers (not Web API calls)

    async def close(self) -> None:
        for lookups in (self._groups, self._channels, self._people):
            await lookups.close()
        if self._hooks is not None:
            await self._hooks.close()
        await self._installation.close()
        if isinstance(self._client, KeptAliveClient):
            await self._client.close()

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
        info = await self._people.get(user, wait=None)
        if not info:
            return True  # fail closed: unknown → treated as a guest
        return bool(info.get("is_restricted") or info.get("is_ultra_restricted") or info.get("is_stranger"))

    async def is_local(self, user: str) -> bool:
        """A member of a served workspace: their home team (or, on Enterprise Grid, their org or one of its
        workspaces) is served, and they are not a stranger, a bot or deactivated. Guests count (their results are
        limited by ``channels.guests``); Slack Connect users do not."""
        tenancy = await self._installation.tenancy(wait=self._wait)  # known: the front door waited for it
        info = await self._people.get(user, wait=self._wait)
        if tenancy is None or not info:
            return False
        if info.get("deleted") or info.get("is_bot") or info.get("is_stranger"):
            return False
        grid = info.get("enterprise_user") if isinstance(info.get("enterprise_user"), dict) else {}
        teams = [str(t) for t in grid.get("teams") or [] if isinstance(t, str)]
        return tenancy.is_home_of(team=_str(info.get("team_id")), enterprise=_str(grid.get("enterprise_id")),
                                  teams=teams)

    async def is_active(self, user: str) -> bool:
        info = await self._people.get(user, wait=None)
        return bool(info) and not info.get("deleted")  # user_not_found: the account is gone

    async def _person(self, user: str) -> Profile:
        try:
            data = await call(self._client, "users.info", user=user)
        except SurfaceUnavailable:
            raise  # not cached: asked again next time
        except SurfaceError:
            return {}  # user_not_found and the like: nobody we know
        info = data.get("user")
        return info if isinstance(info, dict) else {}

    async def open_dm(self, *, user: str) -> str:
        """The DM channel between Maple and ``user``. Slack gives the same id every time for the same pair, so it
        is asked once a day per person, not on every notice; a failure is not cached."""
        known = self._dms.get(user)
        if known is not None:
            return known
        data = await call(self._client, "conversations.open", users=user)
        channel = str(data["channel"]["id"])
        self._dms.put(user, channel)
        return channel

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

    async def start_stream(self, *, channel: str, thread_ts: str, run_id: str, recipient: str,
                           team: str | None) -> MessageRef:
        """``chat.startStream``: a reply in ``thread_ts`` that grows with each append. Outside a DM Slack needs
        the recipient (the person who asked, and their team)."""
        params: dict[str, Any] = {"thread_ts": thread_ts}
        if not channel.startswith("D"):
            if team is None:  # the request named no team: the person is of the workspace Maple is installed in
                tenancy = await self._installation.tenancy(wait=self._wait)
                team = tenancy.installed.team_id if tenancy is not None else None
            params.update(recipient_user_id=recipient, recipient_team_id=team)
        data = await call(self._client, "chat.startStream", channel, **params)
        return MessageRef(channel=str(data.get("channel", channel)), ts=str(data["ts"]))

    async def append_stream(self, *, ref: MessageRef, text: str) -> None:
        """``chat.appendStream`` with the chunk escaped (model text: nothing in it becomes a mention or a link;
        the core cuts chunks at spaces, so a broadcast never straddles two of them). ``markdown_text`` is Markdown,
        not mrkdwn: ``[label](url)`` would be a link showing only its label, so every ``]`` is followed by a
        zero-width space — inline, reference and image links lose their form whichever chunk holds their parts."""
        markdown = self._escape(text).replace("]", "]" + _ZWSP)
        await call(self._client, "chat.appendStream", ref.channel, ts=ref.ts, markdown_text=markdown)

    async def stop_stream(self, *, ref: MessageRef, run_id: str | None = None, effect: str | None = None) -> None:
        params: dict[str, Any] = {"ts": ref.ts}
        if run_id and effect:
            params["metadata"] = {"event_type": METADATA_EVENT, "event_payload": {"run_id": run_id, "effect": effect}}
        await call(self._client, "chat.stopStream", ref.channel, **params)

    async def delete(self, *, ref: MessageRef) -> None:
        """``chat.delete`` of one of Maple's own messages; one already deleted is not an error."""
        try:
            await call(self._client, "chat.delete", ref.channel, ts=ref.ts)
        except SurfaceError as exc:
            if "message_not_found" not in str(exc):
                raise

    def answers_at(self, url: str) -> bool:
        """Is ``url`` a response_url Maple may post to: Slack's (``https://hooks.slack.com/``) or, where Maple
        talks to a Slack-compatible API of its own (the local workspace, a test's fake), that API's origin. Any
        other address is refused, so a stored URL can never make Maple post somewhere else."""
        try:
            parts, api = urlsplit(url), urlsplit(self._client.base_url)
            if parts.username is not None or parts.password is not None:
                return False
            if parts.scheme == "https" and parts.hostname == "hooks.slack.com" and parts.port in (None, 443):
                return True
            return (api.hostname not in (None, "slack.com")
                    and (parts.scheme, parts.netloc) == (api.scheme, api.netloc))
        except ValueError:  # a port out of range, a malformed IPv6 address
            return False

    async def respond(self, *, url: str, view: View) -> None:
        """POST the view to the command's response_url, replacing its ephemeral answer. Slack answers ``ok`` with
        200; an expired URL (30 minutes, five uses), a refusal or no answer within 10 s raises SurfaceError."""
        if not self.answers_at(url):
            raise SurfaceError("response_url is not Slack's")
        rendered, blocks = self._render(view)
        body = {"text": rendered, "blocks": blocks or [], "response_type": "ephemeral", "replace_original": True}
        if self._hooks is None:
            self._hooks = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with self._hooks.post(url, json=body, allow_redirects=False) as resp:
                answer = await resp.text()
                if resp.status == 429:
                    metrics.SLACK_429.inc()
                if resp.status != 200:
                    raise SurfaceError(f"response_url: HTTP {resp.status}")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise SurfaceError(f"response_url: {type(exc).__name__}") from exc
        if answer.strip() not in ("ok", "") and '"ok": true' not in answer and '"ok":true' not in answer:
            raise SurfaceError("response_url: refused")

    async def post_ephemeral(self, *, channel: str, user: str, text: Msg, thread_ts: str | None = None,
                             view: View | None = None) -> None:
        rendered, blocks = self._render(view or View(kind="notice", text=text))
        params: dict[str, Any] = {"user": user, "text": rendered, "blocks": blocks}
        if thread_ts:
            params["thread_ts"] = thread_ts
        await call(self._client, "chat.postEphemeral", channel, **params)

    async def set_status(self, *, channel: str, thread_ts: str, status: Msg | None) -> None:
        """``assistant.threads.setStatus``: plain text (Slack shows it after the app's name); "" clears it."""
        await call(self._client, "assistant.threads.setStatus", channel_id=channel, thread_ts=thread_ts,
                   status=str(status) if status is not None else "")

    async def group_members(self, group_id: str) -> frozenset[str]:
        return await self._groups.get(group_id, wait=None) or frozenset()  # fail closed: no answer, no access

    async def channel_members(self, channel_id: str) -> frozenset[str]:
        return await self._channels.get(channel_id, wait=None) or frozenset()

    async def known_members(self, source: str) -> frozenset[str] | None:
        lookups = self._groups if source.startswith("S") else self._channels
        return await lookups.get(source, wait=self._wait)

    async def _group(self, group_id: str) -> frozenset[str]:
        data = await call(self._client, "usergroups.users.list", usergroup=group_id)
        return frozenset(str(u) for u in data.get("users", []))

    async def _channel(self, channel_id: str) -> frozenset[str]:
        return await SlackChannelReader(self._client).members(channel_id, max_pages=self._member_pages)

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
        self._groups.forget(group_id)
        if group_id is None:
            self._channels.forget()

    def forget_channel(self, channel: str) -> None:
        """Drop a channel's cached member list (another process took an event about it)."""
        self._channels.forget(channel)

    def member_changed(self, *, channel: str, user: str, joined: bool) -> None:
        """Keep a cached channel member list current (``member_joined_channel`` / ``member_left_channel``)."""
        self._channels.update(channel, lambda members: members | {user} if joined else members - {user})


class SlackChannelReader(ChannelReader):
    """ChannelReader on the Web API: conversations.members (paged) and history / replies.

    What a model reads is what a person would: authors by their display names (``users.info``, cached), mentions
    in the text as ``@name`` / ``#channel``, and none of Maple's own messages (marked with Maple's metadata, or
    written by Maple's bot user or bot id, learned once from ``auth.test``)."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = 600.0) -> None:
        self._client = client
        self._names: Lookups[str] = Lookups(name="users.info names", load=self._name, ttl=ttl)
        self._me: Lookups[frozenset[str]] = Lookups(name="auth.test ids", load=self._ids, ttl=float("inf"))

    async def members(self, channel: str, *, max_pages: int = 50) -> frozenset[str]:
        """Members of ``channel``, at most ``max_pages`` pages of 1,000 (a bigger channel is only partly read)."""
        users: set[str] = set()
        cursor = ""
        for _page in range(max_pages):
            data = await call(self._client, "conversations.members", channel, limit=1000, cursor=cursor)
            users.update(str(u) for u in data.get("members", []))
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return frozenset(users)
        log.warning("channel has more members than Maple reads; the rest hold no role through it",
                    extra={"channel": channel, "members_read": len(users), "max_pages": max_pages})
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
            data = await call(self._client, "conversations.replies", channel, ts=thread_ts, limit=limit,
                              include_all_metadata=True)
        else:
            data = await call(self._client, "conversations.history", channel, limit=limit, include_all_metadata=True)
        return await self._readable(data.get("messages", []))

    async def window(self, channel: str, *, oldest: str, latest: str, max_messages: int) -> list[HistoryMessage]:
        """Every top-level message of the period, paged through ``conversations.history`` (200 a page) with
        ``oldest``/``latest`` (exclusive) — Maple's own posts left out."""
        found: list[HistoryMessage] = []
        cursor = ""
        for _page in range(max(1, max_messages // 200)):
            data = await call(self._client, "conversations.history", channel, oldest=oldest, latest=latest,
                              inclusive=False, limit=200, cursor=cursor, include_all_metadata=True)
            found.extend(await self._readable(data.get("messages", [])))
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor or not data.get("has_more", True) or len(found) >= max_messages:
                break
        return found[:max_messages]

    async def _readable(self, messages: list[dict[str, Any]]) -> list[HistoryMessage]:
        me = await self._me.get("me", wait=None) or frozenset()
        kept = [m for m in messages if not _by_maple(m, me)]
        ids = {str(m["user"]) for m in kept if m.get("user")}
        ids |= {u for m in kept for u in _MENTIONED.findall(str(m.get("text", "")))}
        names = {u: await self._names.get(u, wait=None) or u for u in sorted(ids)[:MAX_NAMED]}
        return [HistoryMessage(user=_author(m, names), text=readable(str(m.get("text", "")), names),
                               ts=str(m.get("ts", "0"))) for m in kept]

    async def _name(self, user: str) -> str:
        info = (await call(self._client, "users.info", user=user)).get("user", {})
        profile = info.get("profile") or {}
        return str(profile.get("display_name") or profile.get("real_name") or info.get("real_name")
                   or info.get("name") or user)

    async def _ids(self, _key: str) -> frozenset[str]:
        data = await call(self._client, "auth.test")
        return frozenset(str(v) for v in (data.get("user_id"), data.get("bot_id")) if v)


MAX_NAMED = 500  # distinct people named per read (the rest keep their ids)
_MENTIONED = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL_REF = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>|<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")


def _by_maple(message: dict[str, Any], me: frozenset[str]) -> bool:
    if (message.get("metadata") or {}).get("event_type") == METADATA_EVENT:
        return True
    return bool(me) and (message.get("user") in me or message.get("bot_id") in me)


def _author(message: dict[str, Any], names: dict[str, str]) -> str:
    user = message.get("user")
    if user:
        return names.get(str(user), str(user))
    profile = message.get("bot_profile") or {}
    return str(message.get("username") or profile.get("name") or message.get("bot_id") or "?")


def readable(text: str, names: dict[str, str]) -> str:
    """Slack markup as a person reads it: ``<@U…>`` → ``@name``, ``<#C…|sales>`` → ``#sales``, ``<!here>`` →
    ``@here``."""
    text = _MENTIONED.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = _CHANNEL_REF.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    return _SPECIAL.sub(lambda m: "@" + (m.group(1) or (m.group(2) or "group").lstrip("@")), text)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


_ZWSP = "\u200b"


def _escaped(text: str) -> str:
    """Nothing in a streamed chunk becomes markup that reaches people (the handlers pass their own, fuller escape)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
