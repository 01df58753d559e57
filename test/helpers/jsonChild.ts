// Runs a test helper (test/helpers/<name>.ts) in its own Node process — for backends whose
// threads would keep the test runner alive — and returns the JSON of its last stdout line.
// The child must exit 0; otherwise the assertion shows that line and the end of its stderr.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './paths';

export function runJsonChild<T>(helper: string, args: readonly string[], timeoutMs: number): T {
  const child = path.join(REPO_ROOT, 'test', 'helpers', `${helper}.ts`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  assert.equal(r.status, 0, `child failed: ${line}\n${r.stderr.slice(-2000)}`);
  return JSON.parse(line) as T;
}
