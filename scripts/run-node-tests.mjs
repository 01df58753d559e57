// Runs every *.test.ts under the given folders with Node's test runner (TypeScript through tsx).
// usage: node scripts/run-node-tests.mjs test/unit [more folders or files] [-- extra node args]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// ONNX Runtime's telemetry off in every process this starts (src/protocol/telemetry.ts).
process.env.ORT_DISABLE_TELEMETRY = '1';

const args = process.argv.slice(2);
const sep = args.indexOf('--');
const targets = sep === -1 ? args : args.slice(0, sep);
const extra = sep === -1 ? [] : args.slice(sep + 1);
const filter = process.env.TEST_FILTER ? new RegExp(process.env.TEST_FILTER) : null;

function collect(p) {
  const st = fs.statSync(p);
  if (st.isFile()) return [p];
  return fs.readdirSync(p, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(p, e.name);
    if (e.isDirectory()) return collect(full);
    return e.name.endsWith('.test.ts') ? [full] : [];
  });
}

const files = targets
  .flatMap(collect)
  .filter((f) => !filter || filter.test(f))
  .sort();
if (files.length === 0) {
  console.error(`no test files found in ${targets.join(', ')}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...extra, ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
