"""An ack process serve (re)starts reads the configuration file and .env again: if either changed since serve
read them (an edit not yet applied by restarting serve), it would answer half of Slack's requests with other
roles, tenants or signing secrets than serve answers the other half with. It refuses to start instead (serve goes
on answering alone, with what it read), and says why."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot import cli
from bot.core.errors import ConfigError
from config.settings import DEFAULT_CONFIG, Settings


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "maple.yaml").write_text(DEFAULT_CONFIG.read_text())
    (tmp_path / ".env").write_text("SLACK_SIGNING_SECRET=first\n")
    for name in ("SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", cli.SERVE_CONFIG_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAPLE_CONFIG", str(tmp_path / "maple.yaml"))
    return tmp_path


def test_the_digest_follows_the_configuration_file_and_dotenv(here: Path) -> None:
    first = cli.config_digest(Settings())
    assert cli.config_digest(Settings()) == first
    (here / ".env").write_text("SLACK_SIGNING_SECRET=second\n")
    second = cli.config_digest(Settings())
    assert second != first
    (here / "maple.yaml").write_text(DEFAULT_CONFIG.read_text() + "\n# edited\n")
    assert cli.config_digest(Settings()) not in (first, second)


def test_an_ack_process_refuses_a_configuration_serve_did_not_read(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []

    async def claimed(*_args: object, **_kwargs: object) -> None:
        started.append("claim")

    monkeypatch.setattr(cli, "claim", claimed)
    monkeypatch.setenv(cli.SERVE_CONFIG_ENV, cli.config_digest(Settings()))
    (here / ".env").write_text("SLACK_SIGNING_SECRET=rotated-since\n")
    with pytest.raises(ConfigError, match="restart maple serve"):
        asyncio.run(cli.serve(Settings(), front=True))
    assert started == []
