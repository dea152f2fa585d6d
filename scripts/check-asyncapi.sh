#!/usr/bin/env bash
# Validates proto-schemas/asyncapi.yaml (and the event schemas it references)
# with the AsyncAPI parser. Installs the validator's npm dependencies from
# tools/asyncapi/package-lock.json first when they are missing or stale.
# Extra arguments go to the validator (e.g. --verbose, or another document).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

tool_dir=tools/asyncapi
# npm rewrites node_modules/.package-lock.json on every install, so it marks
# when the installed tree was last brought in line with the lock file.
installed_marker="$tool_dir/node_modules/.package-lock.json"

if [[ ! -d "$tool_dir/node_modules" || ! -f "$installed_marker" \
      || "$tool_dir/package-lock.json" -nt "$installed_marker" ]]; then
  echo "check-asyncapi: installing validator dependencies (npm ci)" >&2
  # No dependency needs an install script (the only one is a telemetry ping).
  npm ci --prefix "$tool_dir" --no-audit --no-fund --ignore-scripts
fi

node "$tool_dir/validate.mjs" "$@"
