"""Access control on every command, click and modal submission (a matrix of who × what)."""

from __future__ import annotations

import pytest

from tests.harness import ADMIN, OUTSIDER, REQUESTER, REVIEWER, Harness
from tests.scenario.test_loop import run_id_of, start_draft

# (user, command, allowed?)
COMMANDS = [
    (REQUESTER, "run draft hello", True), (REVIEWER, "run draft hello", True), (ADMIN, "run draft hello", True),
    (OUTSIDER, "run draft hello", False),
]


@pytest.mark.parametrize(("user", "command", "allowed"), COMMANDS)
async def test_command_matrix(harness: Harness, user: str, command: str, allowed: bool) -> None:
    _, reply = await harness.slash(user, command)
    assert ("Working on it" in reply["text"]) is allowed, reply


# (user, action, allowed?) on a draft requested by REQUESTER
CLICKS = [
    (REVIEWER, "maple_approve", True), (REVIEWER, "maple_edit", True), (REVIEWER, "maple_reject", True),
    (REQUESTER, "maple_approve", False), (REQUESTER, "maple_edit", False), (REQUESTER, "maple_reject", False),
    (OUTSIDER, "maple_approve", False), (OUTSIDER, "maple_edit", False), (OUTSIDER, "maple_reject", False),
    (ADMIN, "maple_approve", False),  # admin abilities do not include approving: that is the reviewer role's
]


@pytest.mark.parametrize(("user", "action", "allowed"), CLICKS)
async def test_click_matrix(harness: Harness, user: str, action: str, allowed: bool) -> None:
    h = harness
    run_id = await start_draft(h)
    await h.click(user, action, run_id)
    refused = [c for c in h.slack.calls_to("chat.postEphemeral") if c.params["user"] == user]
    opened = h.slack.calls_to("views.open")
    if action == "maple_approve":
        state = (await h.run(run_id)).state.value
        assert (state != "in_review") is allowed
    else:
        assert bool(opened) is allowed
    assert bool(refused) is not allowed


@pytest.mark.parametrize(("user", "allowed"), [(REVIEWER, True), (OUTSIDER, False), (REQUESTER, False)])
async def test_modal_submission_is_checked_too(harness: Harness, user: str, allowed: bool) -> None:
    """A forged or replayed view_submission from someone who could never open the modal changes nothing."""
    h = harness
    run_id = await start_draft(h)
    _, body = await h.submit(user, "maple_reject_view", run_id, {"reason": "nope"})
    if allowed:
        await h.wait_state(run_id, "rejected")
    else:
        assert body["response_action"] == "errors"
        assert (await h.run(run_id)).state.value == "in_review"
    _, body = await h.submit(user, "maple_edit_view", run_id, {"draft_0": "hijacked"})
    drafts = [d.text for d in (await h.run(run_id)).drafts]
    assert "hijacked" not in drafts  # after a reject nobody can edit; outsiders never could


async def test_admin_sees_audit_timeline_others_do_not(harness: Harness) -> None:
    h = harness
    run_id = await start_draft(h)
    _, admin = await h.slash(ADMIN, f"audit {run_id}")
    assert "Audit timeline" in admin["text"] and "run.created" in admin["text"] and "model.called" in admin["text"]
    for user in (REQUESTER, REVIEWER, OUTSIDER):
        _, reply = await h.slash(user, f"audit {run_id}")
        assert "Only Maple admins" in reply["text"]


async def test_pick_button_only_for_the_requester(harness: Harness) -> None:
    h = harness
    _, reply = await h.slash(REQUESTER, "hmm")
    assert reply.get("blocks"), reply
    run_id = run_id_of({"text": str(reply["blocks"])})
    await h.interact({"type": "block_actions", "user": {"id": OUTSIDER}, "channel": {"id": "C0GENERAL"},
                      "trigger_id": "t", "actions": [{"action_id": "maple_pick_draft", "value": f"{run_id}:draft"}]})
    assert (await h.run(run_id)).workflow == ""
    await h.interact({"type": "block_actions", "user": {"id": REQUESTER}, "channel": {"id": "C0GENERAL"},
                      "trigger_id": "t", "actions": [{"action_id": "maple_pick_draft", "value": f"{run_id}:draft"}]})
    await h.wait_state(run_id, "in_review")


async def test_user_group_cache_is_refreshed_on_subteam_members_changed(slack, openai_fake, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.harness import spec_dict

    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    data = spec_dict()
    data["roles"]["reviewer"] = ["S0REVIEWERS"]
    slack.groups["S0REVIEWERS"] = [REVIEWER]
    h = Harness(slack=slack, openai=openai_fake, spec=data)
    await h.start()
    try:
        run_id = await start_draft(h, reviews=1)
        await h.click("U0NEWBIE", "maple_approve", run_id)
        assert (await h.run(run_id)).state.value == "in_review"
        slack.groups["S0REVIEWERS"] = [REVIEWER, "U0NEWBIE"]
        await h.event({"type": "subteam_members_changed", "subteam_id": "S0REVIEWERS", "team_id": "T0TEST",
                       "added_users": ["U0NEWBIE"]})
        await h.click("U0NEWBIE", "maple_approve", run_id)
        await h.wait_state(run_id, "delivered")
    finally:
        await h.stop()
        await h.cleanup_redis()
