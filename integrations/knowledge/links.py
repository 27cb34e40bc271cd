"""A document's link: its own (a ``url:`` in Markdown front matter) or the ingest's ``--link-base`` plus its path.

Only well-formed http(s) addresses are kept; the surface checks again before it renders one."""

from __future__ import annotations

from urllib.parse import quote

from bot.core.text import LINK_URL


def document_link(own: str | None, *, base: str | None, document: str) -> str | None:
    if own and LINK_URL.match(own):
        return own
    if base:
        url = base.rstrip("/") + "/" + quote(document, safe="/-._~")
        return url if LINK_URL.match(url) else None
    return None
