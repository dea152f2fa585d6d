#!/usr/bin/env bash
# Run the four services locally from target/release, in the foreground until Ctrl-C.
#
# Expects the binaries to be built (make build) and postgres + nats to answer (make infra);
# `make run` does both first. Settings come from the environment, then from .env
# (a variable already set in the environment wins over the same one in .env).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SERVICES=(order-intake verification-mailer expiry-sweeper dashboard-api)

say() { printf 'run: %s\n' "$*"; }
die() { printf 'run: error: %s\n' "$*" >&2; exit 1; }

# ---- .env: lines of the form NAME=value (optionally "export NAME=value"); blank lines and # comments skipped
if [[ -f .env ]]; then
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    line=${line#"${line%%[![:space:]]*}"} # leading blanks
    [[ -z $line || $line == \#* ]] && continue
    line=${line#export }
    [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    name=${BASH_REMATCH[1]}
    value=${BASH_REMATCH[2]}
    if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then
      value=${BASH_REMATCH[1]}
    fi
    [[ -n ${!name+set} ]] && continue
    export "$name=$value"
  done <.env
  say "loaded .env"
fi

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/gadai}"
export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
export DASHBOARD_API_PORT="${DASHBOARD_API_PORT:-2026}"
export ORDER_INTAKE_PORT="${ORDER_INTAKE_PORT:-2027}"
export VERIFICATION_MAILER_PORT="${VERIFICATION_MAILER_PORT:-2028}"
export EXPIRY_SWEEPER_PORT="${EXPIRY_SWEEPER_PORT:-2029}"
# A local run is a development run: the services accept the development secrets below (in
# production, APP_ENV unset, they refuse placeholders and short keys).
export APP_ENV="${APP_ENV:-development}"
# The bridge refuses to start without an API key: a local run gets a development one.
if [[ -z ${APPS_KEY:-} ]]; then
  export APPS_KEY=dev-apps-key
  echo "run: APPS_KEY not set, using the development key \"$APPS_KEY\" (set it in .env)"
fi
# A first admin for the dashboard when none is configured (created only while there is none).
if [[ -z ${ADMIN_USERNAME:-} ]]; then
  export ADMIN_USERNAME=admin ADMIN_PASSWORD="${ADMIN_PASSWORD:-gadai-admin-dev}"
  echo "run: dashboard login for development: admin / $ADMIN_PASSWORD (set ADMIN_USERNAME/ADMIN_PASSWORD in .env)"
fi
export LOG_FORMAT="${LOG_FORMAT:-json}"

# ---- binaries
for svc in "${SERVICES[@]}"; do
  [[ -x target/release/$svc ]] || die "target/release/$svc is missing: run 'make build' first"
done

# ---- psql, needed to create the database
if ! command -v psql >/dev/null 2>&1; then
  ((EUID == 0)) || die "psql not found: install the Debian package postgresql-client"
  say "psql not found, installing postgresql-client"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-client >/dev/null
fi

# ---- database: create it when missing, connected to the "postgres" database of the same server
url_base=${DATABASE_URL%%\?*}
url_query=
[[ $DATABASE_URL == *\?* ]] && url_query="?${DATABASE_URL#*\?}"
after_scheme=${url_base#*://}
[[ $after_scheme == */* ]] || die "DATABASE_URL has no database name: $DATABASE_URL"
db_name=${url_base##*/}
[[ -n $db_name ]] || die "DATABASE_URL has no database name: $DATABASE_URL"
ADMIN_URL="${url_base%/*}/postgres$url_query"

exists=$(psql "$ADMIN_URL" -X -q -t -A -v ON_ERROR_STOP=1 -v db="$db_name" <<'SQL'
SELECT count(*) FROM pg_database WHERE datname = :'db';
SQL
) || die "cannot query the server of DATABASE_URL (is 'make infra' done?)"
if [[ $exists == 0 ]]; then
  psql "$ADMIN_URL" -X -q -v ON_ERROR_STOP=1 -v db="$db_name" <<'SQL' || die "could not create database $db_name"
CREATE DATABASE :"db";
SQL
  say "created database $db_name"
else
  say "database $db_name exists"
fi

# ---- migrations, one service after the other
for svc in "${SERVICES[@]}"; do
  say "migrate $svc"
  "target/release/$svc" migrate || die "$svc migrate failed"
done

# ---- serve
mkdir -p var/log var/mail
declare -A NAME_OF=()
PIDS=()

# running PID: the process exists and has not exited yet (a zombie waiting to be reaped has).
running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

stop_children() {
  local pid left deadline
  ((${#PIDS[@]})) || return 0
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # Give them 10 s to exit cleanly, then force.
  deadline=$((SECONDS + 10))
  while :; do
    left=()
    for pid in "${PIDS[@]}"; do running "$pid" && left+=("$pid"); done
    ((${#left[@]} && SECONDS < deadline)) || break
    sleep 0.1
  done
  for pid in "${left[@]}"; do
    say "${NAME_OF[$pid]:-pid $pid} did not stop within 10 s, killing it"
    kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

# shellcheck disable=SC2317 # called through trap
on_signal() {
  trap '' INT TERM
  echo
  say "stopping services"
  stop_children
  say "stopped"
  exit 0
}
trap on_signal INT TERM
trap stop_children EXIT

for svc in "${SERVICES[@]}"; do
  "target/release/$svc" serve >"var/log/$svc.log" 2>&1 &
  PIDS+=("$!")
  NAME_OF[$!]=$svc
done

cat <<EOF
run: all four services started (logs in var/log/<service>.log)
  dashboard       http://127.0.0.1:${DASHBOARD_API_PORT}/
  bridge          http://127.0.0.1:${ORDER_INTAKE_PORT}/api/insert-orders
  mailer health   :${VERIFICATION_MAILER_PORT}
  sweeper health  :${EXPIRY_SWEEPER_PORT}
  mail            written to var/mail/
Ctrl-C stops them.
EOF

# Wait until one child ends (or a signal comes in, which runs on_signal).
dead=
status=0
wait -n -p dead "${PIDS[@]}" || status=$?
if [[ -z $dead ]]; then
  for pid in "${PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || { dead=$pid; break; }
  done
fi
svc=${NAME_OF[${dead:-none}]:-a service}
echo "run: $svc exited early (status $status); last lines of var/log/$svc.log:" >&2
tail -n 40 "var/log/$svc.log" >&2 || true
trap '' INT TERM
say "stopping the other services"
remaining=()
for pid in "${PIDS[@]}"; do [[ $pid == "$dead" ]] || remaining+=("$pid"); done
PIDS=("${remaining[@]}")
stop_children
exit 1
