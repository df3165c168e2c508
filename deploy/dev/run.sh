#!/usr/bin/env bash
# The whole local stack in one terminal: Temporal dev server (state in .data/),
# PostgreSQL (already ensured by `make pg`), migrations, the worker and the
# gateway. Ctrl-C stops everything and leaves no process behind.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DATA=$ROOT/.data
BIN=$ROOT/.bin
TEMPORAL=$ROOT/.tools/bin/temporal
mkdir -p "$DATA"

: "${TEMPORAL_PORT:=7233}" "${TEMPORAL_UI_PORT:=8233}"
export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:$TEMPORAL_PORT}
# Without a SendGrid key, mail goes to the local outbox: a development mode
# asked for by name (BATON_DEV_OUTBOX). In it the gateway listens on
# 127.0.0.1:8080 unless BATON_HTTP_ADDR says otherwise, and the outbox answers
# loopback peers only. The worker and gateway refuse to start with neither.
if [ -z "${SENDGRID_API_KEY:-}" ]; then
  export BATON_DEV_OUTBOX=true
  http_addr=${BATON_HTTP_ADDR:-127.0.0.1:8080}
else
  http_addr=${BATON_HTTP_ADDR:-:8080}
fi
http_port=${http_addr##*:}
export BATON_PUBLIC_URL=${BATON_PUBLIC_URL:-http://localhost:$http_port}

# One signing key per checkout, kept with the data, so links survive restarts.
if [ -z "${BATON_SIGNING_KEY:-}" ]; then
  [ -s "$DATA/signing.key" ] || (umask 077; head -c 32 /dev/urandom | base64 | tr -d '\n' > "$DATA/signing.key")
  export BATON_SIGNING_KEY=$(cat "$DATA/signing.key")
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$TEMPORAL_PORT" "$TEMPORAL_UI_PORT" "$http_port"; do
  if port_busy "$p"; then
    echo "port $p is already in use: is another 'make run' running? Stop it first." >&2
    exit 1
  fi
done

# The database named in DATABASE_URL (default: baton on the local server).
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/baton?sslmode=disable}
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
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped. Data kept in .data/ and the $db database."
}
trap cleanup INT TERM EXIT

# Each process's output, prefixed with its name.
start() {
  local name=$1; shift
  "$@" > >(sed -u "s/^/[$name] /") 2>&1 &
  pids+=($!)
}

# WAL with synchronous=normal: six times the workflow rate of SQLite's
# defaults on this machine (README, Tuning); one task-queue partition, since
# one worker polls it.
start temporal "$TEMPORAL" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
  --db-filename "$DATA/temporal.db" --log-level warn \
  --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
  --dynamic-config-value matching.numTaskqueueReadPartitions=1 \
  --dynamic-config-value matching.numTaskqueueWritePartitions=1 \
  --search-attribute BatonCampaign=Keyword --search-attribute BatonLeadState=Keyword \
  --search-attribute BatonOwnerRep=Keyword --search-attribute BatonSLADueAt=Datetime --search-attribute BatonEscalationLevel=Int
for i in $(seq 1 120); do
  "$TEMPORAL" operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 && break
  if ! kill -0 "${pids[0]}" 2>/dev/null; then echo "the Temporal dev server exited; see its output above" >&2; exit 1; fi
  sleep 0.5
done

# start-dev registers --search-attribute only on a new database file: make sure
# every attribute Baton uses exists on one kept from an earlier run too.
for sa in BatonCampaign=Keyword BatonLeadState=Keyword BatonOwnerRep=Keyword BatonSLADueAt=Datetime BatonEscalationLevel=Int; do
  "$TEMPORAL" operator search-attribute create --address "$TEMPORAL_ADDRESS" --name "${sa%%=*}" --type "${sa#*=}" >/dev/null 2>&1 || true
done

"$BIN/starter" db migrate

# A local intake source "dev", made once; its API key and HMAC secret stay in
# .data/dev-source.json (mode 0600). The gateway refuses unauthenticated leads.
if [ ! -s "$DATA/dev-source.json" ]; then
  (umask 077
   "$BIN/starter" source add dev --json > "$DATA/dev-source.json.tmp" 2>/dev/null ||
     "$BIN/starter" source rotate dev --json > "$DATA/dev-source.json.tmp"
   mv "$DATA/dev-source.json.tmp" "$DATA/dev-source.json")
fi
dev_key=$(sed -E 's/.*"api_key":"([^"]+)".*/\1/' "$DATA/dev-source.json")
start worker "$BIN/worker"
start gateway "$BIN/gateway"

# Worker Versioning (docs/releases.md). Unversioned by default: every code
# change runs on the open workflows of .data/, as development wants. With
# BATON_BUILD_ID set, this build becomes current once its worker has polled,
# as a release would do it; an earlier build's pinned workflows wait for a
# worker of their own build.
deployment=${BATON_DEPLOYMENT_NAME:-baton}
dep() { "$TEMPORAL" worker deployment "$@" --address "$TEMPORAL_ADDRESS"; }
if [ -n "${BATON_BUILD_ID:-}" ]; then
  for i in $(seq 1 120); do
    dep set-current-version --deployment-name "$deployment" --build-id "$BATON_BUILD_ID" --yes >/dev/null 2>&1 && break
    if [ "$i" = 120 ]; then echo "could not make build $BATON_BUILD_ID current in $deployment" >&2; exit 1; fi
    sleep 0.5
  done
  echo "build $BATON_BUILD_ID is current in Worker Deployment $deployment"
else
  # An earlier versioned run may have left a build current: send new
  # workflows to unversioned workers (this one) again.
  deployments=$(dep list -o json 2>/dev/null || true)
  if grep -Eq "\"name\": *\"$deployment\"" <<<"$deployments"; then
    dep set-current-version --deployment-name "$deployment" --unversioned --yes >/dev/null
    echo "Worker Deployment $deployment routes new workflows to unversioned workers"
  fi
fi

cat <<MSG

  Baton is running. Ctrl-C stops everything.
    Gateway        $BATON_PUBLIC_URL
    Outbox         $BATON_PUBLIC_URL/outbox   (dev mode without SENDGRID_API_KEY; from this host only)
    Temporal UI    http://localhost:$TEMPORAL_UI_PORT
    Temporal gRPC  $TEMPORAL_ADDRESS
    PostgreSQL     $(sed -E 's#//[^@]*@#//#' <<<"$DATABASE_URL")

  Try: go run ./starter directory import examples/team.yaml
       go run ./starter campaign launch examples/campaign.yaml
       go run ./starter lead submit --campaign webinar-q3 --email dana@acme.example --name 'Dana Lee' --company Acme --score 60

  The API needs a source key. Local source "dev" (key and HMAC secret in .data/dev-source.json):
       export BATON_API_KEY=$dev_key
       curl -H "Authorization: Bearer \$BATON_API_KEY" -H 'Content-Type: application/json' \\
         -d '{"campaign":"webinar-q3","email":"dana@acme.example","score":60}' $BATON_PUBLIC_URL/api/v1/leads

MSG

# Stop everything if any one of them dies.
set +e
wait -n "${pids[@]}"
code=$?
[ -z "${stopping:-}" ] || exit 0 # Ctrl-C or TERM: cleanup has stopped everything
echo "a process exited (status $code); stopping the rest" >&2
exit "$code"
