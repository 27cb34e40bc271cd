"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from integrations.compute import ProcessCompute


@pytest.fixture
async def compute() -> AsyncIterator[ProcessCompute]:
    """The tools' worker processes (one), started and stopped around a test."""
    pool = ProcessCompute(workers=1)
    yield pool
    await pool.close()
