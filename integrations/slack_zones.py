"""People's own time zones from Slack's ``users.info`` (cached), for reading schedules in the owner's zone."""

from __future__ import annotations

import time

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.config_checks import zone_problem
from bot.core.errors import SurfaceError
from bot.core.schedule_desk import Zones
from integrations.slack_surface import call


class SlackZones(Zones):
    def __init__(self, client: AsyncWebClient, *, ttl: float = 600.0) -> None:
        self._client, self._ttl = client, ttl
        self._cache: dict[str, tuple[float, str | None]] = {}

    async def timezone(self, user: str) -> str | None:
        cached = self._cache.get(user)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            info = (await call(self._client, "users.info", user=user)).get("user", {})
        except SurfaceError:
            return None  # the configured zone is used, and the reply says which zone it read the time in
        zone = str(info.get("tz") or "") or None
        if zone is not None and zone_problem(zone):
            zone = None
        self._cache[user] = (time.monotonic() + self._ttl, zone)
        return zone
