"""Byte counters of a guest turned into rates, without false spikes.

PVE reports ``netin``/``netout``/``diskread``/``diskwrite`` as byte counters since the
guest's QEMU (or container) process started; they fall back to zero when it restarts.
A rate needs the previous reading of the same guest, so the caller keeps a
``ProxmoxPollState`` per target between polls. No rate is produced when:

- there is no previous reading, or either reading is of a guest that was not running;
- the guest restarted in between: its uptime went back, or it is shorter than the time
  since the previous reading (a reboot between two polls, even one that already
  re-counted past the old values);
- one counter went back on its own (a reset we cannot explain): that counter only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

COUNTERS = ("netin", "netout", "diskread", "diskwrite")
# Uptime is whole seconds read at the server while our clock reads at the client.
UPTIME_SLACK_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class CounterReading:
    """One guest's counters at one time, with the uptime that dates them."""

    at: datetime
    uptime: float
    counters: Mapping[str, float]


@dataclass(slots=True)
class ProxmoxPollState:
    """What ``poll_proxmox`` remembers between polls of one target.

    ``readings`` holds the last counter reading per guest external id; guests no longer
    seen, stopped or unreadable are dropped, so their next reading starts afresh.
    """

    readings: dict[str, CounterReading] = field(default_factory=dict)


def restarted(previous: CounterReading, current: CounterReading) -> bool:
    """True if the guest's process started again between the two readings."""
    elapsed = (current.at - previous.at).total_seconds()
    if current.uptime < previous.uptime:
        return True
    return current.uptime + UPTIME_SLACK_SECONDS < elapsed


def counter_rates(previous: CounterReading | None, current: CounterReading) -> dict[str, float]:
    """Per-second rates of the counters both readings hold (see the module docstring)."""
    if previous is None:
        return {}
    elapsed = (current.at - previous.at).total_seconds()
    if elapsed <= 0 or restarted(previous, current):
        return {}
    rates: dict[str, float] = {}
    for name, value in current.counters.items():
        before = previous.counters.get(name)
        if before is None or value < before:
            continue
        rates[name] = (value - before) / elapsed
    return rates
