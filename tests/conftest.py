from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import CHANNEL, Harness


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    fake.add_channel(CHANNEL, member=True, members=["U0REQUEST", "U0REVIEW", "U0REVIEW2", "U0ADMIN"])
    fake.add_channel("C0REVIEW", member=True, private=True)
    fake.add_channel("C0NOTMEMBER", member=False)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAI]:
    fake = FakeOpenAI()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def harness(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    h = Harness(slack=slack, openai=openai_fake)
    await h.start()
    yield h
    await h.stop()
    await h.cleanup_redis()
