// The packaged extensions really contain what they need: every platform's .vsix built by
// `npm run package:all` is checked without its platform (scripts/vsix-check.mjs), then the
// linux-x64 one is installed into code-server and exercised end to end.
//   node scripts/test-vsix.mjs [--no-e2e]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT as root, TARGETS, vsixPath } from './package.mjs';
import { checkVsix, expectedNatives, sharedDataIndex } from './vsix-check.mjs';

const t0 = Date.now();
const dataDir = process.env.FST_SHARED_DATA ?? path.resolve(root, '..', 'shared', 'data');
const dataIndex = sharedDataIndex(dataDir);
if (!dataIndex) console.log(`test-vsix: ${dataDir} is absent; the check for packed data files is skipped`);
let failed = false;
for (const target of Object.keys(TARGETS)) {
  const file = vsixPath(target);
  if (!fs.existsSync(file)) {
    console.error(`test-vsix: ${file} is missing; run npm run package:all first`);
    failed = true;
    continue;
  }
  // onnxruntime-node publishes no binary for some targets (darwin-x64 in 1.30): expect it only where it exists.
  const [os, cpu] = target.split('-');
  const onnxRuntime = fs.existsSync(path.join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', os, cpu));
  const r = checkVsix(file, target, { dataIndex, expect: expectedNatives(target, { onnxRuntime }) });
  const mb = (n) => (n / 1e6).toFixed(1);
  console.log(
    `test-vsix: ${path.basename(file)} ${mb(r.size)} MB (${mb(r.unpacked)} MB unpacked, ${r.files} files, ${r.natives.length} native${onnxRuntime ? '' : ', no ONNX Runtime'}) ${r.problems.length ? 'FAIL' : 'ok'}`,
  );
  for (const p of r.problems) console.error(`  ${p}`);
  failed ||= r.problems.length > 0;
}
console.log(`test-vsix: checks took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
if (failed) process.exit(1);
if (process.argv.includes('--no-e2e')) process.exit(0);

const vsix = vsixPath('linux-x64');
const r = spawnSync(process.execPath, [path.join(root, 'test', 'e2e', 'run.mjs'), 'stylize-and-train', 'gallery$'], {
  stdio: 'inherit',
  env: { ...process.env, VSIX: vsix, FST_E2E_OUT: path.join(root, 'test-results', 'e2e-vsix') },
});
process.exit(r.status ?? 1);
