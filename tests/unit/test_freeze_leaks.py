"""While operators have frozen external models, no text leaves the deployment — a knowledge question's embedding
and a model call's retry included — over in-memory fakes of the ports."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from bot.core import knowledge
from bot.core.errors import ModelUnavailable, NoEligibleModel
from bot.core.levels import Sensitivity
from bot.core.models import ChatMessage, Completion
from bot.core.ports import CollectionInfo, ControlState, Passage, Retriever
from bot.core.router import Router
from bot.core.spec import StepSpec
from tests.fakes.memory import MemoryControls, ScriptedModel
from tests.unit.core_env import make_services, make_spec
from tests.unit.test_knowledge_core import ROLES, run_for


class RecordingRetriever(Retriever):
    def __init__(self) -> None:
        self.embeds: list[bool] = []

    async def search(self, *, query: str, collections: Sequence[str], top_k: int, embed: bool) -> list[Passage]:
        self.embeds.append(embed)
        return []

    async def quotes(self, *, query: str, passages: Sequence[Passage], limit: int) -> list[tuple[int, str]]:
        return []

    async def describe(self, collections: Sequence[str]) -> list[CollectionInfo]:
        return []


@pytest.mark.parametrize(("kind", "sent_while_frozen"), [("openai-compatible", False), ("minilm", True)])
async def test_a_question_is_not_embedded_by_an_external_endpoint_while_frozen(kind: str,
                                                                               sent_while_frozen: bool) -> None:
    embeddings: dict[str, Any] = {"kind": kind}
    if kind == "openai-compatible":
        embeddings.update(base_url="https://embeddings.example.com/v1", api_key_env="EMBED_KEY")
    spec = make_spec(roles=ROLES, collections={"handbook": ["user"]}, knowledge={"embeddings": embeddings})
    controls = MemoryControls()
    base = make_services(spec=spec)
    retriever = RecordingRetriever()
    svc = dataclasses.replace(base, knowledge=retriever, controls=controls,
                              router=dataclasses.replace(base.router, controls=controls))
    step = StepSpec(kind="retrieve", collection="handbook")
    run = run_for("U0ANYONE")
    await knowledge.retrieve(svc, run=run, step=step, level=Sensitivity.INTERNAL, audience=run.audience)
    controls.state = ControlState(freeze_external=True)
    await knowledge.retrieve(svc, run=run, step=step, level=Sensitivity.INTERNAL, audience=run.audience)
    assert retriever.embeds == [True, sent_while_frozen]


class FreezesOnFailure(ScriptedModel):
    """An external model whose first call fails while, meanwhile, operators freeze external models."""

    def __init__(self, controls: MemoryControls) -> None:
        super().__init__("openai", ModelUnavailable("500"))
        self.controls = controls

    async def complete(self, *, messages: Sequence[ChatMessage], max_tokens: int, timeout: float,
                       tools: Sequence[Mapping[str, Any]] | None = None) -> Completion:
        try:
            return await super().complete(messages=messages, max_tokens=max_tokens, timeout=timeout, tools=tools)
        finally:
            self.controls.state = ControlState(freeze_external=True)


async def test_a_retry_after_the_freeze_is_not_sent_out() -> None:
    controls = MemoryControls()
    base = make_services(models={"openai": ScriptedModel("openai")})
    model = FreezesOnFailure(controls)
    router = Router(portfolio=base.router.portfolio, clients={"openai": model}, backoff=0.0, controls=controls)
    plan = router.plan(step="draft", capability="draft", tier="standard", sensitivity=Sensitivity.INTERNAL)
    with pytest.raises(NoEligibleModel):
        await router.generate(plan, messages=[ChatMessage(role="user", content="hello")])
    assert len(model.seen) == 1  # the second attempt would have left the deployment after the freeze
