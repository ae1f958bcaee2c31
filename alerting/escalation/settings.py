"""Settings of the escalation job (``FULCRUM_ESCALATION_…``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from itsm_core.settings import Section, register_section


class EscalationSettings(Section):
    """What the escalation job (``fulcrum notify escalate``) does.

    The timings themselves are escalation policies per priority (API
    ``/api/v1/escalation-policies``; built-in defaults until an administrator sets one).
    """

    model_config = SettingsConfigDict(env_prefix="FULCRUM_ESCALATION_", extra="forbid")

    enabled: bool = Field(default=True, description="Run escalations at all.")
    management_group: str = Field(
        default="managers",
        min_length=1,
        max_length=100,
        description="Group notified at the management step when a policy names none.",
    )
    batch_size: int = Field(
        default=200, ge=1, le=5000, description="Escalation steps fired per run at most."
    )


register_section("escalation", EscalationSettings)
