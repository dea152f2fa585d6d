#!/usr/bin/env bash
# The dashboard's end-to-end tests in a real browser: Debian's Chromium driven by playwright-core
# (web_dashboard/e2e) against the whole system started for the run by browser-stack (a fresh
# database and stream, aiosmtpd, the four service binaries, the built web app).
#
# Installs what is missing (chromium and poppler-utils from Debian's packages, aiosmtpd from
# PyPI, the web dashboard's npm packages), builds the web app and the debug binaries, then runs
# the tests.
# Screenshots, downloads and the services' logs are kept in $GADAI_E2E_ARTIFACTS
# (default artifacts/browser/) for CI to collect.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CARGO="${CARGO:-cargo}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
export GADAI_E2E_ARTIFACTS="${GADAI_E2E_ARTIFACTS:-$ROOT/artifacts/browser}"

say() { printf 'browser-test: %s\n' "$*"; }

if [[ ! -x $CHROMIUM_PATH ]]; then
  if ((EUID != 0)); then
    say "$CHROMIUM_PATH is missing: install the Debian package chromium (apt-get install chromium)" >&2
    exit 1
  fi
  say "installing chromium (Debian package)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
# The export step reads the downloaded PDF with pdftotext.
if ! command -v pdftotext >/dev/null 2>&1; then
  if ((EUID != 0)); then
    say "pdftotext is missing: install the Debian package poppler-utils (apt-get install poppler-utils)" >&2
    exit 1
  fi
  say "installing poppler-utils (Debian package, for pdftotext)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends poppler-utils >/dev/null
fi
say "$("$CHROMIUM_PATH" --version 2>/dev/null || echo "chromium at $CHROMIUM_PATH")"

if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  python3 -m pip install --quiet -r tools/requirements-test.txt
fi

if [[ ! -d web_dashboard/node_modules/playwright-core ]]; then
  (cd web_dashboard && npm ci)
fi
(cd web_dashboard && npm run build)

# The binaries as `cargo test --workspace` builds them (the same features, so after make test's
# cargo step nothing is compiled twice); the e2e crate's tests make cargo build browser-stack.
"$CARGO" test --workspace --no-run --quiet

rm -rf "$GADAI_E2E_ARTIFACTS"
mkdir -p "$GADAI_E2E_ARTIFACTS"
status=0
"${CARGO_TARGET_DIR:-$ROOT/target}/debug/browser-stack" -- npm --prefix web_dashboard run test:e2e || status=$?
say "screenshots: $GADAI_E2E_ARTIFACTS/screenshots/ ($(find "$GADAI_E2E_ARTIFACTS/screenshots" -name '*.png' 2>/dev/null | wc -l) files); logs: $GADAI_E2E_ARTIFACTS/logs/"
exit "$status"
