// Simulates a process killed in the middle of a write: every file operation (node:fs/promises
// and FileHandle methods) is counted, and from the `limit`-th on each one fails, the clean-up
// included, as nothing more happens once a process has died. Used to stop a checkpoint write
// between every pair of its file operations.
import fsp from 'node:fs/promises';

export class Killed extends Error {}

const PATH_OPS = [
  'mkdir',
  'mkdtemp',
  'readdir',
  'rm',
  'rmdir',
  'unlink',
  'open',
  'rename',
  'readFile',
  'writeFile',
  'copyFile',
  'link',
  'symlink',
  'lstat',
  'stat',
  'access',
  'realpath',
];
const HANDLE_OPS = ['writeFile', 'write', 'read', 'stat', 'sync', 'datasync', 'close'];

let handleProto: Record<string, unknown> | undefined;

/** FileHandle.prototype (Node does not export the class). */
async function fileHandlePrototype(): Promise<Record<string, unknown>> {
  if (!handleProto) {
    const fh = await fsp.open(__filename, 'r');
    handleProto = Object.getPrototypeOf(fh) as Record<string, unknown>;
    await fh.close();
  }
  return handleProto;
}

export interface Freeze {
  /** Operations attempted so far (run with limit = Infinity to count a whole write). */
  count(): number;
  restore(): void;
}

export async function freezeFsAfter(limit: number): Promise<Freeze> {
  const proto = await fileHandlePrototype();
  let ops = 0;
  const undo: (() => void)[] = [];
  const patch = (obj: Record<string, unknown>, name: string) => {
    const orig = obj[name] as (...a: unknown[]) => unknown;
    if (typeof orig !== 'function') return;
    obj[name] = function (this: unknown, ...a: unknown[]) {
      if (ops++ >= limit) return Promise.reject(new Killed(`killed before ${name} (operation ${ops})`));
      return orig.apply(this, a);
    };
    undo.push(() => {
      obj[name] = orig;
    });
  };
  for (const n of PATH_OPS) patch(fsp as unknown as Record<string, unknown>, n);
  for (const n of HANDLE_OPS) patch(proto, n);
  return { count: () => ops, restore: () => undo.reverse().forEach((f) => f()) };
}

/** Runs `write` killed after `limit` operations; returns how many it attempted. */
export async function runKilledAfter(limit: number, write: () => Promise<unknown>): Promise<number> {
  const f = await freezeFsAfter(limit);
  try {
    await write();
  } catch {
    /* killed */
  } finally {
    f.restore();
  }
  return f.count();
}
