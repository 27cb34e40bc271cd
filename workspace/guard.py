"""Who may use the local workspace: the page it served, at the loopback address it listens on — and Maple.

The page acts as any of the workspace's people without a password, so every request is checked here, before
any handler runs:

- **Host** must name the loopback address the workspace listens on (or ``localhost``) with its port: a page on
  another site whose name was re-pointed at 127.0.0.1 (DNS rebinding) sends its own name and is refused.
- **Origin**, on every request that is not GET or HEAD, must be the workspace's own when the browser sends
  one (``Sec-Fetch-Site`` likewise): a form or ``fetch`` from another page (CSRF) is refused. Maple's own calls
  to the Web API and to response URLs come from no browser and carry no Origin.
- The page's own endpoints (``/ui/…``, the live-update stream included) need the **token** minted when the
  workspace starts and delivered only inside the page (``<meta name="workspace-token">``), sent back in the
  ``X-Workspace-Token`` header (or, for the EventSource stream, which cannot send headers, as ``?token=``).
  Another site can neither read the page nor set that header without a CORS preflight, which nothing answers.

Every response also forbids framing (clickjacking a click on **Approve**) and sniffing.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

TOKEN_HEADER = "X-Workspace-Token"
SAFE_METHODS = frozenset({"GET", "HEAD"})
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def loopback_names(host: str) -> list[str]:
    """The Host names under which a workspace bound to ``host`` may be reached; ValueError when ``host`` is
    not a loopback address (the workspace is never served to the network)."""
    if host == "localhost":
        return ["localhost", "127.0.0.1", "[::1]"]
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(f"the local workspace listens only on a loopback address, not {host!r}")
    shown = f"[{address.compressed}]" if address.version == 6 else address.compressed
    return [shown, "localhost"]


def _refuse(status: int, error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status)


class Guard:
    """The per-start token and the Host names; ``middleware`` checks every request."""

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(32)
        self.hosts: frozenset[str] = frozenset()

    def bind(self, host: str, port: int) -> None:
        self.hosts = frozenset(f"{name}:{port}" for name in loopback_names(host))

    def problem(self, request: web.Request) -> web.Response | None:
        host = (request.headers.get("Host") or "").lower()
        if host not in self.hosts:
            return _refuse(421, "unknown_host")
        if request.method not in SAFE_METHODS:
            origin = request.headers.get("Origin")
            if origin is not None and origin.lower() != f"http://{host}":
                return _refuse(403, "cross_origin_request")
            if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
                return _refuse(403, "cross_origin_request")
        if request.path.startswith("/ui/") and not self._has_token(request):
            return _refuse(403, "invalid_workspace_token")
        return None

    def _has_token(self, request: web.Request) -> bool:
        given = request.headers.get(TOKEN_HEADER)
        if given is None and request.path == "/ui/events":
            given = request.query.get("token")
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        refused = self.problem(request)
        return refused if refused is not None else await handler(request)

    @staticmethod
    async def add_headers(_request: web.Request, response: web.StreamResponse) -> None:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
