"""Sensitivity levels, ordered: a model or tool cleared for a level may see that level and every lower one."""

from __future__ import annotations

from enum import IntEnum


class Sensitivity(IntEnum):
    PUBLIC = 0
    INTERNAL = 1
    CONFIDENTIAL = 2
    RESTRICTED = 3

    @classmethod
    def parse(cls, value: str | int | Sensitivity) -> Sensitivity:
        """Parse a level name; anything unknown is RESTRICTED (fail closed)."""
        if isinstance(value, Sensitivity):
            return value
        if isinstance(value, int):
            return cls(value) if 0 <= value <= 3 else cls.RESTRICTED
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            return cls.RESTRICTED

    @property
    def label(self) -> str:
        return self.name.lower()
