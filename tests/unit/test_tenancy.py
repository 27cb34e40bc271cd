"""Tenant binding rules and what a wildcard role means, over in-memory fakes."""

from __future__ import annotations

from bot.core.access import Access
from bot.core.spec import TenantsSpec
from bot.core.tenancy import Installed, Tenancy
from tests.fakes.memory import MemorySurface
from tests.unit.core_env import make_spec

WORKSPACE = Installed(team_id="T0HOME")
IN_GRID = Installed(team_id="T0HOME", enterprise_id="E0ORG")
ORG_WIDE = Installed(team_id="T0HOME", enterprise_id="E0ORG", is_enterprise_install=True)


def test_a_workspace_install_serves_its_workspace_only() -> None:
    t = Tenancy.of(WORKSPACE, TenantsSpec())
    assert t.admits(team="T0HOME", enterprise=None)
    assert not t.admits(team="T0ELSE", enterprise=None)
    assert not t.admits(team="T0HOME", enterprise="E0FOREIGN"), "a foreign org, whatever the team says"
    assert not t.admits(team=None, enterprise=None)
    assert not t.admits(team="", enterprise="")


def test_inside_a_grid_org_other_workspaces_need_the_allowlist() -> None:
    t = Tenancy.of(IN_GRID, TenantsSpec())
    assert t.admits(team="T0HOME", enterprise="E0ORG") and t.admits(team="T0HOME", enterprise=None)
    assert not t.admits(team="T0SISTER", enterprise="E0ORG")
    allowed = Tenancy.of(IN_GRID, TenantsSpec(teams=["T0SISTER"]))
    assert allowed.admits(team="T0SISTER", enterprise="E0ORG") and not allowed.admits(team="T0X", enterprise="E0ORG")
    org = Tenancy.of(IN_GRID, TenantsSpec(enterprises=["E0ORG"]))
    assert org.admits(team="T0ANY", enterprise="E0ORG") and not org.admits(team="T0ANY", enterprise=None)


def test_an_org_wide_install_serves_the_org() -> None:
    t = Tenancy.of(ORG_WIDE, TenantsSpec())
    assert t.admits(team=None, enterprise="E0ORG") and t.admits(team="T0ANY", enterprise="E0ORG")
    assert not t.admits(team="T0ANY", enterprise="E0OTHER")


def test_a_users_home_decides_whether_they_are_ours() -> None:
    t = Tenancy.of(IN_GRID, TenantsSpec())
    assert t.is_home_of(team="T0HOME", enterprise=None)
    assert t.is_home_of(team="E0ORG", enterprise="E0ORG", teams=["T0SISTER", "T0HOME"])  # a Grid member of ours
    assert not t.is_home_of(team="T0PARTNER", enterprise="E0PARTNER", teams=["T0HOME"])
    assert not t.is_home_of(team="T0PARTNER", enterprise=None)


async def test_wildcard_groups_and_channels_are_for_members_of_the_workspace() -> None:
    spec = make_spec(roles={"user": ["*"], "reviewer": ["S0REVIEWERS", "C0REVIEW"], "admin": ["U0ADMIN"],
                            "partners": ["U0PARTNER"]})
    surface = MemorySurface(groups={"S0REVIEWERS": {"U0REVIEW", "U0PARTNER"}, "C0REVIEW": {"U0LATE"}})
    surface.external = {"U0PARTNER", "U0GUESTCO"}
    access = Access(spec, surface)
    assert await access.roles_of("U0REVIEW") == {"user", "reviewer"}
    assert await access.roles_of("U0LATE") == {"user", "reviewer"}
    assert await access.roles_of("U0PARTNER") == {"partners"}, "named by id only: not user, not reviewer"
    assert await access.roles_of("U0GUESTCO") == frozenset()
    assert await access.roles_of("") == frozenset()
