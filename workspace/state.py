"""The local workspace's in-memory state: people, channels, messages, views, ephemeral messages and every Web
API call received. One instance per workspace; everything runs on one event loop, so no locking is needed."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BOT_USER, BOT_ID, APP_ID, SLACKBOT = "U0MAPLEBOT", "B0MAPLE", "A0MAPLE", "USLACKBOT"
TEAM, TEAM_DOMAIN, TEAM_NAME = "T0LOCAL", "maple-local", "Maple (local)"
REQUESTER, REVIEWER, OUTSIDER, ADMIN = "U0REQUEST", "U0REVIEW", "U0OUTSIDE", "U0ADMIN"
GENERAL, REVIEW_CHANNEL, REVIEWERS_GROUP = "C0GENERAL", "C0REVIEW", "S0REVIEWERS"
TRIGGER_TTL = 3.0

Message = dict[str, Any]


@dataclass
class User:
    id: str
    name: str
    real_name: str = ""
    guest: bool = False
    ultra: bool = False
    tz: str = "America/Toronto"
    is_bot: bool = False
    locale: str = "en-US"  # users.info answers it with include_locale, as Slack does

    def to_slack(self) -> dict[str, Any]:
        real = self.real_name or self.name
        return {"id": self.id, "team_id": TEAM, "name": self.name, "real_name": real, "deleted": False,
                "tz": self.tz, "tz_label": "Eastern Standard Time", "tz_offset": -18000,
                "is_bot": self.is_bot, "is_app_user": False, "is_admin": False, "is_owner": False,
                "is_restricted": self.guest or self.ultra, "is_ultra_restricted": self.ultra,
                "profile": {"real_name": real, "display_name": self.name, "team": TEAM}}


@dataclass
class Channel:
    id: str
    name: str
    private: bool = False
    shared: bool = False
    im_user: str | None = None
    members: set[str] = field(default_factory=set)

    @property
    def is_im(self) -> bool:
        return self.im_user is not None

    def to_slack(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "name": self.name, "created": 1700000000, "is_archived": False,
            "is_channel": not self.is_im, "is_group": False, "is_im": self.is_im, "is_mpim": False,
            "is_private": self.private or self.is_im, "is_ext_shared": self.shared, "is_shared": self.shared,
            "is_org_shared": False, "is_general": self.id == GENERAL, "context_team_id": TEAM,
            "is_member": BOT_USER in self.members, "num_members": len(self.members)}
        if self.im_user:
            data.update(user=self.im_user, is_open=True)
            data.pop("name")
        return data


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


@dataclass
class Failure:
    error: str
    status: int
    retry_after: int


@dataclass
class Trigger:
    user: str
    channel: str | None
    issued: float


@dataclass
class ResponseTarget:
    """Where a POST to a response_url lands: the person, the channel and (for clicks) the message clicked."""

    user: str
    channel: str
    message_ts: str | None = None
    ephemeral: bool = False


@dataclass
class ViewRecord:
    user: str
    view: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class Change:
    """A change the page must show: ``audience`` None means everyone, else only that person."""

    kind: str
    audience: str | None
    data: dict[str, Any]


class WorkspaceState:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.groups: dict[str, list[str]] = {}
        self.history: dict[str, list[Message]] = defaultdict(list)
        self.ephemerals: list[Message] = []
        self.views: dict[str, ViewRecord] = {}
        self.modals: dict[str, list[str]] = {}
        self.homes: dict[str, str] = {}
        self.triggers: dict[str, Trigger] = {}
        self.responses: dict[str, ResponseTarget] = {}
        self.panes: dict[tuple[str, str], dict[str, Any]] = {}  # (DM, thread) → status, title, suggested prompts
        self.read_marks: dict[tuple[str, str], float] = {}  # (person, channel) → ts of the newest message seen
        self.call_log: list[Call] = []
        self.failures: dict[str, list[Failure]] = defaultdict(list)
        self._subscribers: set[asyncio.Queue[Change | None]] = set()
        self._ids = itertools.count(1)
        self._last_us = 0

    # people, channels, groups -----------------------------------------------------------------------------
    def seed(self) -> WorkspaceState:
        self.add_user(BOT_USER, "maple", real_name="Maple")
        self.add_user(SLACKBOT, "slackbot", real_name="Slackbot")
        self.users[BOT_USER].is_bot = self.users[SLACKBOT].is_bot = True
        self.add_user(REQUESTER, "rita.requester", real_name="Rita Requester")
        self.add_user(REVIEWER, "rob.reviewer", real_name="Rob Reviewer")
        self.add_user(OUTSIDER, "olive.outsider", real_name="Olive Outsider")
        self.add_user(ADMIN, "ada.admin", real_name="Ada Admin")
        self.add_channel(GENERAL, "general", members=[REQUESTER, REVIEWER, OUTSIDER, ADMIN])
        self.add_channel(REVIEW_CHANNEL, "maple-review", private=True, members=[REVIEWER, ADMIN])
        self.add_group(REVIEWERS_GROUP, [REVIEWER])
        return self

    def add_user(self, user_id: str, name: str, *, guest: bool = False, single_channel: bool = False,
                 real_name: str = "") -> User:
        """``guest`` = multi-channel guest (is_restricted); ``single_channel`` = single-channel guest."""
        user = User(id=user_id, name=name, real_name=real_name or name, guest=guest, ultra=single_channel)
        self.users[user_id] = user
        return user

    def add_channel(self, channel_id: str, name: str, *, private: bool = False, shared: bool = False,
                    bot_member: bool = True, members: list[str] | tuple[str, ...] = ()) -> Channel:
        people = set(members) | ({BOT_USER} if bot_member else set())
        channel = Channel(id=channel_id, name=name, private=private, shared=shared, members=people)
        self.channels[channel_id] = channel
        self.publish("channels", None)
        return channel

    def add_group(self, group_id: str, members: list[str] | tuple[str, ...]) -> None:
        self.groups[group_id] = list(members)

    def dm_channel(self, user: str) -> Channel:
        """The DM between ``user`` and Maple (created on first use, as conversations.open does)."""
        cid = "D" + user[1:]
        if cid not in self.channels:
            self.channels[cid] = Channel(id=cid, name=cid, im_user=user, members={user, BOT_USER})
        return self.channels[cid]

    def channel(self, ref: str) -> Channel | None:
        """A channel by ID (C…/G…/D…, or U… meaning the DM with that person) or by #name."""
        if ref in self.channels:
            return self.channels[ref]
        if ref[:1] in ("U", "W") and ref in self.users:
            return self.dm_channel(ref)
        if ref[:1] == "D" and ("U" + ref[1:]) in self.users:
            return self.dm_channel("U" + ref[1:])
        name = ref.removeprefix("#")
        return next((c for c in self.channels.values() if c.name == name and not c.is_im), None)

    def visible_channels(self, user: str) -> list[Channel]:
        return [c for c in self.channels.values() if user in c.members and not c.is_im]

    def can_see(self, user: str, channel: str) -> bool:
        found = self.channels.get(channel)
        return found is not None and (user in found.members or not found.private and not found.is_im)

    # messages ---------------------------------------------------------------------------------------------
    def next_ts(self) -> str:
        self._last_us = max(self._last_us + 1, int(time.time() * 1_000_000))
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def post(self, channel: str, message: Message) -> Message:
        """Append a message (``ts`` assigned here) and, for a reply, update its parent's thread summary."""
        message = {"type": "message", "ts": self.next_ts(), "team": TEAM, **message, "channel": channel}
        parent_ts = message.get("thread_ts")
        pane = self.panes.get((channel, str(parent_ts))) if parent_ts else None
        if pane is not None and message.get("user") == BOT_USER:
            pane["status"] = ""  # as in Slack: the app's reply in the thread clears its status
        if parent_ts and parent_ts != message["ts"]:
            parent = self.find(channel, parent_ts)
            if parent is not None:
                parent["thread_ts"] = parent_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                users = parent.setdefault("reply_users", [])
                if message.get("user") not in users:
                    users.append(message.get("user"))
                parent["latest_reply"] = message["ts"]
        self.history[channel].append(message)
        self.publish("message", None, channel=channel, ts=message["ts"], new=True, user=message.get("user"),
                     reply=bool(parent_ts and parent_ts != message["ts"]))
        return message

    def unread(self, user: str, channel: str) -> int:
        """Messages (not thread replies) others posted in ``channel`` since ``user`` last saw it."""
        seen = self.read_marks.get((user, channel), 0.0)
        return sum(1 for m in self.history.get(channel, []) if float(m["ts"]) > seen and m.get("user") != user
                   and m.get("thread_ts") in (None, m["ts"]))

    def mark_read(self, user: str, channel: str, ts: str) -> None:
        key = (user, channel)
        self.read_marks[key] = max(self.read_marks.get(key, 0.0), float(ts))

    def find(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self.history.get(channel, []) if m["ts"] == ts), None)

    def find_anywhere(self, ts: str) -> tuple[str, Message] | None:
        for channel, messages in self.history.items():
            for message in messages:
                if message["ts"] == ts:
                    return channel, message
        return None

    def changed(self, channel: str, ts: str) -> None:
        self.publish("message", None, channel=channel, ts=ts)

    def add_ephemeral(self, *, channel: str, user: str, text: str, blocks: list[Any],
                      thread_ts: str | None = None, sender: str = BOT_USER) -> Message:
        message = {"type": "message", "subtype": "ephemeral", "ts": self.next_ts(), "channel": channel,
                   "user": sender, "bot_id": BOT_ID if sender == BOT_USER else None, "to": user, "text": text,
                   "blocks": blocks, "thread_ts": thread_ts}
        self.ephemerals.append(message)
        self.publish("ephemeral", user, channel=channel, ts=message["ts"])
        return message

    def find_ephemeral(self, ts: str) -> Message | None:
        return next((m for m in self.ephemerals if m["ts"] == ts), None)

    # triggers, response URLs, views -----------------------------------------------------------------------
    def issue_trigger(self, user: str, channel: str | None) -> str:
        trigger_id = f"{next(self._ids)}.{int(time.time())}.{self.new_id('t')}"
        self.triggers[trigger_id] = Trigger(user=user, channel=channel, issued=self.clock())
        return trigger_id

    def take_trigger(self, trigger_id: str) -> Trigger | str:
        """The trigger's person, or the Slack error: unknown, expired (older than 3 s) or already used."""
        trigger = self.triggers.pop(trigger_id, None)
        if trigger is None:
            return "invalid_trigger_id"
        if self.clock() - trigger.issued > TRIGGER_TTL:
            return "expired_trigger_id"
        return trigger

    def expire_triggers(self) -> None:
        """Age every pending trigger_id past Slack's 3 seconds (for tests of late views.open)."""
        for trigger in self.triggers.values():
            trigger.issued -= TRIGGER_TTL + 1

    def new_response_url(self, target: ResponseTarget) -> str:
        key = secrets.token_urlsafe(18)  # as unguessable as Slack's: whoever knows it may post as Maple
        self.responses[key] = target
        return key

    def set_modal_stack(self, user: str, view_ids: list[str]) -> None:
        self.modals[user] = view_ids
        self.publish("modal", user)

    def modal_of(self, user: str) -> ViewRecord | None:
        stack = self.modals.get(user) or []
        return self.views.get(stack[-1]) if stack else None

    # calls and live updates -------------------------------------------------------------------------------
    def record(self, method: str, params: dict[str, Any]) -> Call:
        call = Call(method=method, params=params, at=time.time())
        self.call_log.append(call)
        return call

    def subscribe(self) -> asyncio.Queue[Change | None]:
        queue: asyncio.Queue[Change | None] = asyncio.Queue(maxsize=1000)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Change | None]) -> None:
        self._subscribers.discard(queue)

    def publish(self, kind: str, audience: str | None, **data: Any) -> None:
        change = Change(kind=kind, audience=audience, data=data)
        for queue in list(self._subscribers):
            if queue.full():
                self._subscribers.discard(queue)
            else:
                queue.put_nowait(change)

    def close_subscribers(self) -> None:
        for queue in list(self._subscribers):
            if not queue.full():
                queue.put_nowait(None)
        self._subscribers.clear()
