"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from integrations.compute import ProcessCompute
from tests.unit.workspace_receiver import SECRET, TOKEN, Receiver
from workspace import Workspace, build_workspace


@pytest.fixture
async def compute() -> AsyncIterator[ProcessCompute]:
    """The tools' worker processes (one), started and stopped around a test."""
    pool = ProcessCompute(workers=1)
    yield pool
    await pool.close()


@pytest.fixture
async def maple() -> AsyncIterator[Receiver]:
    """A stand-in for Maple that the local workspace sends its signed requests to (records them)."""
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture
async def ws(maple: Receiver) -> AsyncIterator[Workspace]:
    async with build_workspace(signing_secret=SECRET, maple_url=maple.url, bot_token=TOKEN) as workspace:
        yield workspace
