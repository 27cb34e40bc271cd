"""Ingest against real Redis and real files: each format, incremental re-ingest, hostile files, atomic versions."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.spec import MapleSpec
from integrations.knowledge.retriever import LlamaIndexRetriever
from tests.knowledge_corpus import KNOWLEDGE_COLLECTIONS, KNOWLEDGE_ROLES, Corpus, build_corpus
from tests.unit.core_env import make_spec


def knowledge_spec(**knowledge: object) -> MapleSpec:
    return make_spec(roles=KNOWLEDGE_ROLES, collections=KNOWLEDGE_COLLECTIONS, knowledge=knowledge)


@pytest.fixture
async def corpus() -> AsyncIterator[Corpus]:
    c = Corpus(spec=knowledge_spec(max_file_bytes=2_000_000), prefix=f"test:{uuid.uuid4().hex[:10]}:")
    yield c
    await c.close()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return build_corpus(tmp_path / "corpus")


async def search(c: Corpus, query: str, collection: str = "handbook") -> list:
    retriever = LlamaIndexRetriever(store=c.store, spec=c.ingest.spec)
    return await retriever.search(query=query, collections=[collection], top_k=5, embed=False)


async def test_each_format_is_read_with_its_title_and_sections(corpus: Corpus, files: dict[str, Path]) -> None:
    summary = await corpus.ingest.run(collection="handbook", paths=[files["handbook"]])
    assert summary.count("failed") == 0 and summary.count("added") == 30 and summary.version
    manifest = await corpus.store.manifest("handbook")
    assert manifest is not None
    formats = {entry.format for entry in manifest.documents.values()}
    assert formats == {"markdown", "text", "html", "pdf", "docx"}
    assert manifest.documents["travel.md"].title == "Business Travel"  # front matter
    assert manifest.documents["travel.md"].link == "https://intranet.birchwood.example/policies/travel"
    assert manifest.documents["customer-data.html"].title == "Customer Data Handling"
    assert manifest.documents["brand-guidelines.docx"].title == "Brand and Writing Guidelines"
    assert manifest.documents["retirement-savings.pdf"].title == "Retirement Savings Plan"
    cases = {  # a question only one document answers, in each format, and the section its answer is in
        "daily meal allowance travelling": ("travel.md", "Meals and per diem"),
        "fire assembly point Simcoe Park": ("emergency.txt", ""),
        "SEV1 response time severity levels": ("incident-response.html", "Severity levels"),
        "RRSP vesting company contributions": ("retirement-savings.pdf", "page 2"),
        "Birchwood green typeface Source Sans": ("brand-guidelines.docx", "Typography and colours"),
    }
    for query, (document, section) in cases.items():
        top = (await search(corpus, query))[0]
        assert top.document == document, query
        assert top.section == section and top.title and top.collection == "handbook"


async def test_re_ingest_skips_unchanged_replaces_changed_and_prunes(corpus: Corpus, files: dict[str, Path]) -> None:
    root = files["handbook"]
    first = await corpus.ingest.run(collection="handbook", paths=[root])
    again = await corpus.ingest.run(collection="handbook", paths=[root])
    assert again.count("skipped") == 30 and again.version is None  # nothing changed: nothing published
    assert (await corpus.store.currents(["handbook"]))["handbook"] == first.version

    (root / "vacation.md").write_text("# Vacation\n\nEveryone gets 42 vacation days per year.\n")
    (root / "new-policy.md").write_text("# Bereavement\n\nUp to five paid bereavement days.\n")
    (root / "wellness.html").unlink()
    changed = await corpus.ingest.run(collection="handbook", paths=[root])
    status = {o.document: o.status for o in changed.outcomes}
    assert status["vacation.md"] == "replaced" and status["new-policy.md"] == "added"
    assert "wellness.html" not in status and changed.count("skipped") == 28
    manifest = await corpus.store.manifest("handbook")
    assert manifest is not None and "wellness.html" in manifest.documents  # kept without --prune
    assert "42 vacation days" in (await search(corpus, "how many vacation days"))[0].text

    pruned = await corpus.ingest.run(collection="handbook", paths=[root], prune=True)
    assert [o.document for o in pruned.outcomes if o.status == "removed"] == ["wellness.html"]
    manifest = await corpus.store.manifest("handbook")
    assert manifest is not None and "wellness.html" not in manifest.documents and len(manifest.documents) == 30
    assert not any(p.document == "wellness.html" for p in await search(corpus, "fitness subsidy yoga gym"))
    blobs = [k async for k in corpus.redis.scan_iter(match=corpus.prefix + "kb:handbook:blob:*")]
    # the current and the previous version are kept: 31 documents' blobs between them (the previous one still has
    # wellness.html) and their two indexes; the first vacation.md, only the dropped first version's, is gone
    assert len(blobs) == 33


async def test_list_and_remove(corpus: Corpus, files: dict[str, Path]) -> None:
    await corpus.ingest.run(collection="handbook", paths=[files["handbook"]])
    removed = await corpus.ingest.remove(collection="handbook", documents=["travel.md", "nope.md"])
    assert {o.document: o.status for o in removed.outcomes} == {"travel.md": "removed", "nope.md": "failed"}
    assert not any(p.document == "travel.md" for p in await search(corpus, "meal allowance travelling"))


def _hostile(root: Path) -> dict[str, str]:
    """Bad files next to good ones, and the reason each must be reported with."""
    root.mkdir(parents=True)
    (root / "good.md").write_text("# Good\n\nThe parking garage opens at six.\n")
    (root / "corrupt.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(3000))
    (root / "fake.pdf").write_bytes(b"this is not a pdf at all")
    (root / "corrupt.docx").write_bytes(b"PK\x03\x04" + os.urandom(2000))
    (root / "binary.txt").write_bytes(b"\x7fELF\x02\x01\x01\x00" + os.urandom(4000))
    (root / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (root / "empty.md").write_text("")
    (root / "blank.md").write_text("   \n\n\t\n")
    (root / "huge.txt").write_text("word " * 500_000)  # 2.5 MB > the test limit of 2 MB
    (root / "missing.md").symlink_to(root / "does-not-exist.md")
    os.mkfifo(root / "pipe.md")  # reading it would block forever
    with zipfile.ZipFile(root / "bomb.docx", "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", "<w:document>" + " " * 60_000_000 + "</w:document>")
    return {"corrupt.pdf": "cannot be read as PDF", "fake.pdf": "not a PDF", "corrupt.docx": "not a Word document",
            "binary.txt": "binary", "latin1.txt": "not UTF-8", "empty.md": "empty file", "blank.md": "no text",
            "huge.txt": "too large", "missing.md": "cannot be read", "pipe.md": "not a regular file",
            "bomb.docx": "unpacks to more than"}


async def test_hostile_files_are_reported_and_skipped(corpus: Corpus, tmp_path: Path) -> None:
    expected = _hostile(tmp_path / "hostile")
    summary = await corpus.ingest.run(collection="handbook", paths=[tmp_path / "hostile"])
    failed = {o.document: o.reason or "" for o in summary.outcomes if o.status == "failed"}
    assert set(failed) == set(expected)
    for document, reason in expected.items():
        assert reason in failed[document], (document, failed[document])
    assert summary.count("added") == 1 and summary.documents == 1
    assert (await search(corpus, "when does the parking garage open"))[0].document == "good.md"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
async def test_a_file_without_read_permission_is_reported(corpus: Corpus, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    secret = tmp_path / "d" / "secret.md"
    secret.write_text("# Secret\n\ntext\n")
    secret.chmod(0)
    summary = await corpus.ingest.run(collection="handbook", paths=[tmp_path / "d"])
    assert summary.outcomes[0].status == "failed" and "Permission denied" in (summary.outcomes[0].reason or "")


async def test_a_changed_file_that_no_longer_parses_keeps_the_version_before(corpus: Corpus, tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (root / "a.md").write_text("# A\n\nThe canteen serves soup on Mondays.\n")
    await corpus.ingest.run(collection="handbook", paths=[root])
    (root / "a.md").write_bytes(b"\x00\x01\x02 binary now")
    summary = await corpus.ingest.run(collection="handbook", paths=[root])
    assert summary.outcomes[0].status == "failed" and summary.version is None
    assert "soup on Mondays" in (await search(corpus, "canteen soup"))[0].text


async def test_an_unknown_collection_is_refused(corpus: Corpus, tmp_path: Path) -> None:
    from bot.core.errors import ConfigError

    with pytest.raises(ConfigError, match="no collection 'nope'"):
        await corpus.ingest.run(collection="nope", paths=[tmp_path])


def test_corpus_fixture_is_what_the_benchmark_uses(tmp_path: Path) -> None:
    built = build_corpus(tmp_path)
    assert len(list(built["handbook"].iterdir())) == 30 and len(list(built["hr"].iterdir())) == 6
    shutil.rmtree(tmp_path)


async def test_an_ingest_whose_lock_lapsed_publishes_nothing(corpus: Corpus, tmp_path: Path) -> None:
    """A writer stalled past its lock (a renewal lost to a Redis blip, a suspended host) while another ingest took
    the lock: its publish is refused in the same script that would have made it current, so it cannot overwrite
    the other ingest's version with one built on what it read before."""
    from integrations.knowledge.store import IngestBusy

    root = tmp_path / "d"
    root.mkdir()
    (root / "a.md").write_text("# A\n\nThe canteen serves soup on Mondays.\n")
    first = await corpus.ingest.run(collection="handbook", paths=[root])
    (root / "b.md").write_text("# B\n\nThe gym opens at six.\n")
    lock = corpus.prefix + "kb:handbook:lock"

    def taken_over(_outcome: object) -> None:  # what the other ingest did once this one's lock had lapsed
        asyncio.get_running_loop().create_task(corpus.redis.set(lock, '{"host": "elsewhere", "pid": 1, "id": "x"}'))

    with pytest.raises(IngestBusy, match="lost its lock"):
        await corpus.ingest.run(collection="handbook", paths=[root], progress=taken_over)
    assert (await corpus.store.currents(["handbook"]))["handbook"] == first.version
    assert await corpus.redis.get(lock) == b'{"host": "elsewhere", "pid": 1, "id": "x"}'  # not released by us


async def test_a_link_to_a_file_outside_the_directory_is_refused(corpus: Corpus, tmp_path: Path) -> None:
    """A directory's symbolic link to a file elsewhere (a deployment's .env, a key) is reported, not ingested:
    a directory ingest reads only what is inside it. A link between files of the directory is read."""
    outside = tmp_path / "deploy"
    outside.mkdir()
    (outside / "env.md").write_text("# Settings\n\nSLACK_BOT_TOKEN=xoxb-leaked-0123456789 for the parking garage\n")
    root = tmp_path / "docs"
    root.mkdir()
    (root / "good.md").write_text("# Good\n\nThe parking garage opens at six.\n")
    (root / "notes.md").symlink_to(outside / "env.md")
    (root / "same.md").symlink_to(root / "good.md")
    summary = await corpus.ingest.run(collection="handbook", paths=[root])
    failed = {o.document: o.reason or "" for o in summary.outcomes if o.status == "failed"}
    assert list(failed) == ["notes.md"] and "outside" in failed["notes.md"]
    assert summary.count("added") == 2 and summary.documents == 2
    assert all("xoxb" not in p.text for p in await search(corpus, "parking garage SLACK_BOT_TOKEN"))


async def test_a_collection_gone_from_redis_is_no_longer_answered_from_memory(corpus: Corpus, tmp_path: Path) -> None:
    """Redis restarted empty (or the collection's keys were removed): a process that held the collection stops
    answering from its copy at its next refresh, as a process started now would."""
    root = tmp_path / "d"
    root.mkdir()
    (root / "a.md").write_text("# A\n\nThe canteen serves soup on Mondays.\n")
    await corpus.ingest.run(collection="handbook", paths=[root])
    retriever = LlamaIndexRetriever(store=corpus.store, spec=corpus.ingest.spec)
    await retriever.refresh(["handbook"])
    assert await retriever.search(query="canteen soup", collections=["handbook"], top_k=5, embed=False)
    keys = [k async for k in corpus.redis.scan_iter(match=corpus.prefix + "kb:handbook:*")]
    await corpus.redis.delete(*keys)
    assert await retriever.refresh(["handbook"]) == ["handbook"]
    assert retriever.version("handbook") is None
    assert await retriever.search(query="canteen soup", collections=["handbook"], top_k=5, embed=False) == []
