"""`maple start` (what `make run` runs) chooses `serve` or `dev` from the settings every `maple` command reads:
the environment, then `.env` in the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import choose
from bot.core.errors import ConfigError
from config.settings import Settings

SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory of our own, with no Slack variable in the environment."""
    monkeypatch.chdir(tmp_path)
    for name in SLACK_VARS:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_a_token_in_dotenv_serves(here: Path) -> None:
    (here / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-dotenv\nSLACK_SIGNING_SECRET=s3cret\nPORT=3100\n")
    command, why = choose(Settings())
    assert command == "serve"
    assert "SLACK_BOT_TOKEN is set (in .env)" in why and "HTTP on port 3100" in why and "xoxb" not in why


def test_a_token_in_the_environment_serves(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-env")
    (here / ".env").write_text("SLACK_APP_TOKEN=xapp-1\n")
    command, why = choose(Settings())
    assert command == "serve" and "(in the environment)" in why and "Socket Mode" in why


def test_no_token_anywhere_starts_the_local_workspace(here: Path) -> None:
    (here / ".env").write_text("OPENAI_API_KEY=sk-x\nPORT=3200\n")
    command, why = choose(Settings())
    assert command == "dev" and "local workspace" in why and "http://127.0.0.1:3200/" in why


@pytest.mark.parametrize("line", ["SLACK_SIGNING_SECRET=s3cret", "SLACK_APP_TOKEN=xapp-1", "SLACK_BOT_TOKEN="])
def test_half_a_slack_setup_is_not_mistaken_for_none(here: Path, line: str) -> None:
    (here / ".env").write_text(line + "\n")
    if line.startswith("SLACK_BOT_TOKEN"):
        assert choose(Settings())[0] == "dev"  # an empty token is no token
        return
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN is not"):
        choose(Settings())
