"""The test corpus of the knowledge base: a made-up company handbook (Birchwood Analytics) in Markdown, text,
HTML, PDF and Word. Markdown, text and HTML files are kept as they are in ``tests/data/knowledge``; the PDF and
.docx files are generated here from Markdown sources (``sources/<collection>/<name>.<pdf|docx>.md``, where
``<<<PAGE>>>`` starts a new PDF page), with fpdf2 and python-docx."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

DATA = Path(__file__).parent / "data" / "knowledge"
COLLECTIONS = ("handbook", "hr")


def build_corpus(dest: Path) -> dict[str, Path]:
    """Write the corpus under ``dest``: one directory per collection."""
    out = {}
    for name in COLLECTIONS:
        target = dest / name
        shutil.copytree(DATA / name, target, dirs_exist_ok=True)
        for source in sorted((DATA / "sources" / name).glob("*.md")):
            stem, kind = source.name.removesuffix(".md").rsplit(".", 1)
            (write_pdf if kind == "pdf" else write_docx)(source.read_text(), target / f"{stem}.{kind}")
        out[name] = target
    return out


def questions() -> list[dict[str, str]]:
    """The labelled questions: ``{q, doc, collection, kind}`` (kind: direct or paraphrase)."""
    return list(yaml.safe_load((DATA / "questions.yaml").read_text()))


def _blocks(markdown: str) -> list[tuple[str, str]]:
    """(kind, text) for a small Markdown subset: ``title``, ``heading``, ``para``, ``page``."""
    blocks: list[tuple[str, str]] = []
    for chunk in markdown.split("\n\n"):
        chunk = chunk.strip()
        if not chunk:
            continue
        if chunk == "<<<PAGE>>>":
            blocks.append(("page", ""))
        elif chunk.startswith("## "):
            blocks.append(("heading", chunk[3:].strip()))
        elif chunk.startswith("# "):
            blocks.append(("title", chunk[2:].strip()))
        else:
            blocks.append(("para", " ".join(chunk.split())))
    return blocks


def write_pdf(markdown: str, path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    for kind, text in _blocks(markdown):
        if kind == "page":
            pdf.add_page()
            continue
        if kind == "title":
            pdf.set_title(text)
        size, style = {"title": (18, "B"), "heading": (13, "B"), "para": (11, "")}[kind]
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(0, 6 if kind == "para" else 9, text)
        pdf.ln(3)
    pdf.output(str(path))


def write_docx(markdown: str, path: Path) -> None:
    import docx

    document = docx.Document()
    for kind, text in _blocks(markdown):
        if kind == "title":
            document.add_heading(text, 0)
            document.core_properties.title = text
        elif kind == "heading":
            document.add_heading(text, 1)
        elif kind == "para":
            document.add_paragraph(text)
    document.save(str(path))


KNOWLEDGE_ROLES = {"user": ["*"], "hr": ["U0HRPART"],
                   "reviewer": ["U0REVIEW", "U0REVIEW2"], "admin": ["U0ADMIN"]}
KNOWLEDGE_COLLECTIONS = {
    "handbook": {"roles": ["user"], "label": "internal", "description": "Company handbook"},
    "hr": {"roles": ["hr"], "label": "confidential", "description": "People Operations procedures"},
}
HR_PERSON = "U0HRPART"


class Corpus:
    """Ingests into a Redis prefix of a test's own, with the real parser processes, and cleans up."""

    def __init__(self, *, spec: object, prefix: str, redis_url: str = "redis://127.0.0.1:6379/0",
                 embedder: object | None = None) -> None:
        import redis.asyncio as aioredis

        from bot.core.sensitivity import assessor
        from integrations.compute import ProcessCompute
        from integrations.knowledge.ingest import Ingest
        from integrations.knowledge.store import CollectionStore

        self.redis = aioredis.from_url(redis_url)
        self.prefix = prefix
        self.store = CollectionStore(redis=self.redis, prefix=prefix)
        self.compute = ProcessCompute(workers=2, memory_mb=2048, preload=["integrations.knowledge.chunking"])
        self.ingest = Ingest(store=self.store, compute=self.compute, spec=spec,  # type: ignore[arg-type]
                             assess=assessor(spec.sensitivity), embedder=embedder)  # type: ignore[attr-defined,arg-type]

    async def close(self) -> None:
        await self.compute.close()
        keys = [k async for k in self.redis.scan_iter(match=self.prefix + "kb:*", count=500)]
        if keys:
            await self.redis.delete(*keys)
        await self.redis.aclose()
