// Where tests find the repository and the shared data (../shared/data beside the checkout).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const SHARED_DATA = process.env.FST_SHARED_DATA ?? path.resolve(REPO_ROOT, '..', 'shared', 'data');

export function shared(...parts: string[]): string {
  return path.join(SHARED_DATA, ...parts);
}

/**
 * True when ../shared/data is present. Without it a test skips and says why, except in CI
 * (CI always has it), where a missing folder is a failure.
 */
export function hasSharedData(t: TestContext): boolean {
  if (fs.existsSync(SHARED_DATA)) return true;
  if (process.env.CI) throw new Error(`shared data folder missing: ${SHARED_DATA} (CI must have it)`);
  t.skip(`skipped: shared data folder ${SHARED_DATA} not found`);
  return false;
}

/** A fresh temporary folder, removed when the process exits. */
export function tempDir(prefix = 'fst-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
