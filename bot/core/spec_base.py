"""What every part of the configuration's schema shares: strict, frozen models and level parsing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from bot.core.levels import Sensitivity


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def level(value: object) -> Sensitivity:
    if isinstance(value, Sensitivity):
        return value
    if isinstance(value, str) and value.strip().upper() in Sensitivity.__members__:
        return Sensitivity[value.strip().upper()]
    raise ValueError("must be one of public, internal, confidential, restricted")
