#!/usr/bin/env bash
# Checks the delivery pipeline and the supply chain, without network once the tools are installed:
#
#   .github/workflows/*.yml   actionlint (with shellcheck on the run: scripts), and the GitHub
#                             workflow JSON schema (check-jsonschema --builtin-schema
#                             vendor.github-workflows)
#   .github/dependabot.yml    the Dependabot configuration schema (vendor.dependabot)
#   deny.toml                 cargo deny check licenses bans sources: licenses of every crate in
#                             Cargo.lock, banned crates and wildcard versions, crates.io only
#
# Then it feeds each check a broken copy and fails if the copy is accepted.
#
# Tools: the Python packages pinned in tools/requirements-deploy.txt (actionlint, shellcheck,
# check-jsonschema) go into var/venv-deploy, as scripts/validate-deploy.sh does; cargo-deny
# $CARGO_DENY_VERSION is installed with `cargo install --locked` when missing (a few minutes, once).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/var/venv-deploy"
CARGO="${CARGO:-cargo}"
CARGO_DENY_VERSION=0.20.2

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

say() { printf '\n==> %s\n' "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
die() {
  printf '\ncheck-pipeline: FAILED: %s\n' "$*" >&2
  exit 1
}

# expect_failure DESCRIPTION CMD...: the self-test; CMD must exit non-zero.
expect_failure() {
  local what=$1 reason
  shift
  if "$@" >"$WORK/selftest.log" 2>&1; then
    cat "$WORK/selftest.log" >&2
    die "self-test: $what was accepted"
  fi
  reason=$(grep -m1 -F '::$' "$WORK/selftest.log" \
    || grep -m1 -E '\[[a-z-]+\]$|error\[|rejected|denied|not allowed|unexpected|undefined|not ' "$WORK/selftest.log" \
    || grep -m1 . "$WORK/selftest.log" || true)
  ok "self-test: $what is rejected: $(sed -E 's/^[[:space:]]+//; s/\x1b\[[0-9;]*m//g' <<<"$reason" | cut -c1-150)"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# The same venv and marker as scripts/validate-deploy.sh.
ensure_venv() {
  local want
  want="$(sha256_of tools/requirements-deploy.txt)"
  if [[ -x "$VENV/bin/python" && -f "$VENV/.requirements.sha256" && "$(cat "$VENV/.requirements.sha256")" == "$want" ]]; then
    return
  fi
  say "installing tools/requirements-deploy.txt into var/venv-deploy"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tools/requirements-deploy.txt
  echo "$want" >"$VENV/.requirements.sha256"
}

ensure_cargo_deny() {
  if [[ "$("$CARGO" deny --version 2>/dev/null)" == "cargo-deny $CARGO_DENY_VERSION" ]]; then
    return
  fi
  say "installing cargo-deny $CARGO_DENY_VERSION (cargo install --locked; once)"
  "$CARGO" install --locked cargo-deny --version "$CARGO_DENY_VERSION"
}

# actionlint FILE...: with the venv's shellcheck on PATH.
actionlint() { PATH="$VENV/bin:$PATH" "$VENV/bin/actionlint" -no-color "$@"; }

workflow_schema() { "$VENV/bin/check-jsonschema" --builtin-schema vendor.github-workflows "$@"; }
dependabot_schema() { "$VENV/bin/check-jsonschema" --builtin-schema vendor.dependabot "$@"; }

# deny CONFIG: the offline cargo-deny checks with that configuration.
deny() { "$CARGO" deny --log-level error --config "$1" check licenses bans sources; }

ensure_venv
ensure_cargo_deny

say "pipeline: .github/workflows, .github/dependabot.yml"
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
((${#workflows[@]})) || die "no workflow in .github/workflows"
actionlint "${workflows[@]}"
ok "actionlint ($("$VENV/bin/actionlint" -version | head -1); shellcheck $("$VENV/bin/shellcheck" --version | awk '/^version:/ {print $2}')): ${workflows[*]}"
workflow_schema "${workflows[@]}" >/dev/null
ok "GitHub workflow schema (check-jsonschema)"
dependabot_schema .github/dependabot.yml >/dev/null
ok "Dependabot schema: .github/dependabot.yml"

say "supply chain: cargo deny check licenses bans sources (deny.toml)"
deny deny.toml
ok "$("$CARGO" deny --version): licenses, bans and sources of every crate in Cargo.lock"

say "self-test (broken copies must be rejected)"
mkdir -p "$WORK/wf"
bad="$WORK/wf/ci.yml"
sed 's/^    needs: test$/    needs: tests/' .github/workflows/ci.yml >"$bad"
expect_failure "a job that needs a job that does not exist, by actionlint" actionlint "$bad"
sed '0,/run: make test/s//run: make test ${{ steps.nope.outputs.x }}/' .github/workflows/ci.yml >"$bad"
expect_failure "a step output that does not exist, by actionlint" actionlint "$bad"
sed '0,/^        run: |$/s//        run: |\n          cd $UNSET_DIR_NAME/' .github/workflows/ci.yml >"$bad"
expect_failure "an unquoted variable in a run: script, by actionlint's shellcheck" actionlint "$bad"
sed 's/^    runs-on: ubuntu-24.04$/    runs_on: ubuntu-24.04/' .github/workflows/ci.yml >"$bad"
expect_failure "a misspelled key (runs_on), by the workflow schema" workflow_schema "$bad"
sed 's/package-ecosystem: cargo$/package-ecosystem: crates/' .github/dependabot.yml >"$WORK/dependabot.yml"
expect_failure "an unknown Dependabot ecosystem, by the Dependabot schema" dependabot_schema "$WORK/dependabot.yml"
grep -vE '^  "(MIT|Apache-2.0)",$' deny.toml >"$WORK/deny.toml"
expect_failure "deny.toml without MIT and Apache-2.0, by cargo deny (licenses)" deny "$WORK/deny.toml"
sed 's/^deny = \[$/deny = [\n  { crate = "tokio", reason = "self-test" },/' deny.toml >"$WORK/deny.toml"
expect_failure "a banned crate that is in Cargo.lock (tokio), by cargo deny (bans)" deny "$WORK/deny.toml"
sed 's|^allow-registry = .*|allow-registry = ["https://example.com/registry-index"]|' deny.toml >"$WORK/deny.toml"
expect_failure "crates.io missing from the allowed registries, by cargo deny (sources)" deny "$WORK/deny.toml"

printf '\ncheck-pipeline: all checks passed\n'
