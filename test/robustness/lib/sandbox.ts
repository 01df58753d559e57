// What the fuzz runner watches while an input runs:
//  - a recording layer over node:fs and node:fs/promises that notes every write, and every
//    content read (open/readFile/readdir/streams; not stat/realpath/access), outside the
//    folders the input may use — symbolic links resolved, so a link that leads out is caught;
//  - snapshots of folders (names and SHA-256 of contents) to find files an input left behind
//    or changed, and leftovers by name (*.tmp, .writing-*, *.partial, .previous, .old).
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { walkTree } from '../../helpers/leftovers';

/** Names the project's atomic writers use for work in progress; none may outlive an operation. */
export const LEFTOVER_PATTERN = /(\.tmp$|\.writing-|\.partial$|\.previous$|\.old$)/;

export function isInside(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

type Access = 'read' | 'write' | 'meta';

const realpathSync = fs.realpathSync.native;

function toPath(p: unknown): string | undefined {
  if (typeof p === 'string') return p;
  if (Buffer.isBuffer(p)) return p.toString();
  if (p instanceof URL) return p.protocol === 'file:' ? fileURLToPath(p) : undefined;
  return undefined; // file descriptors and FileHandles: the open that made them was recorded
}

/** The real location an operation on `p` affects: the path itself if it exists, else its parent's real path + its name. */
function realLocation(p: string): string {
  const abs = path.resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    try {
      return path.join(realpathSync(path.dirname(abs)), path.basename(abs));
    } catch {
      return abs;
    }
  }
}

/**
 * Where an operation that never follows a final symbolic link (rename, unlink, rm, mkdir…)
 * acts: the link itself, i.e. the real path of its folder plus its name.
 */
function linkLocation(p: string): string {
  const abs = path.resolve(p);
  try {
    return path.join(realpathSync(path.dirname(abs)), path.basename(abs));
  } catch {
    return abs;
  }
}

/** Operations that act on a final link itself rather than on what it points at. */
const NO_FOLLOW = new Set(['rename', 'rm', 'rmdir', 'unlink', 'mkdir', 'symlink', 'lchown', 'lutimes']);

function openAccess(flags: unknown): Access {
  if (flags === undefined || flags === null) return 'read';
  if (typeof flags === 'string') return /[wax+]/.test(flags) ? 'write' : 'read';
  if (typeof flags === 'number') {
    const c = fs.constants;
    return flags & (c.O_WRONLY | c.O_RDWR | c.O_CREAT | c.O_TRUNC | c.O_APPEND) ? 'write' : 'read';
  }
  return 'read';
}

/** For each wrapped function: which arguments are paths and how they are used. */
type Spec = (args: unknown[]) => [unknown, Access][];
const W0: Spec = (a) => [[a[0], 'write']];
const R0: Spec = (a) => [[a[0], 'read']];
const SPECS: Record<string, Spec> = {
  open: (a) => [[a[0], openAccess(a[1])]],
  readFile: R0,
  readdir: R0,
  opendir: R0,
  readlink: R0,
  writeFile: W0,
  appendFile: W0,
  mkdir: W0,
  mkdtemp: W0,
  rm: W0,
  rmdir: W0,
  unlink: W0,
  truncate: W0,
  chmod: W0,
  chown: W0,
  utimes: W0,
  lchown: W0,
  lutimes: W0,
  rename: (a) => [
    [a[0], 'write'],
    [a[1], 'write'],
  ],
  link: (a) => [
    [a[0], 'read'],
    [a[1], 'write'],
  ],
  symlink: (a) => [[a[1], 'write']],
  copyFile: (a) => [
    [a[0], 'read'],
    [a[1], 'write'],
  ],
  cp: (a) => [
    [a[0], 'read'],
    [a[1], 'write'],
  ],
  createReadStream: R0,
  createWriteStream: W0,
  // Metadata: recorded only in strict mode (a validator must touch nothing at all).
  stat: (a) => [[a[0], 'meta']],
  lstat: (a) => [[a[0], 'meta']],
  access: (a) => [[a[0], 'meta']],
  exists: (a) => [[a[0], 'meta']],
  realpath: (a) => [[a[0], 'meta']],
};

export interface Violation {
  readonly op: string;
  readonly access: Access;
  readonly path: string;
}

export class FsRecorder {
  /** The installed recorder (families use it for strict sections). */
  static current: FsRecorder | undefined;
  private active = false;
  private writeRoots: string[] = [];
  private readRoots: string[] = [];
  private violations: Violation[] = [];
  private installed = false;
  private strict = false;

  install(): this {
    if (this.installed) return this;
    this.installed = true;
    const wrap = (target: Record<string, unknown>, name: string, spec: Spec, label: string) => {
      const original = target[name];
      if (typeof original !== 'function') return;
      const noFollow = NO_FOLLOW.has(name.replace(/Sync$/, ''));
      const onCall = (args: unknown[]) => {
        if (this.active) this.check(label, spec(args), noFollow);
      };
      const wrapped = function (this: unknown, ...args: unknown[]) {
        onCall(args);
        return (original as (...a: unknown[]) => unknown).apply(this, args);
      };
      Object.defineProperty(wrapped, 'name', { value: name });
      // util.promisify(fs.x) and fs.x.native must keep working.
      for (const k of Object.getOwnPropertyNames(original)) {
        if (k !== 'length' && k !== 'name' && k !== 'prototype') {
          try {
            Object.defineProperty(wrapped, k, Object.getOwnPropertyDescriptor(original, k)!);
          } catch {
            /* read-only */
          }
        }
      }
      for (const s of Object.getOwnPropertySymbols(original)) {
        try {
          Object.defineProperty(wrapped, s, Object.getOwnPropertyDescriptor(original, s)!);
        } catch {
          /* read-only */
        }
      }
      target[name] = wrapped;
    };
    const fsAny = fs as unknown as Record<string, unknown>;
    const fspAny = fsp as unknown as Record<string, unknown>;
    for (const [name, spec] of Object.entries(SPECS)) {
      wrap(fspAny, name, spec, `fs.promises.${name}`);
      wrap(fsAny, name, spec, `fs.${name}`);
      wrap(fsAny, `${name}Sync`, spec, `fs.${name}Sync`);
    }
    FsRecorder.current = this;
    return this;
  }

  /** Starts recording: writes may go only under `writeRoots`, content reads also under `readRoots`. */
  begin(writeRoots: readonly string[], readRoots: readonly string[] = []): void {
    this.writeRoots = writeRoots.map(realLocation);
    this.readRoots = [...this.writeRoots, ...readRoots.map(realLocation)];
    this.violations = [];
    this.active = true;
  }

  /** Runs `fn` with every file-system call (metadata included) counted as a violation. */
  async untouched<T>(fn: () => Promise<T> | T): Promise<T> {
    const was = this.strict;
    this.strict = true;
    try {
      return await fn();
    } finally {
      this.strict = was;
    }
  }

  /** Stops recording; returns what went outside the allowed folders. */
  end(): Violation[] {
    this.active = false;
    return this.violations;
  }

  private check(op: string, targets: [unknown, Access][], noFollow = false): void {
    for (const [raw, access] of targets) {
      const p = toPath(raw);
      if (p === undefined) continue;
      if (this.strict) {
        this.violations.push({ op, access, path: path.resolve(p) });
        continue;
      }
      if (access === 'meta') continue;
      const real = noFollow ? linkLocation(p) : realLocation(p);
      const roots = access === 'write' ? this.writeRoots : this.readRoots;
      if (!roots.some((r) => isInside(real, r))) this.violations.push({ op, access, path: real });
    }
  }
}

export type Snapshot = Map<string, string>;

/** Every entry under `dir` (relative path → 'dir', 'link:<target>' or the file's SHA-256). */
export function snapshot(dir: string): Snapshot {
  const out: Snapshot = new Map();
  walkTree(dir, (e, full, r) => {
    if (e.isSymbolicLink()) out.set(r, `link:${fs.readlinkSync(full)}`);
    // A FIFO, device or socket planted by an input: reading it would block the watcher itself.
    else if (e.isFIFO() || e.isCharacterDevice() || e.isBlockDevice() || e.isSocket()) out.set(r, 'special');
    else if (e.isDirectory()) {
      out.set(r, 'dir');
      return true;
    } else {
      try {
        out.set(r, crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex'));
      } catch {
        out.set(r, 'unreadable');
      }
    }
    return false;
  });
  return out;
}

export interface SnapshotDiff {
  /** Entries that appeared and were not expected. */
  readonly added: string[];
  /** Entries that were there before and changed or vanished (originals must stay byte-identical). */
  readonly changed: string[];
  /** Entries whose names say "work in progress". */
  readonly leftovers: string[];
}

export function diffSnapshots(
  before: Snapshot,
  after: Snapshot,
  expected: (rel: string) => boolean = () => false,
): SnapshotDiff {
  const added: string[] = [];
  const changed: string[] = [];
  const leftovers: string[] = [];
  for (const [k, v] of after) {
    if (LEFTOVER_PATTERN.test(path.basename(k))) leftovers.push(k);
    if (!before.has(k)) {
      if (!expected(k) && !LEFTOVER_PATTERN.test(path.basename(k))) added.push(k);
    } else if (before.get(k) !== v) changed.push(k);
  }
  for (const k of before.keys()) if (!after.has(k)) changed.push(k);
  return { added, changed, leftovers };
}
