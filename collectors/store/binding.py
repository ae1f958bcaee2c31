"""CI references → CI ids, for a whole batch in one query.

A collector names a CI by discovery identity, ``CIRef(source, external_id)``. The
Prometheus collector may instead name it by CI *name* (``source == "name"``, see
``collectors.prometheus.templates.CI_NAME_SOURCE``); a name binds only when exactly one
CI carries it. References to CIs the CMDB does not (yet) hold stay unbound.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from collectors.samples import CIRef
from itsm_core.cmdb.models import ConfigurationItem

# Matches collectors.prometheus.templates.CI_NAME_SOURCE (the store must not import it).
NAME_SOURCE = "name"

# Tuples per IN list: far below SQLite's and PostgreSQL's bound-parameter limits.
_CHUNK = 1000


def resolve_ci_ids(session: Session, refs: Iterable[CIRef]) -> dict[CIRef, int]:
    """The CI id of every reference that names a known CI (unknown ones are absent)."""
    wanted = set(refs)
    by_id = [r for r in wanted if r.source != NAME_SOURCE]
    by_name = sorted({r.external_id for r in wanted if r.source == NAME_SOURCE})
    found: dict[CIRef, int] = {}
    cis = ConfigurationItem
    for start in range(0, len(by_id), _CHUNK):
        chunk = [(r.source, r.external_id) for r in by_id[start : start + _CHUNK]]
        rows = session.execute(
            select(cis.id, cis.source, cis.external_id).where(
                tuple_(cis.source, cis.external_id).in_(chunk)
            )
        )
        for ci_id, source, external_id in rows:
            found[CIRef(source, str(external_id))] = ci_id
    for start in range(0, len(by_name), _CHUNK):
        names = by_name[start : start + _CHUNK]
        named = session.execute(
            select(cis.name, func.min(cis.id))
            .where(cis.name.in_(names))
            .group_by(cis.name)
            .having(func.count() == 1)
        )
        for name, ci_id in named:
            found[CIRef(NAME_SOURCE, name)] = ci_id
    return found
