"""Streamed messages in the local workspace: ``chat.startStream`` / ``chat.appendStream`` / ``chat.stopStream``,
answered like Slack's. A streamed message is a reply in a thread whose text grows with each append; the page
renders every change live (server-sent events), so the message is seen growing, then finished (``streaming``
false) — after which ``chat.update`` may replace it like any message of the app."""

from __future__ import annotations

from workspace.state import APP_ID, BOT_ID, BOT_USER, Message, WorkspaceState
from workspace.webapi import ApiError, Params, _member_channel, _metadata, method, public, required

MAX_MARKDOWN = 12_000  # Slack's limit on markdown_text


def _markdown(params: Params, *, needed: bool) -> str:
    text = params.get("markdown_text") or ""
    if needed and not text:
        raise ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing markdown_text"]})
    if len(str(text)) > MAX_MARKDOWN:
        raise ApiError("msg_too_long")
    return str(text)


def _streamed(state: WorkspaceState, params: Params) -> tuple[str, Message]:
    channel = _member_channel(state, params)
    message = state.find(channel.id, str(required(params, "ts")))
    if message is None:
        raise ApiError("message_not_found")
    if not message.get("streaming"):
        raise ApiError("message_not_in_streaming_state")
    return channel.id, message


@method("chat.startStream")
def chat_start_stream(state: WorkspaceState, params: Params) -> Params:
    channel = _member_channel(state, params)
    thread_ts = str(required(params, "thread_ts"))
    if state.find(channel.id, thread_ts) is None:
        raise ApiError("thread_not_found")
    if not channel.is_im:  # outside a DM Slack needs who the stream is for
        user = str(required(params, "recipient_user_id"))
        required(params, "recipient_team_id")
        if user not in state.users:
            raise ApiError("user_not_found")
    message: Message = {"user": BOT_USER, "bot_id": BOT_ID, "app_id": APP_ID, "text": _markdown(params, needed=False),
                        "blocks": [], "thread_ts": thread_ts, "streaming": True}
    posted = state.post(channel.id, message)
    return {"channel": channel.id, "ts": posted["ts"], "message": public(posted, metadata=False)}


@method("chat.appendStream")
def chat_append_stream(state: WorkspaceState, params: Params) -> Params:
    channel, message = _streamed(state, params)
    message["text"] = str(message.get("text") or "") + _markdown(params, needed=True)
    state.changed(channel, message["ts"])
    return {"channel": channel, "ts": message["ts"]}


@method("chat.stopStream")
def chat_stop_stream(state: WorkspaceState, params: Params) -> Params:
    channel, message = _streamed(state, params)
    message["text"] = str(message.get("text") or "") + _markdown(params, needed=False)
    message["streaming"] = False
    if params.get("metadata"):
        message["metadata"] = _metadata(params)
    state.changed(channel, message["ts"])
    return {"channel": channel, "ts": message["ts"], "message": public(message, metadata=False)}
