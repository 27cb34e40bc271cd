"""The local workspace: its Slack Web API (through slack_sdk, as Maple calls it), the signed requests it sends,
and how it honours the answers. A small receiver stands in for Maple's request URL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.unit.workspace_receiver import SECRET, TOKEN, Receiver, page_headers
from workspace import (
    ADMIN,
    BOT_USER,
    GENERAL,
    OUTSIDER,
    REQUESTER,
    REVIEW_CHANNEL,
    REVIEWER,
    Workspace,
    signature,
)

BUTTONS = [{"type": "actions", "block_id": "review:R1", "elements": [
    {"type": "button", "text": {"type": "plain_text", "text": "Approve"}, "action_id": "maple_approve",
     "value": "R1", "style": "primary"}]}]
MODAL = {"type": "modal", "callback_id": "maple_reject_view", "private_metadata": "R1",
         "title": {"type": "plain_text", "text": "Reject draft"}, "submit": {"type": "plain_text", "text": "Reject"},
         "notify_on_close": True,
         "blocks": [{"type": "input", "block_id": "reason", "label": {"type": "plain_text", "text": "Reason"},
                     "element": {"type": "plain_text_input", "action_id": "text", "multiline": True}}]}


@pytest.fixture
async def client(ws: Workspace) -> AsyncIterator[AsyncWebClient]:
    yield AsyncWebClient(token=TOKEN, base_url=ws.api_url, timeout=5)


async def raw(ws: Workspace, method: str, *, token: str | None = TOKEN, **params: Any) -> tuple[int, dict[str, Any], Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as s, s.post(ws.api_url + method, json=params, headers=headers) as r:
        return r.status, dict(r.headers), await r.json()


# the Web API ------------------------------------------------------------------------------------------------
async def test_auth_test_and_tokens(ws: Workspace, client: AsyncWebClient) -> None:
    me = await client.auth_test()
    assert me["user_id"] == BOT_USER and me["team_id"] == "T0LOCAL"
    with pytest.raises(SlackApiError) as bad:
        await AsyncWebClient(token="xoxb-wrong", base_url=ws.api_url).auth_test()
    assert bad.value.response["error"] == "invalid_auth"
    assert (await raw(ws, "auth.test", token=None))[2] == {"ok": False, "error": "not_authed"}


async def test_unknown_method_is_404(ws: Workspace, client: AsyncWebClient) -> None:
    status, _headers, body = await raw(ws, "chat.scheduleMessage", channel=GENERAL, text="hi")
    assert status == 404 and body == {"ok": False, "error": "unknown_method"}
    with pytest.raises(SlackApiError):
        await client.api_call("conversations.join", json={"channel": GENERAL})
    assert ws.calls("conversations.join")[0].status == 404


async def test_post_message_with_blocks_metadata_and_thread(ws: Workspace, client: AsyncWebClient) -> None:
    meta = {"event_type": "maple_run", "event_payload": {"run_id": "R1", "effect": "result"}}
    first = await client.api_call("chat.postMessage", json={
        "channel": GENERAL, "text": "Draft", "blocks": BUTTONS, "metadata": meta, "unfurl_links": False})
    assert first["ok"] and first["channel"] == GENERAL and first["message"]["blocks"] == BUTTONS
    reply = await client.chat_postMessage(channel=GENERAL, text="in the thread", thread_ts=first["ts"])
    assert float(reply["ts"]) > float(first["ts"])
    history = await client.conversations_history(channel=GENERAL, limit=10)
    assert [m["ts"] for m in history["messages"]] == [first["ts"]]  # replies stay in their thread
    assert "metadata" not in history["messages"][0] and history["messages"][0]["reply_count"] == 1
    with_meta = await client.api_call("conversations.history", params={"channel": GENERAL,
                                                                       "include_all_metadata": "true"})
    assert with_meta["messages"][0]["metadata"] == meta
    thread = await client.conversations_replies(channel=GENERAL, ts=first["ts"])
    assert [m["text"] for m in thread["messages"]] == ["Draft", "in the thread"]
    assert [m["ts"] for m in ws.messages(GENERAL)] == [first["ts"], reply["ts"]]


async def test_post_to_a_person_opens_their_dm(ws: Workspace, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel=REQUESTER, text="hello")
    assert posted["channel"] == "D0REQUEST"
    opened = await client.conversations_open(users=REVIEWER)
    assert opened["channel"]["id"] == "D0REVIEW"
    info = await client.conversations_info(channel="D0REVIEW")
    assert info["channel"]["is_im"] and info["channel"]["user"] == REVIEWER and info["channel"]["is_private"]
    assert ws.messages(REQUESTER)[0]["text"] == "hello"


async def test_not_in_channel_and_hidden_private_channels(ws: Workspace, client: AsyncWebClient) -> None:
    ws.add_channel("C0RANDOM", "random", bot_member=False, members=[REQUESTER])
    ws.add_channel("C0SECRET", "secret", private=True, bot_member=False, members=[ADMIN])
    for channel, error in (("C0RANDOM", "not_in_channel"), ("C0SECRET", "channel_not_found"),
                           ("C0NOPE", "channel_not_found")):
        with pytest.raises(SlackApiError) as exc:
            await client.chat_postMessage(channel=channel, text="hi")
        assert exc.value.response["error"] == error
    info = (await client.conversations_info(channel="C0RANDOM"))["channel"]
    assert info["is_channel"] and not info["is_member"] and not info["is_private"]
    assert not ws.calls("chat.postMessage")[0].ok and ws.calls("chat.postMessage")[0].error == "not_in_channel"


async def test_conversation_info_flags_and_members(ws: Workspace, client: AsyncWebClient) -> None:
    ws.add_channel("C0PARTNER", "partner", shared=True, members=[REQUESTER])
    review = (await client.conversations_info(channel=REVIEW_CHANNEL))["channel"]
    assert review["is_private"] and review["is_member"] and not review["is_ext_shared"]
    assert (await client.conversations_info(channel="C0PARTNER"))["channel"]["is_ext_shared"]
    members = await client.conversations_members(channel=REVIEW_CHANNEL)
    assert set(members["members"]) == {REVIEWER, ADMIN, BOT_USER}
    page = await client.conversations_members(channel=GENERAL, limit=2)
    assert len(page["members"]) == 2 and page["response_metadata"]["next_cursor"]


async def test_update_and_ephemeral(ws: Workspace, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel=GENERAL, text="v1", blocks=BUTTONS)
    await client.chat_update(channel=GENERAL, ts=posted["ts"], text="v2", blocks=[])
    assert ws.messages(GENERAL)[0]["text"] == "v2" and ws.messages(GENERAL)[0]["blocks"] == []
    with pytest.raises(SlackApiError, match="message_not_found"):
        await client.chat_update(channel=GENERAL, ts="1.000001", text="x")
    await client.chat_postEphemeral(channel=GENERAL, user=OUTSIDER, text="only you")
    assert [m["text"] for m in ws.ephemerals(OUTSIDER)] == ["only you"] and not ws.ephemerals(REQUESTER)
    with pytest.raises(SlackApiError, match="user_not_in_channel"):
        await client.chat_postEphemeral(channel=REVIEW_CHANNEL, user=OUTSIDER, text="no")


async def test_invalid_blocks_are_refused_like_slack(ws: Workspace, client: AsyncWebClient) -> None:
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel=GENERAL, text="t", blocks=too_long)
    assert exc.value.response["error"] == "invalid_blocks"
    assert "/blocks/0/text/text" in exc.value.response["errors"][0]
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        await client.chat_postMessage(channel=GENERAL, text="t", blocks=[{"type": "divider"}] * 51)
    assert (await raw(ws, "chat.postMessage", channel=GENERAL))[2] == {"ok": False, "error": "no_text"}


async def test_people_and_groups(ws: Workspace, client: AsyncWebClient) -> None:
    ws.add_user("U0GUEST", "gus.guest", guest=True)
    ws.add_user("U0SINGLE", "sam.single", single_channel=True)
    ws.add_group("S0EMPTY", [])
    guest = (await client.users_info(user="U0GUEST"))["user"]
    assert guest["is_restricted"] and not guest["is_ultra_restricted"] and guest["tz"]
    single = (await client.users_info(user="U0SINGLE"))["user"]
    assert single["is_restricted"] and single["is_ultra_restricted"]
    assert not (await client.users_info(user=REQUESTER))["user"]["is_restricted"]
    assert (await client.usergroups_users_list(usergroup="S0REVIEWERS"))["users"] == [REVIEWER]
    assert (await client.usergroups_users_list(usergroup="S0EMPTY"))["users"] == []
    with pytest.raises(SlackApiError, match="no_such_subteam"):
        await client.usergroups_users_list(usergroup="S0NOPE")
    with pytest.raises(SlackApiError, match="user_not_found"):
        await client.users_info(user="U0NOBODY")


async def test_rate_limit_injection_with_retry_after(ws: Workspace) -> None:
    ws.fail_next("chat.postMessage", retry_after=7, times=2)
    status, headers, body = await raw(ws, "chat.postMessage", channel=GENERAL, text="hi")
    assert (status, headers["Retry-After"], body) == (429, "7", {"ok": False, "error": "ratelimited"})
    ws.fail_next("chat.update", status=500)
    assert (await raw(ws, "chat.update", channel=GENERAL, ts="1.1", text="x"))[0] == 500
    ws.fail_next("conversations.info", status=200, error="channel_not_found")
    assert (await raw(ws, "conversations.info", channel=GENERAL))[2]["error"] == "channel_not_found"
    assert (await raw(ws, "conversations.info", channel=GENERAL))[2]["ok"]  # only the next one


async def test_slack_sdk_retries_after_a_429(ws: Workspace) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=ws.api_url, timeout=5)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    ws.fail_next("chat.postMessage", retry_after=0)
    assert (await client.chat_postMessage(channel=GENERAL, text="after a pause"))["ok"]
    assert [c.status for c in ws.calls("chat.postMessage")] == [429, 200]
    assert len(ws.messages(GENERAL)) == 1


async def test_every_call_is_recorded(ws: Workspace, client: AsyncWebClient) -> None:
    await client.api_call("chat.postMessage", json={"channel": GENERAL, "text": "x", "blocks": BUTTONS})
    await client.api_call("chat.postMessage", data={"channel": GENERAL, "text": "y", "blocks": json.dumps(BUTTONS)})
    await client.api_call("conversations.info", params={"channel": GENERAL})
    calls = ws.calls()
    assert [c.method for c in calls] == ["chat.postMessage", "chat.postMessage", "conversations.info"]
    assert calls[0].params["blocks"] == BUTTONS == calls[1].params["blocks"]  # JSON and form bodies alike
    assert calls[2].params == {"channel": GENERAL} and all(c.ok and c.at > 0 for c in calls)
    assert [p["text"] for p in ws.posted(GENERAL)] == ["x", "y"]


async def test_views_need_a_fresh_trigger(ws: Workspace, client: AsyncWebClient) -> None:
    trigger = ws.state.issue_trigger(REVIEWER, GENERAL)
    opened = await client.views_open(trigger_id=trigger, view=MODAL)
    view_id = opened["view"]["id"]
    assert ws.modal(REVIEWER) and ws.modal(REVIEWER).view["callback_id"] == "maple_reject_view"  # type: ignore[union-attr]
    with pytest.raises(SlackApiError, match="invalid_trigger_id"):
        await client.views_open(trigger_id=trigger, view=MODAL)  # a trigger is used once
    late = ws.state.issue_trigger(REVIEWER, GENERAL)
    ws.expire_triggers()
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        await client.views_open(trigger_id=late, view=MODAL)
    updated = await client.views_update(view_id=view_id, view={**MODAL, "private_metadata": "R2"})
    assert updated["view"]["id"] == view_id and ws.modal(REVIEWER).view["private_metadata"] == "R2"  # type: ignore[union-attr]
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hi*"}}]}
    await client.views_publish(user_id=REQUESTER, view=home)
    assert ws.home(REQUESTER)["blocks"] == home["blocks"]  # type: ignore[index]


# signed requests to Maple -----------------------------------------------------------------------------------
async def test_slash_command_is_signed_and_its_answer_is_ephemeral(ws: Workspace, maple: Receiver) -> None:
    maple.answer = {"text": "Working on it (run R1)", "response_type": "ephemeral"}
    reply = await ws.slash(REQUESTER, GENERAL, "draft a note")
    assert reply == (200, maple.answer)
    valid, content_type, _ = maple.received[-1]
    assert valid and content_type == "application/x-www-form-urlencoded"
    form = maple.last_form()
    assert (form["command"], form["text"], form["user_id"], form["channel_id"]) == (
        "/maple", "draft a note", REQUESTER, GENERAL)
    assert form["response_url"].startswith(ws.url + "/response/") and form["trigger_id"]
    assert [m["text"] for m in ws.ephemerals(REQUESTER)] == ["Working on it (run R1)"]
    assert not ws.messages(GENERAL)


async def test_signature_matches_slack_sdk(ws: Workspace, maple: Receiver) -> None:
    expected = SignatureVerifier(SECRET).generate_signature(timestamp="1700000000", body="a=b")
    assert signature(SECRET, "1700000000", "a=b") == expected
    ws.signer.signing_secret = "some-other-secret"
    await ws.slash(REQUESTER, GENERAL, "help")
    assert maple.received[-1][0] is False


async def test_response_url_replaces_or_adds(ws: Workspace, maple: Receiver, client: AsyncWebClient) -> None:
    await ws.slash(REQUESTER, GENERAL, "help")
    url = maple.last_form()["response_url"]
    async with aiohttp.ClientSession() as s:
        async with s.post(url, json={"text": "later news"}) as r:
            assert r.status == 200
        async with s.post(ws.url + "/response/nope", json={"text": "x"}) as r:
            assert r.status == 404
    assert [m["text"] for m in ws.ephemerals(REQUESTER)] == ["later news"]
    posted = await client.chat_postMessage(channel=GENERAL, text="pick", blocks=BUTTONS)
    await ws.click(REVIEWER, posted["ts"], "maple_approve")
    async with aiohttp.ClientSession() as s, s.post(maple.last_payload()["response_url"],
                                                    json={"text": "done", "replace_original": True}) as r:
        assert r.status == 200
    assert ws.messages(GENERAL)[0]["text"] == "done" and ws.messages(GENERAL)[0]["blocks"] == []


async def test_a_later_answer_to_a_slash_command_replaces_its_ack(ws: Workspace, maple: Receiver) -> None:
    """As in Slack: ``replace_original`` through a slash command's response_url replaces the ack it answered."""
    maple.answer = {"text": "On it (run R1)", "response_type": "ephemeral"}
    await ws.slash(REQUESTER, GENERAL, "draft a note")
    async with aiohttp.ClientSession() as s, s.post(maple.last_form()["response_url"], json={
            "text": "Working on it (run R1)", "replace_original": True, "response_type": "ephemeral"}) as r:
        assert r.status == 200
    assert [m["text"] for m in ws.ephemerals(REQUESTER)] == ["Working on it (run R1)"]


async def test_click_sends_block_actions_with_the_message(ws: Workspace, maple: Receiver,
                                                          client: AsyncWebClient) -> None:
    meta = {"event_type": "maple_run", "event_payload": {"run_id": "R1"}}
    posted = await client.api_call("chat.postMessage", json={"channel": "D0REVIEW", "text": "review",
                                                             "blocks": BUTTONS, "metadata": meta})
    reply = await ws.click(REVIEWER, posted["ts"], "maple_approve")
    assert reply.status == 200 and maple.received[-1][0]
    payload = maple.last_payload()
    assert payload["type"] == "block_actions" and payload["user"]["id"] == REVIEWER
    assert payload["actions"][0] | {"action_ts": ""} == {
        "action_id": "maple_approve", "block_id": "review:R1", "value": "R1", "type": "button", "style": "primary",
        "text": {"type": "plain_text", "text": "Approve"}, "action_ts": ""}
    assert payload["container"]["message_ts"] == posted["ts"] and payload["channel"]["id"] == "D0REVIEW"
    assert payload["message"]["metadata"] == meta and payload["message"]["blocks"] == BUTTONS
    with pytest.raises(LookupError):
        await ws.click(REVIEWER, posted["ts"], "maple_nothing")


async def test_view_submission_errors_stay_in_the_modal(ws: Workspace, maple: Receiver,
                                                        client: AsyncWebClient) -> None:
    view_id = (await client.views_open(trigger_id=ws.state.issue_trigger(REVIEWER, None), view=MODAL))["view"]["id"]
    maple.answer = {"response_action": "errors", "errors": {"reason": "Say why"}}
    reply = await ws.submit_view(REVIEWER, view_id, {"reason": "too vague"})
    assert reply.body["response_action"] == "errors"
    payload = maple.last_payload()
    assert payload["type"] == "view_submission" and payload["view"]["private_metadata"] == "R1"
    assert payload["view"]["state"]["values"] == {"reason": {"text": {"type": "plain_text_input",
                                                                      "value": "too vague"}}}
    assert ws.modal(REVIEWER).errors == {"reason": "Say why"}  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="required"):
        await ws.submit_view(REVIEWER, view_id, {"reason": ""})  # Slack's client would not send it
    maple.answer = None
    await ws.submit_view(REVIEWER, view_id, {"reason": "off topic"})
    assert ws.modal(REVIEWER) is None


async def test_closing_a_modal_notifies_when_asked(ws: Workspace, maple: Receiver, client: AsyncWebClient) -> None:
    view_id = (await client.views_open(trigger_id=ws.state.issue_trigger(ADMIN, None), view=MODAL))["view"]["id"]
    reply = await ws.close_view(ADMIN, view_id)
    assert reply is not None and maple.last_payload()["type"] == "view_closed" and ws.modal(ADMIN) is None


async def test_mentions_dms_and_url_verification(ws: Workspace, maple: Receiver) -> None:
    await ws.mention(REQUESTER, GENERAL, "summarize this channel")
    envelope = json.loads(maple.received[-1][2])
    assert maple.received[-1][:2] == (True, "application/json") and envelope["type"] == "event_callback"
    event = envelope["event"]
    assert (event["type"], event["user"], event["channel"]) == ("app_mention", REQUESTER, GENERAL)
    assert event["text"] == f"<@{BOT_USER}> summarize this channel" and envelope["event_id"].startswith("Ev")
    await ws.dm(OUTSIDER, "hello")
    event = json.loads(maple.received[-1][2])["event"]
    assert (event["type"], event["channel_type"], event["channel"]) == ("message", "im", "D0OUTSIDE")
    assert ws.messages("D0OUTSIDE")[0]["text"] == "hello"
    await ws.url_verification("abc")
    assert json.loads(maple.received[-1][2]) == {"token": "local-verification-token", "challenge": "abc",
                                                 "type": "url_verification"}


async def test_maple_down_or_failing_is_shown_like_slack(ws: Workspace, maple: Receiver) -> None:
    maple.status = 401
    assert (await ws.slash(REQUESTER, GENERAL, "help")).status == 401
    ws.maple_url = "http://127.0.0.1:9/slack/events"
    assert (await ws.slash(REQUESTER, GENERAL, "help")).status == 0
    assert [m["text"] for m in ws.ephemerals(REQUESTER)] == [
        '/maple failed with the error "http_service_error"', '/maple failed with the error "dispatch_failed"']


# the page's endpoints ------------------------------------------------------------------------------------------
async def test_page_composer_and_live_updates(ws: Workspace, maple: Receiver) -> None:
    async with aiohttp.ClientSession() as s:
        headers = await page_headers(s, ws)
        async with s.get(ws.url + f"/ui/events?user={REQUESTER}&token={headers['X-Workspace-Token']}") as events:
            assert (await events.content.readline()).startswith(b"event: ready")
            await events.content.readline()
            await events.content.readline()
            async with s.post(ws.url + "/ui/send", json={"user": REQUESTER, "channel": GENERAL,
                                                         "text": "@maple hi <b>&"}, headers=headers) as r:
                assert (await r.json())["status"] == 200
            line = await asyncio.wait_for(events.content.readline(), 10)
            assert json.loads(line.decode().removeprefix("data: "))["kind"] == "message"
        async with s.post(ws.url + "/ui/send", json={"user": REQUESTER, "channel": GENERAL,
                                                     "text": "/maple help"}, headers=headers) as r:
            assert (await r.json())["status"] == 200
        async with s.get(ws.url + f"/ui/channel/{REVIEW_CHANNEL}?user={OUTSIDER}", headers=headers) as r:
            assert r.status == 404  # private: the outsider cannot read it
    assert json.loads(maple.received[0][2])["event"]["text"] == f"<@{BOT_USER}> hi &lt;b&gt;&amp;"
    assert maple.last_form()["text"] == "help"


async def test_the_assistant_pane_methods_answer_like_slack(ws: Workspace, client: AsyncWebClient) -> None:
    dm = (await client.conversations_open(users=REQUESTER))["channel"]["id"]
    thread = (await client.chat_postMessage(channel=dm, text="Hi"))["ts"]
    await client.assistant_threads_setSuggestedPrompts(channel_id=dm, thread_ts=thread, title="Try",
                                                       prompts=[{"title": "Draft", "message": "draft a note"}])
    await client.assistant_threads_setTitle(channel_id=dm, thread_ts=thread, title="draft a note")
    await client.assistant_threads_setStatus(channel_id=dm, thread_ts=thread, status="is working…")
    pane = ws.state.panes[(dm, thread)]
    assert pane["prompts"] == [{"title": "Draft", "message": "draft a note"}] and pane["title"] == "draft a note"
    assert pane["status"] == "is working…"
    await client.chat_postMessage(channel=dm, text="Done", thread_ts=thread)
    assert pane["status"] == ""  # the app's reply clears it, as in Slack
    with pytest.raises(SlackApiError, match="not_allowed"):
        await client.assistant_threads_setStatus(channel_id=GENERAL, thread_ts=thread, status="x")
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await client.assistant_threads_setSuggestedPrompts(channel_id=dm, thread_ts=thread, prompts=[])
