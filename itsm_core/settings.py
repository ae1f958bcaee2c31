"""Typed settings, one class per subsystem, each with its own environment prefix.

Sources, strongest first: environment variables (``FULCRUM_…``), then the optional TOML
file given with ``fulcrum --config FILE`` (one table per subsystem: ``[database]``,
``[api]``, ``[sla]``), then the defaults below. Nothing else in Fulcrum reads
``os.environ``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url


class Section(BaseSettings):
    """Base for subsystem settings: the environment beats the TOML file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # TOML values arrive as init kwargs; environment variables must override them.
        return env_settings, init_settings, file_secret_settings


class DatabaseSettings(Section):
    """Where Fulcrum keeps its state (``FULCRUM_DATABASE_URL``)."""

    model_config = SettingsConfigDict(env_prefix="FULCRUM_DATABASE_", extra="forbid")

    # A SecretStr because a PostgreSQL URL may carry a password.
    url: SecretStr = Field(
        default=SecretStr("sqlite:///./fulcrum.db"),
        description="SQLAlchemy URL; sqlite:///PATH (default ./fulcrum.db) or postgresql://…",
    )
    echo: bool = Field(default=False, description="Log every SQL statement (development).")

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: SecretStr) -> SecretStr:
        url = make_url(value.get_secret_value())
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError("only sqlite and postgresql databases are supported")
        return value

    def sqlalchemy_url(self) -> str:
        """The URL with the psycopg 3 driver chosen for PostgreSQL."""
        url = make_url(self.url.get_secret_value())
        if url.get_backend_name() == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)

    def display_url(self) -> str:
        """The URL safe to print: the password masked."""
        return make_url(self.url.get_secret_value()).render_as_string(hide_password=True)


class ApiSettings(Section):
    """The HTTP service (``FULCRUM_API_…``)."""

    model_config = SettingsConfigDict(env_prefix="FULCRUM_API_", extra="forbid")

    host: str = Field(default="127.0.0.1", description="Address `fulcrum serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `fulcrum serve` binds to.")
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Larger request bodies get 413."
    )


class SlaSettings(Section):
    """SLA clocks (``FULCRUM_SLA_…``)."""

    model_config = SettingsConfigDict(env_prefix="FULCRUM_SLA_", extra="forbid")

    warning_share: float = Field(
        default=0.75, gt=0, lt=1, description="Share of a target at which an SLA warning fires."
    )
    default_timezone: str = Field(
        default="Asia/Shanghai", description="Time zone of calendars that name none."
    )


_Level = Literal["high", "medium", "low"]
_Priority = Literal["P1", "P2", "P3", "P4", "P5"]


class IncidentSettings(Section):
    """Incidents (``FULCRUM_INCIDENTS_…``)."""

    model_config = SettingsConfigDict(env_prefix="FULCRUM_INCIDENTS_", extra="forbid")

    priority_matrix: dict[_Level, dict[_Level, _Priority]] = Field(
        default_factory=dict,
        description=(
            "Cells of the impact x urgency → priority matrix that differ from the ITIL "
            'default, as {impact: {urgency: priority}}, e.g. {"high": {"low": "P2"}}.'
        ),
    )
    auto_close_after_hours: int = Field(
        default=72,
        ge=1,
        description="A resolved incident nobody reopens is closed after this many hours.",
    )


S = TypeVar("S", bound=Section)


class Settings:
    """All of Fulcrum's settings: the core's as attributes, other packages' by ``section()``.

    ``alerting``, ``collectors`` and the other packages define their own ``Section``
    subclasses and register them with :func:`register_section`, so ``itsm_core`` never
    imports them; ``settings.section(AlertingSettings)`` returns the typed instance.
    """

    def __init__(self, sections: dict[str, Any] | None = None) -> None:
        self._raw = dict(sections or {})
        unknown = set(self._raw) - set(SECTIONS)
        if unknown:
            raise ValueError(f"unknown configuration section(s): {', '.join(sorted(unknown))}")
        self._sections: dict[str, Section] = {}
        self.database = self.section(DatabaseSettings)
        self.api = self.section(ApiSettings)
        self.sla = self.section(SlaSettings)
        self.incidents = self.section(IncidentSettings)

    def section(self, cls: type[S]) -> S:
        """The settings of one subsystem, built (and validated) on first use."""
        name = _name_of(cls)
        if name not in self._sections:
            self._sections[name] = cls(**self._raw.get(name, {}))
        built = self._sections[name]
        assert isinstance(built, cls)
        return built

    def describe(self) -> dict[str, dict[str, Any]]:
        """Effective values with secrets masked, for `fulcrum config show`."""
        out: dict[str, dict[str, Any]] = {}
        for name, cls in SECTIONS.items():
            section: BaseSettings = self.section(cls)
            values = section.model_dump()
            for key, value in values.items():
                if isinstance(value, SecretStr):
                    values[key] = "**********"
            if name == "database":
                values["url"] = self.database.display_url()
            out[name] = values
        return out


SECTIONS: dict[str, type[Section]] = {
    "database": DatabaseSettings,
    "api": ApiSettings,
    "sla": SlaSettings,
    "incidents": IncidentSettings,
}


def register_section(name: str, cls: type[Section]) -> None:
    """Make ``[name]`` a known TOML table read into ``cls`` (called at the package's import)."""
    if SECTIONS.get(name, cls) is not cls:
        raise ValueError(f"configuration section {name!r} is already registered")
    SECTIONS[name] = cls


def _name_of(cls: type[Section]) -> str:
    for name, registered in SECTIONS.items():
        if registered is cls:
            return name
    raise KeyError(f"{cls.__name__} is not a registered configuration section")


def load_settings(config_file: Path | None = None) -> Settings:
    """Read the optional TOML file, then let the environment override it."""
    sections: dict[str, Any] = {}
    if config_file is not None:
        with config_file.open("rb") as fh:
            sections = tomllib.load(fh)
    return Settings(sections)
