"""Every request is bound to the installed workspace (learned from auth.test), and "*" means the members of
that workspace, never anyone: foreign workspaces and orgs are refused before anything runs; Slack Connect users
hold a role only when named by id; Enterprise Grid orgs are served when the config allows them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import ADMIN, CHANNEL, REQUESTER, REVIEWER, Harness, sign, spec_dict
from tests.scenario.test_bad_input import runs_in_redis
from tests.scenario.test_loop import start_draft

PARTNER = "U0PARTNER"  # a Slack Connect user from another company, in a shared channel
EVERYONE = {"user": ["*"], "reviewer": [REVIEWER], "admin": [ADMIN]}


async def started(slack: FakeSlack, openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, **spec: Any) -> Harness:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    h = Harness(slack=slack, openai=openai, spec=spec_dict(**spec))
    return await h.start()


@pytest.fixture
async def wildcard(slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    h = await started(slack, openai_fake, monkeypatch, roles=EVERYONE)
    yield h
    await h.stop()
    await h.cleanup_redis()


async def test_foreign_workspace_is_refused_before_anything_runs(wildcard: Harness) -> None:
    h = wildcard
    for fields in ({"team_id": "T0EVIL"}, {"team_id": "T0TEST", "enterprise_id": "E0EVIL"},
                   {"team_id": "T0EVIL", "enterprise_id": "E0EVIL"}):
        status, reply = await h.slash("U0STRANGER", "run draft a long essay on the paid model", **fields)
        assert status == 200 and reply["response_type"] == "ephemeral"
        assert "isn't set up for this workspace" in reply["text"]
    assert await runs_in_redis(h) == 0
    assert not h.openai.requests
    assert not h.slack.calls_to("users.info"), "no Web API work for a request that is not ours"


async def test_foreign_events_and_clicks_are_ignored(wildcard: Harness) -> None:
    h = wildcard
    run_id = await start_draft(h, reviews=1)
    body = json.dumps({"type": "event_callback", "team_id": "T0EVIL", "api_app_id": "A0MAPLE", "event_id": "EvEVIL1",
                       "event": {"type": "app_mention", "user": REQUESTER, "channel": CHANNEL, "ts": "3000.0001",
                                 "text": "<@U0MAPLEBOT> run draft from elsewhere"}})
    status, _ = await h.post(body, content_type="application/json")
    assert status == 200
    status, _ = await h.interact({"type": "block_actions", "user": {"id": REVIEWER, "team_id": "T0EVIL"},
                                  "team": {"id": "T0EVIL"}, "trigger_id": "t", "channel": {"id": "D0REVIEW"},
                                  "actions": [{"action_id": "maple_approve", "value": run_id}]})
    assert status == 200
    assert (await h.run(run_id)).state.value == "in_review"
    assert await runs_in_redis(h) == 1
    assert not [p for p in h.slack.posted(CHANNEL) if p.get("thread_ts") == "3000.0001"]


async def test_wildcard_means_members_of_this_workspace(wildcard: Harness) -> None:
    h = wildcard
    h.slack.missing_users.add("U0NOBODY")
    h.slack.external[PARTNER] = "T0PARTNER"
    _, member = await h.slash("U0COLLEAGUE", "run draft a note for the team")
    assert "Working on it" in member["text"]
    for user in ("U0NOBODY", PARTNER):  # unknown to the workspace; a Slack Connect user in a shared channel
        _, reply = await h.slash(user, "run draft a note for the team")
        assert "don't have access" in reply["text"] or "not allowed" in reply["text"], (user, reply)
    status, _ = await h.event({"type": "app_mention", "user": PARTNER, "user_team": "T0PARTNER", "channel": CHANNEL,
                               "ts": "3100.0001", "text": "<@U0MAPLEBOT> run draft from a partner"})
    assert status == 200
    await h.wait_for(lambda: [c for c in h.slack.calls_to("chat.postEphemeral") if c.params["user"] == PARTNER],
                     what="the partner told they have no access")
    assert await runs_in_redis(h) == 1


async def test_slack_connect_user_named_by_id_holds_the_role(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack.external[PARTNER] = "T0PARTNER"
    slack.add_channel("C0REVIEWERS", members=[REVIEWER, PARTNER])
    h = await started(slack, openai_fake, monkeypatch,
                      roles={"user": ["*", PARTNER], "reviewer": ["C0REVIEWERS"], "admin": [ADMIN]})
    try:
        status, _ = await h.event({"type": "app_mention", "user": PARTNER, "user_team": "T0PARTNER",
                                   "channel": CHANNEL, "ts": "3200.0001",
                                   "text": "<@U0MAPLEBOT> run draft a note from our partner"})
        assert status == 200
        await h.wait_for(lambda: [p for p in slack.posted(CHANNEL) if p.get("thread_ts") == "3200.0001"
                                  and "Working on it" in p["text"]], what="the named partner served")
        run_id = await start_draft(h, reviews=1)
        await h.click(PARTNER, "maple_approve", run_id)  # in the reviewers' channel, but not one of ours
        assert (await h.run(run_id)).state.value == "in_review"
        await h.click(REVIEWER, "maple_approve", run_id)
        await h.wait_state(run_id, "delivered")
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_enterprise_grid_org_served_when_allowed(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack.enterprise = "E0GRID"  # Maple is installed in T0TEST, one workspace of the E0GRID org
    slack.grid_teams["U0SISTER"] = ["T0SISTER"]  # a member of the org, at home in another of its workspaces
    sister = {"team_id": "T0SISTER", "enterprise_id": "E0GRID"}
    h = await started(slack, openai_fake, monkeypatch, roles=EVERYONE)
    try:
        _, reply = await h.slash("U0SISTER", "run draft a note", **sister)
        assert "isn't set up for this workspace" in reply["text"]  # a workspace install serves its workspace
        _, reply = await h.slash(REQUESTER, "run draft a note", enterprise_id="E0GRID")
        assert "Working on it" in reply["text"]
    finally:
        await h.stop()
        await h.cleanup_redis()
    h = await started(slack, openai_fake, monkeypatch, roles=EVERYONE, tenants={"enterprises": ["E0GRID"]})
    try:
        _, reply = await h.slash("U0SISTER", "run draft a note", **sister)
        assert "Working on it" in reply["text"]
        _, reply = await h.slash("U0SISTER", "run draft a note", team_id="T0SISTER", enterprise_id="E0OTHER")
        assert "isn't set up for this workspace" in reply["text"]
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_org_wide_install_serves_every_workspace_of_the_org(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack.enterprise, slack.org_wide = "E0ORG", True
    slack.grid_teams["U0FAR"] = ["T0FAR"]
    h = await started(slack, openai_fake, monkeypatch, roles=EVERYONE)
    try:
        _, reply = await h.slash("U0FAR", "run draft a note", team_id="T0FAR", enterprise_id="E0ORG")
        assert "Working on it" in reply["text"]
        _, reply = await h.slash("U0FAR", "run draft a note", team_id="T0FAR")  # no org: not provably ours
        assert "isn't set up for this workspace" in reply["text"]
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_requests_wait_for_the_installation_to_be_known(
    slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack.fail_next("auth.test", status=200, error="invalid_auth", times=2)  # at start, and for the first request
    h = await started(slack, openai_fake, monkeypatch)
    try:
        _, reply = await h.slash(REQUESTER, "run draft a note")
        assert "can't confirm which workspace" in reply["text"]
        body = urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": REVIEWER},
                                                 "team": {"id": "T0TEST"}, "trigger_id": "t",
                                                 "actions": [{"action_id": "maple_approve", "value": "R-X"}]})})
        status, _ = await h.post(body, content_type="application/x-www-form-urlencoded", headers=sign(body))
        assert status == 200  # auth.test answers now
        _, reply = await h.slash(REQUESTER, "run draft a note")
        assert "Working on it" in reply["text"]
    finally:
        await h.stop()
        await h.cleanup_redis()
