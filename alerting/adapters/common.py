"""Shared pieces of the source adapters: bounded label maps, severity words, hashes.

Every string a source sends is bounded and free of NUL characters (PostgreSQL cannot
store NUL in text or JSONB), so a bad payload is a 422 before anything is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from alerting.canonical import Severity


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("may not contain NUL characters")
    return value


def _clean_map(value: dict[str, str]) -> dict[str, str]:
    """NUL-free, and sorted by key so a payload's digest does not depend on key order."""
    for key, text in value.items():
        _no_nul(key)
        _no_nul(text)
    return dict(sorted(value.items()))


LabelName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
LabelValue = Annotated[str, StringConstraints(max_length=2048)]
AnnotationValue = Annotated[str, StringConstraints(max_length=16_384)]
# At most 100 labels / annotations per alert.
Labels = Annotated[dict[LabelName, LabelValue], Field(max_length=100), AfterValidator(_clean_map)]
Annotations = Annotated[
    dict[LabelName, AnnotationValue], Field(max_length=100), AfterValidator(_clean_map)
]
# Printable ASCII without spaces: Alertmanager's hex hashes, other tools' ids.
Fingerprint = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[!-~]+$"),
]
ShortText = Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_nul)]
Url = Annotated[str, StringConstraints(max_length=8192), AfterValidator(_no_nul)]


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # year 1 or 9999 pushed over the edge by the offset
        raise ValueError("time out of range") from exc


# A time with a zone, converted to UTC (times without a zone are refused).
Time = Annotated[AwareDatetime, AfterValidator(_in_utc)]
# The most alerts any one payload may carry; ``[alerting] max_alerts_per_payload`` is
# the (lower) limit actually enforced.
HARD_MAX_ALERTS = 10_000

_SEVERITY_WORDS: dict[str, Severity] = {
    "critical": Severity.CRITICAL,
    "crit": Severity.CRITICAL,
    "fatal": Severity.CRITICAL,
    "emergency": Severity.CRITICAL,
    "disaster": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "p1": Severity.CRITICAL,
    "major": Severity.MAJOR,
    "error": Severity.MAJOR,
    "high": Severity.MAJOR,
    "p2": Severity.MAJOR,
    "warning": Severity.WARNING,
    "warn": Severity.WARNING,
    "minor": Severity.WARNING,
    "average": Severity.WARNING,
    "medium": Severity.WARNING,
    "info": Severity.INFO,
    "information": Severity.INFO,
    "informational": Severity.INFO,
    "notice": Severity.INFO,
    "low": Severity.INFO,
    "none": Severity.INFO,
}


def severity_of(word: str | None) -> Severity:
    """A source's severity word mapped onto ours; unknown or missing → ``warning``."""
    if not word:
        return Severity.WARNING
    return _SEVERITY_WORDS.get(word.strip().lower(), Severity.WARNING)


def label_fingerprint(source: str, labels: Mapping[str, str]) -> str:
    """A stable hash of a source name and an alert's labels (order does not matter)."""
    canonical = json.dumps(
        {"source": source, "labels": dict(labels)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def delivery_digest(source: str, content: str) -> str:
    """The digest of one delivery's (normalised) content, for recognising a repeat."""
    return hashlib.sha256(f"{source}\n{content}".encode()).hexdigest()


def unset_is_none(value: datetime | None) -> datetime | None:
    """Alertmanager (Go) sends ``0001-01-01T00:00:00Z`` for "no time"; that is None."""
    if value is None or value.year <= 1:
        return None
    return value
