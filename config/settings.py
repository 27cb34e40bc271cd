"""Process settings, read once at start from the environment (and an optional .env file)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CONFIG = Path(__file__).with_name("maple.yaml")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      populate_by_name=True)

    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET")
    # signing-secret rotation: the previous secret is still accepted until the set time (ISO 8601, with a zone)
    slack_signing_secret_previous: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET_PREVIOUS")
    signing_previous_until: datetime | None = Field(None, alias="MAPLE_SIGNING_SECRET_PREVIOUS_UNTIL")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")
    redis_url: str = Field("redis://127.0.0.1:6379/0", alias="REDIS_URL")
    port: int = Field(3000, alias="PORT", ge=1, le=65535)
    host: str = Field("0.0.0.0", alias="MAPLE_HOST")
    config_path: Path = Field(DEFAULT_CONFIG, alias="MAPLE_CONFIG")
    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    local_model: Path | None = Field(None, alias="MAPLE_LOCAL_MODEL")
    # the audit keyring shared by every process (id:secret,…; the last one seals new events)
    audit_keys: SecretStr | None = Field(None, alias="MAPLE_AUDIT_KEYS")
    audit_key: SecretStr | None = Field(None, alias="MAPLE_AUDIT_KEY")  # one-key shorthand: id k0
    audit_key_file: Path = Field(Path(".maple/audit.key"), alias="MAPLE_AUDIT_KEY_FILE")  # local workspace only
    # the Ed25519 anchor key: private half only where anchoring runs, public halves wherever chains are verified
    audit_anchor_key: SecretStr | None = Field(None, alias="MAPLE_AUDIT_ANCHOR_KEY")
    audit_anchor_key_file: Path | None = Field(None, alias="MAPLE_AUDIT_ANCHOR_KEY_FILE")
    audit_anchor_public_keys: str | None = Field(None, alias="MAPLE_AUDIT_ANCHOR_PUBLIC_KEYS")
    redis_prefix: str = Field("maple:", alias="MAPLE_REDIS_PREFIX")
    dev_redis_prefix: str = Field("maple-dev:", alias="MAPLE_DEV_REDIS_PREFIX")
    # maple serve: MAPLE_WORKERS worker processes it supervises (or, with MAPLE_WORKER_MODE=inprocess, pools in its
    # own process); each runs one pool of MAPLE_WORKER_CONCURRENCY jobs at once
    workers: int = Field(2, alias="MAPLE_WORKERS", ge=0, le=64)
    worker_mode: Literal["process", "inprocess"] = Field("process", alias="MAPLE_WORKER_MODE")
    worker_nice: int = Field(10, alias="MAPLE_WORKER_NICE", ge=0, le=19)  # the worker processes' lower CPU priority
    # maple serve over HTTP: this many processes answer Slack's requests on PORT (serve and MAPLE_ACK_PROCESSES - 1
    # `maple front` processes it supervises, sharing the port with SO_REUSEPORT), so one burst of commands is not
    # answered one after another on one event loop
    ack_processes: int = Field(2, alias="MAPLE_ACK_PROCESSES", ge=1, le=16)
    # a supervised worker or ack process whose event loop has not run for this long is killed and started again
    hang_seconds: float = Field(30.0, alias="MAPLE_HANG_SECONDS", ge=0)  # 0: never

    @field_validator("hang_seconds")
    @classmethod
    def _a_few_heartbeats(cls, value: float) -> float:
        if 0 < value < 3:  # a heartbeat a second, looked at once a second: less would kill over ordinary jitter
            raise ValueError("must be 0 (never) or at least 3 seconds (three heartbeats)")
        return value

    worker_concurrency: int = Field(4, alias="MAPLE_WORKER_CONCURRENCY", ge=1, le=256)
    visibility_timeout: float = Field(60.0, alias="MAPLE_VISIBILITY_TIMEOUT", gt=0)
    dead_letter_max: int = Field(1000, alias="MAPLE_DEAD_LETTER_MAX", ge=10)
    redis_max_connections: int = Field(64, alias="MAPLE_REDIS_MAX_CONNECTIONS", ge=4, le=10000)
    redis_pool_wait: float = Field(10.0, alias="MAPLE_REDIS_POOL_WAIT", gt=0)
    local_model_wait: float = Field(300.0, alias="MAPLE_LOCAL_MODEL_WAIT", gt=0)
    shutdown_grace: float = Field(30.0, alias="MAPLE_SHUTDOWN_GRACE", ge=0)
    log_level: str = Field("INFO", alias="MAPLE_LOG_LEVEL")
    # answers that need no review stream into their thread as the model writes them (README: "Streaming")
    streaming: bool = Field(True, alias="MAPLE_STREAMING")
    # deferred: a slash command's goal is acked at once ("On it — run R-…") and placed by a worker, which answers
    # through the command's response_url; inline: classified, authorized and answered in the ack (README: "The ack")
    ack: Literal["inline", "deferred"] = Field("deferred", alias="MAPLE_ACK")
    schedule_sweep: float = Field(60.0, alias="MAPLE_SCHEDULE_SWEEP", gt=0)
    schedule_lease: float = Field(60.0, alias="MAPLE_SCHEDULE_LEASE", gt=0)
    schedule_grace: int = Field(900, alias="MAPLE_SCHEDULE_GRACE", ge=0, le=86400)
    schedules_per_user: int = Field(25, alias="MAPLE_SCHEDULES_PER_USER", ge=1, le=1000)

    def secret(self, name: str) -> str | None:
        value = getattr(self, name)
        return value.get_secret_value() if isinstance(value, SecretStr) else None

    def environ(self) -> Mapping[str, str]:
        """The variables the config names (a model's or the embeddings' ``api_key_env``, an MCP server's
        ``env_from`` / ``headers_from_env``): the environment, then the same ``.env`` file the settings read — so a
        key put in ``.env``, as the README says, enables its model instead of being silently ignored."""
        env_file = self.model_config.get("env_file")
        found: dict[str, str] = {}
        if isinstance(env_file, str | Path) and Path(env_file).is_file():
            found = {k: v for k, v in dotenv_values(env_file, encoding="utf-8").items() if v is not None}
        return {**found, **os.environ}


def mask(value: str | None) -> str:
    if not value:
        return "(not set)"
    return value[:4] + "…" + f"({len(value)} chars)" if len(value) > 8 else "****"
