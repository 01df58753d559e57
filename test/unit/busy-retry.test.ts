// Renames as Windows behaves: a file another program holds open cannot be replaced for a while
// (EPERM / EACCES / EBUSY). That lock cannot be made on this machine, so the Windows cases feed
// retryWhileBusy the errors Windows gives; the POSIX case renames over a really open file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { retryWhileBusy } from '../../src/shared/busyRetry';
import { writeFileAtomic } from '../../src/io/output';
import { tempDir } from '../helpers/paths';

const errno = (code: string) => Object.assign(new Error(`${code}: operation failed, rename`), { code });

/** An operation that fails with `codes` in turn, then returns 'done'. */
function failing(codes: string[]) {
  const calls: number[] = [];
  const op = async () => {
    calls.push(Date.now());
    const code = codes[calls.length - 1];
    if (code) throw errno(code);
    return 'done';
  };
  return { op, calls };
}

test('Windows: a rename that meets a busy file is retried until the file is free', async () => {
  for (const code of ['EPERM', 'EACCES', 'EBUSY']) {
    const { op, calls } = failing([code, code]);
    assert.equal(await retryWhileBusy(op, 'win32', [1, 1, 1]), 'done');
    assert.equal(calls.length, 3, code);
  }
});

test('Windows: a file that stays open fails with its error after the last wait; other errors at once', async () => {
  const busy = failing(['EBUSY', 'EBUSY', 'EBUSY', 'EBUSY', 'EBUSY']);
  await assert.rejects(retryWhileBusy(busy.op, 'win32', [1, 1, 1]), /EBUSY/);
  assert.equal(busy.calls.length, 4, 'one attempt plus one per wait');
  const missing = failing(['ENOENT']);
  await assert.rejects(retryWhileBusy(missing.op, 'win32', [1, 1, 1]), /ENOENT/);
  assert.equal(missing.calls.length, 1);
});

test('POSIX: one attempt (an EPERM there is a real permission problem)', async () => {
  for (const platform of ['linux', 'darwin']) {
    const { op, calls } = failing(['EPERM']);
    await assert.rejects(retryWhileBusy(op, platform, [1, 1, 1]), /EPERM/);
    assert.equal(calls.length, 1, platform);
  }
});

test(
  'POSIX: writeFileAtomic replaces a file that is open for reading; the reader keeps the old bytes',
  { skip: process.platform === 'win32' && 'POSIX semantics' },
  async () => {
    const dir = tempDir('fst-rename-');
    const target = path.join(dir, 'photo.udnie.png');
    fs.writeFileSync(target, 'old bytes');
    const reader = await fsp.open(target, 'r');
    try {
      await writeFileAtomic(target, new TextEncoder().encode('new bytes'), { overwrite: true });
      assert.equal(fs.readFileSync(target, 'utf8'), 'new bytes');
      assert.equal(await reader.readFile('utf8'), 'old bytes');
    } finally {
      await reader.close();
    }
    assert.deepEqual(fs.readdirSync(dir), ['photo.udnie.png'], 'no temp file left');
  },
);
