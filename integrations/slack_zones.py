"""People's own time zones and locales from Slack's ``users.info`` (with ``include_locale``), cached, with a
bounded wait on the ack path: for reading schedules in the owner's zone, showing times in the reader's zone and
speaking the reader's language."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.config_checks import zone_problem
from bot.core.ports import People, Person
from bot.core.schedule_desk import Zones
from integrations.slack_lookups import FAILED_PERSON_RETRY, Lookups
from integrations.slack_surface import call

UNKNOWN = Person()


class SlackZones(Zones, People):
    def __init__(self, client: AsyncWebClient, *, ttl: float = 600.0, wait: float = 1.0) -> None:
        self._client, self._wait = client, wait
        self._people: Lookups[Person] = Lookups(name="users.info", load=self._load, ttl=ttl,
                                                retry_after=FAILED_PERSON_RETRY)

    async def person(self, user: str) -> Person:
        """Not known in time, or Slack failed → the configured zone and language are used (replies say which zone
        they read a time in)."""
        if not user:
            return UNKNOWN
        return await self._people.get(user, wait=self._wait) or UNKNOWN

    def known(self, user: str) -> Person | None:
        if not user:
            return None
        found = self._people.peek(user)
        if found is None:
            self._people.prefetch(user)
        return found

    async def timezone(self, user: str) -> str | None:
        return (await self.person(user)).timezone

    async def close(self) -> None:
        await self._people.close()

    async def _load(self, user: str) -> Person:
        info = (await call(self._client, "users.info", user=user, include_locale=True)).get("user", {})
        zone = str(info.get("tz") or "") or None
        if zone is not None and zone_problem(zone):
            zone = None
        locale = str(info.get("locale") or "") or None
        return Person(timezone=zone, locale=locale)
