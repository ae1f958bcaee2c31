"""Validated input and output shapes of CIs and relationships.

JSON calls a CI's class ``class`` (``ci_class`` in Python). In a PATCH (``CIUpdate``) an
absent key leaves a field alone, ``null`` clears a nullable field, and ``attributes`` is
merged key by key (a ``null`` value removes that attribute), as in JSON merge patch.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from itsm_core.cmdb.choices import Criticality, Lifecycle, RelationType
from itsm_core.cmdb.models import CIHistory, CIRelationship, ConfigurationItem
from itsm_core.errors import ValidationFailed

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)


def _address(value: str) -> str:
    """An IP address (normalised) or a DNS host name (lower-cased)."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if not _HOSTNAME.match(value):
        raise ValueError("must be an IP address or a host name")
    return value.lower().rstrip(".")


def _tags(values: list[str]) -> list[str]:
    # Sorted and unique, so two spellings of the same set never show up as a change.
    return sorted(set(values))


CiId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ClassName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Source = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_.-]*$"
    ),
]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[^\s,;]+$"),
]
Tags = Annotated[list[Tag], Field(max_length=50), AfterValidator(_tags)]
Address = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    AfterValidator(_address),
]
Description = Annotated[str, StringConstraints(max_length=10_000)]
AttributeValues = Annotated[dict[str, Any], Field(max_length=100)]

# Fields a PATCH may not set to null (the others are nullable columns).
_NOT_NULL = ("name", "criticality", "lifecycle", "tags", "description", "source", "attributes")


class CICreate(BaseModel):
    """A new CI. ``attributes`` are checked against the class schema by the service."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)

    ci_class: ClassName = Field(alias="class")
    name: Name
    site_id: CiId | None = None
    owner_group_id: CiId | None = None
    criticality: Criticality = Criticality.NORMAL
    lifecycle: Lifecycle = Lifecycle.ACTIVE
    tags: Tags = Field(default_factory=list)
    attributes: AttributeValues = Field(default_factory=dict)
    source: Source = "manual"
    external_id: ExternalId | None = None
    management_address: Address | None = None
    description: Description = ""


class _CIChanges(BaseModel):
    """Fields a caller may change; only the keys present are applied."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    site_id: CiId | None = None
    owner_group_id: CiId | None = None
    criticality: Criticality | None = None
    lifecycle: Lifecycle | None = None
    tags: Tags | None = None
    attributes: AttributeValues | None = None
    management_address: Address | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> _CIChanges:
        for name in _NOT_NULL:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent, by column name."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class CIUpdate(_CIChanges):
    """A PATCH (see the module docstring); may also (re)attach a discovery identity."""

    source: Source | None = None
    external_id: ExternalId | None = None


class CIUpsert(_CIChanges):
    """What discovery reports about one CI; its identity (source, external id) is apart."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)

    ci_class: ClassName = Field(alias="class")
    name: Name

    def changes(self) -> dict[str, Any]:
        fields = super().changes()
        fields.pop("ci_class", None)
        return fields


class CIOut(BaseModel):
    """A CI as the API shows it."""

    model_config = ConfigDict(from_attributes=True, serialize_by_alias=True)

    id: int
    name: str
    ci_class: str = Field(serialization_alias="class")
    site_id: int | None
    owner_group_id: int | None
    criticality: Criticality
    lifecycle: Lifecycle
    tags: list[str]
    attributes: dict[str, Any]
    source: str
    external_id: str | None
    management_address: str | None
    description: str
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime | None

    @classmethod
    def of(cls, ci: ConfigurationItem) -> CIOut:
        return cls.model_validate(ci)


class RelationshipCreate(BaseModel):
    """``<the CI in the path> <relation> <target_id>``."""

    model_config = ConfigDict(extra="forbid")

    relation: RelationType
    target_id: CiId
    redundant: bool = False


class CIRef(BaseModel):
    """Just enough of a CI to show it in a list of neighbours or a path."""

    model_config = ConfigDict(serialize_by_alias=True)

    id: int
    name: str
    ci_class: str = Field(serialization_alias="class")

    @classmethod
    def of(cls, ci: ConfigurationItem) -> CIRef:
        return cls(id=ci.id, name=ci.name, ci_class=ci.ci_class)


class RelationshipOut(BaseModel):
    id: int
    relation: RelationType
    redundant: bool
    source: CIRef
    target: CIRef
    created_at: datetime

    @classmethod
    def of(
        cls, rel: CIRelationship, source: ConfigurationItem, target: ConfigurationItem
    ) -> RelationshipOut:
        return cls(
            id=rel.id,
            relation=rel.relation,
            redundant=rel.redundant,
            source=CIRef.of(source),
            target=CIRef.of(target),
            created_at=rel.created_at,
        )


class HistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ci_id: int
    at: datetime
    actor: str
    field: str
    old: Any
    new: Any

    @classmethod
    def of(cls, row: CIHistory) -> HistoryOut:
        return cls.model_validate(row)


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Mapping[str, Any] | M) -> M:
    """``data`` as ``model``, or ``ValidationFailed`` with errors keyed by field path."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "body"
            errors.setdefault(key, []).append(err["msg"])
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items())
        raise ValidationFailed(detail, errors=errors) from exc
