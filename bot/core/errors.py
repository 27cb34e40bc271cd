"""Maple's one error hierarchy. Adapters translate SDK exceptions at the edge (``raise X from exc``).

MapleError
├── ConfigError              configuration is missing or invalid
├── InputError               the user's input cannot be used (empty, too long, malformed)
│   └── RateLimited          not now: the person or workspace is over its rate limit
├── AccessDenied             the actor may not do this (fail closed)
├── NotFound                 no such run / object
├── ConflictError            a concurrent writer won an optimistic transition
├── InvalidTransition        the run is not in a state that allows this
├── StoreUnavailable         Redis (or another store) cannot be reached
├── ModelError
│   ├── ModelUnavailable     429 / 5xx / timeout / connection error: worth a fallback
│   ├── ModelResponseError   the model answered, but with something unusable
│   ├── NoModelConfigured    the portfolio is empty
│   └── NoEligibleModel      no model is cleared for this data (never downgrade silently)
├── BudgetExceeded           the user's or team's token budget is spent
├── ToolError
│   ├── ToolDenied           the call is not allowed (allowlist, clearance, SSRF guard)
│   └── ToolFailed           the call was allowed but failed
│       └── ToolOutcomeUnknown   it may or may not have happened (timeout, connection lost during the call)
├── EffectInProgress         another delivery is performing the same side effect now (retry later)
├── SurfaceError             posting to the chat surface failed
│   ├── NotInChannel         Maple is not a member of the channel
│   └── SurfaceUnavailable   rate limited beyond retries, network down
└── PolicyViolation          a draft breaks a blocking policy
"""

from __future__ import annotations

from bot.core.text import Msg


class MapleError(Exception):
    """Base of every error Maple raises on purpose. A message for people is a ``Msg`` (bot/core/text.py);
    a plain string is shown to them literally (escaped), as any other untrusted text."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(str(message), *args)
        self.msg: Msg | None = message if isinstance(message, Msg) else None


class ConfigError(MapleError):
    pass


class InputError(MapleError):
    pass


class RateLimited(InputError):
    def __init__(self, message: object, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AccessDenied(MapleError):
    pass


class NotFound(MapleError):
    pass


class ConflictError(MapleError):
    pass


class InvalidTransition(MapleError):
    pass


class StoreUnavailable(MapleError):
    pass


class AlreadyUsed(MapleError):
    """A request that may be used once (a signed slash command) was used before: a replay. Nothing was written."""


class ModelError(MapleError):
    pass


class ModelUnavailable(ModelError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelResponseError(ModelError):
    pass


class NoModelConfigured(ModelError):
    pass


class NoEligibleModel(ModelError):
    pass


class BudgetExceeded(MapleError):
    pass


class ToolError(MapleError):
    def __reduce__(self) -> tuple[object, ...]:
        """Pickled with its message (a tool's error crosses the compute process), so it is still said in the
        reader's language."""
        return type(self), (self.msg if self.msg is not None else str(self),)


class ToolDenied(ToolError):
    pass


class ToolFailed(ToolError):
    pass


class ToolOutcomeUnknown(ToolFailed):
    pass


class EffectInProgress(MapleError):
    """Another delivery of the same job is performing this side effect right now: try again later."""


class SurfaceError(MapleError):
    pass


class NotInChannel(SurfaceError):
    def __init__(self, channel: str) -> None:
        super().__init__(f"not a member of {channel}")
        self.channel = channel


class SurfaceUnavailable(SurfaceError):
    pass


class PolicyViolation(MapleError):
    pass
