"""One collection's version in memory, searched through llama-index: ``BM25Retriever`` (llama-index-retrievers-bm25)
by default; with embeddings, a vector retriever too, fused by llama-index's ``QueryFusionRetriever`` (relative
score fusion). Both retrievers are wrapped so that only relevant passages come back (a BM25 score above
``min_score`` — by default any score: the passage shares a word with the question that is not a stop word —, a
cosine similarity above ``min_similarity``): an empty answer means "not covered".

The vector retriever is a llama-index ``BaseRetriever`` over one float32 matrix (a dot product per query):
llama-index's in-memory ``SimpleVectorStore`` keeps vectors as Python lists and scores them in a Python loop,
which costs ~90 MB and tens of milliseconds per 10,000 chunks.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import numpy as np
from llama_index.core.llms import MockLLM
from llama_index.core.node_parser.text.utils import split_by_sentence_tokenizer
from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.retrievers.bm25 import BM25Retriever

from bot.core.ports import Passage
from integrations.knowledge import bm25 as bm25_index
from integrations.knowledge.bm25 import STOPWORDS, LazyCorpus

# BM25Retriever warns whenever a collection has fewer chunks than the results asked for: not news.
logging.getLogger("llama_index.retrievers.bm25.base").setLevel(logging.ERROR)
HIDDEN = ["document", "collection", "link", "assessed"]  # kept on a node, never indexed



def node_of(chunk: dict[str, Any], *, collection: str, document: str, link: str | None) -> TextNode:
    return TextNode(id_=chunk["id"], text=chunk["text"],
                    metadata={"title": chunk.get("title", ""), "section": chunk.get("section", ""),
                              "document": document, "collection": collection, "link": link or "",
                              "assessed": chunk.get("assessed") or {}},
                    excluded_embed_metadata_keys=HIDDEN, excluded_llm_metadata_keys=HIDDEN)


class _Relevant(BaseRetriever):
    """Another retriever's results scoring above ``floor``."""

    def __init__(self, inner: BaseRetriever, floor: float) -> None:
        super().__init__()
        self._inner, self._floor = inner, floor

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [n for n in self._inner.retrieve(query_bundle) if (n.score or 0.0) > self._floor]


class MatrixRetriever(BaseRetriever):
    """Cosine similarity against normalised vectors (rows of ``matrix`` belong to ``nodes``)."""

    def __init__(self, nodes: list[TextNode], matrix: np.ndarray, top_k: int) -> None:
        super().__init__()
        self._nodes, self._matrix, self._top_k = nodes, matrix, top_k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        if query_bundle.embedding is None or not len(self._nodes):
            return []
        scores = self._matrix @ np.asarray(query_bundle.embedding, dtype=np.float32)
        k = min(self._top_k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        return [NodeWithScore(node=self._nodes[i], score=float(scores[i]))
                for i in sorted(best, key=lambda i: -scores[i])]


class CollectionIndex:
    """``bm25``: the version's index as the ingest built it (None: build it here from ``nodes``)."""

    def __init__(self, *, name: str, version: str, nodes: list[TextNode], vectors: dict[str, str],
                 top_k: int, min_score: float, min_similarity: float, bm25: Any = None) -> None:
        self.name, self.version, self.chunks = name, version, len(nodes)
        self._top_k = top_k
        self._bm25: BaseRetriever | None = None
        if nodes:
            if bm25 is None or int(bm25.scores.get("num_docs", -1)) != len(nodes):
                bm25 = bm25_index.build([bm25_index.index_text(n) for n in nodes])
            retriever = BM25Retriever(existing_bm25=bm25, similarity_top_k=top_k * 2, stemmer=bm25_index.stemmer(),
                                      token_pattern=bm25_index.TOKEN_PATTERN)
            retriever.corpus = LazyCorpus(nodes)
            self._bm25 = _Relevant(retriever, min_score)
        embedded = [n for n in nodes if n.node_id in vectors]
        self._vectors: BaseRetriever | None = None
        if embedded:
            matrix = np.vstack([np.frombuffer(base64.b64decode(vectors[n.node_id]), dtype=np.float32)
                                for n in embedded])
            self._vectors = _Relevant(MatrixRetriever(embedded, matrix, top_k * 2), min_similarity)
        self.hybrid = self._vectors is not None

    def retriever(self, *, embedded: bool) -> BaseRetriever | None:
        """BM25, or BM25 and vectors fused by relative score when the query has an embedding."""
        if self._bm25 is None or self._vectors is None or not embedded:
            return self._bm25
        return QueryFusionRetriever([self._bm25, self._vectors], llm=MockLLM(), num_queries=1,
                                    mode=FUSION_MODES.RELATIVE_SCORE, similarity_top_k=self._top_k, use_async=False)


def search(indexes: list[CollectionIndex], query: str, *, embedding: np.ndarray | None, top_k: int) -> list[Passage]:
    """The best ``top_k`` passages of ``indexes``, by score. (Reciprocal rank fusion across collections was tried:
    it put a weak match of one collection level with a strong match of another, and recalled no better.)"""
    bundle = QueryBundle(query_str=query, embedding=None if embedding is None else embedding.tolist())
    found = [n for index in indexes if (r := index.retriever(embedded=embedding is not None)) is not None
             for n in r.retrieve(bundle)]
    return [passage_of(n) for n in sorted(found, key=lambda n: -(n.score or 0.0))[:top_k]]


def passage_of(found: NodeWithScore) -> Passage:
    meta = found.node.metadata
    assessed = meta.get("assessed") if isinstance(meta.get("assessed"), dict) else {}
    return Passage(id=found.node.node_id, collection=str(meta.get("collection", "")),
                   document=str(meta.get("document", "")), title=str(meta.get("title", "")),
                   section=str(meta.get("section", "")), text=found.node.get_content(),
                   score=float(found.score or 0.0), link=str(meta.get("link") or "") or None,
                   assessed_level=assessed.get("level"), assessed_hits=dict(assessed.get("hits") or {}),
                   assessed_with=assessed.get("with"))


_SENTENCES = split_by_sentence_tokenizer()


def best_sentences(query: str, passages: list[Passage], limit: int) -> list[tuple[int, str]]:
    """Quotes for an extractive answer: the sentences of ``passages`` that best match ``query`` — BM25 over all
    their sentences together (so scores compare, whatever collection a passage came from), at most one per
    passage, none scoring under half the best. Hard-wrapped lines are joined first; headings are left out."""
    nodes = [TextNode(text=s, metadata={"i": i}, excluded_embed_metadata_keys=["i"])
             for i, passage in enumerate(passages) for s in _sentences(passage.text) if len(s.split()) >= 3]
    if not nodes:
        return []
    ranked = BM25Retriever(nodes=nodes, similarity_top_k=len(nodes), language=STOPWORDS).retrieve(query)  # type: ignore[arg-type]
    best = ranked[0].score or 0.0 if ranked else 0.0
    out: list[tuple[int, str]] = []
    for found in ranked:
        score, index = found.score or 0.0, int(found.node.metadata["i"])
        if score <= 0 or score < best / 2 or len(out) >= limit:
            break
        if index not in {i for i, _ in out}:
            out.append((index, found.node.get_content()))
    return out


def _sentences(text: str) -> list[str]:
    paragraphs = []
    for block in text.split("\n\n"):
        lines = [line.strip() for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        if lines:
            paragraphs.append(" ".join(lines))
    return [s.strip() for p in paragraphs for s in _SENTENCES(p) if s.strip()]
