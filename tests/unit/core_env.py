"""Builds Services over in-memory fakes for unit tests of the core."""

from __future__ import annotations

from typing import Any

import yaml

from bot.core.access import Access
from bot.core.router import Router
from bot.core.services import Services
from bot.core.spec import MapleSpec
from config.settings import DEFAULT_CONFIG
from tests.fakes.memory import (
    FixedClock,
    MemoryAudit,
    MemoryFeedback,
    MemoryLedger,
    MemoryQueue,
    MemoryStore,
    MemorySurface,
    ScriptedModel,
)


async def current(svc: Services, run_id: str) -> int:
    """The draft version a reviewer looking at the run now sees."""
    return (await svc.store.get(run_id)).draft_version


def make_spec(**changes: Any) -> MapleSpec:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["roles"] = {"user": ["*"], "reviewer": ["U0REVIEW", "S0REVIEWERS"], "admin": ["U0ADMIN"]}
    data.update(changes)
    return MapleSpec.model_validate(data)


def make_services(*, spec: MapleSpec | None = None, models: dict[str, ScriptedModel] | None = None,
                  surface: MemorySurface | None = None) -> Services:
    spec = spec or make_spec()
    store = MemoryStore()
    surface = surface or MemorySurface(groups={"S0REVIEWERS": {"U0REVIEW2"}})
    clients = models if models is not None else {"local": ScriptedModel("local")}
    portfolio = [m for m in spec.models if m.name in clients]
    clock = FixedClock()
    return Services(spec=spec, store=store, queue=MemoryQueue(store), surface=surface,
                    router=Router(portfolio=portfolio, clients=dict(clients), backoff=0.0), access=Access(spec, surface),
                    audit=MemoryAudit(), clock=clock, ledger=MemoryLedger(clock), feedback=MemoryFeedback())
