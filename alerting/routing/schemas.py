"""Validated shapes of routing rules, contingency plans and the dry-run.

Everything a request can hold is bounded here; what needs the database (does the group
exist, is that CI a site) is checked by ``service`` with errors keyed by the same field
names, so the API, the rule file and the CLI all report ``assignment_group_id: …``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from alerting.canonical import Severity
from alerting.routing.choices import MatchOp
from alerting.routing.decision import RoutingDecision
from alerting.routing.engine import DryRun
from alerting.routing.matchers import (
    LABEL_NAME,
    MAX_LABEL_NAME,
    MAX_VALUE,
    MatcherError,
    compile_regex,
)
from alerting.routing.models import ContingencyPlan, RoutingRule
from itsm_core.cmdb.classes import SiteKind
from itsm_core.fields import DbId
from itsm_core.incidents.choices import IncidentKind, Level
from itsm_core.sla.definition import printable

# More rules than this is a configuration nobody can read; the cap also bounds reorders.
MAX_RULES = 1000


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


Name = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$"),
    AfterValidator(printable),
]
Text = Annotated[str, Field(max_length=1000), AfterValidator(printable)]
LabelName = Annotated[
    str, Field(min_length=1, max_length=MAX_LABEL_NAME, pattern=LABEL_NAME.pattern)
]
LabelValue = Annotated[str, Field(max_length=MAX_VALUE), AfterValidator(printable)]
FaultType = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$"),
    AfterValidator(printable),
]
CiClassName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Severities = Annotated[list[Severity], Field(max_length=10), AfterValidator(_unique)]
CiClasses = Annotated[list[CiClassName], Field(max_length=20), AfterValidator(_unique)]
SiteIds = Annotated[list[DbId], Field(max_length=200), AfterValidator(_unique)]
SiteKinds = Annotated[list[SiteKind], Field(max_length=10), AfterValidator(_unique)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MatcherIn(_Input):
    """``{label, op, value}``: Alertmanager semantics (anchored regex, missing label = "")."""

    label: LabelName
    op: MatchOp = MatchOp.EQUAL
    value: LabelValue = ""

    @field_validator("value")
    @classmethod
    def _regex_compiles(cls, value: str, info: ValidationInfo) -> str:
        op = info.data.get("op")
        if isinstance(op, MatchOp) and op.regex:
            try:
                compile_regex(value)
            except MatcherError as exc:
                raise ValueError(str(exc)) from exc
        return value


Matchers = Annotated[list[MatcherIn], Field(max_length=50)]


class RuleSpec(_Input):
    """A whole rule: its conditions (empty = any) and what a matching alert's incident gets.

    ``position`` is 1-based; omitted means "after the last rule". ``urgency: null`` takes
    the urgency from the alert's severity; ``min_impact`` raises the CMDB's impact to at
    least this level.
    """

    name: Name
    description: Text = ""
    position: int | None = Field(default=None, ge=1, le=MAX_RULES)
    enabled: bool = True
    matchers: Matchers = []
    severities: Severities = []
    ci_classes: CiClasses = []
    site_ids: SiteIds = []
    site_kinds: SiteKinds = []
    fault_type: FaultType | None = None
    kind: IncidentKind = IncidentKind.INCIDENT
    assignment_group_id: DbId | None = None
    first_responsible_id: DbId | None = None
    second_responsible_id: DbId | None = None
    urgency: Level | None = Field(default=None, description="null: from the alert's severity.")
    min_impact: Level | None = None
    contingency_plan_id: DbId | None = None
    auto_resolve: bool = Field(
        default=False,
        description="When all alerts resolve: resolve the incident (true) or wait for the NOC.",
    )

    @field_validator("second_responsible_id")
    @classmethod
    def _second_after_first(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None or "first_responsible_id" not in info.data:
            return value
        first = info.data["first_responsible_id"]
        if first is None:
            raise ValueError("needs a first_responsible_id")
        if first == value:
            raise ValueError("must differ from first_responsible_id")
        return value


# PATCH fields that may be omitted but never set to null.
_RULE_NOT_NULL = (
    "name",
    "description",
    "position",
    "enabled",
    "matchers",
    "severities",
    "ci_classes",
    "site_ids",
    "site_kinds",
    "kind",
    "auto_resolve",
)


class RulePatch(_Input):
    """Changes to a rule; only the fields sent change (lists are replaced whole)."""

    name: Name | None = None
    description: Text | None = None
    position: int | None = Field(default=None, ge=1, le=MAX_RULES)
    enabled: bool | None = None
    matchers: Matchers | None = None
    severities: Severities | None = None
    ci_classes: CiClasses | None = None
    site_ids: SiteIds | None = None
    site_kinds: SiteKinds | None = None
    fault_type: FaultType | None = None
    kind: IncidentKind | None = None
    assignment_group_id: DbId | None = None
    first_responsible_id: DbId | None = None
    second_responsible_id: DbId | None = None
    urgency: Level | None = None
    min_impact: Level | None = None
    contingency_plan_id: DbId | None = None
    auto_resolve: bool | None = None

    @field_validator(*_RULE_NOT_NULL)
    @classmethod
    def _no_nulls(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class MatcherOut(BaseModel):
    label: str
    op: MatchOp
    value: str


class RuleOut(BaseModel):
    id: int
    name: str
    description: str
    position: int
    enabled: bool
    matchers: list[MatcherOut]
    severities: list[Severity]
    ci_classes: list[str]
    site_ids: list[int]
    site_kinds: list[SiteKind]
    fault_type: str | None
    kind: IncidentKind
    assignment_group_id: int | None
    first_responsible_id: int | None
    second_responsible_id: int | None
    urgency: Level | None
    min_impact: Level | None
    contingency_plan_id: int | None
    auto_resolve: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, rule: RoutingRule) -> RuleOut:
        return cls.model_validate(rule, from_attributes=True)


class ReorderRequest(_Input):
    """Every rule's id, in the new matching order."""

    rule_ids: Annotated[list[DbId], Field(min_length=1, max_length=MAX_RULES)]


class PlanSpec(_Input):
    """A contingency plan (预案): ``steps`` in Chinese and/or English, in order."""

    name: Name
    title: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(printable)]
    steps: Annotated[str, Field(max_length=20_000), AfterValidator(printable)] = ""


class PlanPatch(_Input):
    name: Name | None = None
    title: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(printable)] | None = (
        None
    )
    steps: Annotated[str, Field(max_length=20_000), AfterValidator(printable)] | None = None

    @field_validator("name", "title", "steps")
    @classmethod
    def _no_nulls(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class PlanOut(BaseModel):
    id: int
    name: str
    title: str
    steps: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, plan: ContingencyPlan) -> PlanOut:
        return cls.model_validate(plan, from_attributes=True)


class DryRunRequest(_Input):
    """An alert as routing would see it: labels, severity, and optionally its CI."""

    labels: Annotated[dict[LabelName, LabelValue], Field(max_length=100)] = {}
    severity: Severity = Severity.WARNING
    name: Annotated[str, Field(max_length=200), AfterValidator(printable)] = Field(
        default="", description="The alert's name; used as `alertname` if labels lack it."
    )
    ci_id: DbId | None = None


class DecisionOut(BaseModel):
    """What routing decided; ``rule_id`` null means no rule matched (the default)."""

    rule_id: int | None
    rule_name: str | None
    fault_type: str | None
    kind: IncidentKind
    impact: Level
    urgency: Level
    assignment_group_id: int | None
    first_responsible_id: int | None
    second_responsible_id: int | None
    contingency_plan: str | None
    contingency_plan_id: int | None
    auto_resolve: bool

    @classmethod
    def of(cls, decision: RoutingDecision) -> DecisionOut:
        return cls.model_validate(decision, from_attributes=True)


class TraceStepOut(BaseModel):
    rule_id: int
    name: str
    position: int
    matched: bool
    reason: str | None = Field(description="The first condition that failed.")


class DryRunOut(BaseModel):
    """The decision and every rule tried, in order, up to the one that matched."""

    decision: DecisionOut
    trace: list[TraceStepOut]

    @classmethod
    def of(cls, run: DryRun) -> DryRunOut:
        return cls(
            decision=DecisionOut.of(run.decision),
            trace=[
                TraceStepOut(
                    rule_id=s.rule_id,
                    name=s.name,
                    position=s.position,
                    matched=s.reason is None,
                    reason=s.reason,
                )
                for s in run.trace
            ],
        )
