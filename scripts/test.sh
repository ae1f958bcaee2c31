#!/usr/bin/env bash
# The whole suite: lint, then pytest on SQLite, then on PostgreSQL.
# PostgreSQL comes from FULCRUM_TEST_PG_URL (default: the local server with trust auth
# and a database `test`); if none answers, this script installs and starts one.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PG_URL=${FULCRUM_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/test}

scripts/ensure-postgres.sh "$PG_URL"
scripts/ensure-peers.sh

echo "== lint"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"

run_suite() {
  local label=$1; shift
  echo "== pytest on $label"
  set +e
  env "$@" "$VENV/bin/pytest" -p no:cacheprovider
  local rc=$?
  set -e
  # Exit code 5 means no tests ran: a broken collection, never a pass.
  if [ "$rc" -ne 0 ]; then
    echo "pytest on $label failed with exit code $rc" >&2
    exit "$rc"
  fi
}

run_suite SQLite FULCRUM_TEST_DATABASE_URL=
run_suite PostgreSQL FULCRUM_TEST_DATABASE_URL="$PG_URL"
echo "== all green on SQLite and PostgreSQL"
