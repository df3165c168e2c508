#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432: starts the local
# cluster if it is down, installs Debian's postgresql if it is missing.
set -euo pipefail
HOST=127.0.0.1 PORT=5432

ready() { command -v pg_isready >/dev/null && pg_isready -q -h "$HOST" -p "$PORT"; }
ready && exit 0

fresh=0
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "PostgreSQL is not installed: installing Debian's postgresql package"
  (apt-get update -qq || true)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fresh=1
fi
ver=$(ls /etc/postgresql | sort -V | tail -1)
if [ "$fresh" = 1 ]; then
  # A development machine: let local TCP connections in without a password,
  # as the default DATABASE_URL expects.
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  sed -i -E 's/^(local\s+all\s+all\s+)peer/\1trust/' "$hba"
fi
echo "starting PostgreSQL $ver"
pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
for _ in $(seq 1 60); do ready && exit 0; sleep 0.5; done
echo "PostgreSQL did not come up on $HOST:$PORT; see /var/log/postgresql/" >&2
exit 1
