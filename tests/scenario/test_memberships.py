"""Roles that name channels: bounded work on the ack path. Member lists are read a capped number of pages, cached,
kept current by member_joined_channel / member_left_channel, and a request never waits long for them: when the
answer is not known in time the user is treated as not a member (fail closed) and the list keeps loading."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import ADMIN, REQUESTER, REVIEWER, Harness, spec_dict


def refused(reply: dict[str, Any]) -> bool:
    return "don't have access" in reply["text"] or "not allowed" in reply["text"]


async def started(slack: FakeSlack, openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, roles: dict[str, Any]) -> Harness:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    return await Harness(slack=slack, openai=openai, spec=spec_dict(roles=roles)).start(workers=0)


async def test_a_huge_role_channel_costs_a_capped_number_of_pages(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack.page_size = 10  # 60 pages for 600 members
    slack.add_channel("C0ALLHANDS", members=[REQUESTER] + [f"U0P{i:04d}" for i in range(599)])
    h = await started(slack, openai_fake, monkeypatch, {"user": ["C0ALLHANDS"], "reviewer": [REVIEWER],
                                                        "admin": [ADMIN]})
    try:
        _, reply = await h.slash(REQUESTER, "run draft a note")
        if refused(reply):  # the list was still loading when the request's wait ran out: it is ready moments later
            await h.wait_for(lambda: h.maple.surface.known_members("C0ALLHANDS"), what="the member list")
            _, reply = await h.slash(REQUESTER, "run draft a note")
        assert "Working on it" in reply["text"]
        pages = len(slack.calls_to("conversations.members"))
        assert pages == 20, f"{pages} pages of conversations.members for one role channel"
        _, reply = await h.slash("U0P0590", "run draft a note")  # beyond the pages Maple reads
        assert refused(reply)
        _, reply = await h.slash("U0P0100", "run draft a note")
        assert "Working on it" in reply["text"]
        assert len(slack.calls_to("conversations.members")) == 20  # cached
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_member_events_keep_the_cached_list_current(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack.add_channel("C0TEAM", members=[REQUESTER])
    h = await started(slack, openai_fake, monkeypatch, {"user": ["C0TEAM"], "reviewer": [REVIEWER], "admin": [ADMIN]})
    try:
        _, reply = await h.slash("U0NEWBIE", "run draft a note")
        assert refused(reply)
        slack.channels["C0TEAM"]["members"] = [REQUESTER, "U0NEWBIE"]
        status, _ = await h.event({"type": "member_joined_channel", "user": "U0NEWBIE", "channel": "C0TEAM",
                                   "channel_type": "C", "team": "T0TEST"})
        assert status == 200
        _, reply = await h.slash("U0NEWBIE", "run draft a note")
        assert "Working on it" in reply["text"]
        slack.channels["C0TEAM"]["members"] = ["U0NEWBIE"]
        await h.event({"type": "member_left_channel", "user": REQUESTER, "channel": "C0TEAM", "channel_type": "C",
                       "team": "T0TEST"})
        _, reply = await h.slash(REQUESTER, "run draft a note")
        assert refused(reply)
        assert len(slack.calls_to("conversations.members")) == 1, "the events updated the cache; no re-reading"
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_a_request_does_not_wait_for_a_slow_member_list(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack.add_channel("C0SLOW", members=[REQUESTER])
    h = await started(slack, openai_fake, monkeypatch, {"user": ["C0SLOW"], "reviewer": [REVIEWER], "admin": [ADMIN]})
    slack.held["conversations.members"] = asyncio.Event()  # Slack is not answering
    try:
        _, reply = await asyncio.wait_for(h.slash(REQUESTER, "run draft a note"), timeout=20)
        assert refused(reply), "not known in time: not a member (fail closed)"
        slack.held.pop("conversations.members").set()
        await h.wait_for(lambda: h.maple.surface.known_members("C0SLOW"), what="the list loaded in the background")
        _, reply = await h.slash(REQUESTER, "run draft a note")
        assert "Working on it" in reply["text"]
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_a_member_event_one_process_took_reaches_the_others(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Serve and its ack process (or two hosts) each cache member lists, and Slack delivers a membership event to
    one of them: the other must not keep letting in a person who left a role channel until its cache expires."""
    slack.add_channel("C0TEAM", members=[REQUESTER])
    roles = {"user": ["C0TEAM"], "reviewer": [REVIEWER], "admin": [ADMIN]}
    one = await started(slack, openai_fake, monkeypatch, roles)
    other = Harness(slack=slack, openai=openai_fake, spec=spec_dict(roles=roles))
    other.prefix = one.prefix  # the same deployment: two processes on one Redis
    await other.start(workers=0)
    try:
        for h in (one, other):
            _, reply = await h.slash(REQUESTER, "run draft a note")
            if refused(reply):  # the list was still loading when the request's wait ran out
                await h.wait_for(lambda h=h: h.maple.surface.known_members("C0TEAM"), what="the member list")
                _, reply = await h.slash(REQUESTER, "run draft a note")
            assert "Working on it" in reply["text"]  # each process has the list, the requester in it
        assert other.maple is not None
        await requester_leaves(slack, one, other.maple.surface, what="the other process")
        _, reply = await other.slash(REQUESTER, "run draft a note")
        assert refused(reply)
    finally:
        await other.stop()
        await one.stop()
        await one.cleanup_redis()


async def requester_leaves(slack: FakeSlack, one: Harness, surface: Any, *, what: str) -> None:
    """The requester leaves C0TEAM; the event reaches process ``one``; wait until ``surface`` (another process's)
    no longer counts them a member."""
    slack.channels["C0TEAM"]["members"] = []
    status, _ = await one.event({"type": "member_left_channel", "user": REQUESTER, "channel": "C0TEAM",
                                 "channel_type": "C", "team": "T0TEST"})
    assert status == 200

    async def gone() -> bool:
        members = await surface.known_members("C0TEAM")
        return members is not None and REQUESTER not in members

    await one.wait_for(gone, timeout=30, what=f"{what} to learn that the requester left")


async def test_a_worker_process_hears_membership_news_too(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker process (``maple worker``, and each of serve's worker processes) checks roles too — who may run a
    workflow, read a collection — from its own cached member lists, but never runs the HTTP app's startup, which
    is where membership news was subscribed: a person who left a role channel stayed in for it until the cache
    expired."""
    from bot.app import build
    from bot.core.spec import MapleSpec

    slack.add_channel("C0TEAM", members=[REQUESTER])
    roles = {"user": ["C0TEAM"], "reviewer": [REVIEWER], "admin": [ADMIN]}
    one = await started(slack, openai_fake, monkeypatch, roles)
    other = Harness(slack=slack, openai=openai_fake, spec=spec_dict(roles=roles))
    other.prefix = one.prefix
    worker = build(other.settings(), spec=MapleSpec.model_validate(other.spec_data))  # as `maple worker` does
    await worker.start_workers(1)
    try:
        members = await worker.surface.known_members("C0TEAM")
        if members is None:
            await one.wait_for(lambda: worker.surface.known_members("C0TEAM"), what="the worker's member list")
        assert REQUESTER in (await worker.surface.known_members("C0TEAM") or ())
        await requester_leaves(slack, one, worker.surface, what="the worker process")
    finally:
        await worker.stop()
        await one.stop()
        await one.cleanup_redis()


async def test_a_worker_finishing_its_jobs_on_shutdown_still_hears_membership_news(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SIGTERM the pools get MAPLE_SHUTDOWN_GRACE to finish their jobs, which check roles meanwhile; the news
    was closed before the pools stopped, so a person who left a role channel stayed in for the whole drain."""
    import json

    slack.add_channel("C0TEAM", members=[REQUESTER])
    roles = {"user": ["C0TEAM"], "reviewer": [REVIEWER], "admin": [ADMIN]}
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    h = await Harness(slack=slack, openai=openai_fake, spec=spec_dict(roles=roles)).start(workers=1)
    openai_fake.gate = asyncio.Event()  # the job stays in flight until the test lets the model answer
    stopping: asyncio.Task[None] | None = None
    try:
        assert h.maple is not None
        maple = h.maple
        _, reply = await h.slash(REQUESTER, "run draft a note")
        if refused(reply):
            await h.wait_for(lambda: maple.surface.known_members("C0TEAM"), what="the member list")
            _, reply = await h.slash(REQUESTER, "run draft a note")
        assert "Working on it" in reply["text"]
        await h.wait_for(lambda: openai_fake.requests, what="the job's model call (held)")
        maple.settings = maple.settings.model_copy(update={"shutdown_grace": 600.0})  # drained by the test only
        stopping = asyncio.create_task(maple.stop())  # the pool drains: its job waits on the model
        await h.wait_for(lambda: all(p._stopping.is_set() for p in maple.pools), what="the drain begun")
        await maple.redis.publish(f"{h.prefix}memberships", json.dumps({"from": "elsewhere", "channel": "C0TEAM"}))
        await h.wait_for(lambda: "C0TEAM" not in maple.surface._channels._entries, timeout=30,
                         what="the draining worker to drop the list another process said changed")
    finally:
        openai_fake.gate.set()
        if stopping is not None:
            await asyncio.wait_for(stopping, 60)
            h.maple = None
        else:
            await h.stop()
        await h.cleanup_redis()
