"""Edit, then nobody can approve: Maple says so before the edit, hides Approve from the editor, tells the requester
and the admins, shows it in status, and an admin can take the review or cancel the run."""

from __future__ import annotations

import pytest

from bot.core import review, reviewers, text
from bot.core.desk import Desk
from bot.core.errors import AccessDenied, InvalidTransition
from bot.core.models import Job, RunState
from bot.core.worker import handle_job
from handlers.blocks import edit_modal, render
from tests.unit.core_env import current, make_services, make_spec
from tests.unit.test_core_flow import drain, goal

ONE_REVIEWER = {"user": ["*"], "reviewer": ["U0REVIEW"], "admin": ["U0ADMIN"]}


def button_ids(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def stuck_run():  # type: ignore[no-untyped-def]
    svc = make_services(spec=make_spec(roles=ONE_REVIEWER))
    run = await goal(svc)
    await drain(svc)
    await review.edit(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW",
                      new_text="better words")
    await drain(svc)
    return svc, await svc.store.get(run.id)


async def test_the_edit_form_says_before_the_edit_that_nobody_else_can_approve() -> None:
    svc = make_services(spec=make_spec(roles=ONE_REVIEWER))
    run = await goal(svc)
    await drain(svc)
    run = await svc.store.get(run.id)
    warning = await reviewers.edit_warning(svc, run, editor="U0REVIEW")
    assert warning.key == "edit_leaves_nobody"
    assert "Nobody else can approve" in str(edit_modal(run, warning=warning))


async def test_the_edit_form_names_who_approves_after_the_edit() -> None:
    svc = make_services()  # U0REVIEW and the group member U0REVIEW2
    run = await goal(svc)
    await drain(svc)
    warning = await reviewers.edit_warning(svc, await svc.store.get(run.id), editor="U0REVIEW")
    assert warning.key == "edit_then_others" and "<@U0REVIEW2>" in str(warning)


async def test_the_editor_sees_no_approve_and_everyone_is_told_it_is_stuck() -> None:
    svc, run = await stuck_run()
    editor_view = [v for ref, v in svc.surface.updates if ref.channel == "D-U0REVIEW"][-1]
    _text, blocks = render(editor_view)
    assert "maple_approve" not in button_ids(blocks) and "maple_edit" in button_ids(blocks)
    shown = str(blocks)
    assert "You edited this version" in shown and "Nobody left can approve" in shown
    admin = [p for p in svc.surface.posts if p["effect"] == f"stuck:{run.draft_version}:U0ADMIN"]
    assert len(admin) == 1 and admin[0]["channel"] == "D-U0ADMIN"
    assert {"maple_take", "maple_cancel"} <= set(button_ids(render(admin[0]["view"])[1]))
    progress_ts = next(p["ts"] for p in svc.surface.posts if p["effect"] == "progress")
    run_message = [v for ref, v in svc.surface.updates if ref.ts == progress_ts][-1]
    assert "nobody left can approve it" in str(render(run_message)[1])
    told = [p for p in svc.surface.posts if p["effect"] == f"notify:stuck:{run.draft_version}"]
    assert len(told) == 1 and "<@U0ADMIN>" in str(told[0]["view"].text)
    assert "better words" not in str(told[0]["view"].text)  # the requester's notice names the goal, not the draft
    await handle_job(svc, Job(run_id=run.id, kind="refresh_reviews"))  # a second refresh tells nobody twice
    assert len([p for p in svc.surface.posts if p["effect"].startswith("stuck:")]) == 1


async def test_status_shows_stuck_and_who_may_approve() -> None:
    svc, run = await stuck_run()
    desk = Desk(svc=svc)
    assert "Stuck" in str(await desk.status("U0REQUEST", run.id))
    other = make_services()
    fresh = await goal(other)
    await drain(other)
    shown = str(await Desk(svc=other).status("U0REQUEST", fresh.id))
    assert "Waiting for review by <@U0REVIEW>, <@U0REVIEW2>" in shown


async def test_an_admin_takes_the_review_then_approves() -> None:
    svc, run = await stuck_run()
    with pytest.raises(AccessDenied):
        await reviewers.take_over(svc, run_id=run.id, admin="U0REVIEW")  # not an admin
    await reviewers.take_over(svc, run_id=run.id, admin="U0ADMIN")
    await drain(svc)
    assert [p for p in svc.surface.posts if p["effect"] == "review:U0ADMIN"], "the admin gets the draft"
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0ADMIN", kind="approve")
    await drain(svc)
    assert (await svc.store.get(run.id)).state is RunState.DELIVERED


async def test_the_requester_or_an_admin_cancels_and_nothing_is_posted() -> None:
    svc, run = await stuck_run()
    with pytest.raises(AccessDenied):
        await reviewers.cancel(svc, run_id=run.id, user="U0REVIEW")
    await reviewers.cancel(svc, run_id=run.id, user="U0ADMIN")
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.state is RunState.CANCELLED and run.decision and run.decision.by == "U0ADMIN"
    assert not [p for p in svc.surface.posts if p["effect"] == "result"]
    assert any("Cancelled by" in str(v.banner) for _ref, v in svc.surface.updates if v.kind == "review")
    assert [p for p in svc.surface.posts if p["effect"] == "notify:cancelled"], "the requester is told"
    with pytest.raises(InvalidTransition):
        await reviewers.cancel(svc, run_id=run.id, user="U0REQUEST")


async def test_a_run_cancelled_before_drafting_calls_no_model() -> None:
    svc = make_services()
    run = await goal(svc)
    await reviewers.cancel(svc, run_id=run.id, user="U0REQUEST")
    await drain(svc)
    assert (await svc.store.get(run.id)).state is RunState.CANCELLED
    assert not [p for p in svc.surface.posts if p["effect"].startswith("review:")]


def test_an_edited_draft_names_its_editor_once_escaped() -> None:
    from datetime import UTC, datetime

    from bot.core.models import DraftVersion, Origin, Run
    from handlers.blocks import review_blocks

    now = datetime.now(UTC)
    run = Run(requester="U0REQUEST", origin=Origin(channel="C1"), goal="g", workflow="draft", created_at=now,
              updated_at=now, state=RunState.IN_REVIEW,
              drafts=[DraftVersion(text="x", author="U0REVIEW", at=now, version=1)], draft_version=1)
    shown = str(review_blocks(run, banner=None, buttons=True))
    assert "edited by <@U0REVIEW>" in shown and "&lt;@" not in shown
    assert text.msg("model_edited", user=text.User("U0REVIEW"))
