"""Turning domain values into JSON for audit entries, timelines and event data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

MASK = "**********"


def to_json(value: Any, *, secret_key: Callable[[str], bool] | None = None) -> Any:
    """``value`` as plain JSON: times as ISO strings, enums as values, sets sorted.

    With ``secret_key``, the values of matching mapping keys are replaced by a mask.
    """
    if isinstance(value, Mapping):
        return {
            str(k): MASK
            if secret_key is not None and secret_key(str(k))
            else to_json(v, secret_key=secret_key)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_json(v, secret_key=secret_key) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
