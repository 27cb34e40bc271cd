"""Files → llama-index ``Document``s whose text keeps the document's headings (as Markdown), with a title.

Markdown and plain text are read as they are (llama-index's ``FlatReader``), PDF with llama-index's ``PDFReader``
(one document per page; the section of a chunk is its page). llama-index's Word reader (docx2txt) and HTML reader
drop headings, so .docx (python-docx) and .html (BeautifulSoup) are turned into Markdown here — headings kept —
and cut by the same node parser as Markdown.

Every file is checked before a parser sees it: a regular file, not empty, not larger than the limit, text that is
UTF-8 and not binary, a PDF that starts like one, a .docx whose unpacked size is bounded. A file that fails is
reported with its reason (``Unreadable``) and skipped; nothing else stops the ingest.
"""

from __future__ import annotations

import re
import stat
import zipfile
from pathlib import Path
from typing import Any

from llama_index.core.schema import Document

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text", ".html": "html",
            ".htm": "html", ".pdf": "pdf", ".docx": "docx"}
MAX_UNPACKED_RATIO = 20  # a .docx may unpack to at most this many times the file limit... bounded absolutely below
MAX_UNPACKED_BYTES = 200_000_000
_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


class Unreadable(Exception):
    """A file that cannot be ingested, with the reason people read in the summary."""


def kind_of(path: Path) -> str | None:
    return SUFFIXES.get(path.suffix.lower())


def check_file(path: Path, *, max_bytes: int) -> int:
    """The file's size, or Unreadable: not a regular file, unreadable, empty, too large."""
    try:
        info = path.stat()
    except OSError as exc:
        raise Unreadable(f"cannot be read ({exc.strerror or type(exc).__name__})") from exc
    if not stat.S_ISREG(info.st_mode):
        raise Unreadable("not a regular file")
    if info.st_size == 0:
        raise Unreadable("empty file")
    if info.st_size > max_bytes:
        raise Unreadable(f"too large ({info.st_size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB)")
    return info.st_size


def read(path: Path, *, data: bytes, max_bytes: int) -> list[Document]:
    """The documents of one file (``data``: its bytes, already read and hashed by the caller)."""
    kind = kind_of(path)
    if kind in ("markdown", "text", "html"):
        text = _text(data)
        if kind == "html":
            text = html_markdown(text)
        docs = [Document(text=text, metadata={"title": _title(text, path, kind)})]
    elif kind == "pdf":
        docs = _pdf(path, data)
    elif kind == "docx":
        text = docx_markdown(path, max_unpacked=min(MAX_UNPACKED_BYTES, max_bytes * MAX_UNPACKED_RATIO))
        docs = [Document(text=text, metadata={"title": _title(text, path, "markdown")})]
    else:
        raise Unreadable("not a supported format (Markdown, text, HTML, PDF, Word .docx)")
    docs = [d for d in docs if d.text.strip()]
    if not docs:
        raise Unreadable("no text in it")
    return docs


def _text(data: bytes) -> str:
    if b"\x00" in data[:65536]:
        raise Unreadable("binary, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable("not UTF-8 text") from exc


def _title(text: str, path: Path, kind: str) -> str:
    front = _FRONT.match(text)
    if front:
        found = re.search(r"^title:\s*(.+)$", front.group(1), re.MULTILINE)
        if found:
            return found.group(1).strip().strip("\"'")[:200]
    if kind == "markdown" or kind == "html":
        heading = _HEADING.search(text)
        if heading:
            return heading.group(1).strip()[:200]
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if kind == "text" and 0 < len(first) <= 100:
        return first
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize()[:200]


def front_link(text: str) -> str | None:
    """A ``url:`` (or ``link:``) in a Markdown file's front matter."""
    front = _FRONT.match(text)
    found = re.search(r"^(?:url|link):\s*(\S+)\s*$", front.group(1), re.MULTILINE) if front else None
    return found.group(1).strip("\"'") if found else None


def _pdf(path: Path, data: bytes) -> list[Document]:
    if not data.startswith(b"%PDF-"):
        raise Unreadable("not a PDF (no PDF header)")
    from llama_index.readers.file import PDFReader

    try:
        pages = PDFReader().load_data(path)
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on a damaged file
        raise Unreadable(f"cannot be read as PDF ({_cause(exc)})") from exc
    first = next((p.text for p in pages if p.text.strip()), "")
    title = next((line.strip() for line in first.splitlines() if line.strip()), "")[:200] or path.stem
    return [Document(text=p.text, metadata={"title": title, "page": str(p.metadata.get("page_label", i + 1))})
            for i, p in enumerate(pages)]


def _cause(exc: BaseException) -> str:
    """The underlying error's type (tenacity wraps the reader's last attempt in a RetryError)."""
    last = getattr(exc, "last_attempt", None)
    inner = last.exception() if last is not None else None
    return type(inner or exc).__name__


def docx_markdown(path: Path, *, max_unpacked: int) -> str:
    """A .docx as Markdown: heading styles become ``#`` headings, the Title style the title, tables rows."""
    try:
        with zipfile.ZipFile(path) as archive:
            if sum(i.file_size for i in archive.infolist()) > max_unpacked:
                raise Unreadable(f"unpacks to more than {max_unpacked / 1e6:.0f} MB")
    except zipfile.BadZipFile as exc:
        raise Unreadable("not a Word document (not a .docx archive)") from exc
    import docx

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # noqa: BLE001 - python-docx raises many kinds on a damaged file
        raise Unreadable(f"cannot be read as Word ({type(exc).__name__})") from exc
    lines: list[str] = []
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(_paragraph(docx.text.paragraph.Paragraph(block, document)))
        elif tag == "tbl":
            table = docx.table.Table(block, document)
            lines += [" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows]
    return "\n".join(lines).strip()


def _paragraph(paragraph: Any) -> str:
    style = (paragraph.style.name or "") if paragraph.style is not None else ""
    text = paragraph.text.strip()
    if not text:
        return ""
    if style == "Title":
        return f"# {text}"
    level = re.match(r"Heading (\d)", style)
    if level:
        return "#" * min(6, int(level.group(1)) + 1) + f" {text}"
    return text + "\n"


_BLOCKS = {"p", "li", "td", "th", "pre", "blockquote", "dt", "dd"}


def html_markdown(html: str) -> str:
    """HTML as Markdown-ish text: ``<title>`` and ``h1``–``h6`` become headings; scripts, styles and navigation go."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for junk in soup(["script", "style", "nav", "noscript", "template", "iframe", "svg"]):
        junk.decompose()
    lines: list[str] = []
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if title:
        lines.append(f"# {title}")
    for node in (soup.body or soup).find_all(True):
        name = node.name or ""
        if re.fullmatch(r"h[1-6]", name):
            heading = node.get_text(" ", strip=True)
            if heading and heading != title:
                lines.append("#" * (int(name[1]) + (1 if title else 0)) + f" {heading}")
        elif name in _BLOCKS and not node.find_parent(list(_BLOCKS)):
            body = node.get_text(" ", strip=True)
            if body:
                lines.append(("- " if name == "li" else "") + body + "\n")
    return "\n".join(lines).strip()
