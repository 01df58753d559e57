// The packaged extension really contains what it needs: install the .vsix built by
// `npm run package` into code-server and run end-to-end scenarios against it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vsix = path.join(root, 'fast-style-transfer-linux-x64.vsix');
if (!fs.existsSync(vsix)) {
  console.error(`test-vsix: ${vsix} is missing; run npm run package first`);
  process.exit(1);
}
console.log(`test-vsix: ${path.basename(vsix)} (${(fs.statSync(vsix).size / 1e6).toFixed(1)} MB)`);
const r = spawnSync(process.execPath, [path.join(root, 'test', 'e2e', 'run.mjs'), 'stylize-and-train', 'gallery$'], {
  stdio: 'inherit', env: { ...process.env, VSIX: vsix, FST_E2E_OUT: path.join(root, 'test-results', 'e2e-vsix') },
});
process.exit(r.status ?? 1);
