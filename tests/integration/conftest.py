"""Fixtures shared by the integration tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def r() -> AsyncIterator[aioredis.Redis]:
    """A client of the shared Redis with a random key prefix of the test's own (``r.test_prefix``); every key
    under it is deleted afterwards, and no other."""
    client = aioredis.from_url(URL)
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    client.test_prefix = prefix  # type: ignore[attr-defined]
    yield client
    keys = [k async for k in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
