"""Who may do what. Fail closed: a user in no role may do nothing; admin abilities are denied unless granted.
``"*"`` in a role means "every member of a workspace Maple serves", never "anyone" (see bot/core/tenancy.py)."""

from __future__ import annotations

import asyncio

from bot.core import text
from bot.core.models import Run
from bot.core.ports import Directory
from bot.core.spec import MapleSpec, WorkflowSpec
from bot.core.text import Msg

EVERYONE = "*"


class Access:
    def __init__(self, spec: MapleSpec, directory: Directory) -> None:
        self._spec = spec
        self._directory = directory

    async def roles_of(self, user: str) -> frozenset[str]:
        """The roles ``user`` holds. A role that names the user id is held by that user, whoever they are.
        ``"*"``, user groups and channels give roles only to members of a workspace Maple serves: a Slack
        Connect user (an external member of a shared channel), a stranger, a bot or a deactivated account holds
        no role unless named by id. Each look-up is bounded by the directory; one not answered in time counts
        as "not a member" (fail closed)."""
        if not user:
            return frozenset()
        named = {role for role, members in self._spec.roles.items() if user in members}
        rest = {role: members for role, members in self._spec.roles.items() if role not in named}
        sources = sorted({m for members in rest.values() for m in members if m.startswith(("S", "C", "G"))})
        if not sources and not any(EVERYONE in members for members in rest.values()):
            return frozenset(named)
        if not await self._directory.is_local(user):
            return frozenset(named)
        answers = await self._known(sources)
        inside = {source for source, members in zip(sources, answers, strict=True) if members and user in members}
        held = {role for role, members in rest.items() if EVERYONE in members or inside.intersection(members)}
        return frozenset(named | held)

    async def _known(self, sources: list[str]) -> list[frozenset[str] | None]:
        """Members of each source; several are looked up at once so a request waits for the slowest only.
        (Answers already cached come back without waiting, so one source is awaited directly.)"""
        if len(sources) <= 1:
            return [await self._directory.known_members(s) for s in sources]
        return list(await asyncio.gather(*(self._directory.known_members(s) for s in sources)))

    async def channel_members(self, channel: str) -> frozenset[str]:
        """Who is in a channel (for destinations: who would read what is posted there)."""
        return await self._directory.channel_members(channel)

    async def is_active(self, user: str) -> bool:
        """Is ``user``'s account still there (not deactivated)? Someone who left acts for nobody, roles or not."""
        return await self._directory.is_active(user)

    async def guests(self) -> frozenset[str] | None:
        return await self._directory.guests()

    async def has_any(self, user: str, roles: list[str]) -> bool:
        mine = await self.roles_of(user)
        return any(role in mine for role in roles)

    async def may_run(self, user: str, workflow: WorkflowSpec) -> bool:
        return await self.has_any(user, workflow.run_roles)

    async def may_read(self, user: str, collection: str) -> bool:
        """May ``user`` read the knowledge collection? Unknown collections are readable by nobody."""
        spec = self._spec.collections.get(collection)
        return spec is not None and await self.has_any(user, spec.roles)

    async def readers_of(self, roles: list[str]) -> frozenset[str] | None:
        """Everyone holding one of ``roles`` (user groups and channels expanded): who may read text only those
        roles may read. None when a role names ``"*"`` (anyone in the workspace)."""
        people: set[str] = set()
        for role in roles:
            for member in self._spec.roles.get(role, []):
                if member == EVERYONE:
                    return None
                for user in await self._expand(member):  # of a group or channel: only local people hold the role
                    if user == member or await self._directory.is_local(user):
                        people.add(user)
        return frozenset(people)

    async def is_admin(self, user: str) -> bool:
        return await self.has_any(user, self._spec.admin_roles)

    async def is_approver(self, user: str, workflow: WorkflowSpec) -> bool:
        return await self.has_any(user, workflow.reviewer_roles)

    async def approvers(self, workflow: WorkflowSpec) -> list[str]:
        """Who reviews the workflow's drafts (for DMs): user ids named in its reviewer roles, and the members of
        the user groups and channels they name — of those, only people of a workspace Maple serves, as in
        ``roles_of`` (a Slack Connect member of a reviewer channel holds no role, so gets no draft)."""
        users: list[str] = []
        for role in workflow.reviewer_roles:
            for member in self._spec.roles.get(role, []):
                if member == EVERYONE:
                    continue
                expanded = sorted(await self._expand(member))
                for user in expanded:
                    if user in users or (member != user and not await self._directory.is_local(user)):
                        continue
                    users.append(user)
        return users

    async def _expand(self, member: str) -> frozenset[str]:
        if member.startswith("S"):
            return await self._directory.group_members(member)
        if member.startswith(("C", "G")):
            return await self._directory.channel_members(member)
        return frozenset({member})

    async def may_view(self, user: str, run: Run, workflow: WorkflowSpec | None) -> bool:
        if user == run.requester or await self.is_admin(user):
            return True
        return workflow is not None and await self.is_approver(user, workflow)

    def decision_denial(self, *, user: str, run: Run, approver: bool, approve: bool) -> Msg | None:
        """Why ``user`` may not decide on ``run`` as it is now (None when they may). Pure, so it runs inside
        the compare-and-set that writes the decision; ``approver``: whether ``user`` holds a reviewer role."""
        if not approver:
            return text.NOT_ALLOWED_DECIDE
        if not run.audience.admits(frozenset({user})):  # the draft never reached them: text keeps its audience
            return text.msg("decide_outside_audience")
        if approve and user == run.requester and not self._spec.review.allow_self_approval:
            return text.SELF_APPROVAL
        if approve and edited_last_by(run) == user:
            return text.EDITOR_ONLY_APPROVER
        return None


def edited_last_by(run: Run) -> str | None:
    """The reviewer whose edit is the current draft (None when a model or tool wrote it)."""
    draft = run.draft
    return draft.author if draft is not None and not draft.author.startswith(("model:", "tool:")) else None
