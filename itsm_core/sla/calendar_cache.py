"""One shared ``BusinessCalendar`` per stored calendar definition.

``BusinessCalendar`` caches each date's classification, so building it once per
definition and sharing it across requests and job runs is what keeps the clock cheap.
The key is a digest of the stored JSON itself, not the row id and version: ids restart
in a fresh database and the digest can never name a stale definition.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from itsm_core.sla.calendar import BusinessCalendar
from itsm_core.sla.definition import CalendarDefinition
from itsm_core.sla.models import SlaCalendar

MAX_CALENDARS = 64
"""Distinct definitions kept; a hospital has a handful of calendars and versions."""

_cache: OrderedDict[str, BusinessCalendar] = OrderedDict()
_lock = threading.Lock()


def _digest(definition: dict[str, Any]) -> str:
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def business_calendar(calendar: SlaCalendar) -> BusinessCalendar:
    """The shared ``BusinessCalendar`` of ``calendar``'s current definition."""
    return compiled(calendar.definition)


def compiled(definition: dict[str, Any]) -> BusinessCalendar:
    """The shared ``BusinessCalendar`` of a stored (JSON) definition."""
    key = _digest(definition)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    built = BusinessCalendar(CalendarDefinition.model_validate(definition))
    with _lock:
        found = _cache.setdefault(key, built)
        _cache.move_to_end(key)
        while len(_cache) > MAX_CALENDARS:
            _cache.popitem(last=False)
    return found
