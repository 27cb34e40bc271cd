"""The assistant pane: the Slack Web API methods Maple calls on it — ``assistant.threads.setStatus``, ``setTitle``
and ``setSuggestedPrompts``, answered as Slack does (a thread of a DM with the app; 1 to 4 prompts, each with a
title and a message) and kept per thread so the page and tests can show what Maple set — and what a person does in
it: opening a new thread (``assistant_thread_started``, with the channel they are viewing as its context) and
viewing another channel while it is open (``assistant_thread_context_changed``). A status is cleared, as in Slack,
by an empty status or by the app's next message in that thread (``WorkspaceState.post``). A pane's thread has no
parent message (its first message is Maple's greeting); ``conversations.replies`` answers it all the same."""

from __future__ import annotations

import json
from typing import Any

from workspace.state import TEAM, WorkspaceState
from workspace.webapi import ApiError, Params, method, required


def new_thread(state: WorkspaceState, user: str) -> dict[str, Any]:
    """A new pane thread for ``user``, in their DM with Maple."""
    channel = state.dm_channel(user)
    thread_ts = state.next_ts()
    pane = {"channel": channel.id, "thread_ts": thread_ts, "status": "", "title": "", "prompts": [], "user": user}
    state.panes[(channel.id, thread_ts)] = pane
    return pane


def _context(viewing: str | None) -> dict[str, Any]:
    return {"channel_id": viewing, "team_id": TEAM, "enterprise_id": None} if viewing else {}


def started_event(pane: dict[str, Any], *, viewing: str | None) -> dict[str, Any]:
    """``assistant_thread_started`` as Slack sends it."""
    return {"type": "assistant_thread_started", "event_ts": pane["thread_ts"],
            "assistant_thread": {"user_id": pane["user"], "context": _context(viewing), "channel_id": pane["channel"],
                                 "thread_ts": pane["thread_ts"]}}


def context_event(pane: dict[str, Any], *, viewing: str) -> dict[str, Any]:
    """``assistant_thread_context_changed`` as Slack sends it."""
    return {"type": "assistant_thread_context_changed", "event_ts": pane["thread_ts"],
            "assistant_thread": {"user_id": pane["user"], "context": _context(viewing), "channel_id": pane["channel"],
                                 "thread_ts": pane["thread_ts"]}}


def pane_of(state: WorkspaceState, user: str, thread_ts: str) -> dict[str, Any] | None:
    """``user``'s pane thread ``thread_ts`` (None: not theirs, or no such thread)."""
    pane = state.panes.get((state.dm_channel(user).id, thread_ts))
    return pane if pane is not None and pane.get("user") in (None, user) else None


def _thread(state: WorkspaceState, params: Params) -> dict[str, Any]:
    channel = state.channels.get(str(required(params, "channel_id")))
    if channel is None:
        raise ApiError("channel_not_found")
    if not channel.is_im:
        raise ApiError("not_allowed")
    key = (channel.id, str(required(params, "thread_ts")))
    return state.panes.setdefault(key, {"channel": key[0], "thread_ts": key[1], "status": "", "title": "",
                                        "prompts": []})


def _publish(state: WorkspaceState, pane: dict[str, Any]) -> Params:
    state.publish("pane", None, channel=pane["channel"], thread_ts=pane["thread_ts"])
    return {}


@method("assistant.threads.setStatus")
def set_status(state: WorkspaceState, params: Params) -> Params:
    pane = _thread(state, params)
    pane["status"] = str(params.get("status") or "")
    return _publish(state, pane)


@method("assistant.threads.setTitle")
def set_title(state: WorkspaceState, params: Params) -> Params:
    pane = _thread(state, params)
    pane["title"] = str(required(params, "title"))
    return _publish(state, pane)


@method("assistant.threads.setSuggestedPrompts")
def set_prompts(state: WorkspaceState, params: Params) -> Params:
    pane = _thread(state, params)
    prompts = params.get("prompts")
    if isinstance(prompts, str):
        prompts = json.loads(prompts)
    if (not isinstance(prompts, list) or not 1 <= len(prompts) <= 4
            or any(not isinstance(p, dict) or not p.get("title") or not p.get("message") for p in prompts)):
        raise ApiError("invalid_arguments")
    pane["prompts"] = [{"title": str(p["title"]), "message": str(p["message"])} for p in prompts]
    pane["prompts_title"] = str(params.get("title") or "")
    return _publish(state, pane)
