"""Settings of notification delivery (``FULCRUM_NOTIFICATIONS_…``)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from alerting.notifications.choices import Language, SmtpSecurity
from itsm_core.settings import Section, register_section


class NotificationSettings(Section):
    """Retries, timeouts, language and SMTP defaults of the notification dispatcher.

    The dispatcher job (``fulcrum notify dispatch``) sends due deliveries; a failed
    attempt is retried after ``backoff_base_seconds`` x 2^(attempt-1), at most
    ``backoff_max_seconds``, until ``max_attempts`` or ``expire_after_minutes``.
    """

    model_config = SettingsConfigDict(env_prefix="FULCRUM_NOTIFICATIONS_", extra="forbid")

    max_attempts: int = Field(
        default=6, ge=1, le=50, description="Attempts per message before it is marked failed."
    )
    backoff_base_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Wait after the first failed attempt."
    )
    backoff_max_seconds: float = Field(
        default=3600.0, gt=0, le=86400, description="Longest wait between two attempts."
    )
    send_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Connect and read timeout of one attempt."
    )
    expire_after_minutes: int = Field(
        default=1440,
        ge=1,
        description="A message not sent this long after it was queued is given up.",
    )
    batch_size: int = Field(
        default=100, ge=1, le=1000, description="Messages one dispatcher run claims."
    )
    concurrency: int = Field(
        default=4, ge=1, le=32, description="Channels sent to in parallel by one run."
    )
    lease_seconds: int = Field(
        default=600,
        ge=30,
        le=86400,
        description=(
            "A claimed message whose dispatcher died is sent again after this long "
            "(must exceed one run)."
        ),
    )
    default_language: Language = Field(
        default=Language.ZH, description="Language of channels created without one (zh, en)."
    )
    timezone: str = Field(
        default="Asia/Shanghai", description="Time zone of the times written in messages."
    )
    smtp_host: str = Field(
        default="localhost", max_length=253, description="SMTP server of e-mail channels."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port.")
    smtp_security: SmtpSecurity = Field(
        default=SmtpSecurity.NONE, description="none, starttls or ssl."
    )
    smtp_from: str = Field(
        default="fulcrum@localhost", max_length=254, description="Sender address of e-mails."
    )
    smtp_username: str | None = Field(
        default=None, max_length=254, description="SMTP login; empty: no authentication."
    )
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _backoff_order(self) -> NotificationSettings:
        if self.backoff_max_seconds < self.backoff_base_seconds:
            raise ValueError("backoff_max_seconds must be at least backoff_base_seconds")
        return self

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt."""
        exponent = max(attempts - 1, 0)
        # Cap the exponent first so the power never overflows a float.
        return float(
            min(self.backoff_base_seconds * 2 ** min(exponent, 40), self.backoff_max_seconds)
        )


register_section("notifications", NotificationSettings)
