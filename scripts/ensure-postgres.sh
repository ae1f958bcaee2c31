#!/usr/bin/env bash
# Make sure a PostgreSQL server answers at the URL given ($1); start or install one if not.
set -euo pipefail
url=${1:-postgresql://postgres@127.0.0.1:5432/test}
host=127.0.0.1; port=5432

ready() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }

ready && exit 0
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "PostgreSQL is not installed: installing it from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  # Trust authentication on loopback, as on CI machines.
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  done
fi
version=$(ls /etc/postgresql | sort -V | tail -n 1)
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 30); do ready && break; sleep 1; done
ready || { echo "PostgreSQL did not start" >&2; exit 1; }
# Trust authentication on loopback and a database `test`, as on CI machines.
psql -h "$host" -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" \
  | grep -q 1 || createdb -h "$host" -p "$port" -U postgres test
echo "PostgreSQL ready for $url" >&2
