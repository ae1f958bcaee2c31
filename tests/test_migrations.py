"""The migrations and the models describe the same schema, on this test's database."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from api.models import Base
from itsm_core import migrate


def test_database_is_at_head_after_upgrade(engine: Engine) -> None:
    assert migrate.is_up_to_date(engine)


def test_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
