// The multi-threaded wasm build started in Node (src/engine/wasmKernels/threadedBackend.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/paths';

test('the threaded wasm build runs with 2 threads in Node and matches cpu', () => {
  const child = path.join(REPO_ROOT, 'test', 'helpers', 'wasmThreadedChild.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, '2'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  assert.equal(r.status, 0, `child failed: ${line}\n${r.stderr.slice(-2000)}`);
  const result = JSON.parse(line) as { threads: number; backendName: string; rel: number[] };
  assert.equal(result.backendName, 'wasm');
  assert.equal(result.threads, 2);
  assert.equal(result.rel.length, 2);
  for (const e of result.rel) assert.ok(e <= 1e-4, `relative error ${e}`);
});
