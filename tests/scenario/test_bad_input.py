"""Bad input gets a clear answer and changes nothing."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import aiohttp

from tests.harness import REQUESTER, Harness, sign


def slash_body(text: str = "run draft hello") -> str:
    return urlencode({"command": "/maple", "text": text, "user_id": REQUESTER, "channel_id": "C0GENERAL",
                      "team_id": "T0TEST", "trigger_id": "t"})


async def runs_in_redis(h: Harness) -> int:
    import redis.asyncio as aioredis

    r = aioredis.from_url(h.redis_url)
    try:
        return len([k async for k in r.scan_iter(match=h.prefix + "run:*")])
    finally:
        await r.aclose()


async def test_forged_signature_401(harness: Harness) -> None:
    body = slash_body()
    status, _ = await harness.post(body, content_type="application/x-www-form-urlencoded",
                                   headers=sign(body, secret="not-the-secret"))
    assert status == 401
    assert await runs_in_redis(harness) == 0


async def test_missing_signature_401(harness: Harness) -> None:
    status, _ = await harness.post(slash_body(), content_type="application/x-www-form-urlencoded", headers={})
    assert status == 401


async def test_stale_timestamp_401(harness: Harness) -> None:
    body = slash_body()
    status, _ = await harness.post(body, content_type="application/x-www-form-urlencoded",
                                   headers=sign(body, ts=int(time.time()) - 6 * 60))
    assert status == 401
    assert await runs_in_redis(harness) == 0


async def test_tampered_body_401(harness: Harness) -> None:
    body = slash_body()
    headers = sign(body)
    status, _ = await harness.post(body.replace("hello", "bye"), content_type="application/x-www-form-urlencoded",
                                   headers=headers)
    assert status == 401


async def test_signed_but_malformed_payloads_400(harness: Harness) -> None:
    h = harness
    for body, ctype in [
        ("payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        (urlencode({"payload": json.dumps({"type": "block_actions"})}), "application/x-www-form-urlencoded"),
        (urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U1"}, "actions": "x"})}),
         "application/x-www-form-urlencoded"),
        (urlencode({"payload": json.dumps({"type": "view_submission", "user": {"id": "U1"}, "view": 3})}),
         "application/x-www-form-urlencoded"),
        ("{not json", "application/json"),
        (json.dumps(["list"]), "application/json"),
        (json.dumps({"type": "event_callback", "event": "nope"}), "application/json"),
        ("hello=world", "application/x-www-form-urlencoded"),
        (urlencode({"command": "/maple", "text": "hi"}), "application/x-www-form-urlencoded"),
    ]:
        status, reply = await h.post(body, content_type=ctype)
        assert status == 400, (body, status, reply)
        assert reply["error"]
    assert await runs_in_redis(h) == 0


async def test_oversized_goal_clear_error(harness: Harness) -> None:
    status, reply = await harness.slash(REQUESTER, "run draft " + "x" * 4001)
    assert status == 200
    assert "4,001 characters" in reply["text"] and "4,000" in reply["text"]
    assert await runs_in_redis(harness) == 0


async def test_oversized_body_413(harness: Harness) -> None:
    body = slash_body("x" * 1_100_000)
    status, _ = await harness.post(body, content_type="application/x-www-form-urlencoded")
    assert status == 413


async def test_usage_help_unknown(harness: Harness) -> None:
    _, empty = await harness.slash(REQUESTER, "")
    assert "/maple &lt;goal&gt;" in empty["text"]
    _, helped = await harness.slash(REQUESTER, "help")
    assert "/maple status" in helped["text"]
    _, unknown = await harness.slash(REQUESTER, "?!")
    assert "didn't understand" in unknown["text"]
    _, bad_run = await harness.slash(REQUESTER, "run nosuchflow do it")
    assert "no workflow called" in bad_run["text"]
    _, missing = await harness.slash(REQUESTER, "status R-AAAAAAAAAAAAAAAA")
    assert "can't find run" in missing["text"]


async def test_unhandled_event_gets_200(harness: Harness) -> None:
    status, _ = await harness.event({"type": "reaction_added", "user": REQUESTER, "reaction": "tada"})
    assert status == 200


async def test_url_verification(harness: Harness) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "x"})
    status, reply = await harness.post(body, content_type="application/json")
    assert status == 200 and reply["challenge"] == "abc123"


async def test_healthz(harness: Harness) -> None:
    async with aiohttp.ClientSession() as s, s.get(harness.url + "/healthz") as r:
        assert r.status == 200
