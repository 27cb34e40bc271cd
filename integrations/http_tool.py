"""The ``http`` tool: calls to internal APIs on an allowlist, with an SSRF guard.

**What is checked is what is sent.** A URL is first put in canonical form — scheme and host in lower case (no
trailing dot), the default port made explicit, the path percent-decoded once, dot segments resolved and duplicate
slashes collapsed — and refused when that is ambiguous (double encoding, backslashes, control characters, ``..;``
segments, credentials). The allowlist compares that form with each target's on whole path segments (``/api`` allows
``/api/v1``, never ``/apiary``), and the request is sent to exactly that canonical URL.

**Addresses.** The host is resolved here and every address is checked with ``ipaddress``: anything not globally
routable (``is_global``: loopback, private, shared 100.64.0.0/10 — incl. the 100.100.100.200 metadata service —,
documentation, reserved…) is refused unless the target says ``allow_private``; link-local (169.254.169.254),
unspecified, multicast, broadcast, site-local and known metadata addresses are refused even then. IPv6 forms that
embed an IPv4 address — IPv4-mapped and -compatible, 6to4 (2002::/16), NAT64 (64:ff9b::/96) — are judged by the
address they embed; Teredo and local-use NAT64 are refused. The connection goes to the checked address (pinned),
so DNS rebinding cannot swap it. Redirects are not followed unless the target allows them, and then each hop is
checked again. Bodies are capped. A POST changes something: it is a side effect, refused before approval.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, unquote, urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from pydantic import BaseModel, ConfigDict, Field
from yarl import URL

from bot.core import text as say
from bot.core.errors import ToolDenied, ToolFailed
from bot.core.spec import HttpTarget
from bot.core.tools import Tool, ToolContext, ToolResult

Resolve = Callable[[str, int], Awaitable[list[str]]]
IP = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_REDIRECTS = 3
DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")
_UNSAFE_DECODED = re.compile(r"[\x00-\x1f\x7f\\]")
_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("100.100.100.200", "fd00:ec2::254", "169.254.169.254"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_TEREDO = ipaddress.ip_network("2001::/32")
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_SEGMENT_SAFE = "!$&'()*+,;=:@-._~"


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _embedded(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 form carries: IPv4-mapped, -compatible, 6to4, NAT64 (well-known prefix)."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    value = int(ip)
    if value >> 32 == 0 and value > 1:
        return "IPv4-compatible", ipaddress.IPv4Address(value)
    if value >> 32 == 0xFFFF0000:  # ::ffff:0:a.b.c.d, IPv4-translated
        return "IPv4-translated", ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def _never(ip: IP) -> str | None:
    """Refused even for a target with ``allow_private``."""
    if ip in _METADATA:
        return "cloud metadata"
    for test, why in ((ip.is_unspecified, "unspecified"), (ip.is_link_local, "link-local / cloud metadata"),
                      (ip.is_multicast, "multicast"), (ip.is_reserved, "reserved"),
                      (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "site-local"),
                      (ip == ipaddress.IPv4Address("255.255.255.255"), "broadcast")):
        if test:
            return why
    if isinstance(ip, ipaddress.IPv6Address) and (ip in _TEREDO or ip in _NAT64_LOCAL):
        return "Teredo" if ip in _TEREDO else "local-use NAT64"
    return None


def _verdict(ip: IP, allow_private: bool) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address):
        carried = _embedded(ip)
        if carried is not None:
            form, v4 = carried
            why = _verdict(v4, allow_private)
            return f"{form} form of a {why}" if why else None
    never = _never(ip)
    if never or allow_private or ip.is_global:
        return never
    if ip.is_loopback:
        return "loopback"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared (100.64.0.0/10)"
    return "private" if ip.is_private else "non-global"


def forbidden(address: str, *, allow_private: bool = False) -> str | None:
    """Why connecting to ``address`` is refused (None when it may be used). Never raises."""
    try:
        ip: IP = ipaddress.ip_address(address)
    except ValueError:
        return "malformed"
    return _verdict(ip, allow_private)


@dataclass(frozen=True)
class Canonical:
    """A URL in the one form that is both checked and sent."""

    scheme: str
    host: str
    port: int
    segments: tuple[str, ...]
    trailing_slash: bool = False
    query: str = ""

    @property
    def path(self) -> str:
        joined = "/" + "/".join(quote(s, safe=_SEGMENT_SAFE) for s in self.segments)
        return joined + ("/" if self.trailing_slash and self.segments else "")

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.path}" + (f"?{self.query}" if self.query else "")

    def under(self, prefix: Canonical) -> bool:
        return (self.scheme, self.host, self.port) == (prefix.scheme, prefix.host, prefix.port) and \
            self.segments[:len(prefix.segments)] == prefix.segments


def _segments(raw_path: str) -> tuple[tuple[str, ...], bool]:
    try:
        decoded = unquote(raw_path, errors="strict")
    except UnicodeDecodeError as exc:
        raise ToolDenied(say.msg("http_path_utf8")) from exc
    if _ENCODED.search(decoded) or _UNSAFE_DECODED.search(decoded):
        raise ToolDenied(say.msg("http_path_encoded"))
    out: list[str] = []
    parts = decoded.split("/")
    for part in parts:
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
            continue
        if part.split(";", 1)[0] in (".", ".."):
            raise ToolDenied(say.msg("http_path_dot"))
        out.append(part)
    return tuple(out), parts[-1] in ("", ".", "..")


def canonical(url: str) -> Canonical:
    """``url`` in canonical form, or ToolDenied. Never raises anything else."""
    if _UNSAFE.search(url):
        raise ToolDenied(say.msg("http_url_characters"))
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").rstrip(".")
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except (ValueError, UnicodeError) as exc:
        raise ToolDenied(say.msg("http_url_malformed")) from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not host or parts.username is not None or parts.password is not None \
            or "@" in parts.netloc:
        raise ToolDenied(say.msg("http_url_scheme"))
    if port == 0:
        raise ToolDenied(say.msg("http_url_malformed"))
    segments, trailing = _segments(parts.path)
    query = quote(parts.query, safe="=&;%+,/:@!$'()*?~-._")
    return Canonical(scheme=scheme, host=host.lower(), port=port or DEFAULT_PORTS[scheme], segments=segments,
                     trailing_slash=trailing, query=query)


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
    description = ("Call an allowlisted internal API and return its response text. GET reads; a POST changes "
                   "something and runs only after a person approves.")
    args_model = HttpArgs

    def __init__(self, *, targets: list[HttpTarget], timeout: float, max_bytes: int,
                 resolve: Resolve = system_resolve) -> None:
        self._targets = [(t, canonical(t.url)) for t in targets]
        self._timeout, self._max = timeout, max_bytes
        self._resolve = resolve
        self.clearance = min((t.clearance for t in targets), default=self.clearance)

    def side_effect_of(self, args: HttpArgs) -> str | None:  # type: ignore[override]
        return None if args.method == "GET" else f"an HTTP {args.method}"

    def target_for(self, url: str, method: str) -> tuple[HttpTarget, Canonical]:
        """The allowlisted target ``url`` falls under and the canonical URL to send; ToolDenied otherwise."""
        canon = canonical(url)
        for target, prefix in self._targets:
            if canon.under(prefix):
                if method not in target.methods:
                    raise ToolDenied(say.msg("http_method", method=method, target=target.name))
                return target, canon
        raise ToolDenied(say.msg("http_not_allowed", url=f"{canon.host}{canon.path}"))

    async def addresses(self, canon: Canonical, target: HttpTarget) -> list[str]:
        """The checked addresses ``canon.host`` resolves to; ToolDenied when any of them is refused."""
        host = canon.host
        try:
            found = [host] if _is_ip(host) else await self._resolve(host, canon.port)
        except OSError as exc:
            raise ToolFailed(say.msg("http_unresolved", host=host)) from exc
        if not found:
            raise ToolFailed(say.msg("http_unresolved", host=host))
        for address in found:
            why = forbidden(address, allow_private=target.allow_private)
            if why:
                raise ToolDenied(say.msg("http_address", host=host, why=why))
        return found

    async def run(self, args: HttpArgs, *, ctx: ToolContext) -> ToolResult:
        url, method, body = args.url, args.method, args.body
        for _hop in range(MAX_REDIRECTS + 1):
            target, canon = self.target_for(url, method)
            if ctx.frozen and target.leaves_deployment:  # a redirect is checked again: it may lead outside
                raise ToolDenied(say.tool_frozen(f"{self.name} ({target.name})"))
            if ctx.sensitivity > target.clearance:
                raise ToolDenied(say.msg("http_not_cleared", target=target.name, cleared=say.msg(f"lvl_{target.clearance.label}")))
            status, location, text = await self._fetch(canon, method, body, target)
            if status in (301, 302, 303, 307, 308) and location:
                if not target.allow_redirects:
                    raise ToolDenied(say.msg("http_redirect", target=target.name))
                url, method = urljoin(canon.url, location), ("GET" if status == 303 else method)
                continue
            return ToolResult(text=text, data={"status": status, "target": target.name})
        raise ToolDenied(say.msg("http_redirects"))

    async def _fetch(self, canon: Canonical, method: str, body: str | None,
                     target: HttpTarget) -> tuple[int, str, str]:
        addresses = await self.addresses(canon, target)
        connector = aiohttp.TCPConnector(resolver=_Pinned(canon.host, addresses), use_dns_cache=False)
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        try:
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session, session.request(
                    method, URL(canon.url, encoded=True), data=body, allow_redirects=False) as resp:
                chunks, size = [], 0
                async for chunk in resp.content.iter_chunked(16_384):
                    size += len(chunk)
                    if size > self._max:
                        raise ToolFailed(say.msg("http_too_large", limit=self._max))
                    chunks.append(chunk)
                return resp.status, resp.headers.get("Location", ""), b"".join(chunks).decode("utf-8", "replace")
        except TimeoutError as exc:
            raise ToolFailed(say.msg("http_timeout", target=target.name, seconds=f"{self._timeout:g}")) from exc
        except aiohttp.ClientError as exc:
            raise ToolFailed(say.msg("http_failed", target=target.name, error=type(exc).__name__)) from exc


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def tool_args(url: str, method: str = "GET", body: str | None = None) -> dict[str, Any]:
    return {"url": url, "method": method, "body": body}
