#!/usr/bin/env bash
# Regenerates compose/n8n/known-node-types.txt: every n8n node type and typeVersion that the n8n
# release in compose/docker-compose.yml (N8N_VERSION below) can load, read from the two npm
# packages that hold its nodes. The workflow test (tests/workflow.rs) accepts only these.
#
#   bash tools/knowledge-seed/scripts/known-node-types.sh [N8N_VERSION]
#
# How: `npm view n8n@VERSION dependencies` names the exact versions of n8n-nodes-base and
# @n8n/n8n-nodes-langchain that release ships; `npm pack` fetches both; each package's
# dist/types/nodes.json lists its node descriptions (one entry per group of versions: `name`,
# `version` as a number or a list). Every (package prefix + name, version) pair is one line.
# n8n also derives an AI-agent tool `<name>Tool` (same versions) from every description marked
# `usableAsTool` when it loads the nodes (createAiTools in n8n's nodes loader); those are added
# the same way, e.g. n8n-nodes-base.httpRequestTool.
set -euo pipefail

N8N_VERSION="${1:-2.40.7}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
OUT="$ROOT/compose/n8n/known-node-types.txt"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

deps="$(npm view "n8n@$N8N_VERSION" dependencies --json)"
base_version="$(node -e 'console.log(JSON.parse(process.argv[1])["n8n-nodes-base"])' "$deps")"
lc_version="$(node -e 'console.log(JSON.parse(process.argv[1])["@n8n/n8n-nodes-langchain"])' "$deps")"

cd "$WORK"
npm pack --silent "n8n-nodes-base@$base_version" "@n8n/n8n-nodes-langchain@$lc_version" >/dev/null
mkdir base langchain
tar xzf "n8n-nodes-base-$base_version.tgz" -C base
tar xzf "n8n-n8n-nodes-langchain-$lc_version.tgz" -C langchain

node - "$N8N_VERSION" "$base_version" "$lc_version" >"$OUT" <<'JS'
const fs = require('fs');
const [n8n, baseVersion, lcVersion] = process.argv.slice(2);
const packages = [
  ['n8n-nodes-base', 'base/package/dist/types/nodes.json'],
  ['@n8n/n8n-nodes-langchain', 'langchain/package/dist/types/nodes.json'],
];
const lines = new Set();
for (const [prefix, file] of packages) {
  for (const node of JSON.parse(fs.readFileSync(file, 'utf8'))) {
    const versions = [].concat(node.version);
    const names = [node.name];
    if (node.usableAsTool) names.push(node.name + 'Tool');
    for (const name of names) for (const v of versions) lines.add(`${prefix}.${name}@${v}`);
  }
}
console.log(`# n8n node types and typeVersions that n8n ${n8n} can load, one \`type@typeVersion\` a line.`);
console.log(`# Derived from the npm packages n8n-nodes-base@${baseVersion} and @n8n/n8n-nodes-langchain@${lcVersion}`);
console.log(`# (the versions n8n@${n8n} depends on): each package's dist/types/nodes.json gives the node`);
console.log('# names and versions; a node marked usableAsTool also yields "<name>Tool" with the same versions,');
console.log("# as n8n's loader derives it. Regenerate with tools/knowledge-seed/scripts/known-node-types.sh.");
for (const line of [...lines].sort()) console.log(line);
JS
echo "known-node-types: $(grep -vc '^#' "$OUT") entries written to $OUT" >&2
