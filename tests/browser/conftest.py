"""Browser tests: the real Maple app (in-process, real Redis, a fake OpenAI server) behind the local workspace,
driven through the workspace's page in headless Chromium. Skipped when Chromium or playwright is missing."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_api import FakeOpenAI
from tests.harness import REVIEWER2, SECRET, TOKEN, Harness
from workspace import Workspace, build_workspace

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    missing = ("/usr/bin/chromium is not installed" if not CHROMIUM.exists() else
               "playwright is not installed" if importlib.util.find_spec("playwright") is None else None)
    for item in items:
        if "browser" in item.keywords and missing:
            item.add_marker(pytest.mark.skip(reason=missing))


class _SlackAt:
    """What the harness needs of a Slack stand-in: the Web API base URL."""

    def __init__(self, workspace: Workspace) -> None:
        self.url = workspace.api_url


@pytest.fixture
async def workspace() -> AsyncIterator[Workspace]:
    async with build_workspace(signing_secret=SECRET, maple_url="", bot_token=TOKEN) as ws:
        ws.add_user(REVIEWER2, "rhea.reviewer")
        yield ws


@pytest.fixture
async def maple(workspace: Workspace, openai_fake: FakeOpenAI,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    harness = Harness(slack=_SlackAt(workspace), openai=openai_fake)  # type: ignore[arg-type]
    await harness.start()
    workspace.maple_url = harness.url + "/slack/events"
    yield harness
    await harness.stop()
    await harness.cleanup_redis()


@pytest.fixture
async def page(tmp_path: Path, workspace: Workspace) -> AsyncIterator[Any]:
    """A headless Chromium tab, closed before the workspace stops."""
    from playwright.async_api import async_playwright

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    profile = tmp_path / "chromium-profile"
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860})
        context.set_default_timeout(30_000)
        tab = context.pages[0] if context.pages else await context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        yield tab
        try:  # Chromium sometimes never answers the close (seen with its on-device-model helper): stop it instead
            await asyncio.wait_for(context.close(), 30)
        except TimeoutError:
            subprocess.run(["pkill", "-KILL", "-f", "--", f"--user-data-dir={profile}"], check=False)
        assert not errors, f"JavaScript errors on the page: {errors}"


def screenshot_path(name: str) -> str:
    ARTIFACTS.mkdir(exist_ok=True)
    return str(ARTIFACTS / f"workspace-{name}.png")
