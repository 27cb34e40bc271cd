"""The review message leads with the decision: the draft (labelled), where Approve posts and whether it is public,
its sensitivity, what it read; model, tokens, cost and run id come after, and the header follows the decision."""

from __future__ import annotations

from bot.core import review
from bot.core.models import RunState
from handlers.blocks import render
from tests.unit.core_env import current, make_services, make_spec
from tests.unit.test_core_flow import drain, goal


def texts(blocks: list[dict]) -> list[str]:
    out = []
    for b in blocks:
        if b["type"] == "header":
            out.append(b["text"]["text"])
        elif b["type"] == "section":
            out.append(b.get("text", {}).get("text", "") + " ".join(f["text"] for f in b.get("fields", [])))
        elif b["type"] == "context":
            out.append(" ".join(e["text"] for e in b["elements"]))
    return out


async def reviewed(**spec):  # type: ignore[no-untyped-def]
    svc = make_services(spec=make_spec(**spec) if spec else None)
    svc.surface.kinds["C1"] = "public"
    run = await goal(svc)
    await drain(svc)
    post = next(p for p in svc.surface.posts if p["effect"] == "review:U0REVIEW")
    return svc, await svc.store.get(run.id), render(post["view"])[1]


async def test_the_decision_comes_first_and_the_details_last() -> None:
    _svc, run, blocks = await reviewed()
    shown = texts(blocks)
    assert shown[0] == "Draft for review"
    assert "Approve posts to" in shown[1] and "C1 — public channel" in shown[1]
    assert "Sensitivity" in shown[1] and "Internal" in shown[1] and "<@U0REQUEST>" in shown[1]
    draft_label = shown.index("*Draft*")
    assert "A draft." in shown[draft_label + 1]
    details = next(i for i, t in enumerate(shown) if run.id in t)
    assert details > draft_label and "local" in shown[details] and "tokens" in shown[details]
    assert blocks[-1]["type"] == "actions"


async def test_a_cut_draft_says_it_is_truncated() -> None:
    _svc, run, blocks = await reviewed(limits={"max_draft_chars": 5})
    assert run.drafts[-1].truncated
    assert any("Truncated" in t for t in texts(blocks))


async def test_a_confidential_draft_says_where_it_goes_instead() -> None:
    from dataclasses import replace

    from tests.unit.test_core_flow import _assess_confidential

    svc = replace(make_services(), assess=_assess_confidential)
    svc.surface.kinds["C1"] = "public"
    run = await goal(svc, "draft a note to ann@example.com")
    await drain(svc)
    post = next(p for p in svc.surface.posts if p["effect"] == "review:U0REVIEW")
    fields = texts(render(post["view"])[1])[1]
    assert "Confidential" in fields and "email" in fields
    assert "direct messages" in fields and "instead of C1" in fields
    assert (await svc.store.get(run.id)).target is not None


async def test_after_a_decision_the_header_says_which() -> None:
    svc, run, _blocks = await reviewed()
    await review.decide(svc, seen_version=await current(svc, run.id), run_id=run.id, user="U0REVIEW",
                        kind="reject", reason="off tone")
    await drain(svc)
    assert (await svc.store.get(run.id)).state is RunState.REJECTED
    last = [v for _ref, v in svc.surface.updates if v.kind == "review"][-1]
    blocks = render(last)[1]
    assert texts(blocks)[0] == "Rejected" and not [b for b in blocks if b["type"] == "actions"]
