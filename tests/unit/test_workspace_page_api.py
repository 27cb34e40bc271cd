"""The page's side of the workspace: what typing does to text (as Slack does it), unread counts, and live
updates limited to what the person may read."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests.unit.workspace_receiver import SECRET, TOKEN, Receiver, page_headers
from workspace import (
    ADMIN,
    GENERAL,
    OUTSIDER,
    REQUESTER,
    REVIEW_CHANNEL,
    REVIEWER,
    Workspace,
    build_workspace,
)
from workspace.composer import SLASH_SHOULD_ESCAPE, command_text, message_text
from workspace.state import WorkspaceState

MANIFEST = Path(__file__).resolve().parents[2] / "config" / "slack-manifest.yaml"


@pytest.fixture
async def maple() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture
async def ws(maple: Receiver) -> AsyncIterator[Workspace]:
    async with build_workspace(signing_secret=SECRET, maple_url=maple.url, bot_token=TOKEN) as workspace:
        yield workspace


def test_the_workspace_escapes_slash_commands_as_the_manifest_asks() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    (maple,) = [c for c in manifest["features"]["slash_commands"] if c["command"] == "/maple"]
    assert maple["should_escape"] is SLASH_SHOULD_ESCAPE


@pytest.mark.parametrize(("user", "typed", "sent"), [
    (REVIEWER, "summarize #maple-review", "summarize <#C0REVIEW|maple-review>"),
    (REVIEWER, "summarize #Maple-Review.", "summarize <#C0REVIEW|maple-review>."),
    (OUTSIDER, "summarize #maple-review", "summarize #maple-review"),  # private, and they are not in it
    (OUTSIDER, "summarize #general", "summarize <#C0GENERAL|general>"),
    (REQUESTER, "summarize #nowhere and #general-", "summarize #nowhere and <#C0GENERAL|general>-"),
    (REQUESTER, "draft a note for @rob.reviewer, and @nobody", "draft a note for <@U0REVIEW|rob.reviewer>, and @nobody"),
    (REQUESTER, "see https://example.com/#general and a&#general", "see https://example.com/#general and a&#general"),
])
def test_slash_command_text(user: str, typed: str, sent: str) -> None:
    assert command_text(WorkspaceState().seed(), user, typed) == sent


def test_message_text() -> None:
    state = WorkspaceState().seed()
    assert message_text(state, REVIEWER, "@maple what happened in #maple-review & #general <b>?") == \
        "<@U0MAPLEBOT> what happened in <#C0REVIEW|maple-review> &amp; <#C0GENERAL|general> &lt;b&gt;?"
    assert message_text(state, REQUESTER, "#maple-review is private") == "#maple-review is private"


async def test_unread_counts_and_marks(ws: Workspace) -> None:
    ws.people.say(ADMIN, GENERAL, "one")
    root = ws.people.say(ADMIN, GENERAL, "two")
    ws.people.say(ADMIN, GENERAL, "a reply", thread_ts=root["ts"])  # replies are not counted, as in Slack
    ws.people.say(REQUESTER, GENERAL, "mine")  # nor one's own messages
    ws.people.say(ADMIN, REVIEW_CHANNEL, "private")
    async with aiohttp.ClientSession() as s:
        headers = await page_headers(s, ws)

        async def unread(user: str) -> dict[str, int]:
            async with s.get(ws.url + f"/ui/bootstrap?user={user}", headers=headers) as r:
                return (await r.json())["unread"]  # type: ignore[no-any-return]

        assert await unread(REQUESTER) == {GENERAL: 2, "D0REQUEST": 0}  # no private channel they cannot see
        assert (await unread(REVIEWER))[REVIEW_CHANNEL] == 1
        async with s.post(ws.url + "/ui/read", json={"user": REQUESTER, "channel": GENERAL, "ts": root["ts"]},
                          headers=headers) as r:
            assert (await r.json())["unread"] == 0
        async with s.post(ws.url + "/ui/read", json={"user": OUTSIDER, "channel": REVIEW_CHANNEL,
                                                     "ts": root["ts"]}, headers=headers) as r:
            assert r.status == 404
        ws.people.say(ADMIN, GENERAL, "three")
        assert (await unread(REQUESTER))[GENERAL] == 1
        assert (await unread(ADMIN))[GENERAL] == 1  # Rita's; never their own three


async def test_live_updates_only_tell_what_the_person_may_read(ws: Workspace) -> None:
    async with aiohttp.ClientSession() as s:
        token = (await page_headers(s, ws))["X-Workspace-Token"]
        async with s.get(ws.url + f"/ui/events?user={OUTSIDER}&token={token}") as events:
            assert (await events.content.readline()).startswith(b"event: ready")
            await events.content.readline()
            ws.people.say(ADMIN, REVIEW_CHANNEL, "private plans")  # the outsider is not in it
            ws.people.say(ADMIN, GENERAL, "public news")
            seen = []
            while len(seen) < 1:
                line = await asyncio.wait_for(events.content.readline(), 10)
                if line.startswith(b"data: "):
                    seen.append(json.loads(line.decode().removeprefix("data: ")))
    assert [(c["channel"], c["new"], c["user"]) for c in seen] == [(GENERAL, True, ADMIN)]
