"""Recurring digests on APScheduler, fired once however many processes run them."""

from __future__ import annotations

import pytest

from bot.core.errors import ConfigError
from bot.core.spec import ScheduleSpec
from integrations.scheduler import Schedules, trigger
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import CHANNEL, REQUESTER, Harness, spec_dict

WEEKLY = {"id": "weekly", "workflow": "digest", "cron": "0 9 * * MON", "goal": "weekly digest of this channel",
          "channel": CHANNEL, "requester": REQUESTER}


async def test_schedule_posts_a_digest_once(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    h = Harness(slack=slack, openai=openai_fake, spec=spec_dict(schedules=[WEEKLY]))
    await h.start()
    try:
        slack.messages[CHANNEL].append({"ts": "50.1", "user": "U0REVIEW", "text": "Launch moved to Thursday."})
        assert h.maple is not None
        h.maple.start_schedules()
        assert h.maple.schedules is not None
        job = h.maple.schedules._scheduler.get_job("weekly")
        assert job is not None and job.next_run_time.weekday() == 0 and job.next_run_time.hour == 9
        other = Schedules(svc=h.svc, redis=h.maple.redis, prefix=h.prefix)  # a second process
        schedule = h.svc.spec.schedules[0]
        assert await h.maple.schedules.run_once(schedule) is True
        assert await other.run_once(schedule) is False
        posted = await h.wait_for(lambda: [p for p in slack.posted(CHANNEL)
                                           if p["metadata"]["event_payload"]["effect"] == "result"], what="digest")
        assert len(posted) == 1 and "Launch moved to Thursday." in openai_fake.texts_received()
    finally:
        await h.stop()
        await h.cleanup_redis()


def test_invalid_cron_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="invalid cron"):
        trigger(ScheduleSpec.model_validate({**WEEKLY, "cron": "61 * * * *"}), "UTC")
