#!/usr/bin/env bash
# `make run-cluster`: Baton on a production-shaped topology, on one machine.
#   - the Temporal server (go.temporal.io/server, the version the pinned CLI
#     embeds) with PostgreSQL persistence and visibility in its own two
#     databases, schemas set up by temporal-sql-tool (idempotent);
#   - the Temporal Web UI (github.com/temporalio/ui-server);
#   - two workers and two gateways on Baton's database baton_cluster;
#   - HAProxy on :8080 in front of the gateways.
# Ctrl-C stops everything; a second run keeps the data (PostgreSQL, and the
# signing key and dev source in .data/cluster/).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DATA=$ROOT/.data/cluster
BIN=$ROOT/.bin
CT=$ROOT/.tools/cluster
TEMPORAL=${BATON_TEMPORAL_CLI:-$ROOT/.tools/bin/temporal}
mkdir -p "$DATA"

export BATON_CLUSTER_PORT=${BATON_CLUSTER_PORT:-7233}
: "${TEMPORAL_UI_PORT:=8233}" "${BATON_LB_PORT:=8080}" "${BATON_GW_PORTS:=8081 8082}" "${BATON_WORKER_METRICS_PORTS:=9091 9092}"
export TEMPORAL_UI_PORT
export TEMPORAL_ADDRESS=127.0.0.1:$BATON_CLUSTER_PORT TEMPORAL_NAMESPACE=${TEMPORAL_NAMESPACE:-default}
export BATON_PUBLIC_URL=${BATON_PUBLIC_URL:-http://localhost:$BATON_LB_PORT}
export BATON_CLUSTER_PG_HOST=${BATON_CLUSTER_PG_HOST:-127.0.0.1} BATON_CLUSTER_PG_PORT=${BATON_CLUSTER_PG_PORT:-5432}
export BATON_CLUSTER_PG_USER=${BATON_CLUSTER_PG_USER:-postgres} BATON_CLUSTER_PG_PASSWORD=${BATON_CLUSTER_PG_PASSWORD:-}
export BATON_CLUSTER_DB=${BATON_CLUSTER_DB:-temporal_cluster} BATON_CLUSTER_VISIBILITY_DB=${BATON_CLUSTER_VISIBILITY_DB:-temporal_cluster_visibility}
export DATABASE_URL=${BATON_CLUSTER_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/baton_cluster?sslmode=disable}
# No SendGrid key: mail goes to the dev outbox (BATON_DEV_OUTBOX, loopback only).
[ -n "${SENDGRID_API_KEY:-}" ] || export BATON_DEV_OUTBOX=true

if [ -z "${BATON_SIGNING_KEY:-}" ]; then
  [ -s "$DATA/signing.key" ] || (umask 077; head -c 32 /dev/urandom | base64 | tr -d '\n' > "$DATA/signing.key")
  export BATON_SIGNING_KEY=$(cat "$DATA/signing.key")
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
p=$BATON_CLUSTER_PORT
for port in $p $((p+1)) $((p+2)) $((p+6)) $((p+10)) $((p-300)) $((p-299)) $((p-298)) $((p-294)) $((p+1767)) \
            "$TEMPORAL_UI_PORT" "$BATON_LB_PORT" $BATON_GW_PORTS $BATON_WORKER_METRICS_PORTS; do
  if port_busy "$port"; then
    echo "port $port is already in use: is 'make run' or another 'make run-cluster' running? Stop it first." >&2
    exit 1
  fi
done

# Temporal's two databases: created and brought to the server's schema version
# by its own tool. Every step is skipped or a no-op when already done.
sqltool() { "$CT/temporal-sql-tool" --plugin postgres12 --ep "$BATON_CLUSTER_PG_HOST" -p "$BATON_CLUSTER_PG_PORT" \
              -u "$BATON_CLUSTER_PG_USER" --pw "$BATON_CLUSTER_PG_PASSWORD" "$@"; }
pgq() { PGPASSWORD=$BATON_CLUSTER_PG_PASSWORD psql -h "$BATON_CLUSTER_PG_HOST" -p "$BATON_CLUSTER_PG_PORT" -U "$BATON_CLUSTER_PG_USER" -Atqc "$2" "$1"; }
for pair in "$BATON_CLUSTER_DB:postgresql/v12/temporal" "$BATON_CLUSTER_VISIBILITY_DB:postgresql/v12/visibility"; do
  db=${pair%%:*} schema=${pair#*:}
  if ! pgq postgres "select 1 from pg_database where datname = '$db'" | grep -q 1; then
    echo "creating database $db"
    sqltool --db "$db" create-database >/dev/null
  fi
  if ! pgq "$db" "select to_regclass('schema_version')" | grep -q schema_version; then
    sqltool --db "$db" setup-schema -v 0.0 >/dev/null
  fi
  sqltool --db "$db" update-schema --schema-name "$schema" 2>&1 | grep -iE 'error|fail' >&2 || true
  echo "database $db: schema $(pgq "$db" "select curr_version from schema_version")"
done

db=$(sed -E 's#^[a-z]+://[^/]*/([^?]*).*#\1#' <<<"$DATABASE_URL")
admin=$(sed -E "s#^([a-z]+://[^/]*/)[^?]*#\1postgres#" <<<"$DATABASE_URL")
if ! psql "$admin" -Atqc "select 1 from pg_database where datname = '$db'" | grep -q 1; then
  echo "creating database $db"
  psql "$admin" -qc "create database \"$db\""
fi

pids=()
cleanup() {
  trap - INT TERM EXIT
  stopping=1
  echo; echo "stopping…"
  # Baton first (the gateways behind the balancer, then the workers), Temporal last.
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped. Data kept in PostgreSQL ($BATON_CLUSTER_DB, $BATON_CLUSTER_VISIBILITY_DB, $db) and .data/cluster/."
}
trap cleanup INT TERM EXIT

start() {
  local name=$1; shift
  "$@" > >(sed -u "s/^/[$name] /") 2>&1 &
  pids+=($!)
}

start temporal "$CT/temporal-server" --root "$ROOT" --config deploy/cluster/temporal --env cluster --allow-no-auth start
for i in $(seq 1 240); do
  "$TEMPORAL" operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 && break
  if ! kill -0 "${pids[0]}" 2>/dev/null; then echo "the Temporal server exited; see its output above" >&2; exit 1; fi
  sleep 0.5
done

# A cluster starts with no namespace (the dev server makes "default" itself).
if ! "$TEMPORAL" operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "registering namespace $TEMPORAL_NAMESPACE (retention 72h)"
  "$TEMPORAL" operator namespace create --address "$TEMPORAL_ADDRESS" -n "$TEMPORAL_NAMESPACE" --retention 72h >/dev/null
fi
for sa in BatonCampaign=Keyword BatonLeadState=Keyword BatonOwnerRep=Keyword BatonSLADueAt=Datetime BatonEscalationLevel=Int; do
  for i in $(seq 1 60); do
    out=$("$TEMPORAL" operator search-attribute create --address "$TEMPORAL_ADDRESS" -n "$TEMPORAL_NAMESPACE" \
            --name "${sa%%=*}" --type "${sa#*=}" 2>&1) && break
    grep -qi 'already' <<<"$out" && break
    sleep 0.5  # the namespace becomes visible to every service within seconds
  done
done

start ui "$CT/temporal-ui-server" --root "$ROOT" --config deploy/cluster/ui --env cluster start

"$BIN/starter" db migrate

if [ ! -s "$DATA/dev-source.json" ]; then
  (umask 077
   "$BIN/starter" source add dev --json > "$DATA/dev-source.json.tmp" 2>/dev/null ||
     "$BIN/starter" source rotate dev --json > "$DATA/dev-source.json.tmp"
   mv "$DATA/dev-source.json.tmp" "$DATA/dev-source.json")
fi
dev_key=$(sed -E 's/.*"api_key":"([^"]+)".*/\1/' "$DATA/dev-source.json")

n=0
for mp in $BATON_WORKER_METRICS_PORTS; do
  n=$((n+1)); start "worker$n" env BATON_METRICS_ADDR=127.0.0.1:$mp "$BIN/worker"
done
gws=()
n=0
for gp in $BATON_GW_PORTS; do
  n=$((n+1)); gws+=("127.0.0.1:$gp")
  start "gateway$n" env BATON_HTTP_ADDR=127.0.0.1:$gp "$BIN/gateway"
done
for gw in "${gws[@]}"; do
  for i in $(seq 1 120); do
    curl -fsS -o /dev/null "http://$gw/readyz" 2>/dev/null && break
    sleep 0.5
  done
done
start haproxy env BATON_LB_ADDR=":$BATON_LB_PORT" BATON_GW1="${gws[0]}" BATON_GW2="${gws[1]}" \
  haproxy -db -f deploy/cluster/haproxy.cfg

# What a second terminal needs (the walkthrough, the starter CLI).
(umask 077; cat > "$DATA/env" <<ENV
export DATABASE_URL='$DATABASE_URL'
export TEMPORAL_ADDRESS='$TEMPORAL_ADDRESS'
export TEMPORAL_NAMESPACE='$TEMPORAL_NAMESPACE'
export BATON_PUBLIC_URL='$BATON_PUBLIC_URL'
export BATON_SIGNING_KEY='$BATON_SIGNING_KEY'
export BATON_API_KEY='$dev_key'
export BATON_DEV_OUTBOX='${BATON_DEV_OUTBOX:-false}'
export TEMPORAL='$TEMPORAL'
ENV
)

cat <<MSG

  Baton (cluster topology) is running. Ctrl-C stops everything.
    Load balancer  $BATON_PUBLIC_URL   (HAProxy → gateways ${gws[*]})
    Outbox         $BATON_PUBLIC_URL/outbox   (from this machine only)
    Workers        2 (metrics on 127.0.0.1: $BATON_WORKER_METRICS_PORTS)
    Temporal UI    http://localhost:$TEMPORAL_UI_PORT
    Temporal gRPC  $TEMPORAL_ADDRESS   (PostgreSQL: $BATON_CLUSTER_DB, $BATON_CLUSTER_VISIBILITY_DB)
    Baton's DB     $(sed -E 's#//[^@]*@#//#' <<<"$DATABASE_URL")

  In another terminal:  source .data/cluster/env && examples/walkthrough.sh

MSG

set +e
wait -n "${pids[@]}"
code=$?
[ -z "${stopping:-}" ] || exit 0 # Ctrl-C or TERM: cleanup has stopped everything
echo "a process exited (status $code); stopping the rest" >&2
exit "$code"
