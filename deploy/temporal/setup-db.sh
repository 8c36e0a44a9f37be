#!/usr/bin/env bash
# Drops and recreates the Temporal server's two PostgreSQL databases and
# sets up their schemas with temporal-sql-tool (the schemas are embedded in
# the tool, at the server's version).
#
#   deploy/temporal/setup-db.sh bin/temporal-sql-tool
#
# TEMPORAL_PG_HOST (127.0.0.1), TEMPORAL_PG_PORT (5432), TEMPORAL_PG_USER
# (postgres), TEMPORAL_PG_PASSWORD, TEMPORAL_DB (hookflow_temporal) and
# TEMPORAL_VISIBILITY_DB (hookflow_temporal_visibility) say where.
set -euo pipefail
sql_tool=${1:?usage: setup-db.sh path/to/temporal-sql-tool}
export SQL_PASSWORD=${TEMPORAL_PG_PASSWORD:-}
conn=(--plugin postgres12 --endpoint "${TEMPORAL_PG_HOST:-127.0.0.1}" --port "${TEMPORAL_PG_PORT:-5432}"
  --user "${TEMPORAL_PG_USER:-postgres}")

# run runs the tool, its (debug-level) output shown only when it fails.
run() {
  local out
  out=$("$sql_tool" "${conn[@]}" "$@" 2>&1) || { echo "$out" >&2; echo "setup-db: $* failed" >&2; return 1; }
}

setup() { # database, embedded schema name
  run --db "$1" drop-database --force || true # absent the first time
  run --db "$1" create-database
  run --db "$1" setup-schema -v 0.0
  run --db "$1" update-schema --schema-name "$2"
  echo "setup-db: $1 ready ($2)"
}

setup "${TEMPORAL_DB:-hookflow_temporal}" postgresql/v12/temporal
setup "${TEMPORAL_VISIBILITY_DB:-hookflow_temporal_visibility}" postgresql/v12/visibility
