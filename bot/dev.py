"""`maple dev`: Maple together with the local workspace, for trying it without a Slack app.

The workspace serves the page and the Slack Web API on http://127.0.0.1:$PORT/; Maple runs as a separate server
on the next free port and is told only ``SLACK_API_URL`` — its code does not know it is local.

The local workspace is isolated from any production deployment: it keeps its runs under its own Redis key
prefix (``MAPLE_DEV_REDIS_PREFIX``, never the production ``MAPLE_REDIS_PREFIX`` nor one overlapping it), claims
that prefix with a deployment marker and refuses one a production deployment has claimed, and signs its audit
trail with its own key into its own anchor file.
"""

from __future__ import annotations

import logging
import secrets
import socket
from pathlib import Path

from pydantic import SecretStr

from bot.core.spec import MapleSpec
from config.loader import load_spec
from config.settings import Settings
from integrations.redis_deployment import LOCAL_WORKSPACE, PrefixInUse
from workspace.server import build_workspace
from workspace.state import ADMIN, OUTSIDER, REQUESTER, REVIEWERS_GROUP

log = logging.getLogger("maple.dev")
HOST = "127.0.0.1"
DEV_STATE = Path(".maple/dev")


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def local_prefix(settings: Settings) -> str:
    """The local workspace's key prefix: MAPLE_DEV_REDIS_PREFIX, refused when it shares keys with production's."""
    ours, theirs = settings.dev_redis_prefix, settings.redis_prefix
    if not ours or ours.startswith(theirs) or theirs.startswith(ours):
        raise PrefixInUse(
            f"MAPLE_DEV_REDIS_PREFIX ({ours!r}) overlaps MAPLE_REDIS_PREFIX ({theirs!r}), the production prefix. "
            "The local workspace keeps its runs apart: give it a prefix of its own, e.g. MAPLE_DEV_REDIS_PREFIX="
            "maple-dev:")
    return ours


def local_spec(spec: MapleSpec) -> MapleSpec:
    """The configured workflows, with the workspace's people in the roles and an anchor file of its own."""
    roles = {**spec.roles, "user": [REQUESTER, ADMIN, REVIEWERS_GROUP], "reviewer": [REVIEWERS_GROUP],
             "admin": [ADMIN]}
    assert OUTSIDER not in roles["user"]
    audit = spec.audit.model_copy(update={"anchor_file": str(DEV_STATE / "audit-anchor.jsonl")})
    return spec.model_copy(update={"roles": roles, "audit": audit})


def local_settings(settings: Settings, *, token: str, secret: str, api_url: str, port: int) -> Settings:
    """Maple's settings under the local workspace: its Slack, its prefix, its audit key — no production secret."""
    return settings.model_copy(update={
        "slack_bot_token": SecretStr(token), "slack_signing_secret": SecretStr(secret), "slack_app_token": None,
        "slack_api_url": api_url, "port": port, "host": HOST, "redis_prefix": local_prefix(settings),
        "audit_key": None, "audit_key_file": DEV_STATE / "audit.key"})


async def run_dev(settings: Settings) -> int:
    from bot.cli import claim, serve

    prefix = local_prefix(settings)
    await claim(settings, prefix=prefix, kind=LOCAL_WORKSPACE)  # before anything listens or consumes
    secret, token = secrets.token_hex(16), "xoxb-local-" + secrets.token_hex(8)
    maple_port = _free_port(HOST)
    spec = local_spec(load_spec(settings.config_path))
    workspace = build_workspace(signing_secret=secret, maple_url=f"http://{HOST}:{maple_port}/slack/events",
                                bot_token=token)
    await workspace.start(HOST, settings.port)
    maple_settings = local_settings(settings, token=token, secret=secret, api_url=workspace.api_url,
                                    port=maple_port)
    from bot.cli_ingest import ingest_sample

    sample = await ingest_sample(maple_settings, spec)
    print(f"\n  Maple local workspace: {workspace.url}/   (Maple itself on port {maple_port}; Redis key prefix "
          f"{prefix!r})\n  {sample}\n", flush=True)
    try:
        await serve(maple_settings, spec=spec, deployment=LOCAL_WORKSPACE)
    finally:
        await workspace.stop()
    return 0
