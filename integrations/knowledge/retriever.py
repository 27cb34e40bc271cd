"""The ``Retriever`` port on llama-index, fed from Redis: every Maple process holds each collection's current
version in memory and picks up a new one within ``knowledge.refresh_seconds`` plus its load time — no restart.

A background task polls the collections' ``current`` pointers (one MGET); a changed one is loaded — only the
blobs this process does not hold yet are fetched — and its index is built on a thread, then swapped in at once,
so searches never see a half-built index. Searches, query embeddings and sentence ranking run on a thread too:
the event loop that serves Slack never waits on them. A version dropped while it was being loaded (two ingests
in quick succession) is skipped; the next poll loads the newer one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import zipfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.core.errors import MapleError, StoreUnavailable
from bot.core.ports import CollectionInfo, Passage, Retriever
from bot.core.spec import MapleSpec
from integrations.knowledge.embeddings import Embedder
from integrations.knowledge.store import CollectionStore, Manifest, unpack
from integrations.tasks import stop_task

if TYPE_CHECKING:
    from integrations.knowledge.index import CollectionIndex

log = logging.getLogger("maple.knowledge")
EMBED_THREADS = 2  # questions embedded at once; a hung endpoint holds at most these, never the default executor


class LlamaIndexRetriever(Retriever):
    def __init__(self, *, store: CollectionStore, spec: MapleSpec, embedder: Embedder | None = None) -> None:
        self._store, self._spec, self._embedder = store, spec, embedder
        self._names = sorted(spec.collections)
        self._indexes: dict[str, CollectionIndex] = {}
        self._blobs: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self._names}
        self._loading: dict[str, asyncio.Lock] = {name: asyncio.Lock() for name in self._names}
        self._task: asyncio.Task[None] | None = None
        self.picked_up: dict[str, tuple[str, float]] = {}  # name → (version, monotonic time it became searchable)
        self._embedding = 0  # questions being embedded (or held by an endpoint that hangs)

    async def open(self) -> None:
        if self._task is None and self._names:
            self._task = asyncio.create_task(self._watch())

    async def close(self) -> None:
        await stop_task(self._task)
        self._task = None

    def version(self, name: str) -> str | None:
        index = self._indexes.get(name)
        return index.version if index else None

    async def _watch(self) -> None:
        while True:
            try:
                await self.refresh()
            except MapleError as exc:
                log.warning("knowledge refresh failed", extra={"error": type(exc).__name__})
            except Exception:  # noqa: BLE001 - a bad version must not stop the watcher; it is logged
                log.exception("knowledge refresh failed")
            await asyncio.sleep(self._spec.knowledge.refresh_seconds)

    async def refresh(self, names: Sequence[str] | None = None) -> list[str]:
        """Load every collection whose published version is not the one held; return those now changed."""
        currents = await self._store.currents(list(names or self._names))
        changed = []
        for name, version in currents.items():
            if version is None:
                if name in self._indexes and await self._drop(name):
                    changed.append(name)
            elif version != self.version(name) and await self._load(name, version):
                changed.append(name)
        return changed

    async def _drop(self, name: str) -> bool:
        """Redis holds no version of ``name`` any more (its keys were removed, or Redis restarted empty): stop
        answering from the copy held here, so that every process says what Redis says."""
        async with self._loading[name]:
            if self._indexes.pop(name, None) is None:
                return False
            self._blobs[name] = {}
            self.picked_up.pop(name, None)
            log.warning("knowledge collection no longer in Redis: not searched until it is ingested again",
                        extra={"collection": name})
            return True

    async def _load(self, name: str, version: str) -> bool:
        async with self._loading[name]:
            if self.version(name) == version:
                return False
            manifest = await self._store.manifest(name, version)
            if manifest is None:
                return False  # dropped meanwhile: a newer one is published
            held = self._blobs[name]
            wanted = {d.blob for d in manifest.documents.values()}
            fetched = await self._store.blobs(name, [b for b in wanted if b not in held])
            if any(raw is None for raw in fetched.values()):
                return False  # collected meanwhile: a newer version is published
            decoded = await asyncio.to_thread(lambda: {b: unpack(raw) for b, raw in fetched.items() if raw})
            blobs = {b: held[b] for b in wanted if b in held} | decoded
            stored = (await self._store.blobs(name, [manifest.index]))[manifest.index] if manifest.index else None
            index = await asyncio.to_thread(self._build, name, manifest, blobs, stored)
            self._indexes[name], self._blobs[name] = index, blobs
            self.picked_up[name] = (version, time.monotonic())
            log.info("knowledge collection loaded", extra={"collection": name, "version": version,
                                                           "chunks": index.chunks})
            return True

    def _build(self, name: str, manifest: Manifest, blobs: dict[str, dict[str, Any]],
               stored: bytes | None) -> CollectionIndex:
        from integrations.knowledge import bm25  # llama-index is imported when a collection is first loaded,
        from integrations.knowledge.index import CollectionIndex, node_of  # not when Maple starts

        nodes, vectors = [], {}
        embed_id = self._embedder.model_id if self._embedder else None
        for document, entry in manifest.ordered():
            payload = blobs[entry.blob]
            for chunk in payload["chunks"]:
                nodes.append(node_of(chunk, collection=name, document=document, link=entry.link))
            packed = payload.get("vectors")
            if packed and payload.get("embed_model") == embed_id:
                vectors.update({payload["chunks"][int(i)]["id"]: v for i, v in packed.items()})
        k = self._spec.knowledge
        prebuilt = None
        if stored is not None:
            try:
                prebuilt = bm25.load(stored)
            except (ValueError, OSError, KeyError, zipfile.BadZipFile) as exc:  # built here instead
                log.warning("a stored BM25 index could not be read", extra={"collection": name,
                                                                            "error": type(exc).__name__})
        return CollectionIndex(name=name, version=manifest.version, nodes=nodes, vectors=vectors, top_k=k.top_k,
                               min_score=k.min_score, min_similarity=k.min_similarity, bm25=prebuilt)

    async def _ready(self, names: Sequence[str]) -> list[CollectionIndex]:
        """The indexes of ``names``; a collection published but not loaded yet here is loaded first (a store that
        cannot be reached is StoreUnavailable: the run is retried, never answered "not covered")."""
        missing = [n for n in names if n in self._loading and n not in self._indexes]
        if missing:
            for name, version in (await self._store.currents(missing)).items():
                if version is not None:
                    await self._load(name, version)
                    if name not in self._indexes:
                        raise StoreUnavailable(f"the {name} collection is being replaced; try again")
        return [self._indexes[n] for n in names if n in self._indexes]

    async def search(self, *, query: str, collections: Sequence[str], top_k: int, embed: bool) -> list[Passage]:
        indexes = await self._ready(collections)
        if not indexes:
            return []
        vector: np.ndarray | None = None
        if embed and self._embedder is not None and any(i.hybrid for i in indexes):
            vector = await self._query_vector(self._embedder, query)
        from integrations.knowledge.index import search

        return await asyncio.to_thread(search, indexes, query, embedding=vector, top_k=top_k)

    async def _query_vector(self, embedder: Embedder, query: str) -> np.ndarray | None:
        """The question's embedding, or None — the search then uses BM25 alone — when the embedding model fails,
        answers later than its ``query_timeout`` (an endpoint that hangs or drips a byte at a time keeps its thread
        until it lets go: at most ``EMBED_THREADS`` such threads, daemons, so they never hold up a shutdown) or is
        still held by earlier questions."""
        if self._embedding >= EMBED_THREADS:
            log.warning("query embedding skipped: the embedding model is still busy with earlier questions; "
                        "searching by BM25 alone", extra={"model": embedder.model_id})
            return None
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[np.ndarray] = loop.create_future()

        def settle(vector: np.ndarray | None, error: BaseException | None) -> None:
            self._embedding -= 1
            if answer.done():
                return
            if vector is None:
                answer.set_exception(error or ValueError("no embedding"))
            else:
                answer.set_result(vector)

        def embed() -> None:
            try:
                vector, error = embedder.embed_query(query), None
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting search
                vector, error = None, exc
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
                loop.call_soon_threadsafe(settle, vector, error)

        self._embedding += 1
        threading.Thread(target=embed, name="maple-embed", daemon=True).start()
        try:
            return await asyncio.wait_for(answer, embedder.query_timeout)
        except TimeoutError:
            why = f"no answer in {embedder.query_timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - whatever the endpoint does, the question is still searched
            why = type(exc).__name__
        log.warning("query embedding failed: searching by BM25 alone", extra={"model": embedder.model_id,
                                                                             "error": why})
        return None

    async def quotes(self, *, query: str, passages: Sequence[Passage], limit: int) -> list[tuple[int, str]]:
        from integrations.knowledge.index import best_sentences

        return await asyncio.to_thread(best_sentences, query, list(passages), limit)

    async def describe(self, collections: Sequence[str]) -> list[CollectionInfo]:
        out = []
        for name in collections:
            manifest = await self._store.manifest(name)
            out.append(CollectionInfo(name=name, documents=len(manifest.documents) if manifest else 0,
                                      chunks=manifest.chunks if manifest else 0,
                                      ingested_at=manifest.created_at if manifest else None))
        return out
