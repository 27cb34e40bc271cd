"""The deferred intake (``MAPLE_ACK=deferred``, serve's default) over signed requests: the ack is a fixed answer with
the run id that never repeats the goal, one write; a worker places the goal — classifies, authorizes, throttles —
and answers through the command's response_url: "working on it", the ask-back with its buttons, or the refusal.
An expired or foreign response_url falls back to an ephemeral message; a job handed out again (a worker died
mid-job) creates no second run and queues no second draft; a pause since the ack refuses; Redis down at the ack
answers clearly; the ack's write also uses the signed request up, so a replay is refused."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.core import deferred as deferred_intake
from bot.core import intake
from bot.core.models import Job, Run
from bot.core.worker import handle_job
from integrations.redis_controls import RedisControls
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import ADMIN, CHANNEL, OUTSIDER, REQUESTER, Harness, sign, spec_dict
from tests.scenario.test_ask_back import offered
from tests.scenario.test_bad_input import runs_in_redis
from tests.scenario.test_front_door import FORM, slash_body
from tests.scenario.test_loop import GOAL, run_id_of


@pytest.fixture
async def deferred(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
                   ) -> AsyncIterator[Harness]:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    h = Harness(slack=slack, openai=openai_fake, ack="deferred")
    await h.start()
    yield h
    await h.stop()
    await h.cleanup_redis()


@pytest.fixture
async def idle(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    """Deferred, with no workers: the test hands out the jobs itself."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test-secret-key-1234567890")
    h = Harness(slack=slack, openai=openai_fake, ack="deferred", workers=0)
    await h.start()
    yield h
    await h.stop()
    await h.cleanup_redis()


async def ask(h: Harness, said: str, *, key: str, user: str = REQUESTER, url: str | None = None
              ) -> tuple[str, dict[str, Any]]:
    status, reply = await h.slash(user, said, response_url=url or h.slack.response_url(key))
    assert status == 200 and reply["response_type"] == "ephemeral", reply
    return run_id_of(reply), reply


async def answered(h: Harness, key: str) -> dict[str, Any]:
    found = await h.wait_for(lambda: [r for r in h.slack.responses if r["key"] == key], what=f"the answer at {key}")
    return found[0]


async def jobs(h: Harness) -> list[Job]:
    """Every job waiting in the queue, taken (a test with no workers)."""
    taken: list[Job] = []
    while (claim := await h.svc.queue.claim("test", lease=60)) is not None:
        taken.append(Job.model_validate_json(claim.payload))
        await h.svc.queue.ack(claim)
    return taken


async def test_the_ack_never_repeats_the_goal_and_the_answer_replaces_it(deferred: Harness) -> None:
    h = deferred
    run_id, reply = await ask(h, GOAL, key="k1")
    assert reply["text"].startswith("On it — run ") and "supplier" not in str(reply) and not reply.get("blocks")
    answer = await answered(h, "k1")
    assert answer["replace_original"] is True and answer["response_type"] == "ephemeral"
    assert "Working on it" in answer["text"] and run_id in answer["text"] and "supplier" not in answer["text"]
    run = await h.wait_state(run_id, "in_review")
    assert run.workflow == "draft" and run.origin.kind == "command"

    async def url_dropped() -> bool:
        return (await h.run(run_id)).reply_url is None

    await h.wait_for(url_dropped, what="the response_url dropped once answered")
    kinds = [e.kind for e in await h.svc.audit.timeline(run_id)]
    assert kinds.index("run.classified") < kinds.index("run.created"), kinds
    assert len([r for r in h.slack.responses if r["key"] == "k1"]) == 1


async def test_an_unclear_goal_is_asked_back_with_buttons_that_work(deferred: Harness) -> None:
    h = deferred
    run_id, reply = await ask(h, "Acme", key="k2")
    assert "Acme" not in str(reply)
    answer = await answered(h, "k2")
    assert answer["text"].startswith("I'm not sure which workflow fits “Acme”")
    assert [wf for wf, _ in offered(answer["blocks"])] == ["draft", "ask"]
    assert (await h.run(run_id)).workflow == "" and (await h.run(run_id)).offered == ["draft", "ask"]
    await h.interact({"type": "block_actions", "user": {"id": REQUESTER}, "team": {"id": "T0TEST"},
                      "channel": {"id": CHANNEL}, "trigger_id": "t", "response_url": h.slack.response_url("picked"),
                      "container": {"type": "message", "is_ephemeral": True},
                      "actions": [{"action_id": "maple_pick_draft", "value": f"{run_id}:draft"}]})
    await h.wait_state(run_id, "in_review")


async def test_a_person_without_a_role_is_refused_through_the_response_url(deferred: Harness) -> None:
    h = deferred
    run_id, _ = await ask(h, GOAL, key="k3", user=OUTSIDER)
    answer = await answered(h, "k3")
    assert answer["text"].startswith("You don't have access to Maple yet"), answer["text"]
    run = await h.wait_state(run_id, "refused")
    assert run.error and not h.openai.requests
    assert "run.refused" in [e.kind for e in await h.svc.audit.timeline(run_id)]


async def test_run_names_the_workflow_and_skips_the_classifier(deferred: Harness) -> None:
    h = deferred
    run_id, reply = await ask(h, "run draft Acme", key="k4")
    assert "Acme" not in str(reply)
    assert "Working on it" in (await answered(h, "k4"))["text"]
    run = await h.wait_state(run_id, "in_review")
    assert run.workflow == "draft" and run.named_workflow == "draft"
    classified = [e for e in await h.svc.audit.timeline(run_id) if e.kind == "run.classified"]
    assert [e.attrs["maple.classify.by"] for e in classified] == ["requester"]


async def test_an_unknown_workflow_is_answered_in_the_ack(deferred: Harness) -> None:
    status, reply = await deferred.slash(REQUESTER, "run nosuch Acme", response_url=deferred.slack.response_url("k"))
    assert status == 200 and "R-" not in reply["text"] and "nosuch" in reply["text"]
    assert await deferred.svc.store.since(deferred.svc.clock.now().replace(year=2000)) == []


@pytest.mark.parametrize("where", ["expired", "foreign"])
async def test_a_gone_response_url_falls_back_to_an_ephemeral_message(deferred: Harness, where: str) -> None:
    h = deferred
    h.slack.expired.add("gone")
    url = h.slack.response_url("gone") if where == "expired" else "https://hooks.example.net/commands/T0/1/x"
    run_id, _ = await ask(h, GOAL, key="gone", url=url)
    told = await h.wait_for(lambda: [c.params for c in h.slack.calls_to("chat.postEphemeral")
                                     if c.ok and run_id in c.params.get("text", "")], what="the ephemeral answer")
    assert told[0]["channel"] == CHANNEL and told[0]["user"] == REQUESTER and "Working on it" in told[0]["text"]
    assert not h.slack.responses
    await h.wait_state(run_id, "in_review")


async def test_a_job_handed_out_again_creates_no_second_run_and_no_second_draft(idle: Harness) -> None:
    """A worker took the intake job and died (the lease lapsed, the queue hands it out again): the second delivery
    finds the run the first placed. Also when the first died after placing but before answering."""
    h = idle
    run_id, _ = await ask(h, GOAL, key="k5")
    (job,) = await jobs(h)
    assert job.kind == "intake" and job.run_id == run_id
    await handle_job(h.svc, job)
    await handle_job(h.svc, job)  # handed out again
    assert [j.kind for j in await jobs(h)] == ["draft"]
    assert len([r for r in h.slack.responses if r["key"] == "k5"]) == 1
    runs = await h.svc.store.since(h.svc.clock.now().replace(year=2000))
    assert [r.id for r in runs] == [run_id] and runs[0].workflow == "draft"

    other, _ = await ask(h, GOAL, key="k6")
    (job,) = await jobs(h)
    await intake.choose(h.svc, run_id=other, user=REQUESTER, workflow_id="draft", by="local")  # placed, then died
    await handle_job(h.svc, job)
    assert [j.kind for j in await jobs(h)] == ["draft"]  # the one the first attempt queued
    assert "Working on it" in (await answered(h, "k6"))["text"]


async def test_a_pause_since_the_ack_refuses_with_the_reason(idle: Harness) -> None:
    h = idle
    run_id, _ = await ask(h, GOAL, key="k7")
    r = aioredis.from_url(h.redis_url)
    controls = RedisControls(redis=r, prefix=h.prefix)
    try:
        await controls.set("intake_paused", on=True, by="ops")
        await h.wait_for(lambda: h.svc.control_state().intake_paused, what="the pause seen")
        for job in await jobs(h):
            await handle_job(h.svc, job)
        assert "paused by its operators" in (await answered(h, "k7"))["text"]
        run: Run = await h.run(run_id)
        assert run.state.value == "refused" and [j.kind for j in await jobs(h)] == []
    finally:
        await controls.set("intake_paused", on=False, by="ops")
        await r.aclose()


async def test_redis_down_at_the_ack_is_answered_clearly(slack: FakeSlack, openai_fake: FakeOpenAI,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    h = Harness(slack=slack, openai=openai_fake, redis_url="redis://127.0.0.1:1/0", ack="deferred")
    await h.start(workers=0)
    try:
        status, reply = await h.slash(REQUESTER, GOAL, response_url=slack.response_url("k8"))
        assert status == 200 and "temporarily unavailable" in reply["text"] and "R-" not in reply["text"]
    finally:
        await h.stop()


@contextlib.asynccontextmanager
async def limited(slack: FakeSlack, openai_fake: FakeOpenAI, **limits: int) -> AsyncIterator[Harness]:
    """A deferred harness with these start limits, stopped and cleaned up afterwards."""
    data = spec_dict()
    data["limits"] = {**data.get("limits", {}), **limits}
    h = await Harness(slack=slack, openai=openai_fake, spec=data, ack="deferred").start()
    try:
        yield h
    finally:
        await h.stop()
        await h.cleanup_redis()


@pytest.mark.parametrize(("said", "user", "refused", "limit"), [
    ("run draft a note to the supplier", OUTSIDER, 4, 3),  # no role: refused
    ("operations digest", REQUESTER, 3, 2),  # the classifier reads every workflow: this one is the admins'
])
async def test_a_request_refused_by_authorization_takes_no_start_from_the_team(
        slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, said: str, user: str,
        refused: int, limit: int) -> None:
    """Authorization comes before the start limits — a workflow named or the classifier's pick alike: refused
    requests do not use up the team's starts."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    async with limited(slack, openai_fake, runs_per_team_per_minute=limit) as h:
        for i in range(refused):
            run_id, _ = await ask(h, said, key=f"no{i}", user=user)
            assert (await h.wait_state(run_id, "refused")).error
        run_id, _ = await ask(h, GOAL, key="mine")
        assert "Working on it" in (await answered(h, "mine"))["text"]
        await h.wait_state(run_id, "in_review")


async def test_the_start_limit_holds_for_goals_asked_back_and_before_a_model_is_asked(
        slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    async with limited(slack, openai_fake, runs_per_user_per_minute=1) as h:
        first, _ = await ask(h, "Acme", key="a1")
        assert (await answered(h, "a1"))["text"].startswith("I'm not sure which workflow fits")
        second, _ = await ask(h, "sort out the warehouse situation before the audit", key="a2")  # a model would pick
        assert "Working" not in (await answered(h, "a2"))["text"]
        run = await h.wait_state(second, "refused")
        assert run.error and not h.openai.requests  # refused before any model was asked


async def test_a_placement_delivered_twice_counts_one_start(slack: FakeSlack, openai_fake: FakeOpenAI,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """One start a minute: the first delivery of an intake job counted the start and was cut off (Redis lost
    mid-placement); its retry is placed, not refused by the start it counted. Two deliveries of another goal's job
    at the same moment place it once and are not refused by each other; a third goal finds the limit reached."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    data = spec_dict()
    data["limits"] = {**data.get("limits", {}), "runs_per_user_per_minute": 1}
    h = await Harness(slack=slack, openai=openai_fake, spec=data, ack="deferred", workers=0).start()
    try:
        run_id, _ = await ask(h, GOAL, key="c1")
        (job,) = await jobs(h)
        await intake.limit_starts(h.svc, user=REQUESTER, team=None, run_id=run_id)  # the cut-off delivery's count
        await handle_job(h.svc, job)
        assert "Working on it" in (await answered(h, "c1"))["text"]
        assert (await h.run(run_id)).workflow == "draft" and [j.kind for j in await jobs(h)] == ["draft"]

        other = await ask(h, GOAL, key="c2", user=ADMIN)
        (job,) = await jobs(h)
        await asyncio.gather(handle_job(h.svc, job), handle_job(h.svc, job))
        said = [r["text"] for r in h.slack.responses if r["key"] == "c2"]
        assert said and all(x.startswith("Working on it") for x in said)  # neither delivery refused the other
        assert (await h.run(other[0])).workflow == "draft" and [j.kind for j in await jobs(h)] == ["draft"]

        third, _ = await ask(h, GOAL, key="c3", user=ADMIN)
        for job in await jobs(h):
            await handle_job(h.svc, job)
        assert (await h.run(third)).state.value == "refused"
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_a_held_goal_handed_out_again_asks_the_model_once(idle: Harness) -> None:
    """The first delivery held the goal for a model to classify and died before answering: the second queues no
    second clarify job (no second paid call) and answers what the first decided, not the buttons."""
    h = idle
    h.openai.reply = "I am not sure"
    run_id, _ = await ask(h, "sort out the warehouse situation before the audit", key="h1")
    (job,) = await jobs(h)
    await deferred_intake._place(h.svc, await h.run(run_id))  # the first delivery got this far
    await handle_job(h.svc, job)  # handed out again
    assert [j.kind for j in await jobs(h)] == ["clarify"]
    answer = await answered(h, "h1")
    assert answer["text"].startswith("Working out which workflow fits") and "maple_pick" not in str(answer["blocks"])
    assert (await h.run(run_id)).workflow == ""


async def test_a_goal_placed_and_finished_before_its_answer_is_answered_as_finished(idle: Harness) -> None:
    h = idle
    run_id, _ = await ask(h, "run calc 12 * 3", key="f1")
    (job,) = await jobs(h)
    await deferred_intake._place(h.svc, await h.run(run_id))  # placed; the delivery died before answering
    while queued := await jobs(h):
        for later in queued:
            await handle_job(h.svc, later)
    assert (await h.run(run_id)).state.value == "delivered"
    await handle_job(h.svc, job)
    assert (await answered(h, "f1"))["text"] == f"Run {run_id} has already finished; its messages say how."


async def test_a_cancel_before_the_worker_starts_nothing(idle: Harness) -> None:
    from bot.core import operate

    h = idle
    run_id, _ = await ask(h, GOAL, key="c1")
    (job,) = await jobs(h)
    await operate.cancel(h.svc, run_id, by="ops")
    await handle_job(h.svc, job)
    assert "draft" not in [j.kind for j in await jobs(h)]
    run = await h.run(run_id)
    assert run.terminal and run.workflow == "" and run.error
    said = (await answered(h, "c1"))["text"]
    assert "Working on it" not in said and said == run.error


@pytest.mark.parametrize("url", ["https://hooks.slack.com@evil.example/commands/x",
                                 "https://evil.example@hooks.slack.com/commands/x",
                                 "http://hooks.slack.com/commands/x", "https://hooks.slack.com:99999/commands/x",
                                 "https://hooks.slack.com.evil.example/commands/x"])
async def test_only_slacks_own_response_urls_are_posted_to(deferred: Harness, url: str) -> None:
    h = deferred
    run_id, _ = await ask(h, GOAL, key="x", url=url)
    await h.wait_for(lambda: [c for c in h.slack.calls_to("chat.postEphemeral") if run_id in c.params.get("text", "")],
                     what="the answer as an ephemeral message instead")
    await h.wait_state(run_id, "in_review")


async def test_the_ack_never_waits_for_slack_and_the_answer_speaks_the_persons_language(idle: Harness) -> None:
    """users.info hangs: the ack does not wait for it (the configured language, at once); the worker looks the
    person up and answers in French; once known, the next ack is in French too."""
    h = idle
    h.slack.locales[REQUESTER] = "fr-FR"
    h.slack.stall("users.info")
    run_id, reply = await ask(h, GOAL, key="fr1")
    assert reply["text"].startswith("On it — run ") and not [c for c in h.slack.calls_to("users.info") if c.ok]
    h.slack.release()
    (job,) = await jobs(h)
    await handle_job(h.svc, job)
    assert (await answered(h, "fr1"))["text"].startswith("Je m'en occupe — demande " + run_id)
    assert (await h.run(run_id)).locale == "fr-FR"
    _, reply = await ask(h, GOAL, key="fr2")
    assert reply["text"].startswith("C'est noté — demande ")


async def test_an_intake_job_that_gives_up_after_placing_does_not_fail_its_run(idle: Harness) -> None:
    """The answer kept failing until the job was dead-lettered: a goal already placed goes on (its draft is
    queued); one never placed is failed and its requester told, like any job that gives up."""
    h = idle
    assert h.maple is not None
    placed, _ = await ask(h, GOAL, key="d1")
    stuck, _ = await ask(h, GOAL, key="d2")
    taken = {j.run_id: j for j in await jobs(h)}
    await deferred_intake._place(h.svc, await h.run(placed))
    await h.maple._dead(taken[placed], "gave up")
    await h.maple._dead(taken[stuck], "gave up")
    assert (await h.run(placed)).state.value == "queued" and (await h.run(placed)).workflow == "draft"
    assert (await h.run(stuck)).state.value == "failed"


async def test_a_replayed_command_is_refused_by_its_own_write(idle: Harness) -> None:
    """The ack's one write also uses the signed request up (the replay check and the run, one script): two copies
    sent at once and a third later leave one run, one intake job and two 401s."""
    h = idle
    body = slash_body(REQUESTER, GOAL)
    headers = sign(body)
    together = await asyncio.gather(*(h.post(body, content_type=FORM, headers=headers) for _ in range(2)))
    assert sorted(status for status, _ in together) == [200, 401]
    status, reply = await h.post(body, content_type=FORM, headers=headers)
    assert status == 401 and reply["error"] == "request already used"
    assert await runs_in_redis(h) == 1 and [j.kind for j in await jobs(h)] == ["intake"]


@pytest.mark.parametrize(("said", "answer"), [
    ("x" * 4001, "the limit is 4,000"),  # refused before any write
    ("run nosuch a note", "nosuch"),  # an unknown workflow: answered in the ack
])
async def test_a_command_answered_before_any_write_is_still_used_once(idle: Harness, said: str, answer: str) -> None:
    h = idle
    body = slash_body(REQUESTER, said)
    headers = sign(body)
    status, reply = await h.post(body, content_type=FORM, headers=headers)
    assert status == 200 and answer in reply["text"]
    status, _ = await h.post(body, content_type=FORM, headers=headers)
    assert status == 401
    assert await runs_in_redis(h) == 0 and await jobs(h) == []
