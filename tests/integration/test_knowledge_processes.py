"""Across processes: an ingest killed midway (kill -9, Ctrl-C) leaves the collection as it was, and a running
process picks up a new ingest without a restart."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from config.settings import DEFAULT_CONFIG
from tests.knowledge_corpus import KNOWLEDGE_COLLECTIONS, KNOWLEDGE_ROLES, Corpus, build_corpus
from tests.unit.core_env import make_spec

ROOT = Path(__file__).resolve().parents[2]
MAPLE = ROOT / ".venv" / "bin" / "maple"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data.update(roles=KNOWLEDGE_ROLES, collections=KNOWLEDGE_COLLECTIONS)
    path = tmp_path / "maple.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
async def corpus() -> AsyncIterator[Corpus]:
    c = Corpus(spec=make_spec(roles=KNOWLEDGE_ROLES, collections=KNOWLEDGE_COLLECTIONS),
               prefix=f"test:{uuid.uuid4().hex[:10]}:")
    yield c
    await c.close()


def _env(prefix: str, config: Path) -> dict[str, str]:
    return {**os.environ, "MAPLE_REDIS_PREFIX": prefix, "MAPLE_CONFIG": str(config), "PYTHONPATH": str(ROOT)}


def _many(root: Path, count: int) -> None:
    root.mkdir(parents=True)
    for i in range(count):
        body = "\n\n".join(f"Paragraph {j} of memo {i} about the quarterly kazoo{i} inventory." for j in range(12))
        (root / f"memo-{i:04d}.md").write_text(f"# Memo {i}\n\n{body}\n")


async def _blob_count(c: Corpus) -> int:
    return len([k async for k in c.redis.scan_iter(match=c.prefix + "kb:handbook:blob:*", count=1000)])


async def _wait(check, *, what: str, timeout: float = 180.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
async def test_an_interrupted_ingest_leaves_the_collection_as_it_was(
    corpus: Corpus, config: Path, tmp_path: Path, how: signal.Signals
) -> None:
    files = build_corpus(tmp_path / "corpus")
    before = await corpus.ingest.run(collection="handbook", paths=[files["handbook"]])
    manifest_before = await corpus.store.manifest("handbook")
    blobs_before = await _blob_count(corpus)
    _many(files["handbook"] / "memos", 400)
    proc = subprocess.Popen([str(MAPLE), "ingest", str(files["handbook"]), "-c", "handbook"],
                            env=_env(corpus.prefix, config), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        async def writing() -> bool:
            assert proc.poll() is None, "the ingest finished before it could be interrupted"
            return await _blob_count(corpus) >= blobs_before + 5

        await _wait(writing, what="the ingest to be writing")
        proc.send_signal(how)
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    if how == signal.SIGINT:
        assert b"nothing was published" in out
        assert await corpus.redis.get(corpus.prefix + "kb:handbook:lock") is None  # released on the way out
    assert (await corpus.store.currents(["handbook"]))["handbook"] == before.version
    assert await corpus.store.manifest("handbook") == manifest_before
    assert await _blob_count(corpus) > blobs_before  # what it wrote is there, but nothing names it

    again = await corpus.ingest.run(collection="handbook", paths=[files["handbook"]])  # the dead writer's lock
    assert again.version and again.count("added") == 400 and again.count("skipped") == 30  # is taken over
    assert await _blob_count(corpus) == 432  # and its garbage collected (430 documents, two versions' indexes)


async def test_a_running_process_picks_up_a_new_ingest(corpus: Corpus, config: Path, tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "parking.md").write_text("# Parking\n\nThe garage closes at nine.\n")
    first = await corpus.ingest.run(collection="handbook", paths=[root])
    reader = subprocess.Popen([sys.executable, str(Path(__file__).with_name("knowledge_reader.py")), str(config),
                               corpus.prefix, "zanzibar garage"], env=_env(corpus.prefix, config),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = _lines(reader)
        assert (await asyncio.to_thread(next, lines)) == {"ready": True}
        seen = await asyncio.to_thread(next, lines)
        assert seen["version"] == first.version and "closes at nine" in seen["top"]

        (root / "parking.md").write_text("# Parking\n\nThe zanzibar garage now closes at midnight.\n")
        second = await corpus.ingest.run(collection="handbook", paths=[root])
        seen = await asyncio.wait_for(asyncio.to_thread(next, lines), 30)
        assert seen["version"] == second.version and "closes at midnight" in seen["top"]
        assert reader.poll() is None  # the same process, never restarted
    finally:
        reader.kill()
        reader.wait()


def _lines(proc: subprocess.Popen):  # type: ignore[no-untyped-def,type-arg]
    assert proc.stdout is not None
    for line in proc.stdout:
        yield json.loads(line)


async def test_the_ingest_command_summarises_lists_and_removes(corpus: Corpus, config: Path, tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "parking.md").write_text("# Parking\n\nThe garage closes at nine.\n")
    (root / "broken.pdf").write_bytes(b"not a pdf")
    (root / "photo.jpg").write_bytes(b"\xff\xd8")
    env = _env(corpus.prefix, config)

    def maple(*args: str) -> str:
        done = subprocess.run([str(MAPLE), "ingest", *args, "-c", "handbook"], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return " ".join(done.stdout.split())

    out = maple(str(root))
    assert "added 1" in out and "failed 1" in out and "not a supported format (ignored) 1" in out
    assert "failed broken.pdf: not a PDF (no PDF header)" in out and "published version" in out
    assert "nothing changed" in maple(str(root))
    listed = maple("--list")
    assert "parking.md" in listed and "Parking" in listed and "1 documents, 1 chunks" in listed
    assert "removed 1" in maple("--remove", "parking.md")
    assert "no documents" in maple("--list") or "0 documents" in maple("--list")


@pytest.mark.parametrize("where", ["a mistyped path", "an empty directory"])
async def test_a_prune_given_no_files_leaves_the_collection_as_it_was(
    corpus: Corpus, config: Path, tmp_path: Path, where: str
) -> None:
    """An operator's typo (or a share that is not mounted: an empty directory) with ``--prune`` must not empty the
    collection every Maple process answers from: the ingest is refused, saying why, and nothing is published."""
    root = tmp_path / "docs"
    root.mkdir()
    (root / "parking.md").write_text("# Parking\n\nThe garage closes at nine.\n")
    first = await corpus.ingest.run(collection="handbook", paths=[root])
    target = tmp_path / "dcos"
    if where == "an empty directory":
        target.mkdir()
    done = subprocess.run([str(MAPLE), "ingest", str(target), "--prune", "-c", "handbook"],
                          env=_env(corpus.prefix, config), capture_output=True, text=True, timeout=120)
    assert done.returncode != 0, done.stdout + done.stderr
    assert str(target) in done.stderr and "--remove" in done.stderr, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert (await corpus.store.currents(["handbook"]))["handbook"] == first.version
    manifest = await corpus.store.manifest("handbook")
    assert manifest is not None and list(manifest.documents) == ["parking.md"]
    assert await corpus.redis.get(corpus.prefix + "kb:handbook:lock") is None


async def test_a_mistyped_path_among_good_ones_is_refused_before_anything_is_written(
    corpus: Corpus, tmp_path: Path
) -> None:
    from bot.core.errors import MapleError

    root = tmp_path / "docs"
    root.mkdir()
    (root / "parking.md").write_text("# Parking\n\nThe garage closes at nine.\n")
    (tmp_path / "extra.md").write_text("# Extra\n\nThe canteen opens at eight.\n")
    first = await corpus.ingest.run(collection="handbook", paths=[root, tmp_path / "extra.md"])
    with pytest.raises(MapleError, match="no such file or directory"):
        await corpus.ingest.run(collection="handbook", paths=[root, tmp_path / "extar.md"], prune=True)
    manifest = await corpus.store.manifest("handbook")
    assert (await corpus.store.currents(["handbook"]))["handbook"] == first.version
    assert manifest is not None and sorted(manifest.documents) == ["extra.md", "parking.md"]
