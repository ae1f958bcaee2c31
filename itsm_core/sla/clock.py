"""The SLA clock: pure functions of business time over a ``BusinessCalendar``.

Business time is real elapsed time that falls inside the calendar's working spans and
outside every pause. (A working interval on a DST-change day is as long as the wall
clock really runs: 08:00-17:00 across a spring-forward is still 9 h only if no hour is
skipped inside it.)

Definitions, with ``elapsed(t) = business_elapsed(start, t)``:

* ``due_at(start, target)`` is the earliest instant ``t`` with ``elapsed(t) >= target``.
  So for ``target > 0`` the due time lies in working time: inside a working span or
  exactly at its end (a target that uses up a day's last interval is due at 17:30 that
  day, not at 08:00 the next morning). For ``target == 0`` it is ``start`` itself.
* A pause is ``(start, end)``; ``end=None`` is open (the ticket is pending and not yet
  resumed). While an open pause runs nothing can be due: if the target is not reached
  before the open pause starts, ``DueResult.due`` is None and ``DueResult.remaining``
  says how much business time is left. Overlapping pauses are merged.
* ``provisional`` is True when any local date from the start's to the due time's (or
  to where an open pause stops the clock) is classified on a prediction.

Inputs must be timezone-aware (``ValueError`` otherwise); results are aware UTC.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsm_core.sla.calendar import BusinessCalendar
from itsm_core.sla.instants import duration_micros, from_micros, to_micros

Pause = tuple[datetime, datetime | None]
"""A pause of the clock: ``(start, end)``, with ``end`` None while still open."""

DEFAULT_WARNING_SHARE = 0.75
HORIZON_DAYS = 3660
"""How far (about ten years) the clock looks for working time before giving up."""

_OPEN = 1 << 63  # end of an open pause: later than any representable instant


@dataclass(frozen=True, slots=True)
class DueResult:
    """When a target falls due, and whether that rests on predicted holidays."""

    due: datetime | None
    """Aware UTC due time; None while an open pause stops the clock."""
    provisional: bool
    remaining: timedelta = timedelta(0)
    """Business time still to run when an open pause stopped the clock, else zero."""

    @property
    def paused(self) -> bool:
        """True when an open pause keeps the clock stopped before the target is reached."""
        return self.due is None


def due_at(
    start: datetime,
    target: timedelta,
    calendar: BusinessCalendar,
    pauses: Sequence[Pause] = (),
) -> DueResult:
    """When ``target`` business time after ``start`` has run (see module docstring)."""
    cursor = to_micros(start, "start")
    remaining = _target_micros(target)
    stops = _merge_pauses(pauses, cursor)
    if remaining == 0:
        return DueResult(from_micros(cursor), provisional=False)
    ordinal = start.astimezone(calendar.zone).toordinal()
    if stops:
        return _due_with_pauses(cursor, remaining, ordinal, calendar, stops)
    provisional = False
    plan_of = calendar.plan
    for day in range(ordinal, ordinal + HORIZON_DAYS):
        plan = plan_of(day)
        provisional = provisional or plan.provisional
        spans = plan.spans
        if not spans:
            continue
        if remaining > plan.total and cursor <= spans[0][0]:
            remaining -= plan.total  # the whole day is consumed: skip its spans
            continue
        for span_start, span_end in spans:
            if span_end <= cursor:
                continue
            begin = max(span_start, cursor)
            if remaining <= span_end - begin:
                return DueResult(from_micros(begin + remaining), provisional)
            remaining -= span_end - begin
    raise ValueError(f"target {target} is not reached within {HORIZON_DAYS} days")


def warning_at(
    start: datetime,
    target: timedelta,
    calendar: BusinessCalendar,
    pauses: Sequence[Pause] = (),
    *,
    share: float = DEFAULT_WARNING_SHARE,
) -> DueResult:
    """When ``share`` of ``target`` has run: the at-risk warning time."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"warning share must be between 0 and 1, got {share}")
    _target_micros(target)
    return due_at(start, target * share, calendar, pauses)


def business_elapsed(
    start: datetime,
    end: datetime,
    calendar: BusinessCalendar,
    pauses: Sequence[Pause] = (),
) -> timedelta:
    """Business time between ``start`` and ``end``, less the pauses."""
    low = to_micros(start, "start")
    high = to_micros(end, "end")
    if high < low:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    stops = _merge_pauses(pauses, low)
    first = start.astimezone(calendar.zone).toordinal()
    last = end.astimezone(calendar.zone).toordinal()
    total = 0
    index = 0
    for day in range(first, last + 1):
        plan = calendar.plan(day)
        spans = plan.spans
        if not spans:
            continue
        if not stops and low <= spans[0][0] and spans[-1][1] <= high:
            total += plan.total  # the whole day lies inside the range
            continue
        for span_start, span_end in spans:
            begin, finish = max(span_start, low), min(span_end, high)
            if begin >= finish:
                continue
            total += finish - begin
            while index < len(stops) and stops[index][1] <= begin:
                index += 1
            for pause_start, pause_end in stops[index:]:
                if pause_start >= finish:
                    break
                total -= min(pause_end, finish) - max(pause_start, begin)
    return timedelta(microseconds=total)


def _target_micros(target: timedelta) -> int:
    micros = duration_micros(target)
    if micros < 0:
        raise ValueError(f"target must not be negative, got {target}")
    return micros


def _merge_pauses(pauses: Sequence[Pause], after: int) -> list[tuple[int, int]]:
    """Pauses as sorted, disjoint epoch-microsecond spans, dropping those over by ``after``."""
    spans: list[tuple[int, int]] = []
    for pause_start, pause_end in pauses:
        low = to_micros(pause_start, "pause start")
        high = _OPEN if pause_end is None else to_micros(pause_end, "pause end")
        if high < low:
            raise ValueError(f"pause ends before it starts: {pause_start} > {pause_end}")
        if high > after and high > low:
            spans.append((low, high))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for low, high in spans:
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _due_with_pauses(
    cursor: int,
    remaining: int,
    ordinal: int,
    calendar: BusinessCalendar,
    stops: list[tuple[int, int]],
) -> DueResult:
    provisional = False
    index = 0
    for day in range(ordinal, ordinal + HORIZON_DAYS):
        plan = calendar.plan(day)
        provisional = provisional or plan.provisional
        for span_start, span_end in plan.spans:
            if span_end <= cursor:
                continue
            begin = max(span_start, cursor)
            while index < len(stops) and stops[index][1] <= begin:
                index += 1
            # Walk the free pieces of [begin, span_end) between the pauses.
            for pause_start, pause_end in stops[index:]:
                if pause_start >= span_end:
                    break
                if pause_start > begin:
                    if remaining <= pause_start - begin:
                        return DueResult(from_micros(begin + remaining), provisional)
                    remaining -= pause_start - begin
                if pause_end == _OPEN:
                    return DueResult(None, provisional, timedelta(microseconds=remaining))
                begin = max(begin, pause_end)
                if begin >= span_end:
                    break
            if begin < span_end:
                if remaining <= span_end - begin:
                    return DueResult(from_micros(begin + remaining), provisional)
                remaining -= span_end - begin
            cursor = span_end
    raise ValueError(f"target is not reached within {HORIZON_DAYS} days")
