// The fuzz runner itself: inputs that crash, leave files, escape, leak, die natively or hang
// are each counted, the runner survives a dead child and goes on, the last line is the one
// summary line, and the exit status is non-zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/paths';

test('the runner counts every kind of failure and fails the suite', () => {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(REPO_ROOT, 'test', 'robustness', 'run.ts'), 'selftest'],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 180_000,
      env: { ...process.env, FST_ROBUSTNESS_SELFTEST: '1', FST_ROBUSTNESS_INPUT_TIMEOUT_MS: '5000' },
    },
  );
  const lines = r.stdout.trim().split('\n');
  const summary = lines[lines.length - 1];
  const m = /^robustness: (\d+) inputs, (\d+) crashes, (\d+) partial files, (\d+) escapes, (\d+) leaked tensors$/.exec(
    summary,
  );
  assert.ok(m, `last line is the summary: ${summary}\n${r.stdout}\n${r.stderr}`);
  assert.equal(lines.filter((l) => l.startsWith('robustness:')).length, 1, 'exactly one summary line');
  const [, n, c, p, e, l] = m.map(Number);
  assert.equal(n, 12, 'every input ran, also after the native crash and the hang');
  assert.equal(c, 4, 'TypeError, internal error, SIGSEGV and the hang are crashes');
  assert.equal(p, 3, 'a temp file, an unexpected file and a changed original');
  assert.ok(e >= 3, `a write and a read outside, and the changed decoy tree (got ${e})`);
  assert.equal(l, 1, 'one leaked tensor');
  assert.equal(r.status, 1);
  for (const kind of [
    'type-error',
    'internal',
    'native-crash',
    'hang',
    'temp-file',
    'unexpected-file',
    'original-changed',
    'write-outside',
    'read-outside',
    'leak',
  ]) {
    assert.match(r.stdout, new RegExp(`#\\d+ ${kind}:`), `${kind} is reported`);
  }
  assert.doesNotMatch(r.stdout, /#\d+ handled/, 'a foreseen error is not a problem');
});
