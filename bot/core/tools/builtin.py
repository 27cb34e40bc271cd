"""The built-in tools: calculator, date math, channel history.

The calculator and date math compute on untrusted input, so their work runs through the ``Compute`` port — off the
event loop that serves Slack, with a hard time limit — as the module-level functions ``evaluate`` and
``answer_dates``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from bot.core import text
from bot.core.errors import ToolFailed
from bot.core.ports import Compute
from bot.core.tools import Tool, ToolContext, ToolResult
from bot.core.tools.calculator import calculate, format_number
from bot.core.tools.dates import date_math
from bot.core.tools.history import ChannelReader, read_conversation

DEFAULT_TIME_LIMIT = 2.0


def evaluate(expression: str) -> ToolResult:
    value = calculate(expression)
    return ToolResult(text=f"{expression} = {format_number(value)}", data={"value": str(value)})


def answer_dates(question: str, now: datetime, tz: str, holidays: tuple[date, ...]) -> str | None:
    return date_math(question, now=now, tz=tz, holidays=holidays)


class CalculatorArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expression: str = Field(max_length=500, description="arithmetic, e.g. (1200 * 1.13) / 3")


class Calculator(Tool):
    name = "calculator"
    description = "Exact arithmetic: + - * / // % ** parentheses, sqrt, round, abs, min, max."
    args_model = CalculatorArgs

    def __init__(self, compute: Compute, *, time_limit: float = DEFAULT_TIME_LIMIT) -> None:
        self._compute, self._limit = compute, time_limit

    async def run(self, args: CalculatorArgs, *, ctx: ToolContext) -> ToolResult:
        return await self._compute.run(evaluate, args.expression, timeout=self._limit)


class DateArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=300, description="e.g. days until 2027-03-31, 10 business days from today")


class DateMath(Tool):
    name = "datetime"
    description = ("Date math in the user's time zone: days or business days until/since/between dates; "
                   "N days, business days, weeks, months or years from or before a date.")
    args_model = DateArgs

    def __init__(self, compute: Compute, *, holidays: Iterable[date] = (),
                 time_limit: float = DEFAULT_TIME_LIMIT) -> None:
        self._compute, self._holidays, self._limit = compute, tuple(sorted(set(holidays))), time_limit

    async def run(self, args: DateArgs, *, ctx: ToolContext) -> ToolResult:
        answer = await self._compute.run(answer_dates, args.question, ctx.now, ctx.timezone, self._holidays,
                                         timeout=self._limit)
        if answer is None:
            raise ToolFailed(text.NO_DATE_QUESTION)
        return ToolResult(text=answer)


class HistoryArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str = Field(pattern=r"^[CGD][A-Z0-9]{2,}$")
    thread_ts: str | None = Field(None, pattern=r"^\d+\.\d+$")
    oldest: str | None = Field(None, pattern=r"^\d{1,12}(\.\d{1,6})?$", description="period start (Slack ts)")
    latest: str | None = Field(None, pattern=r"^\d{1,12}(\.\d{1,6})?$", description="period end (Slack ts)")


class SlackHistory(Tool):
    name = "slack_history"
    description = "Read a channel or thread the requester is a member of."
    args_model = HistoryArgs
    untrusted_output = True  # what people wrote: it reaches models fenced as data

    def __init__(self, reader: ChannelReader) -> None:
        self._reader = reader

    async def run(self, args: HistoryArgs, *, ctx: ToolContext) -> ToolResult:
        read = await read_conversation(self._reader, requester=ctx.requester, channel=args.channel,
                                       thread_ts=args.thread_ts, origin=ctx.channel, oldest=args.oldest,
                                       latest=args.latest)
        windowed = args.oldest is not None and args.latest is not None
        return ToolResult(text=read.text, source=read.source, source_kind=read.kind, readers=read.readers,
                          data={"messages": read.count, "window": windowed})
