"""Schedules through signed Slack requests against the running app: made with ``/maple schedule`` in the person's
own zone, listed with buttons only the owner or an admin may use, fired through the scheduler as a run on the
owner's behalf, digests over the period since the previous firing (busy and quiet), the App Home, ops-digest."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.core.errors import RateLimited
from bot.core.schedule_desk import ScheduleDesk, Zones
from bot.core.schedule_models import Schedule
from bot.core.schedules import previous_fire_time
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import ADMIN, CHANNEL, OUTSIDER, REQUESTER, REVIEWER, Harness, spec_dict
from tests.scenario.test_loop import start_draft
from tests.schedule_kit import Proc, clock

DIGEST = "schedule every weekday at 9:00 digest of this channel"


async def make(h: Harness, phrase: str = DIGEST, user: str = REQUESTER) -> Schedule:
    status, body = await h.slash(user, phrase)
    assert status == 200 and "Scheduled S-" in body["text"], body
    sid = re.search(r"S-[0-9A-Z]{10}", body["text"]).group(0)  # type: ignore[union-attr]
    return await h.maple.schedule_store.get(sid)  # type: ignore[union-attr]


async def click(h: Harness, user: str, verb: str, sid: str, *, home: bool = False) -> tuple[int, Any]:
    container = ({"type": "view", "view_id": "VHOME"} if home else
                 {"type": "message", "channel_id": CHANNEL, "message_ts": "1.1", "is_ephemeral": True})
    return await h.interact({
        "type": "block_actions", "user": {"id": user}, "team": {"id": "T0TEST"}, "api_app_id": "A0MAPLE",
        "trigger_id": f"trig-{uuid.uuid4().hex[:6]}", "container": container,
        **({} if home else {"channel": {"id": CHANNEL}, "response_url": "http://127.0.0.1:9/unused"}),
        "actions": [{"action_id": f"maple_schedule_{verb}:{sid}", "block_id": f"schedule:{sid}", "value": sid,
                     "type": "button", "action_ts": "1.2"}]})


def results(h: Harness, channel: str = CHANNEL) -> list[dict[str, Any]]:
    return [p for p in h.slack.posted(channel) if (p.get("metadata") or {}).get("event_payload", {}).get("effect")
            == "result"]


async def test_made_in_the_persons_zone_with_the_next_three_runs(harness: Harness) -> None:
    h = harness
    status, body = await h.slash(REQUESTER, DIGEST)
    assert status == 200 and body["response_type"] == "ephemeral"
    reply = body["text"]
    assert "every weekday (Monday to Friday) at 09:00 (America/Toronto)" in reply
    assert len(re.findall(r"\d{2} \w{3} \d{4} 09:00 E[SD]T", reply)) == 3  # nine o'clock in the person's zone
    assert [c.params["user"] for c in h.slack.calls_to("users.info")][-1] == REQUESTER
    status, body = await h.slash(REQUESTER, "schedule every fortnight at 9 digest of this channel")
    assert "“fortnight”" in body["text"] and "Scheduled" not in body["text"]
    status, body = await h.slash(OUTSIDER, DIGEST)  # no role: no schedule
    assert "Scheduled" not in body["text"]
    assert len(await h.maple.schedule_store.all()) == 1  # type: ignore[union-attr]


async def test_list_and_buttons_only_for_the_owner_or_an_admin(harness: Harness) -> None:
    h = harness
    made = await make(h)
    status, body = await h.slash(REQUESTER, "schedules")
    actions = [e["action_id"] for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions == [f"maple_schedule_{v}:{made.id}" for v in ("pause", "delete", "run")]
    status, body = await h.slash(REVIEWER, "schedules")  # not theirs: not listed to them
    assert made.id not in str(body)
    for intruder in (OUTSIDER, REVIEWER):
        for verb in ("pause", "delete", "run"):
            await click(h, intruder, verb, made.id)
    store = h.maple.schedule_store  # type: ignore[union-attr]
    assert (await store.get(made.id)).state == "active" and await h.svc.store.since(made.created_at) == []
    status, body = await h.slash(ADMIN, "schedules")  # an admin sees everyone's
    assert made.id in str(body)
    await click(h, ADMIN, "pause", made.id)
    assert (await store.get(made.id)).state == "paused"
    await click(h, REQUESTER, "resume", made.id, home=True)
    assert (await store.get(made.id)).state == "active"
    home = h.slack.calls_to("views.publish")[-1].params
    assert home["user_id"] == REQUESTER and f"maple_schedule_pause:{made.id}" in str(home["view"])
    await click(h, REQUESTER, "delete", made.id)
    assert await store.all() == []


async def test_fired_by_the_scheduler_posts_a_digest_of_the_period(harness: Harness) -> None:
    """The scheduled time comes (the test's clock), the process's scheduler fires it: a run on the owner's
    behalf that reads exactly the period since the previous firing and posts the digest in the channel."""
    h = harness
    made = await make(h)
    at = h.maple.scheduling.timetable.next_after(made.rule, made.created_at)  # type: ignore[union-attr]
    assert at is not None
    previous = previous_fire_time(h.maple.scheduling.timetable, made.rule, at)  # Friday's, when `at` is a Monday
    assert previous is not None
    before, inside = previous.timestamp() - 3600, at.timestamp() - 3600
    h.slack.messages[CHANNEL] += [{"ts": f"{before:.6f}", "user": REVIEWER, "text": "Old news from last week."},
                                  {"ts": f"{inside:.6f}", "user": REVIEWER, "text": "Launch moved to Thursday."}]
    now = clock(at - timedelta(minutes=1))
    proc = Proc.of(h, now)
    await proc.runner.start()
    try:
        assert await proc.runner.tick() == 0 and results(h) == []
        now.at = at
        assert await proc.runner.tick() == 1
        posted = await h.wait_for(lambda: results(h), what="the digest")
        assert len(posted) == 1
        received = h.openai.texts_received()
        assert "Launch moved to Thursday." in received and "Old news" not in received
        run = (await h.svc.store.since(made.created_at))[0]
        assert (run.requester, run.origin.kind, run.origin.schedule) == (REQUESTER, "schedule", made.id)
        async def delivered() -> list[str] | None:  # the post is seen a moment before its audit event lands
            events = [e.kind for e in await h.svc.audit.timeline(run.id)]
            return events if "run.delivered" in events else None

        assert "schedule.fired" in await h.wait_for(delivered, what="run.delivered")
        assert await proc.runner.tick() == 0  # the same fire time never again
    finally:
        await proc.runner.stop()


async def test_run_now_covers_a_busy_period_in_parts(harness: Harness) -> None:
    h = harness
    made = await make(h)
    start = time.time() - 3000
    h.slack.messages[CHANNEL] += [{"ts": f"{start + i * 0.5:.6f}", "user": REVIEWER,
                                   "text": f"message number {i} about the release plan and its many details"}
                                  for i in range(3000)]
    await click(h, REQUESTER, "run", made.id)
    posted = await h.wait_for(lambda: results(h), what="the digest", timeout=60)
    received = h.openai.texts_received()
    assert "message number 0 about" in received and "message number 2999 about" in received
    assert len(h.openai.requests) > 3  # parts, then the digest of the combined summaries
    assert "3,000 messages summarized in" in str(posted[0])
    pages = [c for c in h.slack.calls_to("conversations.history") if c.params.get("oldest")]
    assert len(pages) >= 15  # paged through the period, 200 a page


async def test_a_quiet_period_says_so_without_a_model(harness: Harness) -> None:
    h = harness
    made = await make(h)
    await click(h, REQUESTER, "run", made.id)
    posted = await h.wait_for(lambda: results(h), what="the digest")
    assert "Nothing was posted in the channel" in str(posted[0]) and h.openai.requests == []


async def test_ops_digest_for_admins_without_a_model(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)
    await h.submit(REVIEWER, "maple_reject_view", run_id, {"reason": "tone is too casual"})
    await h.wait_state(run_id, "rejected")
    calls = len(h.openai.requests)
    status, body = await h.slash(REQUESTER, "run ops-digest operations")
    assert "not allowed" in body["text"]
    status, body = await h.slash(ADMIN, "run ops-digest operations")
    admin_dm = "D" + ADMIN.lstrip("UW")  # the channel has members who are not admins: the digest goes to the asker
    posted = await h.wait_for(lambda: results(h, admin_dm), what="the ops digest")
    assert results(h) == []  # nothing of other people's runs, reasons or spend in the channel
    report = str(posted[0])
    assert "Operations digest" in report and "draft: rejected 1" in report
    assert "tone is too casual" in report and f"rejected by {REVIEWER}" in report
    assert "by model: openai" in report and "Budget use today" in report
    assert len(h.openai.requests) == calls  # no model call for the report
    made = await make(h, "schedule every monday at 8am run ops-digest operations", user=ADMIN)
    assert made.workflow == "ops-digest"


async def test_home_shows_my_schedules_pending_approvals_and_recent_runs(harness: Harness) -> None:
    h = harness
    made = await make(h)
    run_id = await start_draft(h)
    for user in (REVIEWER, REQUESTER):
        await h.event({"type": "app_home_opened", "user": user, "tab": "home", "channel": "D0HOME"})
    published = {c.params["user_id"]: str(c.params["view"]) for c in h.slack.calls_to("views.publish")}
    assert "Waiting for your review" in published[REVIEWER] and run_id in published[REVIEWER]
    assert made.id not in published[REVIEWER]
    mine = published[REQUESTER]
    assert "Your runs" in mine and run_id in mine and f"maple_schedule_pause:{made.id}" in mine
    assert "Nothing is waiting for your review" in mine


async def test_config_file_schedules_keep_working_and_show_as_managed_by_config(
        slack: Any, openai_fake: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    weekly = {"id": "weekly", "workflow": "digest", "cron": "0 9 * * 1", "goal": "weekly digest of this channel",
              "channel": CHANNEL, "requester": REQUESTER}
    h = await Harness(slack=slack, openai=openai_fake, spec=spec_dict(schedules=[weekly])).start()
    try:
        now = clock(datetime(2027, 3, 12, 15, tzinfo=UTC))  # a Friday
        proc = Proc.of(h, now)
        await proc.runner.start()
        stored = await proc.sch.store.get("config:weekly")
        assert stored.from_config  # Monday 9:00 in Toronto (day 1 is Monday, as in cron), on APScheduler's clock too
        assert proc.sch.timetable.next_after(stored.rule, now.now()) == datetime(2027, 3, 15, 13, tzinfo=UTC)
        wake = proc.runner.next_run(stored.id)
        assert wake is not None and wake.astimezone(ZoneInfo("America/Toronto")).strftime("%a %H:%M") == "Mon 09:00"
        status, body = await h.slash(ADMIN, "schedules")
        assert "managed by the config file" in body["text"] or "managed by the config file" in str(body["blocks"])
        assert f"maple_schedule_pause:{stored.id}" not in str(body["blocks"])
        await click(h, ADMIN, "pause", stored.id)
        assert (await proc.sch.store.get(stored.id)).state == "active"
        now.at = datetime(2027, 3, 15, 13, tzinfo=UTC)
        assert await proc.runner.tick() == 1
        await h.wait_for(lambda: results(h), what="the config schedule's digest")
        await proc.runner.stop()
    finally:
        await h.stop()
        await h.cleanup_redis()


class _NoZones(Zones):
    async def timezone(self, user: str) -> str | None:
        return None


async def test_run_now_takes_the_clickers_start_limits(slack: FakeSlack, openai_fake: FakeOpenAI,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """"Run now" is a person's input, not a schedule's own firing: clicking it once a second starts no more runs
    than typing goals would (here 3 a minute). The clock moves a second per click, so each is a new start."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    data = spec_dict()
    data["limits"] = {**data.get("limits", {}), "runs_per_user_per_minute": 3}
    h = Harness(slack=slack, openai=openai_fake, spec=data)
    await h.start()
    try:
        made = await make(h)
        now = clock(datetime.now(UTC))
        desk = ScheduleDesk(sch=Proc.of(h, now).sch, zones=_NoZones())
        said = []
        for _ in range(5):
            now.at += timedelta(seconds=1)
            try:
                said.append(str(await desk.act(user=REQUESTER, schedule_id=made.id, verb="run")))
            except RateLimited as exc:
                said.append(f"throttled: {exc}")
        assert ["started run" in s for s in said] == [True] * 3 + [False] * 2, said
        assert all(s.startswith("throttled") for s in said[3:]), said
        assert len(await h.svc.store.since(made.created_at - timedelta(days=1))) == 3
    finally:
        await h.stop()
        await h.cleanup_redis()
