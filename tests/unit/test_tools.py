"""Deterministic tools: the calculator refuses hostile input, date math in the user's zone, registry rules."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest

from bot.core.errors import ToolDenied, ToolFailed
from bot.core.levels import Sensitivity
from bot.core.tools import ToolContext, ToolRegistry
from bot.core.tools.builtin import Calculator, DateMath, SlackHistory
from bot.core.tools.calculator import calculate, extract_expression, format_number
from bot.core.tools.dates import add_business_days, date_math
from bot.core.tools.history import ChannelReader, HistoryMessage, SourceKind

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # still the 23rd in Toronto


def ctx(level: Sensitivity = Sensitivity.INTERNAL, user: str = "U1") -> ToolContext:
    return ToolContext(requester=user, timezone="America/Toronto", sensitivity=level, now=NOW)


@pytest.mark.parametrize(("goal", "answer"), [
    ("what is 17.5% of 2,340", "409.5"), ("calculate 1200 * 1.13", "1,356"), ("(450 + 1200) / 3", "550"),
    ("0.1 + 0.2", "0.3"), ("what is 12 times 14", "168"), ("compute 2^10 - 24", "1,000"),
    ("what is 2,500 divided by 12", "208.3333333333"), ("7 // 2 + 7 % 2", "4"),
])
def test_calculator(goal: str, answer: str) -> None:
    expression = extract_expression(goal)
    assert expression is not None
    assert format_number(calculate(expression)) == answer


@pytest.mark.parametrize("hostile", [
    "__import__('os')", "9**9**9", "(1).__class__", "'a'*10000", "lambda: 1", "2**-99999", "x", "[1,2][0]",
    "(" * 300 + "1" + ")" * 300, "1" + "+1" * 300, "10**999 * 10**999", "open('/etc/passwd')", "max(*[1])",
])
def test_hostile_input_is_refused(hostile: str) -> None:
    with pytest.raises((ToolDenied, ToolFailed)):
        calculate(hostile)


def test_division_by_zero_is_a_clear_error() -> None:
    with pytest.raises(ToolFailed, match="division by zero"):
        calculate("1/0")
    assert calculate("2**10") == Fraction(1024)
    assert calculate("sqrt(16) + abs(-2) + max(1, 3) + round(2.5)") == 11


def test_date_math_in_the_users_zone() -> None:
    assert "128 days until 2027-03-31" in (date_math("how many days until 2027-03-31", now=NOW, tz="America/Toronto") or "")
    assert "127 days" in (date_math("days until 2027-03-31", now=NOW, tz="UTC") or "")
    assert "166 days between" in (date_math("days between 2026-01-15 and 2026-06-30", now=NOW, tz="UTC") or "")
    assert "2026-12-07" in (date_math("10 business days from 2026-11-23", now=NOW, tz="UTC") or "")
    assert add_business_days(datetime(2026, 11, 27).date(), 1).isoformat() == "2026-11-30"
    with pytest.raises(ToolDenied):
        date_math("days until 2027-02-30", now=NOW, tz="UTC")
    with pytest.raises(ToolDenied):
        date_math("days until 2027-01-01", now=NOW, tz="Mars/Olympus")


class Reader(ChannelReader):
    async def members(self, channel: str) -> frozenset[str]:
        return frozenset({"U1"})

    async def kind(self, channel: str) -> SourceKind:
        return "private" if channel.startswith("G") else "public"

    async def history(self, channel: str, *, thread_ts: str | None, limit: int) -> list[HistoryMessage]:
        return [HistoryMessage("U2", "second", "2.0"), HistoryMessage("U1", "first", "1.0")]


async def test_registry_validates_clears_and_gates_side_effects() -> None:
    registry = ToolRegistry([Calculator(), DateMath(), SlackHistory(Reader())])
    assert (await registry.call("calculator", '{"expression": "2+2"}', ctx=ctx())).text == "2+2 = 4"
    with pytest.raises(ToolDenied, match="invalid arguments"):
        await registry.call("calculator", '{"expression": 5, "extra": 1}', ctx=ctx())
    with pytest.raises(ToolDenied, match="no tool"):
        await registry.call("shell", {}, ctx=ctx())
    history = await registry.call("slack_history", {"channel": "C123"}, ctx=ctx())
    assert history.text == "U1: first\nU2: second"
    with pytest.raises(ToolDenied, match="not a member"):
        await registry.call("slack_history", {"channel": "C123"}, ctx=ctx(user="U9"))
    assert history.readers is None and history.source == "C123"
    private = await registry.call("slack_history", {"channel": "G123"}, ctx=ctx())
    assert private.readers == frozenset({"U1"}) and private.source_kind == "private"
    schemas = registry.openai_schemas()
    assert {s["function"]["name"] for s in schemas} == {"calculator", "datetime", "slack_history"}
    calc = Calculator()
    calc.clearance, calc.side_effect, calc.name = Sensitivity.INTERNAL, True, "risky"
    registry.register(calc)
    with pytest.raises(ToolDenied, match="cleared for internal"):
        await registry.call("risky", {"expression": "1"}, ctx=ctx(Sensitivity.RESTRICTED))
    with pytest.raises(ToolDenied, match="after approval"):
        await registry.call("risky", {"expression": "1"}, ctx=ctx())
    assert (await registry.call("risky", {"expression": "1"}, ctx=ctx(), approved=True)).text == "1 = 1"
    assert "risky" not in {s["function"]["name"] for s in registry.openai_schemas()}


async def test_history_reads_a_direct_message_only_from_that_conversation() -> None:
    registry = ToolRegistry([SlackHistory(Reader())])
    with pytest.raises(ToolDenied, match="direct message"):
        await registry.call("slack_history", {"channel": "D0SOMEONE"}, ctx=ctx())
    mine = ToolContext(requester="U1", timezone="UTC", sensitivity=Sensitivity.INTERNAL, now=NOW, channel="D0MINE")
    own = await registry.call("slack_history", {"channel": "D0MINE"}, ctx=mine)
    assert own.readers == frozenset({"U1"}) and own.source_kind == "dm"
