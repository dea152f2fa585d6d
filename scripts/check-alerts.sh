#!/usr/bin/env bash
# Checks the Prometheus alert rules and runs their unit tests with promtool (Debian's
# `prometheus` package, installed when missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v promtool >/dev/null 2>&1; then
  sudo=()
  ((EUID == 0)) || sudo=(sudo)
  echo "check-alerts: installing Debian's prometheus package (for promtool)"
  "${sudo[@]}" apt-get update -qq >/dev/null
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

promtool check rules compose/prometheus/alerts.yml
promtool test rules compose/prometheus/alerts.test.yml
