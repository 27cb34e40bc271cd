"""What every part of the configuration's schema shares: strict, frozen models and level parsing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.core.levels import Sensitivity


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reachable(Strict):
    """A tool's far end (an http target, an MCP server): outside the deployment unless marked ``external: false``
    (fail closed, stdio programs too: what a program does with its arguments is not Maple's to know). What is
    outside is not called while operators freeze external parts."""

    external: bool | None = Field(None, description="false: it stays inside the deployment (it is still called "
                                  "while operators freeze external parts); not set: it is external")

    @property
    def leaves_deployment(self) -> bool:
        return self.external is not False


def level(value: object) -> Sensitivity:
    if isinstance(value, Sensitivity):
        return value
    if isinstance(value, str) and value.strip().upper() in Sensitivity.__members__:
        return Sensitivity[value.strip().upper()]
    raise ValueError("must be one of public, internal, confidential, restricted")
