"""Autogenerate the next Alembic revision from the models (developer tool).

    .venv/bin/python scripts/new_migration.py 0002 "cmdb"

Upgrades a scratch SQLite database to head, diffs it against ``itsm_core.models`` and
writes ``itsm_core/migrations/versions/<rev>_<message>.py``, tidied by ruff. Read the
result before committing it: autogenerate cannot see renames.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

import api.models  # noqa: F401  (every package's tables join the metadata)
from itsm_core.migrate import MIGRATIONS, alembic_config, upgrade


def main() -> None:
    rev_id, message = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{scratch}/scratch.db")
        upgrade(engine)
        command.revision(alembic_config(engine), message=message, autogenerate=True, rev_id=rev_id)
    (path,) = (MIGRATIONS / "versions").glob(f"{rev_id}_*.py")
    # Alembic renders JSONB's text type unqualified; qualify it so the file imports cleanly.
    source = path.read_text().replace("astext_type=Text()", "astext_type=sa.Text()")
    path.write_text(source.replace("Revises: \n", "Revises: none\n"))
    ruff = Path(sys.executable).parent / "ruff"
    subprocess.run([ruff, "check", "--fix", "--quiet", path], check=False)
    subprocess.run([ruff, "format", "--quiet", path], check=True)
    print(path)


if __name__ == "__main__":
    main()
