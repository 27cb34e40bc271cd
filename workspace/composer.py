"""What Slack does to what a person types before it reaches an app.

A message: ``& < >`` are escaped (``&amp; &lt; &gt;``), a typed ``@name`` of a member becomes ``<@U…>`` and a
typed ``#channel`` the person can see becomes ``<#C…|name>``.

A slash command whose manifest entry sets ``should_escape: true`` (Maple's, in ``config/slack-manifest.yaml``)
gets its references escaped too: ``@name`` → ``<@U…|name>``, ``#channel`` → ``<#C…|name>``. With
``should_escape: false`` Slack sends the names as typed. A channel the person cannot see is never resolved (a
private one they are not in stays plain text, as Slack's autocomplete never offers it).
"""

from __future__ import annotations

import re

from workspace.state import BOT_USER, WorkspaceState

SLASH_SHOULD_ESCAPE = True  # as the /maple entry of config/slack-manifest.yaml says
_AT_NAME = re.compile(r"(?<![\w<])@([a-z0-9][a-z0-9._-]*)", re.IGNORECASE)
_CHANNEL = re.compile(r"(?<![\w<&#/])#([a-z0-9][a-z0-9_-]*)", re.IGNORECASE)


def slack_escape(text: str) -> str:
    """Escape ``& < >`` in what a person typed, as Slack's client does before sending it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_people(state: WorkspaceState, text: str, *, with_names: bool) -> str:
    names = {u.name.lower(): u for u in state.users.values()}
    names["maple"] = state.users[BOT_USER]

    def swap(match: re.Match[str]) -> str:
        typed = match.group(1).rstrip("._-")
        found = names.get(typed.lower())
        if found is None:
            return match.group(0)
        rest = match.group(1)[len(typed):]
        return (f"<@{found.id}|{found.name}>" if with_names else f"<@{found.id}>") + rest

    return _AT_NAME.sub(swap, text)


def link_channels(state: WorkspaceState, user: str, text: str) -> str:
    visible = {c.name.lower(): c for c in state.channels.values() if not c.is_im and state.can_see(user, c.id)}

    def swap(match: re.Match[str]) -> str:
        typed = match.group(1).rstrip("_-")
        found = visible.get(typed.lower())
        if found is None:
            return match.group(0)
        return f"<#{found.id}|{found.name}>" + match.group(1)[len(typed):]

    return _CHANNEL.sub(swap, text)


def message_text(state: WorkspaceState, user: str, typed: str) -> str:
    """A message's ``text`` as Slack delivers it in events."""
    return link_channels(state, user, link_people(state, slack_escape(typed), with_names=False))


def command_text(state: WorkspaceState, user: str, typed: str) -> str:
    """A slash command's ``text`` as Slack sends it for a command with ``should_escape`` as configured."""
    if not SLASH_SHOULD_ESCAPE:
        return typed
    return link_channels(state, user, link_people(state, typed, with_names=True))
