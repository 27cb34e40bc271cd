"""The assistant pane through signed Slack requests: greeting and suggested prompts from the workflows the person
may run, a title and a status for each goal, the viewed channel read only where the person is a member, and the
same core path as ``/maple`` (classification, access, review, audit)."""

from __future__ import annotations

from tests.harness import ADMIN, CHANNEL, OUTSIDER, REQUESTER, Harness
from tests.pane_kit import PANE, context_changed, open_thread, said, started


def _in_thread(h: Harness, thread_ts: str, channel: str = PANE) -> list[dict]:
    return [p for p in h.slack.posted(channel) if p.get("thread_ts") == thread_ts]


async def _run_of(h: Harness, thread_ts: str) -> str:
    async def find() -> str | None:
        for run in await h.svc.store.since(h.svc.clock.now().replace(year=2000), limit=500):
            if run.origin.thread_ts == thread_ts:
                return str(run.id)
        return None

    return str(await h.wait_for(find, what="the pane's run"))


async def test_thread_started_suggests_only_workflows_the_person_may_run(harness: Harness) -> None:
    h = harness
    await open_thread(h, REQUESTER, thread_ts="7000.000001", viewing=CHANNEL)
    greeting = _in_thread(h, "7000.000001")[0]
    assert "<@U0REQUEST>" in greeting["text"]
    assert greeting["metadata"]["event_payload"]["channel_id"] == CHANNEL  # Bolt's thread-context store
    prompts = h.slack.pane_calls("setSuggestedPrompts")
    assert len(prompts) == 1
    titles = [p["title"] for p in prompts[0]["prompts"]]
    assert titles == ["Draft", "Ask", "Summarize", "Calculate"]
    assert prompts[0]["thread_ts"] == "7000.000001" and prompts[0]["channel_id"] == PANE
    assert all(p["message"] for p in prompts[0]["prompts"])


async def test_admin_only_workflows_are_suggested_to_admins_alone(harness: Harness) -> None:
    h = harness
    h.spec_data["workflows"] = [wf for wf in h.spec_data["workflows"] if wf["id"] in ("ops-digest", "calc")]
    await h.stop()
    await h.start()
    await open_thread(h, REQUESTER, thread_ts="7001.000001")
    await open_thread(h, ADMIN, thread_ts="7001.000002", channel="D0ADMIN")
    calls = h.slack.pane_calls("setSuggestedPrompts")
    mine = next(c for c in calls if c["channel_id"] == PANE)
    admins = next(c for c in calls if c["channel_id"] == "D0ADMIN")
    assert [p["title"] for p in mine["prompts"]] == ["Calculate"]
    assert [p["title"] for p in admins["prompts"]] == ["Calculate", "Operations digest"]


async def test_someone_without_a_role_gets_no_prompts_and_no_run(harness: Harness) -> None:
    h = harness
    await open_thread(h, OUTSIDER, thread_ts="7002.000001", channel="D0OUTSIDE")
    assert "don't have access" in _in_thread(h, "7002.000001", "D0OUTSIDE")[0]["text"]
    assert h.slack.pane_calls("setSuggestedPrompts") == []
    await h.event(said(OUTSIDER, "summarize this channel", thread_ts="7002.000001", channel="D0OUTSIDE"))
    answers = await h.wait_for(lambda: _in_thread(h, "7002.000001", "D0OUTSIDE")[1:], what="the refusal")
    assert "don't have access to Maple" in answers[0]["text"]
    assert await h.svc.store.since(h.svc.clock.now().replace(year=2000)) == []


async def test_a_goal_in_the_pane_gets_a_title_a_status_and_the_same_core_path(harness: Harness) -> None:
    h = harness
    await open_thread(h, REQUESTER, thread_ts="7003.000001", viewing=CHANNEL)
    status, _ = await h.event(said(REQUESTER, "what is 17.5% of 2,340", thread_ts="7003.000001"))
    assert status == 200
    run_id = await _run_of(h, "7003.000001")
    run = await h.wait_state(run_id, "delivered")
    assert run.workflow == "calc" and run.origin.pane and run.origin.context_channel == CHANNEL
    assert h.slack.pane_calls("setTitle")[0]["title"] == "what is 17.5% of 2,340"
    statuses = [c["status"] for c in h.slack.pane_calls("setStatus")]
    assert statuses[0] == "is reading your goal…" and f"is working on {run_id}…" in statuses
    result = [p for p in _in_thread(h, "7003.000001") if p["metadata"]["event_payload"].get("effect") == "result"]
    assert "409.5" in str(result[0]["blocks"])
    kinds = [e.kind for e in await h.svc.audit.timeline(run_id)]
    assert "run.created" in kinds and "run.delivered" in kinds


async def test_the_viewed_channel_is_read_for_a_summary(harness: Harness) -> None:
    h = harness
    h.slack.messages[CHANNEL].append({"ts": "100.1", "user": "U0REVIEW", "text": "We decided to ship on Friday."})
    await open_thread(h, REQUESTER, thread_ts="7004.000001", viewing=CHANNEL)
    await h.event(said(REQUESTER, "summarize this channel", thread_ts="7004.000001"))
    run = await h.wait_state(await _run_of(h, "7004.000001"), "in_review")
    assert run.workflow == "summarize"
    assert "We decided to ship on Friday." in h.openai.texts_received()


async def test_a_viewed_channel_the_person_is_not_in_is_never_read(harness: Harness) -> None:
    h = harness
    h.slack.add_channel("C0SECRET", member=True, members=["U0ADMIN"])
    h.slack.messages["C0SECRET"].append({"ts": "100.2", "user": "U0ADMIN", "text": "secret plans"})
    await open_thread(h, REQUESTER, thread_ts="7005.000001", viewing="C0SECRET")
    await h.event(said(REQUESTER, "summarize this channel", thread_ts="7005.000001"))
    run = await h.wait_state(await _run_of(h, "7005.000001"), "refused")
    assert "not a member" in (run.error or "")
    assert "secret plans" not in h.openai.texts_received()
    told = await h.wait_for(lambda: [p for p in _in_thread(h, "7005.000001")
                                     if p["metadata"]["event_payload"].get("effect") == "notify:refused"],
                            what="the refusal in the pane's thread")
    assert run.id in told[0]["text"]


async def test_a_changed_context_is_the_channel_read(harness: Harness) -> None:
    h = harness
    h.slack.add_channel("C0OTHER", member=True, members=[REQUESTER])
    h.slack.messages["C0OTHER"].append({"ts": "100.3", "user": REQUESTER, "text": "The other channel's news."})
    await open_thread(h, REQUESTER, thread_ts="7006.000001", viewing=CHANNEL)
    status, _ = await h.event(context_changed(REQUESTER, thread_ts="7006.000001", viewing="C0OTHER"))
    assert status == 200
    await h.event(said(REQUESTER, "summarize this channel", thread_ts="7006.000001"))
    run = await h.wait_state(await _run_of(h, "7006.000001"), "in_review")
    assert run.origin.context_channel == "C0OTHER"
    assert "The other channel's news." in h.openai.texts_received()


async def test_pane_events_from_another_workspace_do_nothing(harness: Harness) -> None:
    h = harness
    status, _ = await h.post(_foreign(started(REQUESTER, thread_ts="7007.000001")), content_type="application/json")
    assert status == 200
    assert h.slack.posted(PANE) == [] and h.slack.pane_calls("setSuggestedPrompts") == []


async def test_thread_started_over_socket_mode(harness: Harness) -> None:
    h = harness
    assert h.maple is not None
    handler = await h.maple.connect_socket_mode("xapp-1-test-app-token")
    try:
        await h.wait_for(lambda: h.slack.sockets, what="the socket connection")
        await h.slack.socket_send({"envelope_id": "env-pane", "type": "events_api", "accepts_response_payload": False,
                                   "payload": {"type": "event_callback", "team_id": "T0TEST", "api_app_id": "A0MAPLE",
                                               "event_id": "EvPANE1", "event_time": 1700000000,
                                               "event": started(REQUESTER, thread_ts="7008.000001")}})
        await h.wait_for(lambda: [a for a in h.slack.socket_acks if a.get("envelope_id") == "env-pane"],
                         what="the envelope acked")
        assert h.slack.pane_calls("setSuggestedPrompts")[0]["thread_ts"] == "7008.000001"
        await h.slack.socket_send({"envelope_id": "env-pane2", "type": "events_api", "accepts_response_payload": False,
                                   "payload": {"type": "event_callback", "team_id": "T0TEST", "api_app_id": "A0MAPLE",
                                               "event_id": "EvPANE2", "event_time": 1700000000,
                                               "event": said(REQUESTER, "calculate 1200 * 1.13",
                                                             thread_ts="7008.000001")}})
        run = await h.wait_state(await _run_of(h, "7008.000001"), "delivered")
        assert run.workflow == "calc" and run.origin.pane
    finally:
        await handler.close_async()


def _foreign(event: dict) -> str:
    import json
    import time

    return json.dumps({"type": "event_callback", "team_id": "T0EVIL", "api_app_id": "A0MAPLE", "event_id": "EvFOREIGN",
                       "event_time": int(time.time()), "event": event})
