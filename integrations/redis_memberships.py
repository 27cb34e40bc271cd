"""Membership news between the processes that answer Slack: ``{prefix}memberships`` (Redis pub/sub).

A ``member_joined_channel`` / ``member_left_channel`` / ``subteam_members_changed`` event is delivered to one
process (each event once), but every process that answers Slack caches member lists for access checks — serve
and its ack processes on one port, other hosts behind a load balancer. The process that took the event updates
its own cache and publishes the news; every other one drops the cached list it names, so its next look-up reads
Slack again (fail closed: a person who left an approver channel is not still let in by a process that missed the
event). After the subscription was lost (Redis down) every cached list is dropped, since news may have been
missed meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from integrations.tasks import stop_task

log = logging.getLogger("maple.memberships")
RETRY_SECONDS = 1.0


class Memberships(Protocol):
    def forget_group(self, group_id: str | None = None) -> None: ...

    def forget_channel(self, channel: str) -> None: ...

    def member_changed(self, *, channel: str, user: str, joined: bool) -> None: ...


class MembershipNews:
    def __init__(self, *, redis: aioredis.Redis, prefix: str, surface: Memberships) -> None:
        self._r, self._channel, self._surface = redis, f"{prefix}memberships", surface
        self._me = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._sending: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._pubsub: Any = None
        self._down = False  # the last subscription attempt failed

    def group_changed(self, group_id: str | None) -> None:
        self._surface.forget_group(group_id)
        self._send({"group": group_id})

    def member_changed(self, *, channel: str, user: str, joined: bool) -> None:
        self._surface.member_changed(channel=channel, user=user, joined=joined)
        self._send({"channel": channel})

    def _send(self, news: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._publish(json.dumps({"from": self._me, **news})))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _publish(self, doc: str) -> None:
        try:
            await self._r.publish(self._channel, doc)
        except (RedisError, OSError) as exc:
            log.warning("membership news not published: other processes catch up when their cache expires",
                        extra={"error": type(exc).__name__})

    def heard(self, doc: str | bytes) -> None:
        """Apply news another process published (our own is already applied)."""
        try:
            news = json.loads(doc)
        except (ValueError, RecursionError):  # RecursionError: a forged message nested deep enough
            return
        if not isinstance(news, dict) or news.get("from") == self._me:
            return
        if isinstance(news.get("channel"), str):
            self._surface.forget_channel(news["channel"])
        elif "group" in news and (news["group"] is None or isinstance(news["group"], str)):
            self._surface.forget_group(news["group"])

    async def open(self) -> None:
        """Subscribe now (so no news published from here on is missed), then listen in the background."""
        if self._task is not None:
            return
        await self._subscribe()
        self._task = asyncio.create_task(self._listen())

    async def _subscribe(self) -> bool:
        pubsub = self._r.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._channel)
        except (RedisError, OSError) as exc:
            if not self._down:  # once per outage, not every second of it
                log.warning("membership news: cannot subscribe; trying again every second",
                            extra={"error": type(exc).__name__})
            self._down = True
            await pubsub.aclose()
            return False
        self._pubsub, self._down = pubsub, False
        return True

    async def _unsubscribe(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            await pubsub.aclose()

    async def _listen(self) -> None:
        while True:
            if self._pubsub is None:
                await asyncio.sleep(RETRY_SECONDS)
                if await self._subscribe():
                    self._surface.forget_group(None)  # news may have been missed while unsubscribed
                continue
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except (RedisError, OSError) as exc:
                log.warning("membership news unreadable; subscribing again", extra={"error": type(exc).__name__})
                await self._unsubscribe()
                continue
            if message is not None and message.get("type") == "message":
                try:
                    self.heard(message["data"])
                except Exception as exc:  # a message must never stop the listener (what is left would be stale)
                    log.warning("membership news not applied; dropping every cached list",
                                extra={"error": type(exc).__name__})
                    self._surface.forget_group(None)

    async def close(self) -> None:
        await stop_task(self._task)
        self._task = None
        await self._unsubscribe()
        for task in list(self._sending):
            await asyncio.gather(task, return_exceptions=True)
