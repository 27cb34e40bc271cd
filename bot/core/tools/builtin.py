"""The built-in tools: calculator, date math, channel history."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.core.errors import ToolFailed
from bot.core.tools import Tool, ToolContext, ToolResult
from bot.core.tools.calculator import calculate, format_number
from bot.core.tools.dates import date_math
from bot.core.tools.history import ChannelReader, read_conversation


class CalculatorArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expression: str = Field(max_length=500, description="arithmetic, e.g. (1200 * 1.13) / 3")


class Calculator(Tool):
    name = "calculator"
    description = "Exact arithmetic: + - * / // % ** parentheses, sqrt, round, abs, min, max."
    args_model = CalculatorArgs

    async def run(self, args: CalculatorArgs, *, ctx: ToolContext) -> ToolResult:
        value = calculate(args.expression)
        return ToolResult(text=f"{args.expression} = {format_number(value)}", data={"value": str(value)})


class DateArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=300, description="e.g. days until 2027-03-31, 10 business days from today")


class DateMath(Tool):
    name = "datetime"
    description = "Date math in the user's time zone: days until/between dates, N (business) days from a date."
    args_model = DateArgs

    async def run(self, args: DateArgs, *, ctx: ToolContext) -> ToolResult:
        answer = date_math(args.question, now=ctx.now, tz=ctx.timezone)
        if answer is None:
            raise ToolFailed("no date question found (use dates like 2027-03-31)")
        return ToolResult(text=answer)


class HistoryArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str = Field(pattern=r"^[CGD][A-Z0-9]{2,}$")
    thread_ts: str | None = Field(None, pattern=r"^\d+\.\d+$")


class SlackHistory(Tool):
    name = "slack_history"
    description = "Read a channel or thread the requester is a member of."
    args_model = HistoryArgs

    def __init__(self, reader: ChannelReader) -> None:
        self._reader = reader

    async def run(self, args: HistoryArgs, *, ctx: ToolContext) -> ToolResult:
        read = await read_conversation(self._reader, requester=ctx.requester, channel=args.channel,
                                       thread_ts=args.thread_ts, origin=ctx.channel)
        return ToolResult(text=read.text, source=read.source, source_kind=read.kind, readers=read.readers)
