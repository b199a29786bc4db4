#!/bin/sh
# One-shot Temporal set-up, run by the temporalio/admin-tools image (docker-compose.yml) and by
# `npm run cluster` (src/cluster: its own PostgreSQL, the server and SQL tool built from their Go modules):
#   temporal-setup.sh schema      create/upgrade the PostgreSQL schemas (before the server starts)
#   temporal-setup.sh namespace   create the namespace and register the search attributes (server running)
# Both steps are idempotent: they run on every `docker compose up` and leave an up-to-date cluster alone.
set -eu

# Search attributes the workflows upsert (src/workflows/search-attributes.ts, SEARCH_ATTRIBUTES).
# test/compose.test.ts checks that this list names every one of them with its type.
SEARCH_ATTRIBUTES="
OasisAccount=Keyword
OasisOrderId=Keyword
OrderStage=Keyword
AlmaPoLine=Keyword
AlmaMmsId=Keyword
Isbn=Keyword
OrderAlerts=KeywordList
"

SCHEMA_ROOT=${TEMPORAL_SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}
ATTEMPTS=${SETUP_ATTEMPTS:-60}
PAUSE=${SETUP_PAUSE_SECONDS:-5}

log() { echo "temporal-setup: $*"; }

# Retries a command until it succeeds or the attempts run out (the database or server may still be starting).
retry() {
  what=$1
  shift
  n=1
  until "$@"; do
    if [ "$n" -ge "$ATTEMPTS" ]; then
      log "$what: still failing after $ATTEMPTS attempts"
      return 1
    fi
    log "$what: not ready yet (attempt $n/$ATTEMPTS)"
    n=$((n + 1))
    sleep "$PAUSE"
  done
}

sql_tool() {
  # The password comes from SQL_PASSWORD in the environment, never from the command line (ps would show it).
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" -u "$POSTGRES_USER" "$@"
}

# create-database and setup-schema -v 0.0 do nothing on a database that already has a schema; update-schema
# applies only the versions the database does not have yet (a server upgrade brings new ones).
setup_database() {
  db=$1
  dir=$2
  log "database $db"
  # Also the wait for PostgreSQL where there is no nc: create succeeds on a database that already exists.
  retry "database $db at $POSTGRES_SEEDS" sql_tool --db "$db" create
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "$SCHEMA_ROOT/$dir/versioned"
}

schema() {
  : "${POSTGRES_SEEDS:?set POSTGRES_SEEDS}"
  : "${POSTGRES_USER:?set POSTGRES_USER}"
  : "${SQL_PASSWORD:?set SQL_PASSWORD}"
  if command -v nc >/dev/null 2>&1; then
    retry "PostgreSQL at $POSTGRES_SEEDS" nc -z -w 5 "$POSTGRES_SEEDS" "${DB_PORT:-5432}"
  fi
  setup_database "${DBNAME:-temporal}" temporal
  setup_database "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
  log "schemas are up to date"
}

create_search_attribute() {
  name=$1
  type=$2
  if out=$(temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type "$type" 2>&1); then
    log "search attribute $name ($type) registered"
  elif echo "$out" | grep -qi "already exists"; then
    log "search attribute $name already registered"
  else
    echo "$out" >&2
    return 1
  fi
}

namespace() {
  : "${TEMPORAL_ADDRESS:?set TEMPORAL_ADDRESS}"
  NAMESPACE=${TEMPORAL_NAMESPACE:-default}
  retry "Temporal at $TEMPORAL_ADDRESS" temporal operator cluster health
  if temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
    log "namespace $NAMESPACE exists"
  else
    # Retention counts from a workflow's close: orders themselves stay open while they are followed up.
    temporal operator namespace create --namespace "$NAMESPACE" --retention "${TEMPORAL_NAMESPACE_RETENTION:-720h}"
    log "namespace $NAMESPACE created"
  fi
  # A namespace just created may take a moment to be visible to every frontend: retry each attribute.
  for entry in $SEARCH_ATTRIBUTES; do
    retry "search attribute ${entry%%=*}" create_search_attribute "${entry%%=*}" "${entry#*=}"
  done
  log "namespace $NAMESPACE is ready"
}

case "${1:-}" in
  schema) schema ;;
  namespace) namespace ;;
  *)
    echo "usage: temporal-setup.sh schema|namespace" >&2
    exit 2
    ;;
esac
