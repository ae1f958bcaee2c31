"""Enumerations of the SNMP collector: versions, USM protocols, why a rate is missing."""

from __future__ import annotations

from enum import StrEnum


class SnmpVersion(StrEnum):
    V2C = "v2c"
    V3 = "v3"


class AuthProtocol(StrEnum):
    """SNMPv3 USM authentication (RFC 3414, RFC 7860)."""

    MD5 = "MD5"
    SHA = "SHA"
    SHA224 = "SHA-224"
    SHA256 = "SHA-256"
    SHA384 = "SHA-384"
    SHA512 = "SHA-512"


class PrivProtocol(StrEnum):
    """SNMPv3 USM privacy. AES-192/256 localise keys as net-snmp does (Blumenthal draft);
    the ``-C`` variants use Cisco's key extension (Reeder draft)."""

    DES = "DES"
    AES128 = "AES128"
    AES192 = "AES192"
    AES256 = "AES256"
    AES192C = "AES192C"
    AES256C = "AES256C"


class RateReason(StrEnum):
    """Why a counter reading gave (or did not give) a rate."""

    OK = "ok"
    WRAPPED = "wrapped"  # a Counter32 wrapped once between the readings
    FIRST = "first"  # no previous reading
    RESTART = "restart"  # the agent restarted (sysUpTime went back or lagged)
    DISCONTINUITY = "discontinuity"  # ifCounterDiscontinuityTime changed
    RESET = "reset"  # the counter went back (or a "wrap" would exceed the line rate)
    WIDTH_CHANGED = "width_changed"  # Counter32 ↔ Counter64 (HC counters came or went)
    STALE = "stale"  # the previous reading is too old to trust
    NO_TIME = "no_time"  # no time passed between the readings
