"""Enumerations of the collectors package."""

from __future__ import annotations

from enum import StrEnum


class TargetKind(StrEnum):
    """Which collector polls a target."""

    SNMP = "snmp"
    PROXMOX = "proxmox"
    PROMETHEUS = "prometheus"


class Resolution(StrEnum):
    """How finely the metric store answers: raw samples or 5-minute roll-ups."""

    RAW = "raw"
    FIVE_MINUTES = "5m"


class RollupStat(StrEnum):
    """Which figure of a 5-minute bucket a wide frame shows."""

    MIN = "min"
    MAX = "max"
    AVG = "avg"
    COUNT = "count"
    LAST = "last"
