"""Tenant binding: which Slack workspaces and Enterprise Grid orgs Maple serves, and who is a member of them.

Maple serves the workspace its bot token is installed in (learned from ``auth.test`` at start) and, when the
config says so, more workspaces or whole Enterprise Grid orgs (``tenants:``). Two questions use the same rule:

* *Is this request for us?* — the installation a request was delivered for (its team and enterprise ids) must be
  served; otherwise nothing runs and nothing is called.
* *Is this person one of ours?* — a user's home workspace (or org) must be served. Only such members get roles
  from ``"*"``, user groups and channels; a Slack Connect user (an external member of a shared channel), a
  stranger, a bot or a deactivated account holds a role only when the config names their user id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.spec import TenantsSpec


@dataclass(frozen=True, kw_only=True)
class Installed:
    """The installation Maple's bot token belongs to, as ``auth.test`` describes it."""

    team_id: str | None
    enterprise_id: str | None = None
    is_enterprise_install: bool = False
    bot_user_id: str | None = None
    bot_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class Tenancy:
    installed: Installed
    teams: frozenset[str]
    enterprises: frozenset[str]
    """Orgs every workspace of which is served (an org-wide install, or ``tenants.enterprises``)."""
    known_enterprises: frozenset[str]
    """Orgs that may appear next to a served team (the installed workspace's own org)."""

    @classmethod
    def of(cls, installed: Installed, spec: TenantsSpec) -> Tenancy:
        teams = {t for t in (installed.team_id, *spec.teams) if t}
        enterprises = set(spec.enterprises)
        if installed.is_enterprise_install and installed.enterprise_id:
            enterprises.add(installed.enterprise_id)
        known = enterprises | ({installed.enterprise_id} if installed.enterprise_id else set())
        return cls(installed=installed, teams=frozenset(teams), enterprises=frozenset(enterprises),
                   known_enterprises=frozenset(known))

    def admits(self, *, team: str | None, enterprise: str | None) -> bool:
        """Is an installation (or a person's home) with these ids served? Neither id known → no."""
        if enterprise:
            if enterprise in self.enterprises:
                return True
            if enterprise not in self.known_enterprises:
                return False  # a foreign org, whatever the team id says
        return bool(team) and team in self.teams

    def is_home_of(self, *, team: str | None, enterprise: str | None, teams: Iterable[str] = ()) -> bool:
        """Is a user whose profile says ``team`` / ``enterprise`` (and, on Grid, ``teams``) one of ours?"""
        if self.admits(team=team, enterprise=enterprise):
            return True
        return any(self.admits(team=t, enterprise=enterprise) for t in teams)
