"""Anchors outside Redis: an append-only JSONL file of signed audit chain points.

Each line is one ``SignedPoint`` (an ``anchor`` of a shard's head, or a ``checkpoint`` written before a
trim), carrying its own HMAC. Someone who can edit Redis but does not hold the audit key cannot make the
stored chains agree with this file again. Put it on storage Redis's operators cannot rewrite.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import Sequence
from pathlib import Path

from bot.core.audit import AnchorState, SignedPoint, read_anchor_lines
from bot.core.errors import StoreUnavailable


class AnchorFile:
    def __init__(self, path: str | os.PathLike[str], *, key: bytes) -> None:
        self.path = Path(path)
        self._key = key

    def append(self, points: Sequence[SignedPoint]) -> None:
        """Append ``points`` in one locked, fsynced write."""
        if not points:
            return
        data = "".join(point.model_dump_json() + "\n" for point in points).encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise StoreUnavailable(f"cannot write the audit anchor file {self.path}") from exc

    def read(self) -> AnchorState:
        """The latest valid anchor and checkpoint per shard; a missing file is an empty state."""
        try:
            with self.path.open(encoding="utf-8", errors="replace") as handle:
                return read_anchor_lines(self._key, handle)
        except FileNotFoundError:
            return AnchorState()
        except OSError as exc:
            raise StoreUnavailable(f"cannot read the audit anchor file {self.path}") from exc

    async def append_async(self, points: Sequence[SignedPoint]) -> None:
        await asyncio.to_thread(self.append, points)

    async def read_async(self) -> AnchorState:
        return await asyncio.to_thread(self.read)
