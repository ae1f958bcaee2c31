"""Validated input and output shapes for standard-change templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from itsm_core.changes.choices import Risk
from itsm_core.changes.models import ChangeTemplate
from itsm_core.changes.schemas import Category, IdList, Label, LongText, Reason, Title, UtcDatetime
from itsm_core.cmdb.choices import Criticality
from itsm_core.fields import DbId


class TemplateCreate(BaseModel):
    """A pre-approved standard change."""

    model_config = ConfigDict(extra="forbid")

    name: Title
    description: LongText = ""
    category: Category = ""
    ci_classes: list[Label] = Field(default_factory=list, max_length=50)
    ci_tags: list[Label] = Field(default_factory=list, max_length=50)
    max_criticality: Criticality | None = None
    default_risk: Risk = Risk.LOW
    default_duration_minutes: int = Field(default=60, ge=1, le=10_080)
    implementation_plan: LongText
    backout_plan: LongText


class TemplateUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Title | None = None
    description: LongText | None = None
    category: Category | None = None
    ci_classes: list[Label] | None = Field(default=None, max_length=50)
    ci_tags: list[Label] | None = Field(default=None, max_length=50)
    max_criticality: Criticality | None = None
    default_risk: Risk | None = None
    default_duration_minutes: int | None = Field(default=None, ge=1, le=10_080)
    implementation_plan: LongText | None = None
    backout_plan: LongText | None = None
    active: bool | None = None

    @field_validator(
        "name",
        "description",
        "category",
        "ci_classes",
        "ci_tags",
        "default_risk",
        "default_duration_minutes",
        "implementation_plan",
        "backout_plan",
        "active",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be omitted but not null")
        return value


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    category: str
    ci_classes: list[str]
    ci_tags: list[str]
    max_criticality: Criticality | None
    default_risk: Risk
    default_duration_minutes: int
    implementation_plan: str
    backout_plan: str
    active: bool
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, template: ChangeTemplate) -> TemplateOut:
        return cls.model_validate(template)


class TemplateInstantiate(BaseModel):
    """A standard change from a template; the window defaults to now + its duration."""

    model_config = ConfigDict(extra="forbid")

    ci_ids: IdList = Field(min_length=1)
    planned_start: UtcDatetime | None = None
    planned_end: UtcDatetime | None = None
    title: Title | None = None
    description: LongText = ""
    incident_ids: IdList = Field(default_factory=list)
    problem_ids: IdList = Field(default_factory=list)
    implementer_id: DbId | None = None
    force: bool = False
    reason: Reason | None = None
