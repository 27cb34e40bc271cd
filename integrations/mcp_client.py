"""One MCP server, reached with the official ``mcp`` SDK (``ClientSession`` over ``stdio_client`` or
``streamable_http_client``), kept connected and reconnected after any failure.

The SDK's transports are async context managers that must be entered and left by the same task, so each connection
lives in a task of its own that opens the transport and the session, lists the tools, and waits until it is told
to close; calls use the session from any task. Whatever goes wrong becomes one of Maple's errors:

- a server that cannot be started or reached, or does not answer ``initialize`` in ``connect_timeout`` →
  ``ToolFailed`` (the call was not made);
- a call past ``timeout``, a connection that closes under a call (the process crashed), an answer the SDK cannot
  read (garbage on stdout, a malformed result) → ``ToolOutcomeUnknown`` (it may or may not have happened), and the
  connection is dropped — a hung stdio server is stopped — so the next call starts a fresh one;
- a JSON-RPC error or a result flagged ``isError`` → ``ToolFailed`` with the server's words, cut to one short line.

Secrets come from Maple's environment, read when the server is built: ``headers_from_env`` for HTTP headers,
``env_from`` for a stdio server's environment (which otherwise holds only the SDK's safe defaults, e.g. PATH).
What a call returns is cut to ``max_output_chars``; non-text content is named, not passed on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import mcp_types as types
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from bot.core import text
from bot.core.config_checks import regex_problem
from bot.core.errors import ToolFailed, ToolOutcomeUnknown
from bot.core.ports import Lifecycle
from bot.core.spec_mcp import McpServerSpec

log = logging.getLogger("maple.mcp")
MAX_PAGES = 20
MAX_BLOCKS = 200
Streams = tuple[Any, Any]


class Listed:
    """A tool as the server lists it, with its input schema checked once (``problem`` when it is unusable)."""

    def __init__(self, tool: types.Tool) -> None:
        self.name, self.description = tool.name, (tool.description or "")[:1000]
        self.schema: dict[str, Any] = dict(tool.input_schema or {"type": "object"})
        self.problem = _schema_problem(self.schema)
        self.validator = Draft202012Validator(self.schema) if self.problem is None else None


def _schema_problem(schema: dict[str, Any]) -> str | None:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return f"its input schema is invalid ({exc.message[:120]})"
    if schema.get("type", "object") != "object":
        return "its input schema does not describe an object"
    for pattern in _patterns(schema, depth=0):
        if why := regex_problem(pattern):
            return f"its input schema has a pattern that {why.split('(')[0].strip()}"
    return None


def _patterns(node: Any, *, depth: int) -> list[str]:
    """Every regular expression a schema would run on arguments (``pattern``, ``patternProperties``)."""
    if depth > 32:
        return ["(" * 1000]  # nested too deeply to be checked: refused as invalid below
    found: list[str] = []
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            found.append(node["pattern"])
        if isinstance(node.get("patternProperties"), dict):
            found.extend(k for k in node["patternProperties"] if isinstance(k, str))
        for value in node.values():
            found.extend(_patterns(value, depth=depth + 1))
    elif isinstance(node, list):
        for value in node:
            found.extend(_patterns(value, depth=depth + 1))
    return found


class McpServer(Lifecycle):
    """A connection to one server (per process), opened on first use or by ``open``, reopened after failures."""

    def __init__(self, spec: McpServerSpec, *, environ: Mapping[str, str]) -> None:
        self.spec = spec
        self.missing = sorted({v for v in (*spec.env_from.values(), *spec.headers_from_env.values())
                               if not environ.get(v)})
        self._env = {k: environ.get(v, "") for k, v in spec.env_from.items()}
        self._headers = {k: environ.get(v, "") for k, v in spec.headers_from_env.items()}
        self.tools: dict[str, Listed] | None = None
        self._session: ClientSession | None = None
        self._closing: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._old: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return self.spec.name

    async def open(self) -> None:
        """Connect and list the tools now (start-up): a failure is logged; calls will try again."""
        try:
            await self.connect()
        except ToolFailed as exc:
            log.warning("MCP server not reachable at start", extra={"server": self.name, "error": str(exc)})

    async def connect(self) -> ClientSession:
        """The open session, connecting (and listing the tools) first when there is none; ToolFailed otherwise."""
        async with self._lock:
            session = self._session
            if session is not None and self._task is not None and not self._task.done() and _alive(session):
                return session
            self._drop()
            if self.missing:
                raise ToolFailed(text.mcp_unset(self.name, list(self.missing)))
            try:
                return await asyncio.wait_for(self._start(), self.spec.connect_timeout)
            except (TimeoutError, Exception) as exc:  # noqa: BLE001 - whatever stops a server from starting
                self._drop(cancel=True)
                log.warning("MCP server connection failed", extra={"server": self.name,
                                                                   "error": type(exc).__name__})
                raise ToolFailed(text.mcp_unreachable(self.name)) from exc

    async def _start(self) -> ClientSession:
        ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
        closing = asyncio.Event()
        self._closing, self._task = closing, asyncio.create_task(self._hold(ready, closing))
        session = await ready
        self.tools = await self._list(session)
        self._session = session
        return session

    async def _hold(self, ready: asyncio.Future[ClientSession], closing: asyncio.Event) -> None:
        """The task that owns one connection: open, hand over the session, wait to be closed, close."""
        try:
            async with self._transport() as (read, write), ClientSession(  # initialize and listing: connect_timeout
                    read, write, read_timeout_seconds=self.spec.connect_timeout) as session:
                await session.initialize()
                ready.set_result(session)
                await closing.wait()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - a dead server ends its connection, never the worker
            if not ready.done():
                ready.set_exception(ToolFailed(text.mcp_unreachable(self.name)))
            log.info("MCP connection ended", extra={"server": self.name, "error": type(exc).__name__})
        finally:
            if not ready.done():
                ready.set_exception(ToolFailed(text.mcp_unreachable(self.name)))

    @asynccontextmanager
    async def _transport(self) -> AsyncIterator[Streams]:
        spec = self.spec
        if spec.transport == "stdio":
            params = StdioServerParameters(command=spec.command[0], args=spec.command[1:], env=self._env or None,
                                           cwd=spec.cwd)
            async with stdio_client(params) as streams:
                yield streams
            return
        timeout = httpx2.Timeout(spec.timeout, connect=spec.connect_timeout)
        assert spec.url is not None
        async with httpx2.AsyncClient(headers=self._headers, timeout=timeout) as client, \
                streamable_http_client(spec.url, http_client=client) as streams:
            yield streams

    async def _list(self, session: ClientSession) -> dict[str, Listed]:
        tools: dict[str, Listed] = {}
        cursor: str | None = None
        for _page in range(MAX_PAGES):
            page = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor))
            tools.update((t.name, Listed(t)) for t in page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        return tools

    def _drop(self, *, cancel: bool = False) -> None:
        """Forget the current connection and tell its task to close it (stopping a stdio server), without
        waiting: a hung server's shutdown takes seconds, which no call should spend. ``cancel``: the connection
        never opened (a server hanging in ``initialize`` never reaches the point where it is told to close)."""
        self._session = None
        if self._closing is not None:
            self._closing.set()
        if self._task is not None and not self._task.done():
            if cancel:
                self._task.cancel()
            self._old.add(self._task)
            self._task.add_done_callback(self._old.discard)
        self._task = self._closing = None

    async def call(self, tool: str, arguments: dict[str, Any], *, meta: dict[str, Any] | None = None) -> str:
        """Call ``tool``; its text, cut to ``max_output_chars``. ``meta`` travels as the request's ``_meta``
        (who asked, the run, and for an approved side effect an idempotency key)."""
        session = await self.connect()
        request = session.call_tool(tool, arguments, read_timeout_seconds=self.spec.timeout,
                                    meta=types.RequestParamsMeta(**meta) if meta else None)  # type: ignore[typeddict-item]
        try:
            result = await asyncio.wait_for(request, self.spec.timeout + 1)
        except TimeoutError as exc:
            self._drop()
            raise ToolOutcomeUnknown(text.mcp_timed_out(self.name, self.spec.timeout)) from exc
        except MCPError as exc:
            if exc.code in (types.CONNECTION_CLOSED, types.REQUEST_TIMEOUT):
                self._drop()
                why = text.mcp_timed_out(self.name, self.spec.timeout) if exc.code == types.REQUEST_TIMEOUT \
                    else text.mcp_broken(self.name)
                raise ToolOutcomeUnknown(why) from exc
            raise ToolFailed(text.mcp_tool_error(tool, _line(exc.message))) from exc
        except Exception as exc:  # noqa: BLE001 - an answer the SDK cannot read: garbage, a broken transport
            self._drop()
            raise ToolOutcomeUnknown(text.mcp_broken(self.name)) from exc
        output = _text_of(result, self.spec.max_output_chars)
        if result.is_error:
            raise ToolFailed(text.mcp_tool_error(tool, _line(output)))
        return output

    async def close(self) -> None:
        self._drop()
        pending = list(self._old)
        if pending:
            _done, late = await asyncio.wait(pending, timeout=10)
            for task in late:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*late, return_exceptions=True)


def _alive(session: ClientSession) -> bool:
    """False once the session's connection ended (a stdio server that exited while idle): a call on it would fail
    without being sent, so a new connection is opened first. Reads the SDK's dispatcher flag when it has one."""
    dispatcher = getattr(session, "_dispatcher", None)
    return not bool(getattr(dispatcher, "_closed", False))


def _line(detail: str) -> str:
    return " ".join(detail.split())[:200]


def _text_of(result: types.CallToolResult, limit: int) -> str:
    parts: list[str] = []
    size = 0
    for block in result.content[:MAX_BLOCKS]:
        piece = block.text if isinstance(block, types.TextContent) else f"[{block.type} content not shown]"
        parts.append(piece)
        size += len(piece)
        if size > limit:
            break
    if not parts and result.structured_content is not None:
        parts.append(str(result.structured_content))
    joined = "\n".join(parts)
    return joined if len(joined) <= limit else joined[:limit] + "\n" + text.mcp_cut(limit)
