"""CI references → CI ids, for a whole batch in a few indexed queries.

A collector names a CI by discovery identity, ``CIRef(source, external_id)``: looked up
per source through the ``(source, external_id)`` unique index. The Prometheus collector
may instead name it by CI *name* (``source == "name"``, see
``collectors.prometheus.templates.CI_NAME_SOURCE``); a name binds only when exactly one
CI carries it. References to CIs the CMDB does not (yet) hold stay unbound.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collectors.samples import CIRef
from collectors.store.tables import one_of
from itsm_core.cmdb.models import ConfigurationItem

# Matches collectors.prometheus.templates.CI_NAME_SOURCE (the store must not import it).
NAME_SOURCE = "name"

# Values per query: far below SQLite's bound-parameter limit.
_CHUNK = 1000


def resolve_ci_ids(session: Session, refs: Iterable[CIRef]) -> dict[CIRef, int]:
    """The CI id of every reference that names a known CI (unknown ones are absent)."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for ref in set(refs):
        by_source[ref.source].append(ref.external_id)
    names = sorted(by_source.pop(NAME_SOURCE, []))
    found: dict[CIRef, int] = {}
    cis = ConfigurationItem
    for source, external_ids in sorted(by_source.items()):
        for start in range(0, len(external_ids), _CHUNK):
            chunk = external_ids[start : start + _CHUNK]
            rows = session.execute(
                select(cis.id, cis.external_id)
                .where(cis.source == source)
                .where(one_of(session, cis.external_id, chunk))
            )
            for ci_id, external_id in rows:
                found[CIRef(source, str(external_id))] = ci_id
    for start in range(0, len(names), _CHUNK):
        named = session.execute(
            select(cis.name, func.min(cis.id))
            .where(one_of(session, cis.name, names[start : start + _CHUNK]))
            .group_by(cis.name)
            .having(func.count() == 1)
        )
        for name, ci_id in named:
            found[CIRef(NAME_SOURCE, name)] = ci_id
    return found
