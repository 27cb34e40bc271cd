"""Property-based tests: untrusted input always gets a verdict, never an unexpected exception.

- the http tool: any URL → an allowed target or ToolDenied; a path outside the prefix (by an independent decoding
  and resolution) is always refused; what is accepted is canonical (checking it again gives the same URL); any
  address → a verdict, and every non-global address (including IPv6 forms embedding one) is refused;
- the calculator: any expression → a value within bounds or a ToolError;
- the config loader: any YAML document → a MapleSpec or a ConfigError.
"""

from __future__ import annotations

import ipaddress
import posixpath
from typing import Any
from urllib.parse import unquote

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.errors import ConfigError, ToolDenied, ToolError
from bot.core.spec import HttpTarget, MapleSpec
from bot.core.tools.calculator import MAX_BITS, calculate
from config.loader import parse_spec
from integrations.http_tool import HttpTool, canonical, forbidden

PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOOL = HttpTool(targets=[HttpTarget(name="api", url="https://api.example.com/api"),
                         HttpTarget(name="hr", url="http://hr.example.com:8080/v1/people/")], timeout=1, max_bytes=10)

segment = st.one_of(
    st.sampled_from(["api", "v1", "people", "admin", "secret", "..", ".", "", "%2e%2e", "%2E%2e", ".%2e", "..;",
                     "%2f", "%252e%252e", "apiary", "API", "%61pi", "a%2f..%2f..", "~", "%00", "\\", ";x", "?", "#"]),
    st.text(alphabet="abc./%2eEfF;", max_size=6),
)
path = st.lists(segment, max_size=6).map(lambda parts: "/" + "/".join(parts))
host = st.sampled_from(["api.example.com", "API.Example.COM", "api.example.com.", "hr.example.com",
                        "api.example.com.evil.net", "evil.net", "127.0.0.1", "[::1]", "api.example.com@evil.net",
                        "user:pw@api.example.com", "xn--80ak6aa92e.com", "пример.рф"])
port = st.sampled_from(["", ":443", ":80", ":8080", ":0", ":99999", ":abc", ":"])
scheme = st.sampled_from(["https", "http", "HTTPS", "ftp", "file", "javascript", ""])
url = st.one_of(
    st.builds(lambda s, h, p, pa: f"{s}://{h}{p}{pa}", scheme, host, port, path),
    st.builds(lambda pa: f"https://api.example.com/api{pa}", path),  # mostly under a prefix, then escaping it
    st.builds(lambda pa: f"http://hr.example.com:8080/v1/people{pa}", path),
)


def fully_resolved(raw_path: str) -> list[str]:
    """An independent reading of a path: decode until stable, then resolve like a file system path."""
    for _ in range(4):
        raw_path = unquote(raw_path)
    resolved = posixpath.normpath("/" + raw_path.replace("\\", "/").split("?")[0].split("#")[0])
    return [s for s in resolved.split("/") if s]


@PROPS
@given(url)
def test_any_url_gets_a_verdict_and_accepted_paths_stay_under_the_prefix(candidate: str) -> None:
    try:
        target, canon = TOOL.target_for(candidate, "GET")
    except ToolDenied:
        return
    prefix = {"api": ["api"], "hr": ["v1", "people"]}[target.name]
    assert list(canon.segments[:len(prefix)]) == prefix
    raw = candidate.split("://", 1)[1]
    raw_path = raw[raw.find("/"):] if "/" in raw else "/"
    assert fully_resolved(raw_path)[:len(prefix)] == prefix, candidate
    assert TOOL.target_for(canon.url, "GET")[1] == canon  # canonical: what was checked is what is sent


@PROPS
@given(st.text(max_size=200))
def test_any_text_as_a_url_gets_a_verdict(candidate: str) -> None:
    try:
        TOOL.target_for(candidate, "GET")
        canonical(candidate)
    except ToolDenied:
        pass


def carried_v4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if ip in ipaddress.ip_network("64:ff9b::/96") or int(ip) >> 32 == 0:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


@PROPS
@given(st.one_of(st.ip_addresses(), st.ip_addresses(v=6, network="2002::/16"),
                 st.ip_addresses(v=6, network="64:ff9b::/96"), st.ip_addresses(v=6, network="::ffff:0:0/96"),
                 st.ip_addresses(v=6, network="::/96"), st.ip_addresses(v=4, network="100.64.0.0/10")))
def test_every_non_global_address_is_refused(ip: Any) -> None:
    verdict = forbidden(str(ip))
    assert verdict is None or isinstance(verdict, str)
    if not ip.is_global or ip.is_multicast:
        assert verdict, ip
    inner = carried_v4(ip)
    if inner is not None and (not inner.is_global or inner.is_multicast):
        assert verdict, ip
    if verdict is None:
        assert forbidden(str(ip), allow_private=True) is None  # allow_private only ever opens more


@PROPS
@given(st.text(max_size=60))
def test_any_text_as_an_address_gets_a_verdict(candidate: str) -> None:
    assert forbidden(candidate) is None or isinstance(forbidden(candidate), str)


number = st.one_of(st.integers(-10**6, 10**6).map(str), st.sampled_from(["10**399", "10**-399", "1e308", "0.1",
                                                                          "1e-300", "0", "1000", "2", "9"]))


@st.composite
def expression(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 3 or draw(st.booleans()):
        return draw(number)
    kind = draw(st.sampled_from(["bin", "pow", "call", "neg", "paren"]))
    left, right = draw(expression(depth + 1)), draw(expression(depth + 1))
    if kind == "bin":
        return f"{left} {draw(st.sampled_from(['+', '-', '*', '/', '//', '%']))} {right}"
    if kind == "pow":
        return f"({left})**({right})"
    if kind == "call":
        name = draw(st.sampled_from(["sqrt", "round", "abs", "min", "max"]))
        return f"{name}({left}, {right})" if name in ("round", "min", "max") else f"{name}({left})"
    return f"-({left})" if kind == "neg" else f"({left})"


def check_value(text: str) -> None:
    try:
        value = calculate(text)
    except ToolError:
        return
    assert max(value.numerator.bit_length(), value.denominator.bit_length()) <= MAX_BITS


@PROPS
@given(expression())
def test_any_arithmetic_gives_a_bounded_value_or_a_tool_error(text: str) -> None:
    check_value(text)


@PROPS
@given(st.text(alphabet="0123456789.+-*/%()^ e,_jxsqrtoundabminTF'\"[]{}:lambd", max_size=120))
def test_any_text_gives_a_value_or_a_tool_error(text: str) -> None:
    check_value(text)


keys = st.sampled_from(["roles", "admin_roles", "review", "limits", "budgets", "models", "workflows", "tools",
                        "sensitivity", "policy", "channels", "collections", "schedules", "audit", "timezone",
                        "patterns", "regex", "id", "name", "steps", "kind", "cron", "http", "url", "holidays",
                        "classify_threshold", "channel", "user", "admin", "reviewer"])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["*", "U0ABC", "C0ABC", "(a+)+", "falcon-(\\d+",
                                                           "Mars/Olympus", "61 * * * *", "http://x/", "2026-13-45"]))
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(keys, inner, max_size=5)), max_leaves=25)


def check_document(raw: str) -> None:
    try:
        assert isinstance(parse_spec(raw, source="prop.yaml"), MapleSpec)
    except ConfigError as exc:
        assert str(exc).startswith("prop.yaml")


@PROPS
@given(st.dictionaries(keys, documents, max_size=6))
def test_any_yaml_mapping_gives_a_spec_or_a_config_error(doc: dict[str, Any]) -> None:
    check_document(yaml.safe_dump(doc))


@PROPS
@given(st.text(alphabet=" \n:-[]{}!&*#|>'\"%@`,?abc019", max_size=120))
def test_any_yaml_text_gives_a_spec_or_a_config_error(raw: str) -> None:
    check_document(raw)


def test_alias_bombs_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{k}: &{k} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, k in zip("abcdefgh", "bcdefghi", strict=True)) + "roles: {user: *i}\n"
    try:
        parse_spec(bomb, source="bomb.yaml")
    except ConfigError as exc:
        assert "expands" in str(exc)
    else:
        raise AssertionError("an alias bomb was accepted")
