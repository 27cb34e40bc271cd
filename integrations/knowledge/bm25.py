"""The BM25 index of a collection version, built once by the ingest and shared through Redis.

Building an index (stemming every chunk, scoring every term) costs about a second per 10,000 chunks; every Maple
process loading one instead takes a fraction of that, so a new version is searchable everywhere within seconds.
The index is bm25s' own files (``BM25.save`` / ``BM25.load``: numpy arrays without pickles and JSON), zipped into
one blob; the chunks themselves are not in it (the retriever keeps them once, see ``LazyCorpus``).

Tokenisation is exactly llama-index's ``BM25Retriever``'s (its default token pattern, the English Snowball
stemmer), with NLTK's English stop words (shipped inside llama-index) — the same for documents and queries.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bm25s
import Stemmer
from llama_index.core.schema import MetadataMode, TextNode
from llama_index.core.vector_stores.utils import node_to_metadata_dict

MAX_INDEX_BYTES = 1_000_000_000
_STEMMER = Stemmer.Stemmer("english")
TOKEN_PATTERN = r"(?u)\b\w\w+\b"


def stopwords() -> list[str]:
    """English stop words (NLTK's list, shipped inside llama-index): bm25s' own list keeps "what", "how", "who",
    so every question would match every document a little."""
    from llama_index.core.utils import globals_helper

    return sorted(globals_helper.stopwords)


STOPWORDS = stopwords()


def stemmer() -> Any:
    return _STEMMER


def build(texts: Sequence[str]) -> bm25s.BM25:
    tokens = bm25s.tokenize(list(texts), stopwords=STOPWORDS, stemmer=_STEMMER, token_pattern=TOKEN_PATTERN,
                            show_progress=False)
    index = bm25s.BM25()
    index.index(tokens, show_progress=False)
    return index


def index_text(node: TextNode) -> str:
    """What BM25 indexes for a chunk: its title and section, then its text (llama-index's EMBED mode)."""
    return node.get_content(metadata_mode=MetadataMode.EMBED)


def dump(index: bm25s.BM25) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        index.save(tmp)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            for path in sorted(Path(tmp).iterdir()):
                z.write(path, path.name)
        return out.getvalue()


def load(raw: bytes) -> bm25s.BM25:
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(io.BytesIO(raw)) as z:
        if sum(i.file_size for i in z.infolist()) > MAX_INDEX_BYTES:
            raise ValueError("the stored index is larger than Maple ever writes")
        for info in z.infolist():
            name = Path(info.filename).name  # never a path out of the directory
            (Path(tmp) / name).write_bytes(z.read(info))
        return bm25s.BM25.load(tmp, load_corpus=False, allow_pickle=False)


class LazyCorpus(Sequence[dict[str, Any]]):
    """What ``BM25Retriever`` looks its results up in (``corpus[i]``), made on demand from the chunks it already
    holds: llama-index would otherwise keep a second, serialised copy of every chunk."""

    def __init__(self, nodes: Sequence[TextNode]) -> None:
        self._nodes = nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        node = self._nodes[i]
        return node_to_metadata_dict(node) | {"node_id": node.node_id}
