"""``maple ingest``: put documents into a knowledge collection, list them, remove them.

A progress bar on a terminal and a summary at the end (rich); each file that could not be used is listed with
its reason. Interrupted (Ctrl-C, a kill), nothing is published: the collection stays exactly as it was.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.core.sensitivity import assessor
from config.loader import load_spec
from config.settings import Settings

PARSER = "integrations.knowledge.chunking"  # imported once by the parsing processes' forkserver


def add_ingest_parser(sub: Any) -> None:
    p = sub.add_parser("ingest", help="ingest documents into a knowledge collection (or --list / --remove)")
    p.add_argument("paths", nargs="*", type=Path, help="files or directories (Markdown, text, HTML, PDF, .docx)")
    p.add_argument("--collection", "-c", required=True, help="the collection (a name under collections: in the config)")
    p.add_argument("--prune", action="store_true", help="remove documents whose files are gone from PATHS")
    p.add_argument("--link-base", help="documents link to this URL plus their path (e.g. https://wiki.example.com/hb)")
    p.add_argument("--list", action="store_true", help="list the collection's documents")
    p.add_argument("--remove", nargs="+", metavar="DOCUMENT", help="remove these documents (ids as --list shows)")


async def ingest_command(settings: Settings, args: argparse.Namespace) -> int:
    import redis.asyncio as aioredis

    from integrations.knowledge.store import CollectionStore

    console = Console(stderr=False)
    spec = load_spec(settings.config_path)
    r = aioredis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=30)
    store = CollectionStore(redis=r, prefix=settings.redis_prefix)
    try:
        if args.list:
            return await _list(console, store, args.collection)
        if not args.paths and not args.remove:
            console.print("maple ingest: give files or directories, --list or --remove")
            return 2
        return await _ingest(console, settings, spec, store, args)
    finally:
        await r.aclose()


async def _ingest(console: Console, settings: Settings, spec: Any, store: Any, args: argparse.Namespace) -> int:
    from integrations.compute import ProcessCompute
    from integrations.knowledge.embeddings import build_embedder, embedding_key
    from integrations.knowledge.ingest import Ingest

    embedder = build_embedder(spec.knowledge.embeddings, api_key=embedding_key(spec.knowledge.embeddings, settings.environ()),
                              default_base_url=settings.openai_base_url)
    compute = ProcessCompute(workers=2, memory_mb=2048, preload=[PARSER])
    ingest = Ingest(store=store, compute=compute, spec=spec, assess=assessor(spec.sensitivity), embedder=embedder)
    try:
        if args.remove:
            summary = await ingest.remove(collection=args.collection, documents=args.remove)
        else:
            summary = await _with_progress(console, ingest, args)
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("[yellow]interrupted: nothing was published; the collection is as it was[/]")
        raise
    finally:
        await compute.close()
    _summary(console, summary)
    return 0


async def _with_progress(console: Console, ingest: Any, args: argparse.Namespace) -> Any:
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[current]}")]
    with Progress(*columns, console=console, disable=not console.is_terminal, transient=False) as bar:
        task = bar.add_task(f"ingest {args.collection}", total=None, current="")

        def advance(outcome: Any) -> None:
            bar.update(task, advance=1, current=outcome.document[-60:])

        return await ingest.run(collection=args.collection, paths=list(args.paths), prune=args.prune,
                                link_base=args.link_base, progress=advance,
                                on_total=lambda n: bar.update(task, total=n))


def _summary(console: Console, summary: Any) -> None:
    table = Table(title=f"collection {summary.collection}", show_header=False, box=None)
    rows = [("files", len([o for o in summary.outcomes if o.status != "removed"])),
            ("added", summary.count("added")), ("replaced", summary.count("replaced")),
            ("skipped (unchanged)", summary.count("skipped")), ("removed", summary.count("removed")),
            ("failed", summary.count("failed")), ("chunks written", summary.new_chunks),
            ("documents in the collection", summary.documents), ("chunks in the collection", summary.chunks)]
    if summary.ignored:
        rows.append(("not a supported format (ignored)", summary.ignored))
    for name, value in rows:
        table.add_row(name, f"{value:,}")
    console.print(table)
    failed = sorted((o for o in summary.outcomes if o.status == "failed"), key=lambda o: o.document)
    for outcome in failed:
        console.print(f"[red]failed[/] {escape(outcome.document)}: {escape(outcome.reason or '')}", highlight=False)
    if summary.version:
        console.print(f"published version {summary.version} in {summary.seconds:.1f} s")
    else:
        console.print("nothing changed: the collection was not republished")


async def _list(console: Console, store: Any, collection: str) -> int:
    manifest = await store.manifest(collection)
    if manifest is None:
        console.print(f"collection {collection}: no documents")
        return 0
    table = Table(title=f"collection {collection} · version {manifest.version}")
    for column in ("document", "title", "format", "chunks", "ingested (UTC)"):
        table.add_column(column)
    for doc, entry in sorted(manifest.documents.items()):
        table.add_row(escape(doc), escape(entry.title), entry.format, str(entry.chunks),
                      f"{entry.ingested_at:%Y-%m-%d %H:%M}")
    console.print(table)
    console.print(f"{len(manifest.documents)} documents, {manifest.chunks} chunks")
    return 0


SAMPLE = Path(__file__).resolve().parent.parent / "config" / "sample-handbook"


async def ingest_sample(settings: Settings, spec: Any, *, collection: str = "handbook") -> str:
    """The local workspace's sample collection: ``config/sample-handbook`` into ``collection`` (when the config
    has it), incrementally — a restart changes nothing. Returns a line saying what is there."""
    import redis.asyncio as aioredis

    from integrations.compute import ProcessCompute
    from integrations.knowledge.ingest import Ingest
    from integrations.knowledge.store import CollectionStore

    if collection not in spec.collections or not SAMPLE.is_dir():
        return "no sample collection (the config has no 'handbook' collection)"
    r = aioredis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=30)
    compute = ProcessCompute(workers=1, memory_mb=2048, preload=[PARSER])
    try:
        ingest = Ingest(store=CollectionStore(redis=r, prefix=settings.redis_prefix), compute=compute, spec=spec,
                        assess=assessor(spec.sensitivity))
        summary = await ingest.run(collection=collection, paths=[SAMPLE], prune=True)
    finally:
        await compute.close()
        await r.aclose()
    return f"sample collection {collection!r}: {summary.documents} documents, {summary.chunks} chunks " \
           "(try: what is the meal allowance when travelling?)"
