"""Streamed answers through signed Slack requests, with the fake OpenAI endpoint streaming server-sent events: an
answer that needs no review grows in its thread (chat.startStream / appendStream / stopStream) and ends as the
checked result; an answer the policy could block is never shown in part; a detector match mid-answer stops the
stream before any of it is sent; model failures mid-stream and Slack 429s end cleanly, nothing lost."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.streaming import WINDOW
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import CHANNEL, REQUESTER, Harness, spec_dict
from tests.knowledge_corpus import KNOWLEDGE_COLLECTIONS, KNOWLEDGE_ROLES, Corpus, build_corpus
from tests.scenario.test_knowledge import picked_up

QUESTION = "what is the daily meal allowance when travelling?"
ANSWER = ("The meal allowance is $75 per day while travelling for work [1]. Keep every receipt and submit them "
          "within thirty days of your return, with the trip's purchase order number on the claim form [1]. "
          "Alcohol is never reimbursed, and tips above fifteen percent are paid by the traveller [1]. "
          "Ask your manager before booking anything that is not in the travel policy.")
CARD = "4111 1111 1111 1111"


async def _start(slack: FakeSlack, openai: FakeOpenAI, tmp_path: Path, **changes: Any) -> tuple[Harness, Corpus]:
    spec = spec_dict(**changes)
    spec["roles"], spec["collections"] = KNOWLEDGE_ROLES, KNOWLEDGE_COLLECTIONS
    h = await Harness(slack=slack, openai=openai, spec=spec, streaming=True).start()
    corpus = Corpus(spec=h.svc.spec, prefix=h.prefix)
    for name, root in build_corpus(tmp_path / "corpus").items():
        await corpus.ingest.run(collection=name, paths=[root], link_base="https://intranet.birchwood.example/hb")
    await picked_up(h, corpus)
    return h, corpus


@pytest.fixture
async def streams(slack: FakeSlack, openai_fake: FakeOpenAI, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    openai_fake.reply, openai_fake.chunk_delay = ANSWER, 0.05
    h, corpus = await _start(slack, openai_fake, tmp_path)
    yield h
    await h.stop()
    await corpus.close()
    await h.cleanup_redis()


async def _ask(h: Harness, *, ts: str, words: str = f"run ask {QUESTION}") -> str:
    status, _ = await h.event({"type": "app_mention", "user": REQUESTER, "channel": CHANNEL, "ts": ts,
                               "text": f"<@U0MAPLEBOT> {words}"})
    assert status == 200

    async def find() -> str | None:
        runs = await h.svc.store.since(h.svc.clock.now().replace(year=2000), limit=500)
        return next((str(r.id) for r in runs if r.origin.thread_ts == ts), None)

    return str(await h.wait_for(find, what="the thread's run"))


def _unescaped(text: str) -> str:
    """What a reader of the streamed Markdown sees (a zero-width space follows every ``]``: no masked link)."""
    return text.replace("]\u200b", "]").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _everything_sent(slack: FakeSlack) -> str:
    """Every parameter of every call the fake Slack received, as one text."""
    return "\n".join(json.dumps(c.params, ensure_ascii=False) for c in slack.calls)


def _fragments(text: str, size: int = 12) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text) - size + 1, 4)]


async def _events(h: Harness, run_id: str) -> list[Any]:
    return list(await h.svc.audit.timeline(run_id))


async def test_an_answer_grows_in_its_thread_and_ends_as_the_checked_result(streams: Harness) -> None:
    h = streams
    run_id = await _ask(h, ts="5100.000100")
    run = await h.wait_state(run_id, "delivered")
    sent = h.openai.requests[-1]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    start = h.slack.calls_to("chat.startStream")
    assert len(start) == 1 and start[0].ok
    assert start[0].params["channel"] == CHANNEL and start[0].params["thread_ts"] == "5100.000100"
    assert start[0].params["recipient_user_id"] == REQUESTER and start[0].params["recipient_team_id"] == "T0TEST"
    ts = run.effects["result"].ts
    chunks = h.slack.appended(ts)
    shown = _unescaped("".join(chunks))
    assert len(chunks) >= 2, chunks  # it grew, append after append
    assert ANSWER.startswith(shown) and len(ANSWER) - len(shown) >= WINDOW  # a prefix; the last part held back
    (stop,) = h.slack.calls_to("chat.stopStream")
    assert stop.params["ts"] == ts
    assert stop.params["metadata"]["event_payload"] == {"run_id": run_id, "effect": "result"}  # marked as a post is
    assert await h.svc.surface.find_posted(channel=CHANNEL, run_id=run_id, effect="result",
                                           thread_ts="5100.000100") is not None
    final = [c.params for c in h.slack.calls_to("chat.update") if c.params.get("ts") == ts][-1]
    assert "Keep every receipt" in json.dumps(final["blocks"]) and "Ask your manager" in json.dumps(final["blocks"])
    assert not [p for p in h.slack.posted(CHANNEL)
                if (p.get("metadata") or {}).get("event_payload", {}).get("effect") == "result"]  # not posted twice
    assert run.usage and run.usage[-1].input_tokens == 40  # the usage the last chunk reported
    kinds = [e.kind for e in await _events(h, run_id)]
    assert "stream.started" in kinds and "stream.stopped" not in kinds
    delivered = next(e for e in await _events(h, run_id) if e.kind == "run.delivered")
    assert delivered.attrs["maple.delivery.streamed"] is True
    assert delivered.attrs["maple.delivered.text.hmac"] == h.svc.audit.digest(run.draft.text)


async def test_an_answer_the_policy_could_block_never_reaches_slack_in_part(
        slack: FakeSlack, openai_fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    blocked = ANSWER.replace("Alcohol", "Falcon-class alcohol")
    openai_fake.reply, openai_fake.chunk_delay = blocked, 0.02
    policy = {**spec_dict()["policy"], "banned_terms": ["falcon-class"], "banned_action": "block"}
    h, corpus = await _start(slack, openai_fake, tmp_path, policy=policy)
    try:
        run_id = await _ask(h, ts="5200.000100")
        run = await h.wait_state(run_id, "refused")
        assert "banned term" in (run.error or "")
        assert openai_fake.streamed == 0  # buffered: the endpoint was not even asked to stream
        assert h.slack.calls_to("chat.startStream") == [] and h.slack.calls_to("chat.appendStream") == []
        everything = _everything_sent(slack)
        own = [f for f in _fragments(blocked) if f not in QUESTION]  # the question itself is quoted back, rightly
        leaked = [f for f in own if f in everything or json.dumps(f)[1:-1] in everything]
        assert leaked == [], leaked[:5]
    finally:
        await h.stop()
        await corpus.close()
        await h.cleanup_redis()


async def test_a_card_number_mid_answer_stops_the_stream_before_any_of_it_is_sent(streams: Harness) -> None:
    h = streams
    h.openai.reply = ANSWER.replace("Ask your manager", f"Pay with card {CARD}. Ask your manager")
    run_id = await _ask(h, ts="5300.000100")
    await h.wait_for(lambda: h.slack.calls_to("chat.stopStream"), what="the stream stopped")
    run = await h.wait_state(run_id, "delivered", "refused", "failed")
    streamed = "".join(h.slack.appended())
    assert streamed and "4111" not in streamed and _unescaped(streamed) in h.openai.reply
    stream_ts = h.slack.calls_to("chat.startStream")[0]
    ts = next(m["ts"] for m in h.slack.messages[CHANNEL] if m.get("thread_ts") == "5300.000100"
              and m.get("streaming") is False)
    notice = [c.params for c in h.slack.calls_to("chat.update") if c.params.get("ts") == ts][0]
    assert "stopped showing this answer" in notice["text"]
    stopped = next(e for e in await _events(h, run_id) if e.kind == "stream.stopped")
    assert stopped.attrs["maple.stream.cause"] == "checks"
    assert stopped.attrs["maple.stream.shown.length"] == len(_unescaped(streamed))
    assert stream_ts.ok
    if run.state.value == "delivered":  # the whole answer took the buffered path: checked, then posted whole
        assert run.effects["result"].ts != ts


async def test_a_card_number_padded_with_zero_width_characters_is_never_sent_in_part(streams: Harness) -> None:
    """The detectors read the text without zero-width spaces: padding between the groups of a card number (longer
    than the held-back part) must not let its first groups out before the last one arrives."""
    h = streams
    pad = "\u200b" * (WINDOW + 60)
    card = pad.join(f"{group} " for group in CARD.split())
    h.openai.reply = ANSWER.replace("Ask your manager", f"Pay with card {card}. Ask your manager")
    h.openai.chunk_chars = 24  # the whole answer within the model's timeout, each padding over several appends
    run_id = await _ask(h, ts="5350.000100")
    await h.wait_for(lambda: h.slack.calls_to("chat.stopStream"), what="the stream stopped")
    await h.wait_state(run_id, "delivered", "refused", "failed")
    streamed = _unescaped("".join(h.slack.appended())).replace("\u200b", "")
    assert streamed and "Pay with card" not in streamed and "4111" not in streamed, streamed[-80:]
    stopped = next(e for e in await _events(h, run_id) if e.kind == "stream.stopped")
    assert stopped.attrs["maple.stream.cause"] == "checks"


async def test_a_masked_link_in_a_streamed_answer_is_never_a_link(streams: Harness) -> None:
    """Streams are sent as ``markdown_text`` (Markdown, where ``[label](url)`` is a link whose address is hidden),
    not mrkdwn: a model (or a passage steering it) must not show a disguised link while the answer grows, split
    across chunks or not."""
    h = streams
    lure = "If your card was refused, [reset your travel profile here](https://evil.example/login) first. "
    h.openai.reply = lure + ANSWER
    run_id = await _ask(h, ts="5360.000100")
    run = await h.wait_state(run_id, "delivered")
    shown = "".join(h.slack.appended(run.effects["result"].ts))  # exactly as sent
    assert "reset your travel profile here" in shown  # the words are shown, as text
    assert "](" not in shown and "][" not in shown, shown[:160]


@pytest.mark.parametrize("failure", ["500-mid", "cut"])
async def test_a_model_failing_mid_stream_is_told_and_the_answer_comes_whole(streams: Harness, failure: str) -> None:
    h = streams
    h.openai.script.extend([failure])  # an error event after some chunks, or the connection dropped there
    run_id = await _ask(h, ts="5400.000100")
    run = await h.wait_state(run_id, "delivered")
    assert h.openai.streamed == 1 and len(h.openai.requests) == 2  # the retry was buffered
    assert "stream" not in h.openai.requests[-1]
    ts = h.slack.calls_to("chat.startStream")[0]
    assert ts.ok
    notice = [c.params for c in h.slack.calls_to("chat.update") if "interrupted" in c.params.get("text", "")]
    assert notice, "the reader is told the streamed answer was interrupted"
    result = run.effects["result"]
    assert result.ts != notice[0]["ts"]
    posted = [p for p in h.slack.posted(CHANNEL) if (p.get("metadata") or {}).get("event_payload", {})
              .get("effect") == "result"]
    assert len(posted) == 1 and "Ask your manager" in json.dumps(posted[0]["blocks"])
    assert "stream.stopped" in [e.kind for e in await _events(h, run_id)]


async def test_an_endpoint_without_stream_usage_streams_with_usage_estimated(streams: Harness) -> None:
    h = streams
    h.openai.refuse_stream_options = True
    run_id = await _ask(h, ts="5450.000100")
    run = await h.wait_state(run_id, "delivered")
    assert [("stream_options" in r) for r in h.openai.requests] == [True, False]  # asked once, then not again
    assert h.openai.streamed == 1 and h.slack.calls_to("chat.startStream")
    used = run.usage[-1]
    assert used.input_tokens > 40 and used.output_tokens >= len(ANSWER) // 8  # estimated: at least one per chunk
    assert used.output_tokens <= h.svc.spec.models[0].max_tokens


async def test_a_drip_past_the_timeout_ends_cleanly(streams: Harness) -> None:
    h = streams
    h.openai.script.extend(["drip"])
    h.openai.drip_seconds = 0.1  # the model's timeout is 5 s: the drip would never end
    run_id = await _ask(h, ts="5500.000100")
    run = await h.wait_state(run_id, "delivered", timeout=60)
    assert h.openai.streamed == 1
    assert any("interrupted" in c.params.get("text", "") for c in h.slack.calls_to("chat.update"))
    assert "timed out" in (run.routes[-1].reason if run.routes else "")
    assert run.effects["result"].done


async def test_slack_rate_limiting_appends_is_waited_out(streams: Harness) -> None:
    h = streams
    h.slack.fail_next("chat.appendStream", error="ratelimited", status=429, retry_after=1)
    run_id = await _ask(h, ts="5600.000100")
    run = await h.wait_state(run_id, "delivered")
    appends = h.slack.calls_to("chat.appendStream")
    assert not appends[0].ok and appends[1].ok  # retried after Retry-After
    assert appends[0].params["markdown_text"] == appends[1].params["markdown_text"]
    shown = _unescaped("".join(h.slack.appended(run.effects["result"].ts)))
    assert ANSWER.startswith(shown) and shown
    assert "stream.stopped" not in [e.kind for e in await _events(h, run_id)]


async def test_streaming_off_posts_the_answer_whole(
        slack: FakeSlack, openai_fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    openai_fake.reply = ANSWER
    spec = spec_dict()
    spec["roles"], spec["collections"] = KNOWLEDGE_ROLES, KNOWLEDGE_COLLECTIONS
    h = await Harness(slack=slack, openai=openai_fake, spec=spec, streaming=False).start()
    corpus = Corpus(spec=h.svc.spec, prefix=h.prefix)
    try:
        for name, root in build_corpus(tmp_path / "corpus").items():
            await corpus.ingest.run(collection=name, paths=[root], link_base="https://intranet.birchwood.example/hb")
        await picked_up(h, corpus)
        run_id = await _ask(h, ts="5700.000100")
        await h.wait_state(run_id, "delivered")
        assert openai_fake.streamed == 0 and slack.calls_to("chat.startStream") == []
    finally:
        await h.stop()
        await corpus.close()
        await h.cleanup_redis()


@pytest.mark.llama
async def test_the_embedded_model_streams_into_the_thread(
        slack: FakeSlack, openai_fake: FakeOpenAI, tmp_path: Path) -> None:
    """The llama.cpp model's deltas reach the thread as a stream. An answer no longer than the held-back window has
    nothing that may be shown before its end, so it is posted whole; the small model's length varies with the
    prompt (each carries a fresh fence code), so the question is asked again until an answer streams — and every
    short one must have been posted whole, never streamed."""
    local = {"name": "local", "kind": "local-gguf", "capabilities": ["draft", "reason", "summarize"],
             "tier": "standard", "clearance": "restricted", "price_in": 0, "price_out": 0, "max_tokens": 200,
             "timeout": 120}
    h, corpus = await _start(slack, openai_fake, tmp_path, models=[local])
    words = f"run ask {QUESTION} Explain every rule about meals, receipts, alcohol and tips, one by one."
    try:
        streamed = None
        for attempt in range(8):
            run_id = await _ask(h, ts=f"5800.{attempt:06d}", words=words)
            run = await h.wait_state(run_id, "delivered", timeout=300)
            assert run.routes[-1].chosen == "local" and openai_fake.requests == [] and run.draft is not None
            ts = run.effects["result"].ts
            starts = [c for c in slack.calls_to("chat.startStream") if c.params["thread_ts"] == f"5800.{attempt:06d}"]
            if len(run.draft.text) <= WINDOW:
                assert starts == [] and ts  # posted whole
                continue
            if not starts:  # no space to cut at before the window, or withheld by the checks before it began
                assert not slack.appended(ts)
                continue
            streamed = (run, ts, starts)
            break
        assert streamed is not None, "no answer long enough to stream in eight"
        run, ts, starts = streamed
        assert len(starts) == 1 and slack.messages[CHANNEL] and ts
        shown = _unescaped("".join(slack.appended(ts)))
        assert shown.strip() and run.draft is not None
        assert run.draft.text.startswith(shown.strip()[:20])  # what streamed is the start of the checked answer
        assert [c.params["ts"] for c in slack.calls_to("chat.stopStream")] == [ts]
    finally:
        await h.stop()
        await corpus.close()
        await h.cleanup_redis()


async def test_an_answer_streams_in_the_assistant_pane_thread(streams: Harness) -> None:
    from tests.pane_kit import PANE, open_thread, said

    h = streams
    await open_thread(h, REQUESTER, thread_ts="5900.000001")
    status, _ = await h.event(said(REQUESTER, f"run ask {QUESTION}", thread_ts="5900.000001"))
    assert status == 200

    async def delivered() -> Any:
        runs = await h.svc.store.since(h.svc.clock.now().replace(year=2000), limit=500)
        return next((r for r in runs if r.origin.thread_ts == "5900.000001" and r.state.value == "delivered"), None)

    run = await h.wait_for(delivered, what="the pane's answer delivered")
    assert run.origin.pane
    (start,) = h.slack.calls_to("chat.startStream")
    assert start.ok and start.params["channel"] == PANE and start.params["thread_ts"] == "5900.000001"
    assert "recipient_user_id" not in start.params  # a DM needs no recipient
    shown = _unescaped("".join(h.slack.appended(run.effects["result"].ts)))
    assert shown and ANSWER.startswith(shown)
