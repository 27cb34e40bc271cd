"""Streamed messages in the local workspace's Web API, through slack_sdk's own typed methods as an app calls them:
a reply that grows with each append, is finished by stopStream, and refuses what Slack refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.unit.workspace_receiver import TOKEN
from workspace import GENERAL, REQUESTER, TEAM, Workspace


@pytest.fixture
async def client(ws: Workspace) -> AsyncIterator[AsyncWebClient]:
    yield AsyncWebClient(token=TOKEN, base_url=ws.api_url, timeout=5)


async def _parent(client: AsyncWebClient, channel: str = GENERAL) -> str:
    return str((await client.chat_postMessage(channel=channel, text="what is the meal allowance?"))["ts"])


async def test_a_stream_grows_then_is_finished(ws: Workspace, client: AsyncWebClient) -> None:
    parent = await _parent(client)
    started = await client.chat_startStream(channel=GENERAL, thread_ts=parent, recipient_user_id=REQUESTER,
                                            recipient_team_id=TEAM)
    ts = started["ts"]
    for piece in ("The meal ", "allowance is ", "$75 a day."):
        await client.chat_appendStream(channel=GENERAL, ts=ts, markdown_text=piece)
    message = ws.state.find(GENERAL, ts)
    assert message is not None and message["text"] == "The meal allowance is $75 a day."
    assert message["streaming"] is True and message["thread_ts"] == parent
    await client.chat_stopStream(channel=GENERAL, ts=ts)
    assert message["streaming"] is False
    with pytest.raises(SlackApiError) as late:
        await client.chat_appendStream(channel=GENERAL, ts=ts, markdown_text="more")
    assert late.value.response["error"] == "message_not_in_streaming_state"
    updated = await client.chat_update(channel=GENERAL, ts=ts, text="the checked answer")  # an app's own message
    assert updated["ok"] and ws.state.find(GENERAL, ts)["text"] == "the checked answer"  # type: ignore[index]


async def test_outside_a_dm_a_stream_needs_its_recipient(ws: Workspace, client: AsyncWebClient) -> None:
    parent = await _parent(client)
    with pytest.raises(SlackApiError) as missing:
        await client.chat_startStream(channel=GENERAL, thread_ts=parent)
    assert missing.value.response["error"] == "invalid_arguments"
    dm = (await client.conversations_open(users=REQUESTER))["channel"]["id"]
    in_dm = await client.chat_startStream(channel=dm, thread_ts=await _parent(client, dm))
    assert in_dm["ok"]


async def test_a_stream_is_a_reply_to_an_existing_message(ws: Workspace, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as nowhere:
        await client.chat_startStream(channel=GENERAL, thread_ts="1.000001", recipient_user_id=REQUESTER,
                                      recipient_team_id=TEAM)
    assert nowhere.value.response["error"] == "thread_not_found"
    with pytest.raises(SlackApiError) as unknown:
        await client.chat_appendStream(channel=GENERAL, ts="1.000002", markdown_text="x")
    assert unknown.value.response["error"] == "message_not_found"
