"""Hypothesis strategies for Slack payloads: valid ones, valid ones with one field broken, and garbage."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

FIELDS = ["type", "event", "user", "team", "enterprise", "channel", "container", "actions", "view", "state",
          "values", "command", "text", "user_id", "team_id", "enterprise_id", "channel_id", "trigger_id", "id",
          "action_id", "value", "callback_id", "private_metadata", "event_id", "authorizations", "subtype",
          "bot_id", "thread_ts", "ts", "challenge", "payload", "response_url", "message", "app_installed_team_id",
          "is_enterprise_install", "subteam_id", "bot_profile", "channel_type", "ssl_check", "user_team"]
TYPES = ["event_callback", "block_actions", "view_submission", "view_closed", "url_verification", "shortcut",
         "app_mention", "message", "app_home_opened", "member_joined_channel", "subteam_members_changed", "x"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30),
                    st.sampled_from(TYPES), st.sampled_from(["U0REQUEST", "T0TEST", "C0GENERAL", "maple_approve"]),
                    st.just("<@U0MAPLEBOT> " + "é&<>" * 2000), st.just(10**400), st.just(-1e308))
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=5)),
    max_leaves=20)


def _templates() -> list[tuple[str, dict[str, Any]]]:
    mention = {"type": "event_callback", "team_id": "T0TEST", "api_app_id": "A0MAPLE", "event_id": "EvPROP",
               "event": {"type": "app_mention", "user": "U0REQUEST", "channel": "C0GENERAL", "ts": "1.1",
                         "text": "<@U0MAPLEBOT> run draft a note"}}
    click = {"type": "block_actions", "user": {"id": "U0REVIEW"}, "team": {"id": "T0TEST"}, "trigger_id": "t",
             "channel": {"id": "D0REVIEW"}, "container": {"type": "message", "channel_id": "D0REVIEW"},
             "actions": [{"action_id": "maple_approve", "value": "R-AAAAAAAAAAAAAAAA", "block_id": "b"}]}
    submit = {"type": "view_submission", "user": {"id": "U0REVIEW"}, "team": {"id": "T0TEST"},
              "view": {"id": "V1", "type": "modal", "callback_id": "maple_edit_view",
                       "private_metadata": "R-AAAAAAAAAAAAAAAA",
                       "state": {"values": {"draft_0": {"text": {"type": "plain_text_input", "value": "x"}}}}}}
    command = {"command": "/maple", "text": "run draft a note", "user_id": "U0REQUEST", "channel_id": "C0GENERAL",
               "team_id": "T0TEST", "trigger_id": "t"}
    return [("event", mention), ("interaction", click), ("interaction", submit), ("command", command)]


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _paths(value, (*prefix, i))
    return found


@st.composite
def broken_payload(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A valid payload with one field (anywhere in it) replaced by junk, or removed."""
    kind, template = draw(st.sampled_from(_templates()))
    data = json.loads(json.dumps(template))
    path = draw(st.sampled_from(_paths(data)))
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(junk)
    return kind, data


def encode(kind: str, data: Any, *, as_json: bool) -> tuple[str, str]:
    """A payload as Slack sends it over HTTP: events as JSON, commands as a form, interactions as payload=…"""
    if as_json or kind == "event":
        return json.dumps(data), "application/json"
    if kind == "command" and isinstance(data, dict):
        return urlencode({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}), FORM
    return urlencode({"payload": json.dumps(data)}), FORM


FORM = "application/x-www-form-urlencoded"
content_types = st.sampled_from(["application/json", FORM, "text/plain", "", "application/json; charset=utf-8"])


@st.composite
def signed_bodies(draw: st.DrawFn) -> tuple[str, str]:
    """(body, content type): broken payloads, junk JSON, random forms, random text."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        kind, data = draw(broken_payload())
        return encode(kind, data, as_json=draw(st.booleans()))
    if choice == 1:
        return json.dumps(draw(junk)), draw(content_types)
    if choice == 2:
        form = draw(st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), st.text(max_size=40), max_size=6))
        return urlencode(form), draw(content_types)
    return draw(st.text(max_size=300)), draw(content_types)
