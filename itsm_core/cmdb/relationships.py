"""Typed, directed relationships between CIs, and which class pairs each type allows.

``source <relation> target`` reads as a sentence; ``RelationType`` (choices.py) says
which end depends on the other. Rules checked on every new edge:

- no self-edges (422 on ``target_id``), no edge to or from a retired CI (409);
- the class pair must be allowed for the relation (422 on ``relation``); sites take part
  in no relationship — a CI's location is its ``site_id``;
- the same edge twice, or its equivalent inverse (``A runs_on B`` and ``B hosts A``),
  is a duplicate (409 on ``target_id``);
- ``redundant`` only on ``depends_on`` and ``connected_to`` (422 on ``redundant``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.cmdb import history
from itsm_core.cmdb.choices import REDUNDANCY_RELATIONS, Lifecycle, RelationshipSide, RelationType
from itsm_core.cmdb.classes import (
    APPLICATION,
    BUSINESS_SERVICE,
    DATABASE,
    HYPERVISOR_NODE,
    INTERFACE,
    NETWORK_DEVICE,
    SITE,
    VM,
)
from itsm_core.cmdb.models import CIRelationship, ConfigurationItem
from itsm_core.errors import Conflict, NotFound, ValidationFailed

ANY = "*"
ENTITY = "ci_relationship"
R = RelationType

_RUNS_ON = {
    (VM, HYPERVISOR_NODE),
    (APPLICATION, VM),
    (APPLICATION, HYPERVISOR_NODE),
    (DATABASE, VM),
    (DATABASE, HYPERVISOR_NODE),
}
_RULES: dict[RelationType, set[tuple[str, str]]] = {
    R.RUNS_ON: set(_RUNS_ON),
    R.HOSTS: {(target, source) for source, target in _RUNS_ON},
    R.DEPENDS_ON: {(ANY, ANY)},
    R.PART_OF: {
        (INTERFACE, NETWORK_DEVICE),
        (INTERFACE, HYPERVISOR_NODE),
        (NETWORK_DEVICE, NETWORK_DEVICE),
        (APPLICATION, APPLICATION),
        (BUSINESS_SERVICE, BUSINESS_SERVICE),
    },
    # The downlink is the source, the uplink the target.
    R.CONNECTED_TO: {
        (source, target)
        for source in (NETWORK_DEVICE, INTERFACE, HYPERVISOR_NODE)
        for target in (NETWORK_DEVICE, INTERFACE)
    },
}
_INVERSE = {R.RUNS_ON: R.HOSTS, R.HOSTS: R.RUNS_ON}


def allow(relation: RelationType, source_class: str, target_class: str) -> None:
    """Allow another class pair for ``relation`` (``"*"`` matches any class)."""
    _RULES[relation].add((source_class, target_class))


def allowed_pairs(relation: RelationType) -> list[tuple[str, str]]:
    return sorted(_RULES[relation])


def check_pair(relation: RelationType, source_class: str, target_class: str) -> None:
    """Raise ``ValidationFailed`` on ``relation`` unless the class pair is allowed."""
    if SITE in (source_class, target_class):
        raise ValidationFailed.on(
            "relation", "sites take part in no relationship; set the CI's site_id instead"
        )
    pairs = _RULES[relation]
    candidates = {
        (source_class, target_class),
        (ANY, target_class),
        (source_class, ANY),
        (ANY, ANY),
    }
    if not candidates & pairs:
        allowed = ", ".join(f"{s} {relation} {t}" for s, t in sorted(pairs))
        raise ValidationFailed.on(
            "relation",
            f"{source_class} {relation} {target_class} is not allowed; allowed: {allowed}",
        )


def get_relationship(session: Session, relationship_id: int) -> CIRelationship:
    rel = session.get(CIRelationship, relationship_id)
    if rel is None:
        raise NotFound(f"relationship {relationship_id} does not exist")
    return rel


def find_relationship(
    session: Session, source_id: int, relation: RelationType, target_id: int
) -> CIRelationship | None:
    """The edge, or its equivalent inverse (``B hosts A`` for ``A runs_on B``)."""
    wanted = [
        (CIRelationship.source_id == source_id)
        & (CIRelationship.target_id == target_id)
        & (CIRelationship.relation == relation)
    ]
    inverse = _INVERSE.get(relation)
    if inverse is not None:
        wanted.append(
            (CIRelationship.source_id == target_id)
            & (CIRelationship.target_id == source_id)
            & (CIRelationship.relation == inverse)
        )
    return session.scalar(select(CIRelationship).where(or_(*wanted)).limit(1))


def _validate(
    source: ConfigurationItem, relation: RelationType, target: ConfigurationItem, redundant: bool
) -> None:
    if source.id == target.id:
        raise ValidationFailed.on("target_id", "a CI cannot have a relationship with itself")
    for ci in (source, target):
        if ci.lifecycle == Lifecycle.RETIRED:
            raise Conflict(
                f"CI {ci.id} ({ci.name}) is retired",
                errors={"target_id" if ci is target else "source_id": ["CI is retired"]},
            )
    check_pair(relation, source.ci_class, target.ci_class)
    if redundant and relation not in REDUNDANCY_RELATIONS:
        raise ValidationFailed.on(
            "redundant", f"only {', '.join(sorted(REDUNDANCY_RELATIONS))} can be redundant"
        )


def create_relationship(
    session: Session,
    actor: Actor,
    source: ConfigurationItem,
    relation: RelationType,
    target: ConfigurationItem,
    *,
    redundant: bool = False,
) -> CIRelationship:
    """``source <relation> target``, validated, audited and on both CIs' history."""
    relation = RelationType(relation)
    _validate(source, relation, target, redundant)
    existing = find_relationship(session, source.id, relation, target.id)
    if existing is not None:
        raise Conflict(
            f"{source.name} {relation} {target.name} exists already as relationship "
            f"{existing.id} ({existing.relation})",
            errors={"target_id": [f"duplicate of relationship {existing.id}"]},
        )
    rel = CIRelationship(
        source_id=source.id, target_id=target.id, relation=relation, redundant=redundant
    )
    session.add(rel)
    session.flush()
    history.record_relationship(session, actor, rel, source, target, added=True)
    view = history.relationship_view(rel, source, target)
    audit.record(session, actor, "ci_relationship.create", ENTITY, rel.id, after=view)
    return rel


def delete_relationship(session: Session, actor: Actor, rel: CIRelationship) -> None:
    """Remove an edge (relationships are not CIs: they are deleted, with history)."""
    source = session.get_one(ConfigurationItem, rel.source_id)
    target = session.get_one(ConfigurationItem, rel.target_id)
    view = history.relationship_view(rel, source, target)
    history.record_relationship(session, actor, rel, source, target, added=False)
    session.delete(rel)
    session.flush()
    audit.record(session, actor, "ci_relationship.delete", ENTITY, view["id"], before=view)


def ensure_relationship(
    session: Session,
    actor: Actor,
    source: ConfigurationItem,
    relation: RelationType,
    target: ConfigurationItem,
    *,
    redundant: bool = False,
    exclusive: bool = False,
) -> tuple[CIRelationship, bool]:
    """Discovery's idempotent form: the edge, created only if missing (→ ``(rel, True)``).

    ``exclusive`` first removes the source's other edges of this relation — a VM that
    migrated runs on its new node only.
    """
    if exclusive:
        others = session.scalars(
            select(CIRelationship).where(
                CIRelationship.source_id == source.id,
                CIRelationship.relation == relation,
                CIRelationship.target_id != target.id,
            )
        ).all()
        for other in others:
            delete_relationship(session, actor, other)
    existing = find_relationship(session, source.id, relation, target.id)
    if existing is not None:
        return existing, False
    return create_relationship(session, actor, source, relation, target, redundant=redundant), True


@dataclass(frozen=True)
class Neighbour:
    """One relationship of a CI with both of its ends loaded."""

    relationship: CIRelationship
    source: ConfigurationItem
    target: ConfigurationItem


def relationships_of(
    session: Session,
    ci_id: int,
    side: RelationshipSide = RelationshipSide.BOTH,
    relation: RelationType | None = None,
    *,
    before_id: int | None = None,
    limit: int | None = None,
) -> list[Neighbour]:
    """A CI's relationships with both ends, newest first, in one query.

    ``before_id`` and ``limit`` page through them (ids below ``before_id``).
    """
    src = aliased(ConfigurationItem)
    tgt = aliased(ConfigurationItem)
    stmt = (
        select(CIRelationship, src, tgt)
        .join(src, src.id == CIRelationship.source_id)
        .join(tgt, tgt.id == CIRelationship.target_id)
    )
    if side == RelationshipSide.OUTGOING:
        stmt = stmt.where(CIRelationship.source_id == ci_id)
    elif side == RelationshipSide.INCOMING:
        stmt = stmt.where(CIRelationship.target_id == ci_id)
    else:
        stmt = stmt.where(or_(CIRelationship.source_id == ci_id, CIRelationship.target_id == ci_id))
    if relation is not None:
        stmt = stmt.where(CIRelationship.relation == relation)
    if before_id is not None:
        stmt = stmt.where(CIRelationship.id < before_id)
    stmt = stmt.order_by(CIRelationship.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = session.execute(stmt).all()
    return [Neighbour(rel, source, target) for rel, source, target in rows]
