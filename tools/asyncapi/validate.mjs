#!/usr/bin/env node
// Checks proto-schemas/asyncapi.yaml with the official AsyncAPI parser.
//
//   node tools/asyncapi/validate.mjs [--verbose] [path/to/asyncapi.yaml]
//
// The document is read with `fromFile`, which hands its path to the parser as
// `source`; relative `$ref`s such as './events/order.created.json' are then
// resolved against the document's own folder. Every error and warning is
// printed (info and hints only with --verbose). On top of the parser's rules a
// few checks of our own run on the resolved document: no `$ref` may be left
// unresolved, every message must have an object payload, and an event payload
// whose `type` property is pinned (const/enum) must be pinned to its channel's
// address. Exit status: 0 when there is no error, 1 otherwise.

import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { Parser, fromFile } from '@asyncapi/parser';

const SEVERITY = ['error', 'warning', 'info', 'hint'];

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

const args = process.argv.slice(2);
const verbose = args.includes('--verbose');
const positional = args.filter((a) => !a.startsWith('--'));
const docPath = path.resolve(positional[0] ?? path.join(repoRoot, 'proto-schemas', 'asyncapi.yaml'));
const shown = (p) => {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') ? rel : p;
};

if (!fs.existsSync(docPath)) {
  console.error(`error  ${shown(docPath)}: no such file`);
  process.exit(1);
}

const parser = new Parser();
const { document, diagnostics } = await fromFile(parser, docPath).parse();

// Our own findings use the same shape as the parser's diagnostics.
const findings = [...diagnostics];
const own = (code, message, where) =>
  findings.push({ code, message, path: where, severity: 0, source: docPath });

if (document) {
  // 1. Nothing may be left as a reference after resolution.
  const walk = (node, at) => {
    if (Array.isArray(node)) {
      node.forEach((v, i) => walk(v, [...at, i]));
    } else if (node && typeof node === 'object') {
      if (typeof node.$ref === 'string') {
        own('gadai-unresolved-ref', `reference "${node.$ref}" was not resolved`, at);
      }
      for (const [k, v] of Object.entries(node)) walk(v, [...at, k]);
    }
  };
  walk(document.json(), []);

  // 2. and 3. Payloads of the messages on every channel.
  for (const channel of document.channels()) {
    for (const message of channel.messages()) {
      const where = ['channels', channel.id(), 'messages', message.id()];
      // The schema model also unwraps multi-format payloads ({schemaFormat, schema}).
      const payload = message.payload();
      if (!payload || payload.type() !== 'object') {
        own('gadai-payload-object', `message "${message.id()}" has no object payload`, [...where, 'payload']);
        continue;
      }
      const address = channel.address();
      const typeProp = payload.properties()?.type;
      if (address && typeProp) {
        const pinned = typeProp.const() !== undefined ? [typeProp.const()] : typeProp.enum();
        if (Array.isArray(pinned) && !(pinned.length === 1 && pinned[0] === address)) {
          own(
            'gadai-event-type',
            `payload of "${message.id()}" pins "type" to ${JSON.stringify(pinned)}, but the channel address is "${address}"`,
            [...where, 'payload', 'properties', 'type'],
          );
        }
      }
    }
  }
} else if (!findings.some((d) => d.severity === 0)) {
  own('gadai-no-document', 'the parser returned no document', []);
}

const counts = [0, 0, 0, 0];
findings.sort((a, b) => a.severity - b.severity);
for (const d of findings) {
  counts[d.severity] = (counts[d.severity] ?? 0) + 1;
  if (d.severity > 1 && !verbose) continue;
  const file = d.source ? shown(d.source) : shown(docPath);
  const line = d.range ? `:${d.range.start.line + 1}:${d.range.start.character + 1}` : '';
  const at = d.path && d.path.length ? `  at ${d.path.join('.')}` : '';
  const stream = d.severity === 0 ? console.error : console.log;
  stream(`${SEVERITY[d.severity] ?? d.severity}  ${d.code}  ${file}${line}${at}\n    ${d.message}`);
}

const extra = `${counts[1]} warning(s), ${counts[2]} info, ${counts[3]} hint(s)`;
if (counts[0] > 0 || !document) {
  console.error(`asyncapi: ${shown(docPath)} is INVALID: ${counts[0]} error(s), ${extra}`);
  process.exit(1);
}

const messageIds = new Set();
for (const channel of document.channels()) for (const m of channel.messages()) messageIds.add(m.id());
console.log(
  `asyncapi: ${document.channels().length} channels, ${messageIds.size} messages, ` +
    `${document.operations().length} operations, valid (${extra})`,
);
