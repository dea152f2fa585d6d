#!/usr/bin/env bash
# Where the machine's CPU goes over a window: CPU seconds and share of one core per process name
# (summed over all processes of that name). A Postgres backend whose client named itself (each
# service's connections carry its schema as application_name) counts as "postgres (<name>)", so
# the database's share splits by service; the others count as "postgres".
#
#   bash scripts/cpu-by-process.sh [SECONDS]        (default 10)
#
# Reads /proc/<pid>/stat (utime + stime) at the start and the end of the window; processes that
# start or end inside the window count for the part /proc saw. Used beside `side/run.sh` or
# `make bench` to see what each order costs across the whole system.
set -euo pipefail
WINDOW=${1:-10}
HZ=$(getconf CLK_TCK)
DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

# "pid name" of every backend whose client set application_name (nothing without psql).
backends() {
  command -v psql >/dev/null 2>&1 || return 0
  psql "$DATABASE_URL" -XAtF' ' -c \
    "SELECT pid, application_name FROM pg_stat_activity WHERE application_name ~ '^[a-z0-9_.-]+$'" \
    2>/dev/null || true
}

declare -A client=()
learn_clients() {
  local pid name
  while read -r pid name; do
    if [[ -n $pid ]]; then client[$pid]=$name; fi
  done < <(backends)
}

sample() {
  for stat in /proc/[0-9]*/stat; do
    # comm is in parentheses and may hold spaces: split around the last ')'.
    line=$(cat "$stat" 2>/dev/null) || continue
    pid=${line%% *}
    comm=${line#*(}; comm=${comm%)*}
    if [[ $comm == postgres && -n ${client[$pid]:-} ]]; then comm="postgres (${client[$pid]})"; fi
    rest=${line##*) }
    read -r -a f <<<"$rest"
    # After "comm": state(0) ppid(1) ... utime(11) stime(12).
    echo "$pid $comm $((f[11] + f[12]))"
  done
}

learn_clients
before=$(mktemp); after=$(mktemp)
trap 'rm -f "$before" "$after"' EXIT
sample >"$before"
start=$(date +%s.%N)
sleep "$WINDOW"
learn_clients # backends that started inside the window are named too
sample >"$after"
end=$(date +%s.%N)

printf '%-24s %10s %12s\n' process "cpu s" "% of a core"
awk -v hz="$HZ" -v secs="$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" '
  NR == FNR { was[$1] = $NF; next }
  {
    name = $2; for (i = 3; i < NF; i++) name = name " " $i
    used[name] += $NF - (($1 in was) ? was[$1] : 0)
  }
  END {
    for (n in used) if (used[n] > 0) printf "%s\t%.2f\t%.1f\n", n, used[n] / hz, 100 * used[n] / hz / secs
  }' "$before" "$after" | sort -t$'\t' -k2 -g -r | awk -F'\t' '{ printf "%-24s %10s %12s\n", $1, $2, $3 }'
