"""The ``http`` tool: calls to internal APIs on an allowlist, with an SSRF guard.

Only URLs under an allowlisted target (scheme, host, port, path prefix) and its methods. The host is resolved here
and every address is checked: loopback, private, link-local (incl. cloud metadata 169.254.169.254), unspecified,
multicast and reserved ranges — and their IPv4-mapped IPv6 forms — are refused unless the target says
``allow_private``. The connection goes to the checked address (pinned), so DNS rebinding cannot swap it.
Redirects are not followed unless the target allows them, and then each hop is checked again. Bodies are capped.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from pydantic import BaseModel, ConfigDict, Field

from bot.core.errors import ToolDenied, ToolFailed
from bot.core.spec import HttpTarget
from bot.core.tools import Tool, ToolContext, ToolResult

Resolve = Callable[[str, int], Awaitable[list[str]]]
MAX_REDIRECTS = 3


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def forbidden(address: str) -> str | None:
    """Why connecting to ``address`` is refused (None when it is a public unicast address)."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for test, why in ((ip.is_loopback, "loopback"), (ip.is_link_local, "link-local / cloud metadata"),
                      (ip.is_private, "private"), (ip.is_unspecified, "unspecified"),
                      (ip.is_multicast, "multicast"), (ip.is_reserved, "reserved")):
        if test:
            return why
    return None


class _Pinned(AbstractResolver):
    """Resolves only to the addresses already checked."""

    def __init__(self, host: str, addresses: list[str]) -> None:
        self._host, self._addresses = host, addresses

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        if host != self._host:
            raise OSError(f"unexpected host {host}")
        return [ResolveResult(hostname=host, host=a, port=port, family=socket.AF_INET6 if ":" in a else socket.AF_INET,
                              proto=0, flags=socket.AI_NUMERICHOST) for a in self._addresses]

    async def close(self) -> None:
        return None


class HttpArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000)
    method: Literal["GET", "POST"] = "GET"
    body: str | None = Field(None, max_length=20_000)


class HttpTool(Tool):
    name = "http"
    description = "Call an allowlisted internal API (GET or POST) and return its response text."
    args_model = HttpArgs

    def __init__(self, *, targets: list[HttpTarget], timeout: float, max_bytes: int,
                 resolve: Resolve = system_resolve) -> None:
        self._targets, self._timeout, self._max = targets, timeout, max_bytes
        self._resolve = resolve
        self.clearance = min((t.clearance for t in targets), default=self.clearance)

    def target_for(self, url: str, method: str) -> HttpTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            raise ToolDenied("only plain http(s) URLs are allowed")
        for target in self._targets:
            t = urlsplit(target.url)
            if (t.scheme, t.hostname, t.port) == (parts.scheme, parts.hostname, parts.port) and \
                    (parts.path or "/").startswith(t.path or "/"):
                if method not in target.methods:
                    raise ToolDenied(f"{method} is not allowed for {target.name}")
                return target
        raise ToolDenied(f"{parts.hostname} is not on the http allowlist")

    async def _addresses(self, url: str, target: HttpTarget) -> tuple[str, list[str]]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = [host] if _is_ip(host) else await self._resolve(host, port)
        except OSError as exc:
            raise ToolFailed(f"cannot resolve {host}") from exc
        if not addresses:
            raise ToolFailed(f"cannot resolve {host}")
        if not target.allow_private:
            for address in addresses:
                why = forbidden(address)
                if why:
                    raise ToolDenied(f"{host} resolves to a {why} address; refused")
        return host, addresses

    async def run(self, args: HttpArgs, *, ctx: ToolContext) -> ToolResult:
        url, method, body = args.url, args.method, args.body
        for _hop in range(MAX_REDIRECTS + 1):
            target = self.target_for(url, method)
            if ctx.sensitivity > target.clearance:
                raise ToolDenied(f"{target.name} is cleared for {target.clearance.label} data only")
            status, location, text = await self._fetch(url, method, body, target)
            if status in (301, 302, 303, 307, 308) and location:
                if not target.allow_redirects:
                    raise ToolDenied(f"{target.name} answered with a redirect, which is not allowed")
                url, method, body = urljoin(url, location), ("GET" if status == 303 else method), body
                continue
            return ToolResult(text=text, data={"status": status, "target": target.name})
        raise ToolDenied("too many redirects")

    async def _fetch(self, url: str, method: str, body: str | None, target: HttpTarget) -> tuple[int, str, str]:
        host, addresses = await self._addresses(url, target)
        connector = aiohttp.TCPConnector(resolver=_Pinned(host, addresses), use_dns_cache=False)
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        try:
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session, session.request(
                    method, url, data=body, allow_redirects=False) as resp:
                chunks, size = [], 0
                async for chunk in resp.content.iter_chunked(16_384):
                    size += len(chunk)
                    if size > self._max:
                        raise ToolFailed(f"the response is larger than {self._max:,} bytes")
                    chunks.append(chunk)
                return resp.status, resp.headers.get("Location", ""), b"".join(chunks).decode("utf-8", "replace")
        except TimeoutError as exc:
            raise ToolFailed(f"{target.name} did not answer within {self._timeout:g}s") from exc
        except aiohttp.ClientError as exc:
            raise ToolFailed(f"{target.name}: {type(exc).__name__}") from exc


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def tool_args(url: str, method: str = "GET", body: str | None = None) -> dict[str, Any]:
    return {"url": url, "method": method, "body": body}
