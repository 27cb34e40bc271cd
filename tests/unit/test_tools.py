"""Deterministic tools: the calculator refuses hostile input within bounds, date math is right in the user's zone,
the registry turns every failure into a clear tool error and refuses side effects before approval."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from fractions import Fraction

import pytest

from bot.core import intake, text
from bot.core.errors import ToolDenied, ToolError, ToolFailed
from bot.core.levels import Sensitivity
from bot.core.models import Origin, RunState
from bot.core.tools import Tool, ToolContext, ToolRegistry, ToolResult
from bot.core.tools.box import ToolBox
from bot.core.tools.builtin import Calculator, CalculatorArgs, DateMath, SlackHistory
from bot.core.tools.calculator import MAX_BITS, calculate, extract_expression, format_number
from bot.core.tools.dates import date_math
from bot.core.tools.history import ChannelReader, HistoryMessage, SourceKind
from integrations.compute import ProcessCompute
from tests.fakes.memory import FixedClock
from tests.unit.core_env import make_services
from tests.unit.test_core_flow import drain, goal

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # still the 23rd in Toronto


def ask(question: str, *, now: datetime = NOW, tz: str = "America/Toronto", holidays: tuple[date, ...] = ()) -> str:
    answer = date_math(question, now=now, tz=tz, holidays=holidays)
    assert answer is not None, question
    return answer


def ctx(level: Sensitivity = Sensitivity.INTERNAL, user: str = "U1") -> ToolContext:
    return ToolContext(requester=user, timezone="America/Toronto", sensitivity=level, now=NOW)


@pytest.mark.parametrize(("goal_text", "answer"), [
    ("what is 17.5% of 2,340", "409.5"), ("calculate 1200 * 1.13", "1,356"), ("(450 + 1200) / 3", "550"),
    ("0.1 + 0.2", "0.3"), ("what is 12 times 14", "168"), ("compute 2^10 - 24", "1,000"),
    ("what is 2,500 divided by 12", "208.3333333333"), ("7 // 2 + 7 % 2", "4"), ("what is -1/3", "-0.3333333333"),
])
def test_calculator(goal_text: str, answer: str) -> None:
    expression = extract_expression(goal_text)
    assert expression is not None
    assert format_number(calculate(expression)) == answer


@pytest.mark.parametrize(("expression", "answer"), [
    ("sqrt(16/9) * 3", "4"), ("sqrt(2)", "1.4142135624"), ("round(2.675, 2)", "2.68"), ("2**-3", "0.125"),
    ("round(1234.5, -2)", "1,200"), ("2**1000 / 2**999", "2"), ("min(3, 1/3, 2)", "0.3333333333"),
])
def test_calculator_functions(expression: str, answer: str) -> None:
    assert format_number(calculate(expression)) == answer


@pytest.mark.parametrize("hostile", [
    "__import__('os')", "9**9**9", "(1).__class__", "'a'*10000", "lambda: 1", "2**-99999", "x", "[1,2][0]",
    "(" * 300 + "1" + ")" * 300, "1" + "+1" * 300, "10**999 * 10**999", "open('/etc/passwd')", "max(*[1])",
    # a base near 1: log10 of it is ~0, so a magnitude-only guard let this run for hours
    "((1+10**-399)**1000)**1000", "(1+10**-300)**1000", "(1/3+10**-200)**900",
    # digits of round, huge operands, non-finite floats, unbounded formatting
    "round(1, 10**400)", "round(1, -10**400)", "round(1/3, 0.5)", "sqrt(10**999)", "1e999", "1e999 - 1e999",
    "10**450", "1/(10**450)", "(10**420) * 10**10", "3**1000 * 3**1000", "0.1**1000", "True + 1", "1j",
])
def test_hostile_input_is_refused_at_once(hostile: str) -> None:
    with pytest.raises((ToolDenied, ToolFailed)):
        calculate(hostile)


def test_every_intermediate_value_is_bounded_in_bits() -> None:
    assert calculate("2**1000").numerator.bit_length() <= MAX_BITS
    for near_one in ("(1+10**-399)**3", "(1+2**-700*2**-600)**2"):
        with pytest.raises(ToolDenied, match="too large"):
            calculate(near_one)
    assert calculate("(1+10**-100)**3") > 1  # small enough: computed exactly


def test_division_by_zero_is_a_clear_error() -> None:
    with pytest.raises(ToolFailed, match="division by zero"):
        calculate("1/0")
    assert calculate("2**10") == Fraction(1024)
    assert calculate("sqrt(16) + abs(-2) + max(1, 3) + round(2.5)") == 11


@pytest.mark.parametrize(("question", "answer"), [
    # business days: the weekdays after the start, up to and including the end (Mon 2026-11-23 in Toronto)
    ("how many business days until 2027-01-15?", "39 business days until 2027-01-15"),
    ("how many days until 2027-01-15?", "53 days until 2027-01-15"),
    ("business days until 2026-11-27", "4 business days until 2026-11-27"),
    ("business days until 2026-11-28", "4 business days until 2026-11-28"),  # a Saturday adds none
    ("working days between 2026-11-27 and 2026-11-30", "1 business day between 2026-11-27 and 2026-11-30"),
    ("business days until 2026-11-23", "0 business days until 2026-11-23"),  # today
    ("business days until 2026-11-24", "1 business day until 2026-11-24"),
    ("business days between 2024-02-26 and 2024-03-04", "5 business days between"),  # across a leap day
    ("10 business days from 2026-11-23", "is Monday 2026-12-07"),
    ("1 business day from 2026-11-27", "is Monday 2026-11-30"),  # Friday → Monday
    ("1 business day from 2026-11-28", "is Monday 2026-11-30"),  # from a Saturday
    ("5 business days before 2026-11-30", "is Monday 2026-11-23"),
    ("in 3 business days", "is Thursday 2026-11-26"),
    # calendar days, leap years, month ends, weeks, years
    ("days between 2024-02-28 and 2024-03-01", "2 days between"),
    ("days between 2023-02-28 and 2023-03-01", "1 day between"),
    ("days between 2026-01-15 and 2026-06-30", "166 days between"),
    ("days between 2026-06-30 and 2026-01-15", "166 days between 2026-01-15 and 2026-06-30"),
    ("1 month from 2026-01-31", "is Saturday 2026-02-28"),
    ("1 month from 2024-01-31", "is Thursday 2024-02-29"),
    ("1 year after 2024-02-29", "is Friday 2025-02-28"),
    ("13 months from 2026-12-31", "is Monday 2028-01-31"),
    ("2 weeks from 2026-12-25", "is Friday 2027-01-08"),
    ("30 days from 2026-12-15", "is Thursday 2027-01-14"),
    ("365 days from 2027-03-01", "is Tuesday 2028-02-29"),
    ("days since 2026-11-01", "22 days since 2026-11-01"),
    ("what day is 2028-02-29", "2028-02-29 is a Tuesday"),
    ("what weekday is 2100-03-01", "2100-03-01 is a Monday"),  # 2100 is not a leap year
    ("is 2026-11-28 a business day?", "2026-11-28 (Saturday) is not a business day: a weekend day"),
    ("is 2026-11-27 a business day?", "2026-11-27 (Friday) is a business day"),
    # singular units said back as written
    ("1 week from 2026-12-25", "1 week from 2026-12-25 is Friday 2027-01-01"),
    ("1 working day from 2026-11-27", "1 business day from 2026-11-27 is Monday 2026-11-30"),
    ("3 weekdays from 2026-11-27", "3 business days from 2026-11-27 is Wednesday 2026-12-02"),
    # dates written with a month's name, in English or French; without a year, the next such day
    ("how many business days until January 15, 2027?", "39 business days until 2027-01-15"),
    ("how many business days until Jan 15th?", "39 business days until 2027-01-15"),
    ("how many days until 15 January 2027", "53 days until 2027-01-15"),
    ("combien de jours ouvrables jusqu'au 15 janvier 2027", "39 jours ouvrables d'ici le 2027-01-15"),
    ("days until december 25", "32 days until 2026-12-25"),
    ("days until november 1", "343 days until 2027-11-01"),  # already past this year
    ("days until feb 29", "463 days until 2028-02-29"),  # the next leap day
    ("what day is 29 feb 2028", "2028-02-29 is a Tuesday"),
    ("days until 2027-02-30", "not a valid date"),
    # month and year ends
    ("business days until the end of the month", "5 business days until 2026-11-30"),
    ("days until end of year", "38 days until 2026-12-31"),
    ("1 month from 2026-03-31", "is Thursday 2026-04-30"),
    ("1 month before 2026-03-31", "is Saturday 2026-02-28"),
    ("1 month from 2026-12-31", "is Sunday 2027-01-31"),
    ("4 years from 2024-02-29", "is Tuesday 2028-02-29"),
    ("days between 2026-12-31 and 2027-01-01", "1 day between"),
    ("days between 2099-12-31 and 2100-03-01", "60 days between"),  # 2100 has no 29 February
])
def test_date_math_table(question: str, answer: str | None) -> None:
    if answer is None:
        assert date_math(question, now=NOW, tz="America/Toronto") is None
        return
    if answer == "not a valid date":
        with pytest.raises(ToolDenied, match=answer):
            ask(question, now=NOW, tz="America/Toronto")
        return
    got = ask(question, now=NOW, tz="America/Toronto")
    assert answer in got, got


@pytest.mark.parametrize(("question", "answer"), [
    # French questions are read, and answered in French (Mon 2026-11-23 in Toronto)
    ("combien de jours ouvrables avant le 15 janvier 2027 ?",
     "39 jours ouvrables d'ici le 2027-01-15 (vendredi), à compter du 2026-11-23"),
    ("Combien de jours d’ici le 15 janvier 2027 ?", "53 jours d'ici le 2027-01-15"),
    ("combien de jours ouvrables d'ici la fin du mois ?", "5 jours ouvrables d'ici le 2026-11-30"),
    ("combien de jours jusqu'à la fin de l'année", "38 jours d'ici le 2026-12-31"),
    ("10 jours ouvrables après le 2026-11-23", "10 jours ouvrables après le 2026-11-23 : le lundi 2026-12-07"),
    ("10 jours ouvrables à partir d'aujourd'hui", "10 jours ouvrables après le 2026-11-23 : le lundi 2026-12-07"),
    ("5 jours ouvrables avant le 30 novembre 2026", "5 jours ouvrables avant le 2026-11-30 : le lundi 2026-11-23"),
    ("dans 3 jours ouvrables", "3 jours ouvrables après le 2026-11-23 : le jeudi 2026-11-26"),
    ("1 mois après le 31 janvier 2026", "1 mois après le 2026-01-31 : le samedi 2026-02-28"),
    ("2 semaines après le 25 décembre 2026", "2 semaines après le 2026-12-25 : le vendredi 2027-01-08"),
    ("combien de jours entre le 15 janvier 2026 et le 30 juin 2026", "166 jours entre le 2026-01-15 et le 2026-06-30"),
    ("jours ouvrables entre le 27 novembre 2026 et le 30 novembre 2026",
     "1 jour ouvrable entre le 2026-11-27 et le 2026-11-30 : après le 2026-11-27, jusqu'au 2026-11-30 inclusivement"),
    ("combien de jours depuis le 1er novembre 2026", "22 jours depuis le 2026-11-01"),
    ("quel jour de la semaine tombe le 29 février 2028 ?", "Le 2028-02-29 est un mardi."),
    ("le 28 novembre 2026 est-il un jour ouvrable ?",
     "Le 2026-11-28 (samedi) n'est pas un jour ouvrable : c'est la fin de semaine."),
    ("est-ce que le 27 novembre 2026 est un jour ouvrable ?", "Le 2026-11-27 (vendredi) est un jour ouvrable."),
    ("combien de jours ouvrables jusqu'au 15 janvier", "39 jours ouvrables d'ici le 2027-01-15"),  # the next one
    ("combien de jours avant le 30 février 2027", "not a valid date"),
    # years in French: "ans" / "an" after a number is French
    ("dans 2 ans", "2 ans après le 2026-11-23 : le jeudi 2028-11-23"),
    ("1 an après le 29 février 2024", "1 an après le 2024-02-29 : le vendredi 2025-02-28"),
])
def test_date_math_in_french(question: str, answer: str) -> None:
    if answer == "not a valid date":
        with pytest.raises(ToolDenied) as refused:
            ask(question, now=NOW, tz="America/Toronto")
        assert refused.value.msg is not None  # a message, said in the reader's language
        assert str(text.in_language(refused.value.msg, "fr")) == "2027-02-30 n'est pas une date valide"
        return
    got = ask(question, now=NOW, tz="America/Toronto")
    assert answer in got, got
    assert "business" not in got and "days" not in got  # nothing English in a French answer


def test_an_english_question_is_answered_in_english_even_with_a_french_month() -> None:
    got = ask("how many days until 15 janvier 2027", now=NOW, tz="America/Toronto")
    assert got.startswith("53 days until 2027-01-15 (Friday)"), got
    got = ask("what day is 2026-12-01, an important day", now=NOW, tz="America/Toronto")
    assert got == "2026-12-01 is a Tuesday.", got  # "an" alone is English


def test_date_math_time_zone_and_holidays() -> None:
    assert "128 days until 2027-03-31" in ask("how many days until 2027-03-31", now=NOW,
                                                               tz="America/Toronto")
    assert "127 days" in ask("days until 2027-03-31", now=NOW, tz="UTC")  # already the 24th
    assert "Tuesday 2026-11-24" in ask("1 business day from today", now=NOW, tz="America/Toronto")
    assert "Wednesday 2026-11-25" in ask("1 business day from today", now=NOW, tz="Asia/Tokyo")
    holidays = (date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1), date(2026, 12, 26))  # one on a Saturday
    got = ask("business days between 2026-12-24 and 2027-01-04", now=NOW, tz="UTC", holidays=holidays)
    assert got.startswith("4 business days between") and "holidays skipped" in got  # 29, 30, 31 Dec and 4 Jan
    got = ask("2 business days from 2026-12-24", now=NOW, tz="UTC", holidays=holidays)
    assert "is Wednesday 2026-12-30" in got
    assert "not a business day: a configured holiday" in ask("is 2026-12-25 a business day", holidays=holidays)


@pytest.mark.parametrize(("question", "error", "match"), [
    ("what is 100 business days from 9999-12-01", ToolFailed, "outside the calendar"),
    ("3000 months from 2026-01-01", ToolDenied, "at most 1,200 months"),
    ("9999 days from 9999-12-30", ToolDenied, "at most 3,650 days"),
    ("300 days from 9999-12-01", ToolFailed, "outside the calendar"),
    ("100 years from 9950-01-01", ToolFailed, "outside the calendar"),
    ("days until 2027-02-30", ToolDenied, "not a valid date"),
    ("days between 0000-01-01 and 2026-01-01", ToolDenied, "not a valid date"),
    ("1 business day before 0001-01-01", ToolFailed, "outside the calendar"),
])
def test_date_math_bad_input_is_a_clear_tool_error(question: str, error: type[ToolError], match: str) -> None:
    with pytest.raises(error, match=match):
        ask(question, now=NOW, tz="UTC")


def test_unknown_time_zone() -> None:
    with pytest.raises(ToolDenied, match="unknown time zone"):
        ask("days until 2027-01-01", now=NOW, tz="Mars/Olympus_Mons")


class Reader(ChannelReader):
    async def members(self, channel: str) -> frozenset[str]:
        return frozenset({"U1"})

    async def kind(self, channel: str) -> SourceKind:
        return "private" if channel.startswith("G") else "public"

    async def history(self, channel: str, *, thread_ts: str | None, limit: int) -> list[HistoryMessage]:
        return [HistoryMessage("U2", "second", "2.0"), HistoryMessage("U1", "first", "1.0")]


class Writer(Tool):
    """A tool whose calls write when they say so (``write: true``)."""

    name, description, args_model = "writer", "writes", CalculatorArgs

    def side_effect_of(self, args: CalculatorArgs) -> str | None:  # type: ignore[override]
        return "a write" if args.expression == "write" else None

    async def run(self, args: CalculatorArgs, *, ctx: ToolContext) -> ToolResult:
        return ToolResult(text=f"ran {args.expression}")


class Buggy(Writer):
    name = "buggy"

    def side_effect_of(self, args: CalculatorArgs) -> str | None:  # type: ignore[override]
        return None

    async def run(self, args: CalculatorArgs, *, ctx: ToolContext) -> ToolResult:
        raise OverflowError("date value out of range")


async def test_registry_validates_clears_and_gates_side_effects(compute: ProcessCompute) -> None:
    registry = ToolRegistry([Calculator(compute), DateMath(compute), SlackHistory(Reader()), Writer(), Buggy()])
    assert (await registry.call("calculator", '{"expression": "2+2"}', ctx=ctx())).text == "2+2 = 4"
    with pytest.raises(ToolDenied, match="invalid arguments"):
        await registry.call("calculator", '{"expression": 5, "extra": 1}', ctx=ctx())
    with pytest.raises(ToolDenied, match="invalid arguments"):
        await registry.call("calculator", "[" * 100_000, ctx=ctx())  # nested too deeply for json
    with pytest.raises(ToolDenied, match="no tool"):
        await registry.call("shell", {}, ctx=ctx())
    history = await registry.call("slack_history", {"channel": "C123"}, ctx=ctx())
    assert history.text == "U1: first\nU2: second"
    with pytest.raises(ToolDenied, match="not a member"):
        await registry.call("slack_history", {"channel": "C123"}, ctx=ctx(user="U9"))
    assert history.readers is None and history.source == "C123"
    private = await registry.call("slack_history", {"channel": "G123"}, ctx=ctx())
    assert private.readers == frozenset({"U1"}) and private.source_kind == "private"
    assert (await registry.call("writer", {"expression": "read"}, ctx=ctx())).text == "ran read"
    with pytest.raises(ToolDenied, match=r"would change something \(a write\).*after approval"):
        await registry.call("writer", {"expression": "write"}, ctx=ctx())
    assert (await registry.call("writer", {"expression": "write"}, ctx=ctx(), approved=True)).text == "ran write"
    with pytest.raises(ToolFailed, match="buggy could not handle that input"):
        await registry.call("buggy", {"expression": "1"}, ctx=ctx())
    calc = Calculator(compute)
    calc.clearance, calc.side_effect, calc.name = Sensitivity.INTERNAL, True, "risky"
    registry.register(calc)
    with pytest.raises(ToolDenied, match="cleared for internal"):
        await registry.call("risky", {"expression": "1"}, ctx=ctx(Sensitivity.RESTRICTED))
    with pytest.raises(ToolDenied, match="after approval"):
        await registry.call("risky", {"expression": "1"}, ctx=ctx())
    assert "risky" not in {s["function"]["name"] for s in registry.openai_schemas()}


async def test_history_reads_a_direct_message_only_from_that_conversation() -> None:
    registry = ToolRegistry([SlackHistory(Reader())])
    with pytest.raises(ToolDenied, match="direct message"):
        await registry.call("slack_history", {"channel": "D0SOMEONE"}, ctx=ctx())
    mine = ToolContext(requester="U1", timezone="UTC", sensitivity=Sensitivity.INTERNAL, now=NOW, channel="D0MINE")
    own = await registry.call("slack_history", {"channel": "D0MINE"}, ctx=mine)
    assert own.readers == frozenset({"U1"}) and own.source_kind == "dm"
async def test_pathological_work_is_stopped_at_the_time_limit(compute: ProcessCompute) -> None:
    """The work runs in a worker process; past its limit the process is killed and replaced, and the next call
    is served by a fresh one."""
    with pytest.raises(ToolFailed, match="took too long"):
        await compute.run(time.sleep, 30, timeout=0.3)
    assert compute.replaced == 1
    assert (await Calculator(compute).run(CalculatorArgs(expression="6*7"), ctx=ctx())).text == "6*7 = 42"


def calc_services(compute: ProcessCompute):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    svc = make_services()
    registry = ToolRegistry([Calculator(compute), DateMath(compute)])
    box = ToolBox(registry=registry, assess=lambda _t: (Sensitivity.INTERNAL, {}), clock=FixedClock(NOW),
                  timezone="America/Toronto")
    return replace(svc, tools=box)


@pytest.mark.parametrize(("text", "why"), [
    ("what is 100 business days from 9999-12-01", "outside the calendar"),
    ("how many days until 2027-02-30", "not a valid date"),
    ("calculate ((1+10**-399)**1000)**1000", "too large"),
    ("what is 1/0 + 2", "division by zero"),
    ("is 2026-12-25 a holiday?", "couldn't tell what to work out with that date"),  # not 2026 - 12 - 25 = 1,989
])
async def test_a_tool_failure_is_a_clear_refusal_not_a_retry(compute: ProcessCompute, text: str, why: str) -> None:
    svc = calc_services(compute)
    run = await goal(svc, text, workflow="calc")
    await drain(svc)  # raised OverflowError out of the job (→ retries, a dead letter) before
    run = await svc.store.get(run.id)
    assert run.state is RunState.REFUSED and why in (run.error or "")
    told = [p for p in svc.surface.posts if p["effect"] == "notify:refused"]
    assert len(told) == 1


async def test_calc_workflow_answers_business_days(compute: ProcessCompute) -> None:
    svc = calc_services(compute)
    run = await goal(svc, "how many business days until 2027-01-15?", workflow="calc")
    await drain(svc)
    run = await svc.store.get(run.id)
    assert run.drafts[0].text.startswith("39 business days until 2027-01-15"), run.drafts[0].text


async def test_date_math_reads_today_in_the_requesters_own_zone(compute: ProcessCompute) -> None:
    """At 03:00 UTC on the 24th it is still Monday the 23rd in Toronto (the configured zone) but already
    Tuesday in Tokyo: a requester whose Slack zone is Tokyo counts from their own today."""
    svc = calc_services(compute)
    ask_it = "how many business days until 2027-01-15?"
    toronto = await goal(svc, ask_it, workflow="calc")
    tokyo = await intake.submit(svc, intake.Intake(requester="U0REQUEST", origin=Origin(channel="C1"), goal=ask_it,
                                                   workflow="calc", timezone="Asia/Tokyo"))
    await drain(svc)
    assert (await svc.store.get(toronto.id)).drafts[0].text.startswith("39 business days until 2027-01-15")
    said = (await svc.store.get(tokyo.id)).drafts[0].text
    assert said.startswith("38 business days until 2027-01-15") and "counting from 2026-11-24 in Asia/Tokyo" in said
