from pathlib import Path

import pytest
from pydantic import ValidationError

from itsm_core.settings import load_settings


def test_defaults_use_a_sqlite_file_in_the_working_directory() -> None:
    settings = load_settings()
    assert settings.database.sqlalchemy_url() == "sqlite:///./fulcrum.db"
    assert settings.sla.default_timezone == "Asia/Shanghai"


def test_toml_file_is_read_and_environment_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "fulcrum.toml"
    config.write_text('[api]\nport = 9000\nhost = "0.0.0.0"\n[sla]\nwarning_share = 0.5\n')
    monkeypatch.setenv("FULCRUM_API_PORT", "9100")
    settings = load_settings(config)
    assert settings.api.port == 9100
    assert settings.api.host == "0.0.0.0"
    assert settings.sla.warning_share == 0.5


def test_postgres_url_gets_psycopg_driver_and_password_is_never_displayed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FULCRUM_DATABASE_URL", "postgresql://fulcrum:hunter2@db:5432/itsm")
    settings = load_settings()
    assert settings.database.sqlalchemy_url().startswith("postgresql+psycopg://")
    assert "hunter2" not in settings.database.display_url()
    assert "hunter2" not in repr(settings.database)
    assert "hunter2" not in str(settings.describe())


def test_unknown_section_and_bad_values_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[databse]\nurl = 'sqlite://'\n")
    with pytest.raises(ValueError, match="databse"):
        load_settings(config)
    config.write_text("[database]\nurl = 'mysql://x/y'\n")
    with pytest.raises(ValidationError):
        load_settings(config)
