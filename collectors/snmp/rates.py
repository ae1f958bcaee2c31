"""Counter readings into per-second rates, without false spikes.

SNMP counters only grow, until they cannot: a Counter32 wraps at 2**32 (a 1 Gbit/s link
wraps ``ifInOctets`` every 34 s), an agent restart sets every counter and ``sysUpTime``
back to zero, and a line card swap resets one interface's counters and moves its
``ifCounterDiscontinuityTime``. A naive ``(new - old) / dt`` turns each of those into a
huge or negative spike. Here a rate is only given when the two readings are comparable:

- no previous reading, a previous reading from before a detected restart, a changed
  discontinuity time, a counter that changed width (HC counters appeared) or a stale one
  (older than ``max_age``): no rate, and the reading becomes the new baseline;
- a Counter64 that went back: a reset (a 64-bit wrap takes decades), no rate;
- a Counter32 that went back: one wrap (``new + 2**32 - old``), unless that would exceed
  ``max_rate`` (e.g. the line rate), then it was a reset;
- the time base is the agent's ``sysUpTime`` when both readings carry it (the counters
  and the clock were read by the agent in the same breath), else our wall clock.

An agent restart is spotted per device by :meth:`RateState.observe_uptime`: ``sysUpTime``
went back (and not by a 497-day TimeTicks wrap), or advanced less than our clock did
(the agent restarted between polls and has been up less long than the gap).

:class:`RateState` keeps the previous reading per (device, ifIndex, counter) in memory;
``to_dict``/``from_dict`` persist it across a restart of Fulcrum.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from collectors.snmp.choices import RateReason

COUNTER32_MODULUS = 2**32
TIMETICKS_MODULUS = 2**32  # sysUpTime wraps after 497 days
Bits = Literal[32, 64]


@dataclass(frozen=True, slots=True)
class Reading:
    """One counter value as read: its width, when (our clock, epoch seconds) and the
    agent's uptime (seconds, from sysUpTime) and discontinuity time (ticks) with it."""

    value: int
    bits: Bits
    at: float
    uptime: float | None = None
    discontinuity: int | None = None


@dataclass(frozen=True, slots=True)
class Rate:
    """A per-second rate, or ``None`` with the reason there is none."""

    value: float | None
    reason: RateReason


def elapsed_seconds(previous: Reading, current: Reading) -> float:
    """Seconds between two readings: agent uptime when both have it, else our clock."""
    if previous.uptime is not None and current.uptime is not None:
        delta = current.uptime - previous.uptime
        if delta > 0:
            return delta
    return current.at - previous.at


def counter_rate(
    previous: Reading | None,
    current: Reading,
    *,
    max_rate: float | None = None,
    max_age: float | None = None,
) -> Rate:
    """The rate between two readings of one counter (pure; see the module docstring)."""
    if previous is None:
        return Rate(None, RateReason.FIRST)
    if previous.bits != current.bits:
        return Rate(None, RateReason.WIDTH_CHANGED)
    if previous.discontinuity != current.discontinuity:
        return Rate(None, RateReason.DISCONTINUITY)
    if max_age is not None and current.at - previous.at > max_age:
        return Rate(None, RateReason.STALE)
    seconds = elapsed_seconds(previous, current)
    if seconds <= 0:
        return Rate(None, RateReason.NO_TIME)
    delta = current.value - previous.value
    if delta >= 0:
        return Rate(delta / seconds, RateReason.OK)
    if current.bits == 64:
        return Rate(None, RateReason.RESET)
    wrapped = (delta + COUNTER32_MODULUS) / seconds
    if max_rate is not None and wrapped > max_rate:
        return Rate(None, RateReason.RESET)
    return Rate(wrapped, RateReason.WRAPPED)


def restarted(
    previous_uptime: float,
    previous_at: float,
    uptime: float,
    at: float,
    *,
    slack: float = 5.0,
    drift: float = 0.01,
) -> bool:
    """Whether the agent restarted between two sysUpTime readings (seconds).

    The agent's clock must advance about as far as ours did; ``slack`` seconds of
    latency and ``drift`` (a share of the gap) are forgiven. A TimeTicks wrap (497 days)
    that matches our clock is not a restart.
    """
    wall = at - previous_at
    tolerance = slack + drift * max(wall, 0.0)
    advanced = uptime - previous_uptime
    if advanced < 0:
        wrapped = advanced + TIMETICKS_MODULUS / 100
        return abs(wrapped - wall) > tolerance
    return advanced < wall - tolerance


@dataclass(slots=True)
class _Device:
    uptime: float | None = None
    at: float | None = None
    epoch: int = 0
    readings: dict[tuple[int, str], tuple[int, Reading]] = field(default_factory=dict)
    rows_hint: dict[str, int] = field(default_factory=dict)


class RateState:
    """Previous readings per (device, ifIndex, counter), and each device's last uptime.

    One instance serves many devices (the scheduler keeps one per process); it is not
    thread-safe, but one event loop's polls may share it.
    """

    def __init__(self, *, max_age: float = 3600.0, slack: float = 5.0) -> None:
        self.max_age = max_age
        self.slack = slack
        self._devices: dict[str, _Device] = {}
        # How often each outcome happened (wraps, resets, restarts…): for /metrics and tests.
        self.outcomes: Counter[RateReason] = Counter()

    def __len__(self) -> int:
        return sum(len(device.readings) for device in self._devices.values())

    def devices(self) -> list[str]:
        return sorted(self._devices)

    def forget(self, device: str) -> None:
        self._devices.pop(device, None)

    def observe_uptime(self, device: str, uptime: float | None, at: float) -> bool:
        """Record a device's sysUpTime (seconds) at ``at``; True if it restarted since the
        last observation — then every earlier reading of it stops counting as a baseline."""
        memory = self._devices.setdefault(device, _Device())
        restart = False
        if uptime is not None and memory.uptime is not None and memory.at is not None:
            restart = restarted(memory.uptime, memory.at, uptime, at, slack=self.slack)
        if restart:
            memory.epoch += 1
        if uptime is not None:
            memory.uptime, memory.at = uptime, at
        return restart

    def rate(
        self,
        device: str,
        index: int,
        counter: str,
        reading: Reading,
        *,
        max_rate: float | None = None,
    ) -> Rate:
        """The rate of ``counter`` on ``device``/``index`` since the last reading; the
        reading is kept as the next baseline (whether or not a rate came out)."""
        memory = self._devices.setdefault(device, _Device())
        key = (index, counter)
        stored = memory.readings.get(key)
        memory.readings[key] = (memory.epoch, reading)
        if stored is not None and stored[0] != memory.epoch:
            rate = Rate(None, RateReason.RESTART)
        else:
            previous = None if stored is None else stored[1]
            rate = counter_rate(previous, reading, max_rate=max_rate, max_age=self.max_age)
        self.outcomes[rate.reason] += 1
        return rate

    def retain(self, device: str, keys: set[tuple[int, str]]) -> None:
        """Drop the readings of ``device`` not in ``keys`` (interfaces that went away)."""
        memory = self._devices.get(device)
        if memory is not None:
            for key in set(memory.readings) - keys:
                del memory.readings[key]

    # -- walk sizing: how many rows a device's tables had last time -------------------
    def rows_hint(self, device: str, table: str) -> int | None:
        memory = self._devices.get(device)
        return None if memory is None else memory.rows_hint.get(table)

    def remember_rows(self, device: str, table: str, rows: int) -> None:
        self._devices.setdefault(device, _Device()).rows_hint[table] = rows

    # -- persistence -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able snapshot (no secrets: device keys, counter values and times)."""
        return {
            "version": 1,
            "devices": {
                name: {
                    "uptime": device.uptime,
                    "at": device.at,
                    "rows": dict(device.rows_hint),
                    "readings": [
                        [index, counter, r.value, r.bits, r.at, r.uptime, r.discontinuity]
                        for (index, counter), (epoch, r) in device.readings.items()
                        if epoch == device.epoch
                    ],
                }
                for name, device in self._devices.items()
            },
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, max_age: float = 3600.0, slack: float = 5.0
    ) -> RateState:
        """The state :meth:`to_dict` saved; a snapshot of another version starts empty."""
        state = cls(max_age=max_age, slack=slack)
        if data.get("version") != 1:
            return state
        for name, saved in data.get("devices", {}).items():
            device = _Device(uptime=saved.get("uptime"), at=saved.get("at"))
            device.rows_hint = {str(k): int(v) for k, v in saved.get("rows", {}).items()}
            for index, counter, value, bits, at, uptime, discontinuity in saved.get("readings", []):
                width: Bits = 64 if bits == 64 else 32
                device.readings[(int(index), str(counter))] = (
                    0,
                    Reading(int(value), width, float(at), uptime, discontinuity),
                )
            state._devices[str(name)] = device
        return state
