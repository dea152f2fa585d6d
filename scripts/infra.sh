#!/usr/bin/env bash
# Local infrastructure for the services and their tests: PostgreSQL and NATS (JetStream).
#
#   bash scripts/infra.sh [up]   make sure both answer; start private copies under var/ when nothing does
#   bash scripts/infra.sh down   stop what this script started (the var/pg cluster, the pid in var/nats.pid)
#
# Environment:
#   DATABASE_URL      set: only wait (up to 30 s) until that server answers; nothing is installed or started
#   NATS_URL          set: only wait (up to 30 s) until its host:port accepts TCP; nothing is started
#   GADAI_PG_PORT     port on 127.0.0.1 to look at / start postgres on (default 5432)
#   GADAI_NATS_PORT   port on 127.0.0.1 to look at / start nats-server on (default 4222)
#
# Services that the machine itself runs are used when they answer, and are never stopped by `down`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="$ROOT/var"
LOCAL=127.0.0.1
PG_PORT="${GADAI_PG_PORT:-5432}"
NATS_PORT="${GADAI_NATS_PORT:-4222}"
WAIT_SECS=30

PG_DIR="$VAR/pg"
PG_LOG="$VAR/pg.log"
NATS_DIR="$VAR/nats"
NATS_PID="$VAR/nats.pid"
NATS_LOG="$VAR/nats.log"
APT_LOG="$VAR/apt.log"

say() { printf 'infra: %s\n' "$*"; }
die() { printf 'infra: error: %s\n' "$*" >&2; exit 1; }

# Path relative to the repo, for messages.
rel() { printf '%s' "${1#"$ROOT"/}"; }

show_tail() {  # show_tail FILE: last lines of a log on stderr
  if [[ -s $1 ]]; then
    printf -- '--- last lines of %s ---\n' "$(rel "$1")" >&2
    tail -n 25 "$1" >&2
    printf -- '---\n' >&2
  fi
}

# ---------------------------------------------------------------- small helpers

# tcp_open HOST PORT: something accepts a TCP connection there (bash's /dev/tcp, 2 s limit).
tcp_open() {
  # shellcheck disable=SC2016 # $1/$2 belong to the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# retry SECONDS CMD...: run CMD every quarter second until it succeeds or time is up.
retry() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.25
  done
}

# split_url URL DEFAULT_PORT: sets URL_HOST and URL_PORT from scheme://[user[:pass]@]host[:port][/...]
split_url() {
  local u=$1
  u=${u%%,*}      # first server of a comma separated list
  u=${u#*://}     # scheme
  u=${u%%/*}      # path
  u=${u%%\?*}     # query
  u=${u##*@}      # credentials
  if [[ $u == \[*\]* ]]; then # [ipv6]:port
    URL_HOST=${u%%]*}
    URL_HOST=${URL_HOST#[}
    URL_PORT=${u#*]}
    URL_PORT=${URL_PORT#:}
  elif [[ $u == *:* ]]; then
    URL_HOST=${u%%:*}
    URL_PORT=${u##*:}
  else
    URL_HOST=$u
    URL_PORT=
  fi
  URL_HOST=${URL_HOST:-$LOCAL}
  URL_PORT=${URL_PORT:-$2}
}

APT_UPDATED=0
apt_install() {  # apt_install PKG...: install Debian packages (apt-get update first, once)
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || die "Debian package(s) '$*' needed, but not root and no sudo: install them first"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || die "package(s) '$*' needed and there is no apt-get: install them by hand"
  mkdir -p "$VAR"
  if ((!APT_UPDATED)); then
    say "running apt-get update (output in $(rel "$APT_LOG"))"
    # fd 9 is our lock: nothing we start may keep it open.
    "${sudo[@]}" apt-get update >>"$APT_LOG" 2>&1 9>&- || { show_tail "$APT_LOG"; die "apt-get update failed"; }
    APT_UPDATED=1
  fi
  say "installing Debian package(s): $*"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" \
    >>"$APT_LOG" 2>&1 9>&- || { show_tail "$APT_LOG"; die "apt-get install $* failed"; }
}

# ---------------------------------------------------------------- postgres

# Command prefix that runs a program as the cluster owner: initdb and postgres refuse to run as root.
AS_PG=()
if ((EUID == 0)); then AS_PG=(runuser -u postgres --); fi

# The newest /usr/lib/postgresql/<v>/bin holding initdb + pg_ctl, or version $1 exactly when given.
find_pg_bin() {
  local want=${1:-} dir found=
  if [[ -n $want ]]; then
    dir=/usr/lib/postgresql/$want/bin
    [[ -x $dir/initdb && -x $dir/pg_ctl ]] && { printf '%s\n' "$dir"; return 0; }
  fi
  while read -r dir; do
    [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]] && found=$dir
  done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -V)
  if [[ -z $found ]] && command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    found=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
  fi
  [[ -n $found ]] && printf '%s\n' "$found"
}

PG_ISREADY=
pick_pg_isready() {
  local bin
  if command -v pg_isready >/dev/null 2>&1; then
    PG_ISREADY=$(command -v pg_isready)
  elif bin=$(find_pg_bin) && [[ -x $bin/pg_isready ]]; then
    PG_ISREADY=$bin/pg_isready
  else
    PG_ISREADY=
  fi
}

# pg_local_state: 0 = accepting connections on 127.0.0.1:$PG_PORT, 1 = starting up, 2 = nothing there.
pg_local_state() {
  if [[ -n $PG_ISREADY ]]; then
    local rc=0
    "$PG_ISREADY" -q -t 2 -h "$LOCAL" -p "$PG_PORT" -U postgres -d postgres 9>&- || rc=$?
    case $rc in 0) return 0 ;; 1) return 1 ;; *) return 2 ;; esac
  fi
  tcp_open "$LOCAL" "$PG_PORT" && return 0
  return 2
}
pg_local_ready() { pg_local_state; }

# Real data directory of our cluster (var/pg may be a link, see prepare_pg_dir).
pg_data() {
  if [[ -L $PG_DIR ]]; then readlink -f "$PG_DIR"; else printf '%s\n' "$PG_DIR"; fi
}

# Is our own var/pg cluster the one running on $PG_PORT?
pg_ours_running() {
  local data pidfile pid port
  data=$(pg_data)
  pidfile=$data/postmaster.pid
  [[ -r $pidfile ]] || return 1
  pid=$(sed -n 1p "$pidfile")
  port=$(sed -n 4p "$pidfile")
  [[ $port == "$PG_PORT" && -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

ensure_postgres_user() {
  ((EUID == 0)) || return 0
  id -u postgres >/dev/null 2>&1 && return 0
  say "creating system user postgres"
  useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
}

# Create var/pg for the postgres user. If that user cannot reach the repo (for example a clone
# under /root), the data goes to /var/tmp and var/pg becomes a link to it.
prepare_pg_dir() {
  mkdir -p "$VAR"
  if [[ ! -e $PG_DIR && ! -L $PG_DIR ]]; then
    mkdir -m 700 "$PG_DIR"
  fi
  local data
  data=$(pg_data)
  mkdir -p "$data"
  chmod 700 "$data"
  ((EUID == 0)) || return 0
  chown postgres:postgres "$data"
  chmod 700 "$data"
  if ! (cd / && "${AS_PG[@]}" test -w "$data" -a -x "$data"); then
    [[ -L $PG_DIR ]] && die "postgres user cannot write $data"
    local alt
    alt=/var/tmp/gadai-pg-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)
    rmdir "$PG_DIR"
    rm -rf "$alt"
    mkdir -m 700 "$alt"
    chown postgres:postgres "$alt"
    ln -s "$alt" "$PG_DIR"
    say "postgres: user postgres cannot reach $(rel "$VAR"); cluster data goes to $alt (var/pg links to it)"
  fi
}

postgres_up() {
  if [[ -n ${DATABASE_URL:-} ]]; then
    split_url "$DATABASE_URL" 5432
    pick_pg_isready
    local check=(tcp_open "$URL_HOST" "$URL_PORT")
    [[ -n $PG_ISREADY ]] && check=("$PG_ISREADY" -q -t 2 -d "$DATABASE_URL")
    retry "$WAIT_SECS" "${check[@]}" || die "postgres: DATABASE_URL is set but $URL_HOST:$URL_PORT did not answer within ${WAIT_SECS}s"
    say "postgres: DATABASE_URL is set; $URL_HOST:$URL_PORT answers (nothing started)"
    return 0
  fi

  local hint=
  [[ $PG_PORT == 5432 ]] || hint=" (DATABASE_URL=postgres://postgres@$LOCAL:$PG_PORT/postgres)"

  pick_pg_isready
  local state=0
  pg_local_state || state=$?
  if ((state != 2)); then
    retry "$WAIT_SECS" pg_local_ready || die "postgres: $LOCAL:$PG_PORT is starting up but not ready after ${WAIT_SECS}s"
    if pg_ours_running; then
      say "postgres: using the var/pg cluster started earlier by this script on $LOCAL:$PG_PORT$hint"
    else
      say "postgres: using the server already answering on $LOCAL:$PG_PORT$hint"
    fi
    return 0
  fi

  # Nothing answers: run our own cluster in var/pg.
  local data version bin
  data=$(pg_data)
  version=
  [[ -f $data/PG_VERSION ]] && version=$(<"$data/PG_VERSION")
  if ! bin=$(find_pg_bin "$version"); then
    apt_install postgresql
    # The package may have started a cluster of its own on this very port.
    pick_pg_isready
    if pg_local_state; then
      say "postgres: using the cluster the postgresql package started on $LOCAL:$PG_PORT$hint"
      return 0
    fi
    bin=$(find_pg_bin "$version") || die "postgres: no initdb/pg_ctl found under /usr/lib/postgresql/*/bin after installing"
  fi
  [[ -n $PG_ISREADY ]] || pick_pg_isready

  ensure_postgres_user
  prepare_pg_dir
  data=$(pg_data)
  touch "$PG_LOG"

  if [[ ! -f $data/PG_VERSION ]]; then
    if ! (cd / && "${AS_PG[@]}" "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale) >>"$PG_LOG" 2>&1 9>&-; then
      show_tail "$PG_LOG"
      die "postgres: initdb failed"
    fi
  fi

  # Unix socket next to the machine's usual one when that folder is usable, else TCP only.
  local sockdir=
  if [[ -d /var/run/postgresql ]] && (cd / && "${AS_PG[@]}" test -w /var/run/postgresql); then
    sockdir=/var/run/postgresql
  fi
  # pg_ctl detaches the server into its own session; its output goes to var/pg.log.
  if ! (cd / && "${AS_PG[@]}" "$bin/pg_ctl" -D "$data" -w -t "$WAIT_SECS" -s \
    -o "-c listen_addresses=$LOCAL -c port=$PG_PORT -c unix_socket_directories='$sockdir'" \
    start) >>"$PG_LOG" 2>&1 </dev/null 9>&-; then
    show_tail "$PG_LOG"
    die "postgres: could not start the var/pg cluster on $LOCAL:$PG_PORT"
  fi
  retry "$WAIT_SECS" pg_local_ready || { show_tail "$PG_LOG"; die "postgres: started but $LOCAL:$PG_PORT does not answer"; }
  say "postgres: started own cluster in var/pg on $LOCAL:$PG_PORT, trust auth, user postgres, log var/pg.log$hint"
}

postgres_down() {
  local data version bin rc=0
  data=$(pg_data)
  if [[ ! -f $data/PG_VERSION ]]; then
    say "postgres: no var/pg cluster, nothing to stop"
    return 0
  fi
  version=$(<"$data/PG_VERSION")
  bin=$(find_pg_bin "$version") || die "postgres: no pg_ctl for version $version found"
  (cd / && "${AS_PG[@]}" "$bin/pg_ctl" -D "$data" status) >/dev/null 2>&1 || rc=$?
  if ((rc != 0)); then
    say "postgres: the var/pg cluster is not running"
    return 0
  fi
  if ! (cd / && "${AS_PG[@]}" "$bin/pg_ctl" -D "$data" -m fast -w -t "$WAIT_SECS" -s stop) >>"$PG_LOG" 2>&1 9>&-; then
    show_tail "$PG_LOG"
    die "postgres: could not stop the var/pg cluster"
  fi
  say "postgres: stopped the var/pg cluster"
}

# ---------------------------------------------------------------- nats

find_nats() {
  local c
  for c in "$(command -v nats-server 2>/dev/null || true)" /usr/sbin/nats-server /usr/bin/nats-server /usr/local/bin/nats-server; do
    [[ -n $c && -x $c ]] && { printf '%s\n' "$c"; return 0; }
  done
  return 1
}

# Pid from var/nats.pid if it is alive and really our nats-server (its store dir is var/nats).
our_nats_pid() {
  local pid
  [[ -r $NATS_PID ]] || return 1
  pid=$(<"$NATS_PID")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF -- "$NATS_DIR" || return 1
  printf '%s\n' "$pid"
}

nats_local_open() { tcp_open "$LOCAL" "$NATS_PORT"; }

nats_up() {
  if [[ -n ${NATS_URL:-} ]]; then
    split_url "$NATS_URL" 4222
    retry "$WAIT_SECS" tcp_open "$URL_HOST" "$URL_PORT" ||
      die "nats: NATS_URL is set but $URL_HOST:$URL_PORT did not accept connections within ${WAIT_SECS}s"
    say "nats: NATS_URL is set; $URL_HOST:$URL_PORT accepts connections (nothing started)"
    return 0
  fi

  local hint=
  [[ $NATS_PORT == 4222 ]] || hint=" (NATS_URL=nats://$LOCAL:$NATS_PORT)"

  local pid
  if nats_local_open; then
    if pid=$(our_nats_pid); then
      say "nats: using nats-server pid $pid started earlier by this script on $LOCAL:$NATS_PORT$hint"
    else
      say "nats: using the server already listening on $LOCAL:$NATS_PORT$hint"
    fi
    return 0
  fi

  local bin
  if ! bin=$(find_nats); then
    apt_install nats-server
    if nats_local_open; then
      say "nats: using the server the nats-server package started on $LOCAL:$NATS_PORT$hint"
      return 0
    fi
    bin=$(find_nats) || die "nats: nats-server still not found after installing it"
  fi

  mkdir -p "$NATS_DIR"
  rm -f "$NATS_PID"
  # setsid: own session, so Ctrl-C in the terminal that ran us does not reach it.
  (cd "$ROOT" && exec setsid nohup "$bin" -a "$LOCAL" -p "$NATS_PORT" -js -sd "$NATS_DIR") \
    >>"$NATS_LOG" 2>&1 </dev/null 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$NATS_PID"

  local deadline=$((SECONDS + WAIT_SECS))
  until nats_local_open; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      show_tail "$NATS_LOG"
      kill "$pid" 2>/dev/null || true
      rm -f "$NATS_PID"
      die "nats: nats-server did not come up on $LOCAL:$NATS_PORT"
    fi
    sleep 0.25
  done
  say "nats: started nats-server pid $pid on $LOCAL:$NATS_PORT, JetStream store var/nats, log var/nats.log$hint"
}

nats_down() {
  local pid
  if ! pid=$(our_nats_pid); then
    [[ -e $NATS_PID ]] && rm -f "$NATS_PID"
    say "nats: no nats-server started by this script is running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$NATS_PID"
  say "nats: stopped nats-server pid $pid"
}

# ---------------------------------------------------------------- main

usage() {
  echo "usage: bash scripts/infra.sh [up|down]" >&2
  exit 2
}

cmd=${1:-up}
case $cmd in up | down) ;; -h | --help | help) usage ;; *) usage ;; esac

mkdir -p "$VAR"
# One run at a time, so two parallel `up`s cannot both start servers.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$VAR/.infra.lock"
  flock 9
fi

case $cmd in
  up)
    postgres_up
    nats_up
    ;;
  down)
    nats_down
    postgres_down
    ;;
esac
