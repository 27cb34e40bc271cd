"""The Slack Web API methods of the assistant pane: ``assistant.threads.setStatus``, ``setTitle`` and
``setSuggestedPrompts``, answered as Slack does (a thread of a DM with the app; 1 to 4 prompts, each with a title
and a message) and kept per thread so the page and tests can show what Maple set. A status is cleared, as in
Slack, by an empty status or by the app's next message in that thread (``WorkspaceState.post``)."""

from __future__ import annotations

import json
from typing import Any

from workspace.state import WorkspaceState
from workspace.webapi import ApiError, Params, method, required


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
