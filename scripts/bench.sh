#!/usr/bin/env bash
# `make bench`: the figures of DESIGN.md section 9, measured on this machine.
#
#   bash scripts/bench.sh [all | bridge | visible | catchup | memory | web]...   (default: all)
#
# Builds the release binaries (when one workspace member does not compile, the benchmark and the
# services that do are built one by one), then runs target/release/gadai-bench (bench/), which
# starts the services in-process against a database and a stream of its own per scenario, on
# 127.0.0.1 only, and drops them at the end. Whatever a crashed run leaves is dropped on exit from
# the ledger var/bench/ledger.tsv. Installs wrk (Debian) for the bridge scenario when missing.
# A full run takes about 5 to 10 minutes on 2 cores; BENCH_RUN_LIMIT (s) stops it in any case.
#
# Environment (passed through to gadai-bench):
#   BENCH_SECONDS      length of each timed load phase (default 10)
#   BENCH_EVENTS       events of the catch-up scenario (default 1,000,000)
#   BENCH_QUICK=1      smaller catch-up (100,000 events unless BENCH_EVENTS is set)
#   BENCH_RATE         steady rate of the visible scenario (default 1000 orders/s)
#   BENCH_CONNECTIONS  connections of the bridge scenario (default 16)
#   BENCH_LOADGEN=builtin   use the in-process client instead of wrk
#   BENCH_QUIET_WAIT   seconds to wait before each scenario for a busy machine to go idle (60)
#   DATABASE_URL, NATS_URL  the servers (default postgres://postgres@127.0.0.1:5432/postgres, nats://127.0.0.1:4222)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CARGO=${CARGO:-cargo}
VAR="$ROOT/var/bench"
LEDGER="$VAR/ledger.tsv"
BENCH_BIN="$ROOT/target/release/gadai-bench"
# The whole run may take this long before it is stopped (build excluded).
RUN_LIMIT=${BENCH_RUN_LIMIT:-1500}

say() { printf 'bench: %s\n' "$*"; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$VAR"

# ---------------------------------------------------------------- wrk
if ! command -v wrk >/dev/null 2>&1 && [[ ${BENCH_LOADGEN:-} != builtin ]]; then
  sudo=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); fi
  fi
  if command -v apt-get >/dev/null 2>&1 && { ((EUID == 0)) || ((${#sudo[@]})); }; then
    say "installing wrk (Debian package; apt-get output in var/bench/apt.log)"
    if "${sudo[@]}" apt-get update >>"$VAR/apt.log" 2>&1 &&
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk \
        >>"$VAR/apt.log" 2>&1; then
      say "wrk installed"
    else
      say "could not install wrk (see var/bench/apt.log): the bridge scenario uses the in-process client"
    fi
  else
    say "wrk missing and cannot be installed here: the bridge scenario uses the in-process client"
  fi
fi

# ---------------------------------------------------------------- build
say "$CARGO build --release --workspace --bins"
unbuilt=()
if ! "$CARGO" build --release --workspace --bins; then
  # One member that does not compile (work in progress) should not hide the others' figures:
  # build the benchmark and each service on its own, and say which could not be built.
  say "the workspace build failed; building the benchmark and each service separately"
  "$CARGO" build --release -p gadai-bench || die "gadai-bench does not build"
  for dir in services/*/; do
    pkg=$(basename "$dir")
    [[ -f $dir/Cargo.toml ]] || continue
    if ! "$CARGO" build --release -p "$pkg" --bins; then
      say "$pkg does not build: the memory scenario skips it"
      unbuilt+=("$pkg")
    fi
  done
fi
export BENCH_UNBUILT="${unbuilt[*]:-}"

[[ -x $BENCH_BIN ]] || die "$BENCH_BIN was not built"

# The web scenario measures the built dashboard (precompressed by its build).
if [[ -z ${WEB_DIST_DIR:-} && -f web_dashboard/package.json ]]; then
  say "building the web app (npm ci && npm run build)"
  (cd web_dashboard && npm ci --silent && npm run -s build >/dev/null) || die "the web app does not build"
fi

# ---------------------------------------------------------------- run
cleanup() {
  if [[ -s $LEDGER ]]; then
    "$BENCH_BIN" cleanup "$LEDGER" || say "cleanup incomplete: entries left in $LEDGER"
  else
    rm -f "$LEDGER"
  fi
}
# A ledger left by an earlier run that was killed hard.
cleanup
trap cleanup EXIT
trap 'exit 130' INT TERM

export BENCH_LEDGER="$LEDGER"
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
say "running gadai-bench ${*:-all} (stops itself; hard limit ${RUN_LIMIT} s)"
timeout --signal=TERM --kill-after=30 "$RUN_LIMIT" "$BENCH_BIN" "$@"
