"""Counter readings to rates: restarts and resets never make a spike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collectors.proxmox.rates import CounterReading, counter_rates, restarted

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def reading(seconds: float, uptime: float, **counters: float) -> CounterReading:
    return CounterReading(T0 + timedelta(seconds=seconds), uptime, counters)


def test_steady_counters_give_per_second_rates() -> None:
    before = reading(0, 1000, netin=1000, netout=0)
    after = reading(30, 1030, netin=1000 + 30 * 400, netout=0)
    assert counter_rates(before, after) == {"netin": pytest.approx(400), "netout": 0.0}


def test_no_previous_reading_no_rate() -> None:
    assert counter_rates(None, reading(0, 10, netin=5)) == {}


def test_uptime_going_back_is_a_restart() -> None:
    before = reading(0, 5000, netin=10_000)
    after = reading(60, 40, netin=50_000)  # counted past the old value already
    assert restarted(before, after)
    assert counter_rates(before, after) == {}


def test_a_restart_within_the_interval_is_seen_even_with_a_young_guest() -> None:
    # Up 3 s at one poll, only 50 s up 60 s later: it restarted in between. Uptime still
    # grew, so only the time elapsed between the readings tells.
    before = reading(0, 3, netin=100)
    after = reading(60, 50, netin=900)
    assert restarted(before, after)
    assert counter_rates(before, after) == {}


def test_a_counter_that_goes_back_alone_is_skipped_alone() -> None:
    before = reading(0, 100, netin=1000, diskread=1000)
    after = reading(10, 110, netin=500, diskread=2000)
    assert counter_rates(before, after) == {"diskread": pytest.approx(100)}


def test_a_reading_not_later_than_the_previous_one_gives_nothing() -> None:
    before = reading(10, 100, netin=1000)
    assert counter_rates(before, reading(10, 100, netin=2000)) == {}
    assert counter_rates(before, reading(5, 100, netin=2000)) == {}


def test_uptime_measured_a_little_apart_from_our_clock_is_no_restart() -> None:
    before = reading(0, 1000, netin=0)
    after = reading(62, 1059, netin=620)  # server and client clocks differ by seconds
    assert not restarted(before, after)
    assert counter_rates(before, after) == {"netin": pytest.approx(10)}
