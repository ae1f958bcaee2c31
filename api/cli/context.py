"""What every CLI command shares: the settings and, lazily, a database engine."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import typer
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from itsm_core.db import make_engine, make_session_factory
from itsm_core.settings import Settings, load_settings


class CliContext:
    def __init__(self, config_file: Path | None) -> None:
        self.config_file = config_file

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.config_file)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database)

    def close(self) -> None:
        """Release pooled connections when the command ends (only if one was opened)."""
        if "engine" in self.__dict__:
            self.engine.dispose()

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)


def context(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliContext)
    return obj
