"""Signing-secret rotation is configured with its window, or refused at start."""

from __future__ import annotations

import pytest

from bot.app import previous_secret
from bot.core.errors import ConfigError
from config.settings import Settings


def settings(**env: str) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


def test_a_previous_secret_needs_a_time_with_its_zone() -> None:
    assert previous_secret(settings()) is None
    with pytest.raises(ConfigError, match="MAPLE_SIGNING_SECRET_PREVIOUS_UNTIL"):
        previous_secret(settings(SLACK_SIGNING_SECRET_PREVIOUS="old-secret"))
    with pytest.raises(ConfigError):
        previous_secret(settings(SLACK_SIGNING_SECRET_PREVIOUS="old-secret",
                                 MAPLE_SIGNING_SECRET_PREVIOUS_UNTIL="2026-12-03T12:00:00"))
    rotated = previous_secret(settings(SLACK_SIGNING_SECRET_PREVIOUS="old-secret",
                                       MAPLE_SIGNING_SECRET_PREVIOUS_UNTIL="2026-12-03T12:00:00Z"))
    assert rotated is not None and rotated.secret == "old-secret" and rotated.until.tzinfo is not None


def test_a_previous_secret_is_not_accepted_for_more_than_a_week() -> None:
    """The old secret is the one being retired — often because it leaked: a window of years keeps it valid."""
    from datetime import UTC, datetime, timedelta

    far = (datetime.now(UTC) + timedelta(days=365)).isoformat()
    with pytest.raises(ConfigError, match="7 days"):
        previous_secret(settings(SLACK_SIGNING_SECRET_PREVIOUS="old-secret", MAPLE_SIGNING_SECRET_PREVIOUS_UNTIL=far))
    soon = (datetime.now(UTC) + timedelta(days=6)).isoformat()
    assert previous_secret(settings(SLACK_SIGNING_SECRET_PREVIOUS="old-secret",
                                    MAPLE_SIGNING_SECRET_PREVIOUS_UNTIL=soon)) is not None
