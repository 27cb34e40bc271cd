"""The checks on a streamed answer (bot/core/streaming.py), over in-memory fakes: what is held back, where chunks
are cut, a detector match that straddles deltas never sent in part, and which policies make a run buffer."""

from __future__ import annotations

import dataclasses

import pytest

from bot.core.levels import Sensitivity
from bot.core.models import Origin, Run
from bot.core.sensitivity import assessor
from bot.core.streaming import WINDOW, LiveAnswer, policy_may_block
from tests.fakes.memory import FixedClock, MemorySurface
from tests.unit.core_env import make_services, make_spec

EMAIL = "ana.bouchard@birchwood.example"
FILLER = "Receipts go to the travel desk within thirty days of the trip, with the purchase order number. " * 4


async def _live(**spec_changes: object) -> tuple[LiveAnswer, MemorySurface, FixedClock]:
    surface = MemorySurface()
    svc = make_services(spec=make_spec(**spec_changes), surface=surface)
    svc = dataclasses.replace(svc, assess=assessor(svc.spec.sensitivity), streaming=True)
    now = svc.clock.now()
    run = await svc.store.create(Run(requester="U0REQUEST", goal="what is the meal allowance?", workflow="ask",
                                     origin=Origin(kind="mention", channel="C0GENERAL", thread_ts="1.1"),
                                     created_at=now, updated_at=now))
    live = LiveAnswer(svc=svc, run=run, channel="C0GENERAL", thread_ts="1.1", sources=[run.goal],
                      ceiling=Sensitivity.INTERNAL, workflow="ask")
    assert isinstance(svc.clock, FixedClock)
    return live, surface, svc.clock


async def _feed(live: LiveAnswer, clock: FixedClock, text: str, size: int = 7) -> None:
    for i in range(0, len(text), size):
        await live.delta(text[i:i + size])
        clock.advance(0.5)  # every delta may be appended (at most one append per 0.4 s)
    await live.done()


async def test_the_newest_text_is_held_back_and_chunks_end_at_a_space() -> None:
    live, surface, clock = await _live()
    await _feed(live, clock, FILLER)
    (chunks,) = surface.streams.values()
    shown = "".join(chunks)
    assert len(chunks) >= 3 and FILLER.startswith(shown)
    assert len(FILLER) - len(shown) >= WINDOW  # the last part waits for the checks on the whole text
    assert all(c.endswith((" ", "\n")) for c in chunks)
    assert live.stopped is None


async def test_a_detector_match_split_across_deltas_is_never_sent_in_part() -> None:
    live, surface, clock = await _live()
    answer = FILLER + f"Write to {EMAIL} for an advance. " + FILLER
    await _feed(live, clock, answer, size=5)
    shown = "".join(next(iter(surface.streams.values())))
    assert shown and "ana" not in shown and "@" not in shown  # not even its first letters
    assert live.stopped == "checks" and live.off
    ref, view = surface.updates[-1]
    assert view.kind == "notice" and "stopped showing" in str(view.text)  # the message is replaced
    events = [e for e in live.svc.audit.events if e["kind"] == "stream.stopped"]  # type: ignore[attr-defined]
    assert events[0]["maple.stream.shown.length"] == len(shown)


async def test_a_surface_that_refuses_stops_the_stream_and_nothing_more_is_sent() -> None:
    live, surface, clock = await _live()
    await _feed(live, clock, FILLER[:260])
    (ts,) = surface.streams
    before = len(surface.streams[ts])
    surface.stopped.add(ts)  # Slack ended the stream on its side
    await _feed(live, clock, FILLER)
    assert before and live.stopped == "surface" and len(surface.streams[ts]) == before


@pytest.mark.parametrize(("policy", "blocks"), [
    ({}, False),
    ({"banned_terms": ["falcon"]}, True),
    ({"banned_terms": ["falcon"], "banned_action": "annotate"}, False),
    ({"new_personal_data": "block"}, True),
    ({"max_chars": 500}, True),
])
def test_a_policy_that_can_block_makes_the_run_buffer(policy: dict[str, object], blocks: bool) -> None:
    spec = make_spec()
    changed = make_spec(policy={**spec.policy.model_dump(), **policy})
    svc = make_services(spec=changed)
    assert policy_may_block(svc) is blocks


async def test_a_stream_left_open_by_a_dead_worker_is_replaced_before_the_retry_drafts() -> None:
    from bot.core import intake
    from bot.core.models import Effect, Job
    from bot.core.worker import handle_job

    surface = MemorySurface()
    svc = dataclasses.replace(make_services(surface=surface), streaming=True)
    run = await intake.submit(svc, intake.Intake(requester="U0REQUEST", goal="draft a note", workflow="draft",
                                                 origin=Origin(kind="mention", channel="C1", thread_ts="1.1")))

    def streamed_before(r: Run) -> None:  # what a worker that died mid-stream leaves on the run
        r.effects["stream:1"] = Effect(channel="C1", thread_ts="1.1", ts="9.5")

    await svc.mutate(run.id, streamed_before)
    await handle_job(svc, Job(run_id=run.id, kind="draft"))
    assert "9.5" in surface.stopped
    ref, view = next((r, v) for r, v in surface.updates if r.ts == "9.5")
    assert view.kind == "notice" and "interrupted" in str(view.text)
    after = await svc.store.get(run.id)
    assert after.effects["stream:1"].done and after.state.value == "in_review"  # the retry went on
    stopped = [e for e in svc.audit.events if e["kind"] == "stream.stopped"]  # type: ignore[attr-defined]
    assert [e["maple.stream.cause"] for e in stopped] == ["retried"]


async def test_a_draft_that_needs_review_is_never_streamed() -> None:
    from bot.core import intake
    from bot.core.models import Job
    from bot.core.worker import handle_job
    from tests.fakes.memory import ScriptedModel

    surface = MemorySurface()
    model = ScriptedModel("local", default=FILLER * 3)  # long enough to stream, were it allowed
    svc = dataclasses.replace(make_services(surface=surface, models={"local": model}), streaming=True)
    run = await intake.submit(svc, intake.Intake(requester="U0REQUEST", goal="draft a note", workflow="draft",
                                                 origin=Origin(kind="mention", channel="C1", thread_ts="1.1")))
    await handle_job(svc, Job(run_id=run.id, kind="draft"))
    after = await svc.store.get(run.id)
    assert after.state.value == "in_review" and after.draft is not None and FILLER in after.draft.text
    assert surface.streams == {}  # nothing of the draft reached the requester's thread
    assert not [p for p in surface.posts if p["channel"] == "C1" and p["effect"] == "result"]


@pytest.mark.parametrize("padding", ["\u200b", "\u0301", "\u2060"])  # zero-width space, combining acute, word joiner
async def test_characters_the_detectors_drop_do_not_count_in_the_held_back_part(padding: str) -> None:
    live, surface, clock = await _live()
    card = (padding * (WINDOW + 40)).join(f"{group} " for group in "4111 1111 1111 1111".split())
    await _feed(live, clock, FILLER + f"Pay with card {card}. " + FILLER, size=9)
    shown = "".join(next(iter(surface.streams.values()))).replace(padding, "")
    assert shown and "4111" not in shown and "Pay with card" not in shown
    assert live.stopped == "checks"
