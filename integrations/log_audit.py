"""An AuditLog that writes events to the structured log only (used where no audit key is configured)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.core.ports import AuditLog

log = logging.getLogger("maple.audit")


class LogAuditLog(AuditLog):
    async def append(self, *, kind: str, run_id: str | None, actor: str | None, attrs: Mapping[str, Any]) -> None:
        log.info(kind, extra={"run_id": run_id, "actor": actor, **{k.replace(".", "_"): v for k, v in attrs.items()}})
