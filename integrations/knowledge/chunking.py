"""One file → chunks that know their document's title and section, through llama-index's node parsers.

``parse_file`` is what the ingest runs in a worker process of the ``Compute`` port (time-limited, memory-capped):
a hostile file can make a parser slow or greedy, never the ingest. It never raises: a file that cannot be used
comes back with the reason.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter
from llama_index.core.schema import BaseNode, Document, MetadataMode, TransformComponent

from integrations.knowledge.readers import Unreadable, check_file, front_link, read

SECTION_SEP = " › "
_OWN_HEADING = re.compile(r"^(#{1,7})\s+(.+?)\s*$", re.MULTILINE)
_FRONT = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.DOTALL)


def parse_file(path: str, document: str, chunk_tokens: int, max_bytes: int, max_chunks: int) -> dict[str, Any]:
    """``{"title", "link", "chunks": [{"id", "text", "title", "section"}]}`` or ``{"error": reason}``."""
    file = Path(path)
    try:
        check_file(file, max_bytes=max_bytes)
        data = file.read_bytes()
        docs = read(file, data=data, max_bytes=max_bytes)
    except Unreadable as exc:
        return {"error": str(exc)}
    except OSError as exc:
        return {"error": f"cannot be read ({exc.strerror or type(exc).__name__})"}
    except Exception as exc:  # noqa: BLE001 - any parser failure is a reason in the summary, not a crash
        return {"error": f"cannot be read ({type(exc).__name__})"}
    link = front_link(docs[0].text) if file.suffix.lower() in (".md", ".markdown") else None
    for doc in docs:
        doc.set_content(_FRONT.sub("", doc.text, count=1))
    chunks = chunk(docs, document=document, chunk_tokens=chunk_tokens)
    if not chunks:
        return {"error": "no text in it"}
    if len(chunks) > max_chunks:
        return {"error": f"too long ({len(chunks):,} chunks; the limit is {max_chunks:,} per document)"}
    return {"title": docs[0].metadata.get("title", document), "link": link, "chunks": chunks}


class Sections(TransformComponent):
    """Names each heading-delimited node's section (``section`` metadata) before it is cut further, so every
    chunk of a long section keeps it."""

    def __call__(self, nodes: list[BaseNode], **kwargs: Any) -> list[BaseNode]:  # type: ignore[override]
        for node in nodes:
            node.metadata["section"] = section_of(node, str(node.metadata.get("title", "")))
            node.metadata.pop("header_path", None)
        return nodes


def pipeline(chunk_tokens: int) -> IngestionPipeline:
    """Headings first (a section knows its path), then sentences up to ``chunk_tokens`` tokens."""
    return IngestionPipeline(transformations=[
        MarkdownNodeParser(),
        Sections(),
        SentenceSplitter(chunk_size=chunk_tokens, chunk_overlap=max(0, chunk_tokens // 10)),
    ])


def chunk(docs: list[Document], *, document: str, chunk_tokens: int) -> list[dict[str, Any]]:
    for doc in docs:
        doc.excluded_embed_metadata_keys = ["page"]
        doc.excluded_llm_metadata_keys = ["page"]
    nodes = pipeline(chunk_tokens).run(documents=docs)
    out: list[dict[str, Any]] = []
    for i, node in enumerate(nodes):
        body = node.get_content(metadata_mode=MetadataMode.NONE).strip()
        if not body or all(_OWN_HEADING.match(line) or not line.strip() for line in body.splitlines()):
            continue  # nothing but a heading: its words are in the next chunks' section
        title = str(node.metadata.get("title", ""))
        digest = hashlib.sha256(f"{document}\x00{i}\x00{body}".encode()).hexdigest()[:20]
        out.append({"id": digest, "text": body, "title": title, "section": str(node.metadata.get("section", ""))})
    return out


def section_of(node: BaseNode, title: str) -> str:
    """Where in its document a chunk is: its heading path (without the document's title), or its page."""
    if node.metadata.get("page"):
        return f"page {node.metadata['page']}"
    path = [p for p in str(node.metadata.get("header_path", "")).split("/") if p]
    own = _OWN_HEADING.match(node.get_content(metadata_mode=MetadataMode.NONE))
    if own:
        path.append(own.group(2))
    if path and path[0] == title:
        path = path[1:]
    return SECTION_SEP.join(path)[:200]
