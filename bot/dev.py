"""`maple dev`: Maple together with the local workspace, for trying it without a Slack app.

The workspace serves the page and the Slack Web API on http://127.0.0.1:$PORT/; Maple runs as a separate server
on the next free port and is told only ``SLACK_API_URL`` — its code does not know it is local.
"""

from __future__ import annotations

import logging
import secrets
import socket

from pydantic import SecretStr

from config.loader import load_spec
from config.settings import Settings
from workspace.server import build_workspace
from workspace.state import ADMIN, OUTSIDER, REQUESTER, REVIEWERS_GROUP

log = logging.getLogger("maple.dev")


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


async def run_dev(settings: Settings) -> int:
    from bot.cli import serve

    host = "127.0.0.1"
    secret, token = secrets.token_hex(16), "xoxb-local-" + secrets.token_hex(8)
    maple_port = _free_port(host)
    spec = load_spec(settings.config_path)
    spec = spec.model_copy(update={"roles": {**spec.roles, "user": [REQUESTER, ADMIN, REVIEWERS_GROUP],
                                             "reviewer": [REVIEWERS_GROUP], "admin": [ADMIN]}})
    assert OUTSIDER not in spec.roles["user"]
    workspace = build_workspace(signing_secret=secret, maple_url=f"http://{host}:{maple_port}/slack/events",
                                bot_token=token)
    await workspace.start(host, settings.port)
    maple_settings = settings.model_copy(update={
        "slack_bot_token": SecretStr(token), "slack_signing_secret": SecretStr(secret), "slack_app_token": None,
        "slack_api_url": workspace.api_url, "port": maple_port, "host": host})
    print(f"\n  Maple local workspace: http://{host}:{settings.port}/   (Maple itself on port {maple_port})\n",
          flush=True)
    try:
        await serve(maple_settings, spec=spec, local=True)
    finally:
        await workspace.stop()
    return 0

