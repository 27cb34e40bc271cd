"""Maple's local workspace: a stand-in for Slack (a Web API, signed requests to Maple, and a page at ``/``)
for trying Maple without a Slack app, and the fake Slack server of the scenario and browser tests."""

from workspace import pane as _pane  # noqa: F401 - registers the assistant.threads.* methods
from workspace import streams as _streams  # noqa: F401 - registers chat.startStream / appendStream / stopStream
from workspace.server import Workspace, build_workspace
from workspace.signer import Reply, signature, signed_headers
from workspace.state import (
    ADMIN,
    APP_ID,
    BOT_ID,
    BOT_USER,
    GENERAL,
    OUTSIDER,
    REQUESTER,
    REVIEW_CHANNEL,
    REVIEWER,
    REVIEWERS_GROUP,
    TEAM,
)

__all__ = ["ADMIN", "APP_ID", "BOT_ID", "BOT_USER", "GENERAL", "OUTSIDER", "REQUESTER", "REVIEWER",
           "REVIEWERS_GROUP", "REVIEW_CHANNEL", "TEAM", "Reply", "Workspace", "build_workspace", "signature",
           "signed_headers"]
