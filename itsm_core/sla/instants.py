"""Instants as integer microseconds since the Unix epoch (UTC).

The clock does its arithmetic on integers: they are exact (a float timestamp loses
microseconds), so ``business_elapsed(start, due_at(start, t))`` gives back ``t`` exactly,
and they are cheaper than datetime arithmetic in the hot loop.
"""

from datetime import UTC, date, datetime, timedelta, tzinfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROS_PER_SECOND = 1_000_000


def to_micros(at: datetime, what: str = "datetime") -> int:
    """Microseconds since the epoch of an aware datetime; ``ValueError`` if naive."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {at.isoformat()}")
    return duration_micros(at - EPOCH)


def from_micros(micros: int) -> datetime:
    """The aware UTC datetime of an epoch-microsecond instant."""
    return EPOCH + timedelta(microseconds=micros)


def duration_micros(duration: timedelta) -> int:
    """A timedelta as whole microseconds."""
    return (duration.days * 86_400 + duration.seconds) * MICROS_PER_SECOND + duration.microseconds


def local_wall_to_micros(day: date, minute: int, zone: tzinfo) -> int:
    """The instant at which the local wall clock of ``zone`` shows ``day`` + ``minute``.

    ``minute`` may be 1440 (24:00, the next midnight). A wall time repeated by a
    backward DST shift takes its first occurrence; a wall time skipped by a forward
    shift maps to the instant of the shift, so working spans stay ordered and a skipped
    hour counts as zero business time.
    """
    # Aware + timedelta is wall-clock arithmetic: fields move, fold stays 0.
    wall = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(minutes=minute)
    micros = to_micros(wall)
    if from_micros(micros).astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return micros
    return _forward_shift_instant(wall, zone)


def _forward_shift_instant(wall: datetime, zone: tzinfo) -> int:
    # In a gap, fold=1 reads the wall time with the offset after the shift (an instant
    # before the shift), fold=0 with the offset before (an instant after it). Bisect
    # between the two, to the second, for the instant at which the offset changes.
    before = to_micros(wall.replace(fold=1)) // MICROS_PER_SECOND
    after = to_micros(wall.replace(fold=0)) // MICROS_PER_SECOND
    old_offset = datetime.fromtimestamp(before, zone).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == old_offset:
            before = middle
        else:
            after = middle
    return after * MICROS_PER_SECOND
