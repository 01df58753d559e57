// The fuzz families, in run order. Each is loaded only by the child process that runs it, so
// the runner itself stays light. A family whose code under test is not in this checkout yet
// says so through `available` and is skipped (the gallery validator, until it is merged).
import fs from 'node:fs';
import path from 'node:path';

export interface FamilyEntry {
  readonly name: string;
  /** Module exporting `family` (relative to this folder). */
  readonly module: string;
  /** true, or why the family cannot run in this checkout. */
  available(repoRoot: string): true | string;
  /** Not listed in the report when unavailable (the runner's own self-test). */
  readonly hidden?: boolean;
}

const always = () => true as const;

export const FAMILIES: readonly FamilyEntry[] = [
  { name: 'images', module: './images', available: always },
  { name: 'checkpoints', module: './checkpoints', available: always },
  { name: 'ml5', module: './ml5', available: always },
  { name: 'vgg', module: './vgg', available: always },
  { name: 'caches', module: './caches', available: always },
  { name: 'writes', module: './writes', available: () => (process.platform === 'win32' ? 'needs mkfifo' : true) },
  {
    name: 'links',
    module: './links',
    available: () => (process.platform === 'win32' ? 'needs mkfifo and /dev/zero' : true),
  },
  {
    name: 'gallery-messages',
    module: './gallery',
    available: (root) =>
      fs.existsSync(path.join(root, 'src', 'protocol', 'gallery.ts')) &&
      fs.existsSync(path.join(root, 'src', 'views', 'gallery', 'pathGuard.ts'))
        ? true
        : 'src/protocol/gallery.ts (the gallery webview validator) is not in this checkout yet',
  },
  {
    name: 'selftest',
    module: './selftest',
    hidden: true,
    available: () => (process.env.FST_ROBUSTNESS_SELFTEST === '1' ? true : 'only with FST_ROBUSTNESS_SELFTEST=1'),
  },
  {
    name: 'worker',
    module: './worker',
    available: (root) =>
      fs.existsSync(path.join(root, 'dist', 'worker.js'))
        ? true
        : 'dist/worker.js is missing: run `node esbuild.mjs` first',
  },
];
