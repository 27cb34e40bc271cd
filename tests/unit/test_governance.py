"""Governance promises of the core: quorum after ask-back, decisions bound to what was seen, who reviews, where
content may go, and the audit of decisions written with them."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from bot.core import intake, review
from bot.core.errors import AccessDenied, InputError, InvalidTransition, StoreUnavailable
from bot.core.levels import Sensitivity
from bot.core.models import Origin, RunState
from tests.fakes.memory import MemoryAudit, MemoryStore, MemorySurface
from tests.unit.core_env import current, make_services, make_spec
from tests.unit.test_core_flow import drain, goal

QUORUM_2 = [{"id": "draft", "title": "Draft", "steps": [{"kind": "generate"}, {"kind": "review", "quorum": 2}]}]


async def test_a_goal_asked_back_keeps_its_workflows_quorum() -> None:
    svc = make_services(spec=make_spec(workflows=QUORUM_2))
    held = await intake.hold(svc, intake.Intake(requester="U0REQUEST", origin=Origin(channel="C1"),
                                                goal="something", workflow=""))
    run = await intake.choose(svc, run_id=held.id, user="U0REQUEST", workflow_id="draft")
    assert run.quorum == 2
    await drain(svc)
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW",
                        kind="approve")
    await drain(svc)
    assert (await svc.store.get(run.id)).state is RunState.IN_REVIEW  # one approval is not enough
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW2",
                        kind="approve")
    await drain(svc)
    assert (await svc.store.get(run.id)).state is RunState.DELIVERED


async def test_approve_binds_to_the_version_seen() -> None:
    svc = make_services()
    run = await goal(svc)
    await drain(svc)
    seen = await current(svc, run.id)
    await review.edit(svc, run_id=run.id, user="U0REVIEW2", new_text="words nobody else has read", seen_version=seen)
    with pytest.raises(InvalidTransition, match="changed since you saw it"):
        await review.decide(svc, run_id=run.id, user="U0REVIEW", kind="approve", seen_version=seen)
    with pytest.raises(InvalidTransition, match="changed since you saw it"):
        await review.edit(svc, run_id=run.id, user="U0REVIEW", new_text="mine", seen_version=seen)
    with pytest.raises(InvalidTransition):
        await review.decide(svc, run_id=run.id, user="U0REVIEW", kind="approve", seen_version=None)
    after = await svc.store.get(run.id)
    assert after.state is RunState.IN_REVIEW and not after.approvals
    await review.decide(svc, run_id=run.id, user="U0REVIEW", kind="approve", seen_version=after.draft_version)
    assert (await svc.store.get(run.id)).state is RunState.APPROVED


class GatedStore(MemoryStore):
    """Holds the first ``2 * rounds`` reads until two readers are waiting, so two writers really overlap; logs
    every read and write with the version it saw."""

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.barrier, self.gated, self.log = asyncio.Barrier(2), 2 * rounds, []

    async def get(self, run_id: str) -> Any:
        run = await super().get(run_id)
        if self.gated > 0:
            self.gated -= 1
            await self.barrier.wait()
        self.log.append(("read", run.version))
        return run

    async def save(self, run: Any, *, job: Any = None) -> Any:
        self.log.append(("write", run.version))
        return await super().save(run, job=job)


async def test_concurrent_decisions_overlap_and_exactly_one_wins() -> None:
    svc = make_services()
    run = await goal(svc)
    await drain(svc)
    store = GatedStore(rounds=0)
    store.docs, store.jobs = svc.store.docs, svc.store.jobs
    svc = replace(svc, store=store)
    version = await current(svc, run.id)
    store.log.clear()
    store.gated = 4
    results = await asyncio.gather(
        review.decide(svc, run_id=run.id, user="U0REVIEW", kind="approve", seen_version=version),
        review.decide(svc, run_id=run.id, user="U0REVIEW2", kind="reject", reason="no", seen_version=version),
        return_exceptions=True)
    reads_before_first_write = [v for kind, v in store.log[:store.log.index(next(e for e in store.log
                                                                                  if e[0] == "write"))]]
    assert reads_before_first_write.count(reads_before_first_write[-1]) >= 2, store.log  # both read one version
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1 and isinstance(next(r for r in results if isinstance(r, Exception)), InvalidTransition)
    decided = await svc.store.get(run.id)
    assert decided.decision is not None and decided.state in (RunState.APPROVED, RunState.REJECTED)
    assert [e["kind"] for e in svc.audit.events].count("review.decided") == 1


async def test_review_step_approver_roles_decide() -> None:
    spec = make_spec(roles={"user": ["*"], "reviewer": ["U0REVIEW"], "legal": ["U0LEGAL"], "admin": []},
                     workflows=[{"id": "draft", "approver_roles": ["reviewer"],
                                 "steps": [{"kind": "generate"}, {"kind": "review", "approver_roles": ["legal"]}]}])
    svc = make_services(spec=spec)
    run = await goal(svc)
    await drain(svc)
    assert {p["channel"] for p in svc.surface.posts if p["effect"].startswith("review:")} == {"D-U0LEGAL"}
    with pytest.raises(AccessDenied):
        await review.decide(svc, run_id=run.id, user="U0REVIEW", kind="approve", seen_version=1)
    await review.decide(svc, run_id=run.id, user="U0LEGAL", kind="approve", seen_version=1)


async def test_guest_reviewer_gets_no_draft_above_the_guest_ceiling() -> None:
    surface = MemorySurface(groups={"S0REVIEWERS": {"U0REVIEW2"}})
    surface.guests_set.add("U0REVIEW2")
    svc = make_services(surface=surface)  # drafts are internal; guests may receive public only
    await goal(svc)
    await drain(svc)
    assert {p["channel"] for p in surface.posts if p["effect"].startswith("review:")} == {"D-U0REVIEW"}


async def test_no_reviewer_who_may_see_it_fails_with_the_reason() -> None:
    surface = MemorySurface(groups={"S0REVIEWERS": {"U0REVIEW2"}})
    surface.guests_set.update({"U0REVIEW", "U0REVIEW2"})
    svc = make_services(surface=surface)
    run = await goal(svc)
    await drain(svc)
    failed = await svc.store.get(run.id)
    assert failed.state is RunState.FAILED and "guest" in (failed.error or "")
    assert not [p for p in surface.posts if p["effect"].startswith("review:")]


async def test_an_edit_that_raises_the_level_leaves_the_review_channel() -> None:
    surface = MemorySurface(groups={"S0REVIEWERS": {"U0REVIEW2"}})
    surface.kinds["C0REVIEW"] = "private"  # private channels may receive up to confidential
    svc = make_services(spec=make_spec(review={"channel": "C0REVIEW"}), surface=surface)
    svc = replace(svc, assess=lambda t: (Sensitivity.RESTRICTED, {"sin": 1}) if "046 454 286" in t
                  else (Sensitivity.INTERNAL, {}))
    run = await goal(svc)
    await drain(svc)
    assert {p["channel"] for p in surface.posts if p["effect"].startswith("review:")} == {"C0REVIEW"}
    await review.edit(svc, run_id=run.id, user="U0REVIEW", new_text="SIN 046 454 286", seen_version=1)
    await drain(svc)
    channel_updates = [v for ref, v in surface.updates if ref.channel == "C0REVIEW"]
    assert channel_updates and channel_updates[-1].kind == "notice"  # the restricted draft is not shown there
    assert "046" not in str(channel_updates[-1].text)
    dms = {p["channel"] for p in surface.posts if p["effect"].startswith("review:D") or
           p["effect"].startswith("review:U")}
    assert dms == {"D-U0REVIEW", "D-U0REVIEW2"}


async def test_edits_are_bounded() -> None:
    svc = make_services()
    run = await goal(svc)
    await drain(svc)
    for i in range(review.MAX_EDITS - 1):
        await review.edit(svc, run_id=run.id, user="U0REVIEW", new_text=f"version {i}",
                          seen_version=await current(svc, run.id))
    kept = await svc.store.get(run.id)
    assert len(kept.drafts) == review.MAX_VERSIONS_KEPT and kept.drafts[0].author == "model:local"
    assert kept.draft.text == f"version {review.MAX_EDITS - 2}"
    with pytest.raises(InputError, match="edited"):
        await review.edit(svc, run_id=run.id, user="U0REVIEW", new_text="one more", seen_version=kept.draft_version)


class FlakyAudit(MemoryAudit):
    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def append(self, **kw: Any) -> None:
        if self.down:
            raise StoreUnavailable("the audit trail cannot be reached")
        await super().append(**kw)


async def test_a_decision_is_audited_once_even_when_the_trail_is_down_at_the_click() -> None:
    audit = FlakyAudit()
    svc = replace(make_services(), audit=audit)
    run = await goal(svc)
    await drain(svc)
    audit.down = True
    decided = await review.decide(svc, run_id=run.id, user="U0REVIEW", kind="approve", seen_version=1)
    assert decided.state is RunState.APPROVED and decided.outbox  # the decision stands, its event is pending
    audit.down = False
    await drain(svc)  # the deliver job appends the pending event first
    done = await svc.store.get(run.id)
    assert done.state is RunState.DELIVERED and not done.outbox
    assert [e["kind"] for e in audit.events].count("review.decided") == 1
    await svc.flush_audit(decided)  # a second flush of the same (stale) run appends nothing new
    assert [e["kind"] for e in audit.events].count("review.decided") == 1


async def test_a_deleted_review_message_does_not_fail_an_approved_run() -> None:
    class Forgetful(MemorySurface):
        async def update(self, *, ref: Any, view: Any) -> None:
            from bot.core.errors import SurfaceError

            raise SurfaceError("chat.update: message_not_found")

    surface = Forgetful(groups={"S0REVIEWERS": {"U0REVIEW2"}})
    svc = make_services(surface=surface)
    run = await goal(svc)
    await drain(svc)
    await review.decide(svc, run_id=run.id, user="U0REVIEW", kind="approve", seen_version=1)
    await drain(svc)
    assert (await svc.store.get(run.id)).state is RunState.DELIVERED


async def test_a_slack_connect_member_of_a_reviewer_group_gets_no_draft() -> None:
    surface = MemorySurface(groups={"S0REVIEWERS": {"U0REVIEW2", "U0EXTERNAL"}})
    surface.external.add("U0EXTERNAL")
    svc = make_services(surface=surface)
    await goal(svc)
    await drain(svc)
    assert {p["channel"] for p in surface.posts if p["effect"].startswith("review:")} == {"D-U0REVIEW", "D-U0REVIEW2"}


async def test_two_deliveries_posting_the_same_effect_at_once_post_it_once() -> None:
    from bot.core.effects import post_once
    from bot.core.errors import EffectInProgress
    from bot.core.ports import View

    class SlowSurface(MemorySurface):
        def __init__(self) -> None:
            super().__init__()
            self.entered, self.release = asyncio.Event(), asyncio.Event()

        async def post(self, **kw: Any) -> Any:
            self.entered.set()
            await self.release.wait()  # the first post is in flight while the second delivery arrives
            return await super().post(**kw)

    surface = SlowSurface()
    svc = make_services(surface=surface)
    run = await goal(svc)
    view = View(kind="notice")
    first = asyncio.create_task(post_once(svc, run, effect="result", channel="C1", view=view))
    await surface.entered.wait()
    with pytest.raises(EffectInProgress):
        await post_once(svc, await svc.store.get(run.id), effect="result", channel="C1", view=view)
    surface.release.set()
    await first
    again, ref = await post_once(svc, await svc.store.get(run.id), effect="result", channel="C1", view=view)
    assert [p["effect"] for p in surface.posts] == ["result"] and again.effects["result"].done


async def test_a_failed_post_releases_its_claim_and_the_retry_reconciles() -> None:
    from bot.core.effects import post_once
    from bot.core.errors import SurfaceUnavailable
    from bot.core.ports import View

    class Failing(MemorySurface):
        fail = True

        async def post(self, **kw: Any) -> Any:
            if self.fail:
                self.fail = False
                raise SurfaceUnavailable("chat.postMessage: rate limited")
            return await super().post(**kw)

    surface = Failing()
    svc = make_services(surface=surface)
    run = await goal(svc)
    with pytest.raises(SurfaceUnavailable):
        await post_once(svc, run, effect="result", channel="C1", view=View(kind="notice"))
    done, _ref = await post_once(svc, await svc.store.get(run.id), effect="result", channel="C1",
                                 view=View(kind="notice"))
    assert done.effects["result"].done and len(surface.posts) == 1
