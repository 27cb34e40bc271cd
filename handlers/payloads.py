"""Slack payloads, parsed once and checked for the shape Maple's listeners rely on.

HTTP bodies (JSON, or a form with ``payload=`` or a slash command's fields) and Socket Mode envelopes end up as
one payload dict, classified by its content, never by how it travelled. The same dict is what Bolt dispatches, so
what was checked is what runs. Anything that is not a well-formed Slack payload is described (for a 400 or an
unacked envelope) instead of reaching a listener.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

Kind = Literal["event", "command", "interaction", "verification", "ssl_check", "other"]
MAX_FIELDS = 100
EVENTS = ("event_callback", "app_rate_limited")
INTERACTIONS = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action",
                "block_suggestion", "interactive_message", "dialog_submission", "dialog_cancellation",
                "dialog_suggestion", "workflow_step_edit")
# Event fields the listeners read, by event type: each must be a string (or absent / null).
_EVENT_STRINGS = {
    "app_mention": ("user", "channel", "text", "ts", "thread_ts", "team", "subtype", "bot_id", "user_team"),
    "message": ("user", "channel", "text", "ts", "thread_ts", "team", "subtype", "bot_id", "channel_type"),
    "app_home_opened": ("user", "tab", "channel"),
    "subteam_members_changed": ("subteam_id",),
    "member_joined_channel": ("user", "channel", "team", "channel_type"),
    "member_left_channel": ("user", "channel", "team", "channel_type"),
}
_REQUIRED = {"app_mention": ("channel", "ts"), "message": ("channel",), "app_home_opened": ("user",),
             "member_joined_channel": ("user", "channel"), "member_left_channel": ("user", "channel")}


@dataclass(frozen=True)
class Payload:
    kind: Kind
    data: dict[str, Any]


_SLACK_ID = re.compile(r"[A-Z0-9]{2,64}")  # user, channel and team ids as Slack issues them

def parse_body(body: str, content_type: str) -> dict[str, Any] | str:
    """The payload dict of an HTTP body, or why there is none."""
    if content_type.startswith("application/json"):
        return _json_object(body, "body")
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        return "form body with too many fields"
    form: dict[str, Any] = {}
    for key, value in pairs:
        if key in form:
            return "form field given twice"
        form[key] = value
    if "payload" in form:
        return _json_object(form["payload"], "payload")
    return form


def _json_object(text: str, what: str) -> dict[str, Any] | str:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return f"{what} is not valid JSON"
    return data if isinstance(data, dict) else f"{what} is not a JSON object"


def classify(data: dict[str, Any]) -> Payload | str:
    """The kind of a payload dict and whether it has the shape the listeners need (a reason when not)."""
    for name in ("event", "view"):  # Bolt reads these on every kind of payload
        if name in data and not isinstance(data[name], dict):
            return f"payload with a{'n' if name == 'event' else ''} {name} that is not an object"
    if "command" in data:
        return _checked("command", data, _command_problem(data))
    if "ssl_check" in data:
        return Payload("ssl_check", data)
    kind = data.get("type")
    if not isinstance(kind, str):
        return "unrecognised Slack payload"
    if kind in EVENTS:
        return _checked("event", data, _event_problem(data))
    if kind == "url_verification":
        return _checked("verification", data, None if isinstance(data.get("challenge"), str) else
                        "url_verification without a challenge")
    if kind in INTERACTIONS:
        return _checked("interaction", data, _interaction_problem(data))
    return Payload("other", data)


def shape_error(body: str, content_type: str) -> str | None:
    """Why a signed HTTP body is not a Slack payload Maple can handle, or None when it is."""
    data = parse_body(body, content_type)
    if isinstance(data, str):
        return data
    found = classify(data)
    return found if isinstance(found, str) else None


def _checked(kind: Kind, data: dict[str, Any], problem: str | None) -> Payload | str:
    return problem if problem else Payload(kind, data)


def _command_problem(data: dict[str, Any]) -> str | None:
    if not all(isinstance(v, str) for v in data.values()):
        return "slash command field that is not text"
    if not data.get("user_id"):
        return "slash command without user_id"
    if not all(_SLACK_ID.fullmatch(data[name]) for name in ("user_id", "channel_id", "team_id") if data.get(name)):
        return "slash command with a malformed id"  # never sent on to Slack's look-ups
    return None


def _event_problem(data: dict[str, Any]) -> str | None:
    if not _all_text(data, ("team_id", "enterprise_id", "api_app_id", "event_id")):
        return "event envelope field of the wrong type"
    auths = data.get("authorizations")
    if auths is not None and not (isinstance(auths, list) and all(
            isinstance(a, dict) and _all_text(a, ("team_id", "enterprise_id", "user_id")) for a in auths)):
        return "event envelope with malformed authorizations"
    if data["type"] != "event_callback":
        return None
    event = data.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return "event_callback without an event"
    fields = _EVENT_STRINGS.get(event["type"], ())
    if not _all_text(event, fields) or "bot_profile" in event and not isinstance(event["bot_profile"], dict | None):
        return f"{event['type']} event field of the wrong type"[:80]
    if any(not event.get(name) for name in _REQUIRED.get(event["type"], ())):
        return f"{event['type']} event without its ids"[:80]
    return None


def _interaction_problem(data: dict[str, Any]) -> str | None:
    user = data.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
        return "payload without a user"
    if not _all_text(data, ("trigger_id", "response_url", "api_app_id", "token")) or not _all_text(
            user, ("team_id", "name", "username")):
        return "interaction field of the wrong type"
    for name in ("team", "enterprise", "channel", "container", "message"):
        if data.get(name) is not None and not isinstance(data[name], dict):
            return f"interaction {name} is not an object"
    for name in ("team", "enterprise", "channel", "container"):
        if not _all_text(data.get(name) or {}, ("id", "enterprise_id", "channel_id", "message_ts")):
            return f"interaction {name} id is not text"
    if data["type"] == "block_actions":
        return _actions_problem(data)
    if data["type"] in ("view_submission", "view_closed"):
        return _view_problem(data.get("view"))
    return None


def _actions_problem(data: dict[str, Any]) -> str | None:
    actions = data.get("actions")
    if not isinstance(actions, list) or not actions or not all(
            isinstance(a, dict) and isinstance(a.get("action_id"), str) and _all_text(a, ("value", "block_id"))
            for a in actions):
        return "block_actions without valid actions"
    if not isinstance(data.get("trigger_id"), str):
        return "block_actions without a trigger_id"
    return None


def _view_problem(view: object) -> str | None:
    if not isinstance(view, dict) or not isinstance(view.get("type"), str) or not isinstance(
            view.get("callback_id"), str):
        return "view payload without a valid view"
    if not _all_text(view, ("id", "hash", "team_id", "app_installed_team_id")) or not isinstance(
            view.get("private_metadata", ""), str):
        return "view field of the wrong type"
    if "state" not in view:
        return None
    state = view["state"]
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(values, dict) or not all(
            isinstance(block, dict) and all(isinstance(a, dict) and _all_text(a, ("value",)) for a in block.values())
            for block in values.values()):
        return "view state of the wrong shape"
    return None


def _all_text(data: dict[str, Any], names: tuple[str, ...]) -> bool:
    return all(data.get(name) is None or isinstance(data[name], str) for name in names)
