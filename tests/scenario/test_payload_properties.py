"""Property-based, against the real app: any signed body — forms, JSON, random text, valid payloads with one
field broken or removed, nested garbage, huge values — is answered 2xx or 4xx, never 5xx, and nothing is logged
as an error or with a traceback."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import Harness
from tests.payload_strategies import signed_bodies


@pytest.fixture
async def app(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    h = await Harness(slack=slack, openai=openai_fake).start(workers=0)
    yield h
    await h.stop()
    await h.cleanup_redis()


@settings(max_examples=int(os.environ.get("MAPLE_PROPERTY_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body_and_type=signed_bodies())
async def test_any_signed_body_gets_2xx_or_4xx(app: Harness, caplog: pytest.LogCaptureFixture,
                                                body_and_type: tuple[str, str]) -> None:
    body, content_type = body_and_type
    caplog.clear()
    with caplog.at_level(logging.INFO):
        status, reply = await app.post(body, content_type=content_type)
    assert 200 <= status < 500 and not 300 <= status < 400, (status, reply, body[:300])
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not crashes, [(r.name, r.getMessage()[:200]) for r in crashes]
