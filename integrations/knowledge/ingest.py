"""``maple ingest``: files and directories → a new version of a collection, published atomically.

Incremental by content hash (the file's bytes and the parse settings): unchanged files are skipped, changed ones
replaced, and with ``prune`` documents whose files are gone are removed. Parsing runs in the ``Compute`` port's
worker processes (time-limited, memory-capped), so a hostile file is reported and skipped — the ingest goes on.
Nothing is visible to any Maple process until the whole new version is written and published in one step.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from bot.core import knowledge, text
from bot.core.errors import ConfigError, MapleError, ToolFailed
from bot.core.levels import Sensitivity
from bot.core.ports import Compute
from bot.core.services import Assessor
from bot.core.spec import MapleSpec
from integrations.knowledge import bm25
from integrations.knowledge.chunking import parse_file
from integrations.knowledge.embeddings import Embedder
from integrations.knowledge.index import node_of
from integrations.knowledge.links import document_link
from integrations.knowledge.readers import SUFFIXES, Unreadable, check_file
from integrations.knowledge.store import CollectionStore, DocEntry, Manifest, new_version, pack, unpack

Status = Literal["added", "replaced", "skipped", "failed", "removed"]
PARSER_VERSION = 1


class NothingToIngest(MapleError):
    """The paths given name no file to ingest (a path that does not exist; with --prune, no supported file)."""


@dataclass
class Outcome:
    document: str
    status: Status
    chunks: int = 0
    reason: str | None = None


@dataclass
class Summary:
    collection: str
    version: str | None = None  # the version published (None: nothing changed, nothing published)
    outcomes: list[Outcome] = field(default_factory=list)
    documents: int = 0  # in the collection afterwards
    chunks: int = 0
    ignored: int = 0  # files in directories that are not a supported format
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def new_chunks(self) -> int:
        return sum(o.chunks for o in self.outcomes if o.status in ("added", "replaced"))


Progress = Callable[[Outcome], None]


@dataclass(kw_only=True)
class Ingest:
    store: CollectionStore
    compute: Compute
    spec: MapleSpec
    assess: Assessor
    embedder: Embedder | None = None
    concurrency: int = 2

    def fingerprint(self) -> str:
        model = self.embedder.model_id if self.embedder else "none"
        return f"parser={PARSER_VERSION};chunk_tokens={self.spec.knowledge.chunk_tokens};embed={model}"

    def _collection(self, name: str) -> None:
        if name not in self.spec.collections:
            known = ", ".join(sorted(self.spec.collections)) or "none"
            raise ConfigError(f"there is no collection {name!r} in the config (collections: {known})")

    async def run(self, *, collection: str, paths: list[Path], prune: bool = False, link_base: str | None = None,
                  progress: Progress | None = None, on_total: Callable[[int], None] | None = None) -> Summary:
        self._collection(collection)
        started = asyncio.get_running_loop().time()
        files, ignored, refused = walk(paths)
        if prune and not files:
            raise NothingToIngest(f"no Markdown, text, HTML, PDF or Word file under {', '.join(map(str, paths))}: "
                                  "--prune would remove every document of the collection, so nothing was done "
                                  "(to empty a collection, use --remove)")
        if on_total:
            on_total(len(files) + len(refused))
        summary = Summary(collection=collection, ignored=ignored)
        for document, why in refused.items():
            summary.outcomes.append(Outcome(document, "failed", reason=why))
            if progress:
                progress(summary.outcomes[-1])
        async with self._locked(collection) as token:
            before = await self.store.manifest(collection) or Manifest(version="", created_at=datetime.now(UTC))
            after = Manifest(version=new_version(), created_at=datetime.now(UTC), documents=dict(before.documents))
            limit = asyncio.Semaphore(max(1, self.concurrency))

            async def one(document: str, path: Path) -> None:
                async with limit:
                    outcome = await self._file(collection, document, path, before, after, link_base)
                summary.outcomes.append(outcome)
                if progress:
                    progress(outcome)

            await asyncio.gather(*(one(doc, path) for doc, path in files.items()))
            if prune:
                for gone in sorted(set(before.documents) - set(files)):
                    del after.documents[gone]
                    summary.outcomes.append(Outcome(gone, "removed"))
            if any(o.status in ("added", "replaced", "removed") for o in summary.outcomes):
                await publish_indexed(self.store, collection, after, token=token)
                summary.version = after.version
        final = after if summary.version else before
        summary.documents, summary.chunks = len(final.documents), final.chunks
        summary.seconds = asyncio.get_running_loop().time() - started
        return summary

    async def remove(self, *, collection: str, documents: list[str]) -> Summary:
        """A new version without ``documents`` (those it does not hold are reported as failed)."""
        self._collection(collection)
        summary = Summary(collection=collection)
        async with self._locked(collection) as token:
            before = await self.store.manifest(collection) or Manifest(version="", created_at=datetime.now(UTC))
            after = Manifest(version=new_version(), created_at=datetime.now(UTC), documents=dict(before.documents))
            for doc in documents:
                if after.documents.pop(doc, None) is None:
                    summary.outcomes.append(Outcome(doc, "failed", reason="not in the collection"))
                else:
                    summary.outcomes.append(Outcome(doc, "removed"))
            if summary.count("removed"):
                await publish_indexed(self.store, collection, after, token=token)
                summary.version = after.version
        final = after if summary.version else before
        summary.documents, summary.chunks = len(final.documents), final.chunks
        return summary

    @contextlib.asynccontextmanager
    async def _locked(self, collection: str) -> Any:
        token = await self.store.lock(collection)

        async def keep() -> None:  # a failed renewal (Redis blip) is tried again; a lost lock fences the publish
            while True:
                await asyncio.sleep(10)
                with contextlib.suppress(MapleError):
                    await self.store.renew(collection, token)

        keeper = asyncio.create_task(keep())
        try:
            yield token
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, MapleError):
                await keeper
            await asyncio.shield(self.store.unlock(collection, token))

    async def _file(self, collection: str, document: str, path: Path, before: Manifest, after: Manifest,
                    link_base: str | None) -> Outcome:
        limits = self.spec.knowledge
        try:
            size = check_file(path, max_bytes=limits.max_file_bytes)
            data = await asyncio.to_thread(path.read_bytes)
        except Unreadable as exc:
            return Outcome(document, "failed", reason=str(exc))
        except OSError as exc:
            return Outcome(document, "failed", reason=f"cannot be read ({exc.strerror or type(exc).__name__})")
        digest = hashlib.sha256(data + self.fingerprint().encode()).hexdigest()
        old = before.documents.get(document)
        if old is not None and old.sha256 == digest:
            return Outcome(document, "skipped", chunks=old.chunks)
        try:
            parsed = await self.compute.run(parse_file, str(path), document, limits.chunk_tokens,
                                            limits.max_file_bytes, limits.max_chunks_per_document,
                                            timeout=limits.parse_timeout)
        except ToolFailed as exc:
            timed_out = exc.msg == text.TOOL_TIMED_OUT
            why = f"took longer than {limits.parse_timeout:g} s to read (stopped)" if timed_out else \
                "the reader crashed or ran out of memory"
            return Outcome(document, "failed", reason=why)
        if "error" in parsed:
            return Outcome(document, "failed", reason=str(parsed["error"]))
        chunks: list[dict[str, Any]] = parsed["chunks"]
        assessed_with = knowledge.fingerprint(self.spec.sensitivity)
        for c in chunks:  # the detectors' verdict, kept with the chunk; re-assessed if the patterns change
            level, hits = self.assess(c["text"])
            c["assessed"] = {"level": level.label, "hits": hits, "with": assessed_with}
        payload: dict[str, Any] = {"chunks": chunks}
        if self.embedder is not None:
            payload.update(await self._vectors(collection, chunks))
        blob = digest[:32]
        await self.store.put_blob(collection, blob, pack(payload))
        link = document_link(parsed.get("link"), base=link_base, document=document)
        after.documents[document] = DocEntry(
            blob=blob, sha256=digest, title=str(parsed.get("title") or document)[:200], link=link,
            chunks=len(chunks), bytes=size, format=SUFFIXES[path.suffix.lower()], ingested_at=datetime.now(UTC))
        return Outcome(document, "replaced" if old is not None else "added", chunks=len(chunks))

    async def _vectors(self, collection: str, chunks: list[dict[str, Any]]) -> dict[str, Any]:
        """Embeddings of the chunks the embedding model is cleared for (their collection's label and what the
        detectors find); the others are found by BM25 alone."""
        assert self.embedder is not None
        label = self.spec.collections[collection].label
        cleared = [i for i, c in enumerate(chunks)
                   if max(label, Sensitivity[c["assessed"]["level"].upper()]) <= self.embedder.clearance]
        if not cleared:
            return {"vectors": None}
        texts = [embed_text(chunks[i]) for i in cleared]
        vectors = await asyncio.to_thread(self.embedder.embed_documents, texts)
        packed = {str(i): base64.b64encode(v).decode() for i, v in zip(cleared, vectors, strict=True)}
        return {"vectors": packed, "embed_model": self.embedder.model_id}


async def publish_indexed(store: CollectionStore, name: str, manifest: Manifest, *, token: str | None = None) -> None:
    """Build the version's BM25 index (every process loads it instead of building its own), then publish (fenced
    by the ingest lock's ``token`` when given)."""
    await attach_index(store, name, manifest)
    await store.publish(name, manifest, token=token)


async def attach_index(store: CollectionStore, name: str, manifest: Manifest) -> None:
    blobs = await store.blobs(name, [d.blob for d in manifest.documents.values()])
    if any(raw is None for raw in blobs.values()):
        raise MapleError(f"the {name} collection lost a document while it was being ingested; run the ingest again")

    def index() -> bytes | None:
        texts = [bm25.index_text(node_of(c, collection=name, document=doc, link=entry.link))
                 for doc, entry in manifest.ordered() for c in unpack(blobs[entry.blob] or b"")["chunks"]]
        return bm25.dump(bm25.build(texts)) if texts else None

    raw = await asyncio.to_thread(index)
    if raw is not None:
        manifest.index = f"index-{manifest.version}"
        await store.put_blob(name, manifest.index, raw)


def embed_text(chunk: dict[str, Any]) -> str:
    return "\n".join(x for x in (chunk.get("title"), chunk.get("section"), chunk["text"]) if x)


def walk(paths: list[Path]) -> tuple[dict[str, Path], int, dict[str, str]]:
    """Document id → file for every supported file under ``paths`` (a directory's files by their path inside
    it; a file by its name), how many files were not a supported format, and the files refused with why. Hidden
    files and folders are left out; symbolic links are not followed into directories, and a directory's link to
    a file outside it (a deployment's ``.env``, a key) is refused: a directory ingest reads only what it holds."""
    files: dict[str, Path] = {}
    refused: dict[str, str] = {}
    ignored = 0
    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing:  # a typo, or a share that is not mounted: never read as "every document is gone" (--prune)
        raise NothingToIngest(f"no such file or directory: {', '.join(missing)} — nothing was done (to remove "
                              "documents, use --remove)")
    for root in paths:
        if root.is_dir():
            inside = root.resolve()
            for path in sorted(root.rglob("*")):
                rel = path.relative_to(root)
                if any(part.startswith(".") for part in rel.parts) or path.is_dir():
                    continue
                if path.suffix.lower() not in SUFFIXES:
                    ignored += 1
                    continue
                if path.is_symlink() and not path.resolve().is_relative_to(inside):
                    refused[rel.as_posix()] = "a link to a file outside the directory (not read)"
                    continue
                _add(files, rel.as_posix(), path)
        else:
            _add(files, root.name, root)
    return files, ignored, refused


def _add(files: dict[str, Path], document: str, path: Path) -> None:
    if document in files and files[document] != path:
        raise ConfigError(f"two files would be the document {document!r}: {files[document]} and {path}")
    files[document] = path
