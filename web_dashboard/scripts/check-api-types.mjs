// Fails when src/api/openapi.gen.ts is not what `npm run gen:types` makes of
// services/dashboard-api/openapi.json: the web app's API types have drifted from the document.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const committed = 'src/api/openapi.gen.ts';
const dir = mkdtempSync(join(tmpdir(), 'gadai-api-types-'));
const fresh = join(dir, 'openapi.gen.ts');
try {
  execFileSync(
    'npx',
    ['openapi-typescript', '../services/dashboard-api/openapi.json', '--empty-objects-unknown', '-o', fresh],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (readFileSync(fresh, 'utf8') !== readFileSync(committed, 'utf8')) {
    console.error(`${committed} is stale: run \`npm run gen:types\` and commit the result.`);
    process.exit(1);
  }
  console.log(`${committed} matches services/dashboard-api/openapi.json`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
