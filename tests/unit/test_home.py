"""The App Home per person: my runs, waiting for my review (stuck ones marked), for admins what needs attention;
an outsider is told who the admins are."""

from __future__ import annotations

from bot.core import review
from bot.core.desk import Desk
from bot.core.home import home_runs
from bot.core.models import Origin
from handlers.blocks import runs_blocks
from tests.unit.core_env import current, make_services, make_spec
from tests.unit.test_core_flow import drain, goal

ONE_REVIEWER = {"user": ["U0REQUEST", "U0REVIEW", "U0ADMIN"], "reviewer": ["U0REVIEW"], "admin": ["U0ADMIN"]}


async def test_each_person_sees_their_own_home() -> None:
    svc = make_services(spec=make_spec(roles=ONE_REVIEWER))
    run = await goal(svc, "draft a note about the office move")
    await drain(svc)
    mine = await home_runs(svc, "U0REQUEST")
    assert "office move" in str(mine.mine[0]) and "with reviewers" in str(mine.mine[0])
    assert not mine.waiting and not mine.admin
    theirs = await home_runs(svc, "U0REVIEW")
    assert "office move" in str(theirs.waiting[0]) and not theirs.mine
    await review.edit(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW", new_text="new")
    await drain(svc)
    theirs = await home_runs(svc, "U0REVIEW")
    assert "stuck" in str(theirs.waiting[0])
    admin = await home_runs(svc, "U0ADMIN")
    assert admin.admin and [r.id for r, _m in admin.stuck] == [run.id]
    blocks = str(runs_blocks(admin))
    assert "Needs attention" in blocks and "maple_take" in blocks and "maple_cancel" in blocks
    assert "Needs attention" not in str(runs_blocks(mine))


async def test_an_outsider_is_told_who_the_admins_are() -> None:
    svc = make_services(spec=make_spec(roles=ONE_REVIEWER))
    answer = await Desk(svc=svc).handle(user="U0OUTSIDE", origin=Origin(channel="C1"), raw="draft a note")
    assert "<@U0ADMIN>" in str(answer.text) and answer.private
    listing = await Desk(svc=svc).workflows("U0OUTSIDE")
    assert "<@U0ADMIN>" in str(listing)
