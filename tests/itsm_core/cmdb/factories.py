"""Plain factory functions for CMDB tests (and the impact benchmark's estate)."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.cmdb import relationships, service
from itsm_core.cmdb.choices import RelationType
from itsm_core.cmdb.models import CIRelationship, ConfigurationItem

_seq = itertools.count(1)


def make_ci(
    session: Session, ci_class: str = "vm", name: str | None = None, **fields: Any
) -> ConfigurationItem:
    """A CI created through the service (so with history and audit), flushed."""
    data = {"class": ci_class, "name": name or f"{ci_class}-{next(_seq)}", **fields}
    return service.create_ci(session, SYSTEM, data)


def link(
    session: Session,
    source: ConfigurationItem,
    relation: RelationType | str,
    target: ConfigurationItem,
    *,
    redundant: bool = False,
) -> CIRelationship:
    return relationships.create_relationship(
        session, SYSTEM, source, RelationType(relation), target, redundant=redundant
    )


def chain(session: Session, length: int, ci_class: str = "application") -> list[ConfigurationItem]:
    """``c0 <- c1 <- … `` where each ``c[i+1] depends_on c[i]`` (c0 is the root cause)."""
    cis = [make_ci(session, ci_class, f"c{i}") for i in range(length)]
    for upstream, downstream in itertools.pairwise(cis):
        link(session, downstream, RelationType.DEPENDS_ON, upstream)
    return cis
