"""Which series a read means: by metric, label values and CI."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select

from collectors.store.models import Series

# Label names as Prometheus allows them; anything else cannot be a stored label and is
# refused before it reaches a JSON path expression.
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class SeriesFilter:
    """Series whose metric is ``metric``, whose labels include ``labels``, bound to ``ci_id``.

    Unset parts do not filter; ``SeriesFilter()`` matches every series.
    """

    metric: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    ci_id: int | None = None

    def __post_init__(self) -> None:
        bad = [name for name in self.labels if not LABEL_NAME.match(name)]
        if bad:
            raise ValueError(f"not a label name: {', '.join(sorted(bad))}")

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        """``stmt`` (selecting from ``series``) narrowed to the matching series."""
        if self.metric is not None:
            stmt = stmt.where(Series.metric == self.metric)
        if self.ci_id is not None:
            stmt = stmt.where(Series.ci_id == self.ci_id)
        for name, value in sorted(self.labels.items()):
            stmt = stmt.where(Series.labels[name].as_string() == value)
        return stmt
