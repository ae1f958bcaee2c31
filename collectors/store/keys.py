"""Series identity: a stable hash of a sample's metric, labels and CI reference.

The hash is computed in Python (not by the database) so every writer, on SQLite or
PostgreSQL, names the same series the same way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from collectors.samples import CIRef


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """What identifies a series: metric, labels and the CI reference the collector gave."""

    metric: str
    labels: tuple[tuple[str, str], ...]
    ci: CIRef | None

    @classmethod
    def of(cls, metric: str, labels: Mapping[str, str], ci: CIRef | None) -> SeriesKey:
        return cls(metric, tuple(sorted((str(k), str(v)) for k, v in labels.items())), ci)

    def labels_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of metric, labels and CI reference.

        The metric is part of the hash so a hash alone finds one series (one index probe).
        """
        ci = None if self.ci is None else [self.ci.source, self.ci.external_id]
        canonical = json.dumps(
            {"metric": self.metric, "labels": self.labels, "ci": ci},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def labels_dict(self) -> dict[str, str]:
        return dict(self.labels)
