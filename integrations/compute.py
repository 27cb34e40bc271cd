"""``Compute`` on a small pool of worker processes: CPU-heavy tool work never runs on the event loop that serves
Slack, and a call that passes its time limit is stopped by killing its process, which is then replaced.

Workers are forked from a ``forkserver`` (a clean, single-threaded process that has already imported the tools), so
starting one never forks the threads of the serving process. A new worker imports the main module first, as
multiprocessing does (seconds for ``maple`` on a loaded machine), then says it is ready: only then does a call's
time limit start. Each worker handles one call at
a time over a pipe; the event loop waits on the pipe's file descriptor, never in a thread. A worker's address space
is capped (``memory_mb``), and a worker whose parent dies sees its pipe close and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from bot.core import text
from bot.core.errors import ToolError, ToolFailed
from bot.core.ports import Compute

log = logging.getLogger("maple.compute")
T = TypeVar("T")
PRELOAD = ["bot.core.tools.builtin"]
READY = "ready"
START_TIMEOUT = 120.0  # a new worker's start-up (it imports the main module) is not counted in a call's time limit


def _serve(conn: Connection, memory_mb: int | None) -> None:
    """A worker's main loop: receive (function, arguments), send back (True, value) or (False, error)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if memory_mb:
        with contextlib.suppress(ValueError, OSError, ImportError):
            import resource

            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    conn.send(READY)
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        reply: tuple[bool, Any]
        try:
            reply = (True, fn(*args))
        except ToolError as exc:
            reply = (False, exc)
        except BaseException as exc:  # noqa: BLE001 - a crash in the work becomes a tool failure, never a hang
            reply = (False, ToolFailed(text.tool_crashed(getattr(fn, "__name__", "the tool"), type(exc).__name__)))
        try:
            conn.send(reply)
        except Exception:  # noqa: BLE001 - an unpicklable result
            conn.send((False, ToolFailed(text.tool_failed(getattr(fn, "__name__", "the tool")))))


class _Broken(Exception):
    """The worker timed out or died: kill it and tell the caller."""


class _Worker:
    def __init__(self, ctx: ForkServerContext, memory_mb: int | None) -> None:
        parent, child = ctx.Pipe()
        self.process: BaseProcess = ctx.Process(target=_serve, args=(child, memory_mb), daemon=True,
                                                name="maple-compute")
        self.process.start()
        child.close()
        self.conn = parent

    async def started(self) -> None:
        """Wait for the worker to say it is ready, so that its start-up never counts against a call's time limit."""
        try:
            await self._readable(START_TIMEOUT)
            if self.conn.recv() != READY:
                raise _Broken(text.tool_failed("the compute worker"))
        except (TimeoutError, EOFError, OSError) as exc:
            raise _Broken(text.tool_failed("the compute worker")) from exc

    async def _readable(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = self.conn.fileno()
        loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
        try:
            await asyncio.wait_for(ready, timeout)
        finally:
            loop.remove_reader(fd)

    async def call(self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> tuple[bool, Any]:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = self.conn.fileno()
        loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
        try:
            self.conn.send((fn, args))
            await asyncio.wait_for(ready, timeout)
        except TimeoutError as exc:
            raise _Broken(text.TOOL_TIMED_OUT) from exc
        except OSError as exc:
            raise _Broken(text.tool_failed(getattr(fn, "__name__", "the tool"))) from exc
        finally:
            loop.remove_reader(fd)
        try:
            reply: tuple[bool, Any] = self.conn.recv()
        except (EOFError, OSError) as exc:  # the worker died (e.g. its memory cap)
            raise _Broken(text.tool_failed(getattr(fn, "__name__", "the tool"))) from exc
        return reply

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=2)


class ProcessCompute(Compute):
    """At most ``workers`` calls run at once; further calls wait up to ``queue_timeout`` seconds for a worker."""

    def __init__(self, *, workers: int = 2, queue_timeout: float = 30.0, memory_mb: int | None = 1024,
                 preload: list[str] | None = None) -> None:
        self._size, self._queue_timeout, self._memory_mb = max(1, workers), queue_timeout, memory_mb
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload([*PRELOAD, *(preload or [])])  # only before the forkserver has started
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._slots: asyncio.Semaphore | None = None
        self.replaced = 0  # workers killed on a timeout or crash (observable in tests and logs)

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float) -> T:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._size)
        try:
            await asyncio.wait_for(self._slots.acquire(), self._queue_timeout)
        except TimeoutError as exc:
            raise ToolFailed(text.TOOL_BUSY) from exc
        try:
            return await self._run(fn, args, timeout)
        finally:
            self._slots.release()

    async def _run(self, fn: Callable[..., T], args: tuple[Any, ...], timeout: float) -> T:
        fresh = not self._idle
        worker = self._idle.pop() if self._idle else await asyncio.to_thread(_Worker, self._ctx, self._memory_mb)
        self._busy.add(worker)
        healthy = False
        try:
            if fresh:
                await worker.started()
            ok, value = await worker.call(fn, args, timeout)
            healthy = True
        except _Broken as exc:
            raise ToolFailed(exc.args[0] if exc.args else "") from None  # its message, said in the reader's language
        finally:
            self._busy.discard(worker)
            if healthy:
                self._idle.append(worker)
            else:  # timed out, died, or the caller was cancelled mid-call: never reuse it
                self.replaced += 1
                log.warning("compute worker stopped and replaced", extra={"function": getattr(fn, "__name__", "?")})
                worker.kill()  # SIGKILL and reap: milliseconds
        if ok:
            return value  # type: ignore[no-any-return]
        raise value

    async def close(self) -> None:
        workers, self._idle = [*self._idle, *self._busy], []
        self._busy.clear()
        for worker in workers:
            worker.kill()
