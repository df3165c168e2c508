#!/usr/bin/env bash
# The walkthrough from the README, as a script. Needs `make run` in another
# terminal, plus curl and jq. It uses only public surfaces: the starter CLI,
# the gateway's HTTP API, psql and the temporal CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
GW=${BATON_PUBLIC_URL:-http://localhost:8080}
DB=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/baton?sslmode=disable}
TEMPORAL=${TEMPORAL:-.tools/bin/temporal}
# The API needs an intake source's key: `make run` creates the source "dev".
KEY=${BATON_API_KEY:-$(jq -r .api_key .data/dev-source.json 2>/dev/null || true)}
[ -n "$KEY" ] || { echo "no API key: run 'make run' once (it creates .data/dev-source.json) or set BATON_API_KEY" >&2; exit 1; }
AUTH=(-H "Authorization: Bearer $KEY")
for t in curl jq psql; do command -v $t >/dev/null || { echo "needs $t (apt-get install $t)" >&2; exit 1; }; done
starter() { go run ./starter "$@"; }
step() { printf '\n== %s\n' "$*"; }
suffix=$(date +%s)

step "1. import the directory and the SLA policies, and launch the campaign"
starter directory import examples/team.yaml
starter policy import examples/policies.yaml
starter campaign launch examples/campaign.yaml

step "2. submit a lead"
lead=$(curl -fsS "${AUTH[@]}" -X POST "$GW/api/v1/leads" -H 'Content-Type: application/json' \
  -d "{\"campaign\":\"webinar-q3\",\"email\":\"dana.$suffix@acme.example\",\"name\":\"Dana Lee\",\"company\":\"Acme\",\"score\":60}" | jq -r .id)
echo "lead $lead"

step "3. find the offer in the outbox"
owner=""
for _ in $(seq 1 50); do
  owner=$(curl -fsS "${AUTH[@]}" "$GW/api/v1/leads/$lead" | jq -r '.owner.email // empty')
  [ -n "$owner" ] && break; sleep 0.2
done
link=""
for _ in $(seq 1 50); do
  link=$(curl -fsS "$GW/api/v1/outbox?to=$owner" | jq -r --arg id "$lead" '[.[] | select(.kind=="offer" and (.key|startswith($id)))][0].links[0].url // empty')
  [ -n "$link" ] && break; sleep 0.2
done
echo "offer to $owner: $link"

step "4. follow the link (GET shows a confirm page) and accept (POST)"
jar=$(mktemp)
csrf=$(curl -fsS -c "$jar" "$link" | sed -nE 's/.*name="csrf" value="([0-9a-f]+)".*/\1/p')
curl -sS -b "$jar" -X POST --data "csrf=$csrf" "$link" | sed -nE 's/.*<h1>(.*)<\/h1>.*/\1/p'
rm -f "$jar"

step "5. the lead is Accepted: in the API, in PostgreSQL and in Temporal"
curl -fsS "${AUTH[@]}" "$GW/api/v1/leads/$lead" | jq '{id, state, owner: .owner.name, accepted_at}'
psql "$DB" -Atc "select id, state, owner_id from leads where id = '$lead'"
"$TEMPORAL" workflow describe --address "${TEMPORAL_ADDRESS:-127.0.0.1:7233}" -w "lead-$lead" | grep -E 'Status|BatonLeadState' || true

step "5b. log a first contact and convert, as the rep"
rep=$(curl -fsS "${AUTH[@]}" "$GW/api/v1/leads/$lead" | jq -r .owner.id)
starter lead act "$lead" contact --as "$rep" --channel call --note "booked a demo"
starter lead act "$lead" convert --as "$rep" --ref OPP-1001

step "6. a second lead left alone: reassigned after one window, escalated after two"
lead2=$(curl -fsS "${AUTH[@]}" -X POST "$GW/api/v1/leads" -H 'Content-Type: application/json' \
  -d "{\"campaign\":\"webinar-q3\",\"email\":\"erin.$suffix@globex.example\",\"name\":\"Erin Kim\",\"company\":\"Globex\",\"score\":55}" | jq -r .id)
echo "lead $lead2; waiting (the demo-seconds policy: 60 s to accept, a reminder at 30 s)…"
last=""
for _ in $(seq 1 300); do
  state=$(curl -fsS "${AUTH[@]}" "$GW/api/v1/leads/$lead2" | jq -r '"\(.state) held by \(.owner.name) (offer \(.attempt))"')
  [ "$state" != "$last" ] && { echo "$(date +%T)  $state"; last=$state; }
  [[ $state == Escalated* ]] && break
  sleep 1
done
starter lead show "$lead2"
manager=$(curl -fsS "$GW/api/v1/outbox" | jq -r --arg id "$lead2" '[.[] | select(.kind=="escalation" and (.key|startswith($id)))][0] | "\(.to): \(.subject)"')
echo "escalation mail → $manager"

step "7. where the campaign stands: phase, commitments, numbers to date, history"
starter campaign status webinar-q3
