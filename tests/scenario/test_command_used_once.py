"""A deferred slash command is used once by its own run write (handlers/front.py, bot/core/intake.py): faults in
that write as a person and an operator see them, and replays racing the first copy. The faults are real: the
run write's reply lost on the network (a TCP proxy between Maple and Redis cuts the connection after the write
reached Redis), a script error after the request was marked used, Redis down."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
import redis.asyncio as aioredis

from integrations.redis_controls import RedisControls
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import REQUESTER, Harness, sign
from tests.scenario import test_deferred_ack
from tests.scenario.test_bad_input import runs_in_redis
from tests.scenario.test_deferred_ack import jobs
from tests.scenario.test_front_door import FORM
from tests.scenario.test_loop import GOAL

REDIS = ("127.0.0.1", 6379)


class CuttingProxy:
    """A TCP proxy to the real Redis. Armed with a marker, it forwards the next request that carries it and then
    closes that client connection instead of relaying the reply: the command ran, its answer never came."""

    def __init__(self) -> None:
        self.marker: bytes | None = None
        self.cuts = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*REDIS)
        cut = asyncio.Event()

        async def to_redis() -> None:
            while data := await reader.read(65536):
                up_writer.write(data)
                await up_writer.drain()
                if self.marker is not None and self.marker in data:
                    self.marker = None
                    cut.set()

        async def to_client() -> None:
            while data := await up_reader.read(65536):
                if cut.is_set():  # the reply to the marked request: dropped, and the connection with it
                    self.cuts += 1
                    return
                writer.write(data)
                await writer.drain()

        pumps = [asyncio.create_task(to_redis()), asyncio.create_task(to_client())]
        with contextlib.suppress(Exception):
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for w in (writer, up_writer):
            w.close()
            with contextlib.suppress(Exception):
                await w.wait_closed()


@pytest.fixture
async def proxied(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
                  ) -> AsyncIterator[tuple[Harness, CuttingProxy]]:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    proxy = CuttingProxy()
    h = Harness(slack=slack, openai=openai_fake, ack="deferred", workers=0, redis_url=await proxy.start())
    await h.start()
    yield h, proxy
    await h.stop()
    await h.cleanup_redis()
    await proxy.stop()


idle = test_deferred_ack.idle  # the deferred harness with no workers: the test hands out the jobs


def command(text: str, **fields: str) -> str:
    data = {"command": "/maple", "text": text, "user_id": REQUESTER, "channel_id": "C0GENERAL", "team_id": "T0TEST",
            "trigger_id": "trig-fixed", "response_url": "https://hooks.slack.com/commands/T0TEST/1/x", **fields}
    return urlencode(data)


async def test_a_run_write_whose_reply_was_lost_is_answered_as_the_run_it_started(
        proxied: tuple[Harness, CuttingProxy]) -> None:
    """The write reached Redis (the request marked used, the run and its intake job saved) and the connection
    dropped before its reply: Maple looks for the run before calling it lost, so the person gets the ack with the
    run id — not "temporarily unavailable" for a run that is going ahead, and not 401 as if it were a replay."""
    h, proxy = proxied
    proxy.marker = h.svc.store._cas._script.sha.encode()  # the run write script's own call
    body = command(GOAL)
    headers = sign(body)
    status, reply = await h.post(body, content_type=FORM, headers=headers)
    assert proxy.cuts == 1
    assert status == 200 and "R-" in reply["text"] and "unavailable" not in reply["text"], reply
    assert await runs_in_redis(h) == 1 and [j.kind for j in await jobs(h)] == ["intake"]
    status, _ = await h.post(body, content_type=FORM, headers=headers)  # a replay: its write finds the key used
    assert status == 401 and await runs_in_redis(h) == 1


async def test_a_script_error_after_the_request_was_marked_is_not_answered_as_a_replay(idle: Harness) -> None:
    """The run write's script fails after it marked the request used (the runs index holds the wrong type — the
    store damaged by hand): the request is answered as the failure it was (an error, no run), never 401."""
    h = idle
    r = aioredis.from_url(h.redis_url)
    try:
        await r.set(h.svc.store.index, "not a sorted set")
        body = command(GOAL)
        status, _ = await h.post(body, content_type=FORM, headers=sign(body))
        used = [k async for k in r.scan_iter(match=h.prefix + "once:*")]
    finally:
        await r.delete(h.svc.store.index)
        await r.aclose()
    assert status == 500 and len(used) == 1 and await runs_in_redis(h) == 0


@pytest.mark.parametrize(("said", "fields"), [
    (GOAL, {}),  # a goal a worker places
    ("run draft a note to the supplier", {}),  # a named workflow
    (GOAL, {"response_url": ""}),  # no response_url: placed in the ack, checked before it
    ("help", {}), ("status", {}), ("workflows", {}),
    ("x" * 4001, {}),  # too long: answered before any write
    ("run nosuch a note", {}),  # an unknown workflow: answered before any write
    ("run draft", {}),  # no goal
    (GOAL, {"command": "/maple-other"}),  # a command Maple has no listener for
])
async def test_copies_sent_together_and_later_are_answered_once(idle: Harness, said: str,
                                                                fields: dict[str, str]) -> None:
    """Four copies of one signed command at once and a fifth later, whatever it asks: one answered, four refused
    with 401, at most one run."""
    h = idle
    body = command(said, **fields)
    headers = sign(body)
    together = await asyncio.gather(*(h.post(body, content_type=FORM, headers=headers) for _ in range(4)))
    later = await h.post(body, content_type=FORM, headers=headers)
    assert sorted(status for status, _ in [*together, later]) == [200, 401, 401, 401, 401]
    assert await runs_in_redis(h) <= 1


async def test_a_copy_refused_before_any_write_and_a_replay_after_a_resume_answer_one_of_them(
        idle: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first copy is refused (intake paused) and uses the request up; an operator resumes intake and a replay
    arrives while that first copy's mark is still on its way. Whichever reaches Redis first is answered — here the
    replay's run write — and the other gets 401: never both, and at most one run."""
    h = idle
    assert h.maple is not None
    r = aioredis.from_url(h.redis_url)
    controls = RedisControls(redis=r, prefix=h.prefix)
    await controls.set("intake_paused", on=True, by="ops")
    await h.wait_for(lambda: h.svc.control_state().intake_paused, what="the pause seen")
    deliveries = h.maple.front._deliveries
    real_first_use = deliveries.first_use
    marking = asyncio.Event()
    resumed = asyncio.Event()

    async def first_use_after_the_resume(key: str) -> bool:  # the mark on its way while the replay comes in
        marking.set()
        await resumed.wait()
        return await real_first_use(key)

    monkeypatch.setattr(deliveries, "first_use", first_use_after_the_resume)
    body = command(GOAL)
    headers = sign(body)
    try:
        first = asyncio.create_task(h.post(body, content_type=FORM, headers=headers))
        await marking.wait()
        await controls.set("intake_paused", on=False, by="ops")
        await h.wait_for(lambda: not h.svc.control_state().intake_paused, what="the resume seen")
        second: tuple[int, Any] = await h.post(body, content_type=FORM, headers=headers)
        resumed.set()
        status, _ = await first
    finally:
        await controls.set("intake_paused", on=False, by="ops")
        await r.aclose()
    assert (status, second[0]) == (401, 200)
    assert await runs_in_redis(h) == 1
