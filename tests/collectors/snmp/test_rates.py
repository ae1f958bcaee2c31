"""The rate calculator: wraps, resets, restarts, discontinuities — no false spikes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectors.snmp.choices import RateReason
from collectors.snmp.rates import (
    COUNTER32_MODULUS,
    RateState,
    Reading,
    counter_rate,
    restarted,
)

DEV = "10.0.0.1"


def r32(value: int, at: float, **extra: object) -> Reading:
    return Reading(value, 32, at, **extra)  # type: ignore[arg-type]


def test_first_reading_gives_no_rate_then_the_delta_per_second() -> None:
    state = RateState()
    assert state.rate(DEV, 1, "in_octets", r32(1_000, 100.0)).reason == RateReason.FIRST
    second = state.rate(DEV, 1, "in_octets", r32(3_000, 110.0))
    assert second.reason == RateReason.OK
    assert second.value == pytest.approx(200.0)


def test_counter32_wrap_is_one_wrap_not_a_negative_spike() -> None:
    before = r32(COUNTER32_MODULUS - 1_000, 0.0)
    after = r32(4_000, 10.0)
    rate = counter_rate(before, after)
    assert rate.reason == RateReason.WRAPPED
    assert rate.value == pytest.approx(500.0)


def test_counter32_decrease_beyond_line_rate_is_a_reset() -> None:
    # 100 → 50 would be a wrap of ~4.29e9 octets in 10 s = 3.4 Gbit/s on a 100 Mbit/s link.
    rate = counter_rate(r32(100, 0.0), r32(50, 10.0), max_rate=100e6 / 8 * 1.2)
    assert rate.reason == RateReason.RESET
    assert rate.value is None


def test_counter64_never_wraps_a_decrease_is_a_reset() -> None:
    big = 2**63 + 12_345
    ok = counter_rate(Reading(big, 64, 0.0), Reading(big + 1_250_000_000, 64, 10.0))
    assert ok.value == pytest.approx(125_000_000.0)
    assert counter_rate(Reading(big, 64, 0.0), Reading(10, 64, 10.0)).reason == RateReason.RESET


def test_a_changed_discontinuity_time_drops_the_baseline() -> None:
    state = RateState()
    state.rate(DEV, 3, "in_octets", r32(5_000_000, 0.0, discontinuity=0))
    after_swap = state.rate(DEV, 3, "in_octets", r32(9_000_000, 10.0, discontinuity=123_456))
    assert after_swap.reason == RateReason.DISCONTINUITY
    assert after_swap.value is None
    steady = state.rate(DEV, 3, "in_octets", r32(9_001_000, 20.0, discontinuity=123_456))
    assert steady.value == pytest.approx(100.0)


def test_hc_counters_appearing_change_width_and_restart_the_baseline() -> None:
    state = RateState()
    state.rate(DEV, 1, "in_octets", r32(10, 0.0))
    assert (
        state.rate(DEV, 1, "in_octets", Reading(2**40, 64, 10.0)).reason == RateReason.WIDTH_CHANGED
    )


def test_agent_restart_uptime_back_to_zero_gives_no_rate_for_any_counter() -> None:
    state = RateState()
    assert not state.observe_uptime(DEV, 86_400.0, 1_000.0)
    state.rate(DEV, 1, "in_octets", Reading(10**12, 64, 1_000.0, uptime=86_400.0))
    state.rate(DEV, 2, "in_errors", r32(500, 1_000.0, uptime=86_400.0))
    # The device rebooted: uptime 30 s, counters small again.
    assert state.observe_uptime(DEV, 30.0, 1_060.0)
    for index, counter, reading in (
        (1, "in_octets", Reading(4_000, 64, 1_060.0, uptime=30.0)),
        (2, "in_errors", r32(3, 1_060.0, uptime=30.0)),
    ):
        rate = state.rate(DEV, index, counter, reading)
        assert rate.reason == RateReason.RESTART
        assert rate.value is None
    # The next poll has a baseline again.
    assert not state.observe_uptime(DEV, 90.0, 1_120.0)
    again = state.rate(DEV, 1, "in_octets", Reading(64_000, 64, 1_120.0, uptime=90.0))
    assert again.value == pytest.approx(1_000.0)


def test_restart_between_polls_with_uptime_still_higher_is_caught_by_lag() -> None:
    # Poll at uptime 10 s; the agent reboots 5 s later; next poll 300 s on: uptime 295 s.
    assert restarted(10.0, 0.0, 295.0, 300.0)
    assert not restarted(10.0, 0.0, 309.5, 300.0)  # agent clock a bit ahead: fine


def test_timeticks_wrap_after_497_days_is_not_a_restart() -> None:
    top = (2**32 - 1_000) / 100  # 9.99 s before the wrap
    assert not restarted(top, 0.0, 50.0, 60.0)
    assert restarted(top, 0.0, 5.0, 60.0)  # back to 5 s: that was a reboot


def test_uptime_is_the_time_base_when_both_readings_have_it() -> None:
    # Our clock says 12 s (the second answer was late); the agent says 10 s.
    rate = counter_rate(Reading(0, 64, 0.0, uptime=100.0), Reading(1_000, 64, 12.0, uptime=110.0))
    assert rate.value == pytest.approx(100.0)


def test_stale_and_timeless_readings_give_no_rate() -> None:
    assert counter_rate(r32(0, 0.0), r32(10, 7_200.0), max_age=3_600).reason == RateReason.STALE
    assert counter_rate(r32(0, 5.0), r32(10, 5.0)).reason == RateReason.NO_TIME


def test_state_survives_a_round_trip_through_json() -> None:
    import json

    state = RateState()
    state.observe_uptime(DEV, 1_000.0, 50.0)
    state.rate(DEV, 7, "out_octets", Reading(2**50, 64, 50.0, uptime=1_000.0, discontinuity=0))
    state.remember_rows(DEV, "if", 12)
    restored = RateState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored.rows_hint(DEV, "if") == 12
    assert not restored.observe_uptime(DEV, 1_060.0, 110.0)
    rate = restored.rate(
        DEV, 7, "out_octets", Reading(2**50 + 6_000, 64, 110.0, uptime=1_060.0, discontinuity=0)
    )
    assert rate.value == pytest.approx(100.0)
    assert RateState.from_dict({"version": 99}).devices() == []


def test_retain_forgets_interfaces_that_went_away() -> None:
    state = RateState()
    state.rate(DEV, 1, "in_octets", r32(1, 0.0))
    state.rate(DEV, 2, "in_octets", r32(1, 0.0))
    state.retain(DEV, {(1, "in_octets")})
    assert len(state) == 1
    assert state.rate(DEV, 2, "in_octets", r32(5, 10.0)).reason == RateReason.FIRST


readings = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2**32 - 1),  # counter value
        st.floats(min_value=0.0, max_value=600.0, allow_nan=False),  # seconds since last
        st.booleans(),  # a restart before this reading
        st.integers(min_value=0, max_value=3),  # discontinuity epoch
    ),
    min_size=1,
    max_size=40,
)


@given(readings, st.sampled_from([None, 1e3, 1.25e8]))
def test_property_rates_are_never_negative_and_wraps_stay_under_the_cap(
    series: list[tuple[int, float, bool, int]], max_rate: float | None
) -> None:
    state = RateState()
    at, uptime = 0.0, 1_000.0
    state.observe_uptime(DEV, uptime, at)
    for value, gap, reboot, disc in series:
        at += gap
        # A reboot 1 s before the reading shows when uptime went back, or lags our clock
        # by more than the slack (5 s + 1 %); a reboot of an agent up for 1 s does not.
        visible = reboot and (uptime > 1.0 or 1.0 - uptime < gap - (5.0 + 0.01 * gap))
        uptime = 1.0 if reboot else uptime + gap
        assert state.observe_uptime(DEV, uptime, at) == visible
        rate = state.rate(
            DEV,
            1,
            "in_octets",
            Reading(value, 32, at, uptime=uptime, discontinuity=disc),
            max_rate=max_rate,
        )
        if rate.value is not None:
            assert rate.value >= 0
            if rate.reason == RateReason.WRAPPED and max_rate is not None:
                assert rate.value <= max_rate
        if visible:
            assert rate.value is None


@given(
    st.integers(min_value=0, max_value=2**64 - 1),
    st.integers(min_value=0, max_value=2**64 - 1),
    st.floats(min_value=0.001, max_value=1e6),
)
def test_property_counter64_rates_are_never_negative(first: int, second: int, gap: float) -> None:
    rate = counter_rate(Reading(first, 64, 0.0), Reading(second, 64, gap))
    assert rate.value is None or rate.value >= 0
    assert (rate.value is None) == (second < first)
