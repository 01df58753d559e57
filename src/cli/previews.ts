// Preview images of `fst train` / `fst optimize --preview-dir` (issue 15.3). A preview is an
// extra: a folder that cannot be written costs one line on stderr, never the run or its
// checkpoint. Files are created exclusively (never over an existing file, never through a
// link): written under a fresh temp name, then hard-linked to their name, which fails rather
// than replace anything; a name already taken gets a -2, -3… suffix.
import crypto from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

const MAX_SUFFIX = 1000;
const TEMP_NAME = /^\.preview-\d{6,}\.[0-9a-f]{12}\.tmp$/;

/** Why a write failed, in a few words (Node's messages repeat the syscall and the path). */
function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    ENOTDIR: 'a file is in the way of the folder',
    EACCES: 'permission denied',
    EPERM: 'not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    EEXIST: 'a file is in the way of the folder',
    ELOOP: 'too many links',
  };
  return (err?.code && words[err.code]) ?? (err?.message ?? String(e)).split('\n')[0];
}

/** Puts `tmp`'s bytes at `file`, which must not exist (EEXIST otherwise, also for a link there). */
async function place(tmp: string, file: string): Promise<void> {
  try {
    await fs.link(tmp, file); // complete at once; refuses any existing entry and follows nothing
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // File systems without hard links: an exclusive copy (O_EXCL: refuses a link there too).
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
    await fs.copyFile(tmp, file, fsConstants.COPYFILE_EXCL);
  }
}

export class PreviewWriter {
  private failed = false;
  private ready: Promise<boolean> | undefined;
  private readonly pending = new Set<Promise<void>>();
  /** Files written, in order. */
  readonly written: string[] = [];

  /** `warn` gets the one line said when previews stop (an unwritable folder, a full disk…). */
  constructor(
    private readonly dir: string,
    private readonly warn: (line: string) => void,
  ) {}

  /** Creates the folder now, so that a problem shows before a long run rather than after its first preview. */
  prepare(): Promise<boolean> {
    return (this.ready ??= fs
      .mkdir(this.dir, { recursive: true })
      .then(async () => {
        if (!(await fs.stat(this.dir)).isDirectory())
          throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
        // Temp files of a run killed mid-write (a minute old: not another run's write in flight;
        // unlink removes a link, never its target).
        for (const f of (await fs.readdir(this.dir)).filter((n) => TEMP_NAME.test(n))) {
          const file = path.join(this.dir, f);
          if (Date.now() - (await fs.lstat(file)).mtimeMs > 60_000) await fs.unlink(file).catch(() => undefined);
        }
        return true;
      })
      .catch((e: unknown) => this.fail(`cannot create the folder ${this.dir}: ${reason(e)}`)));
  }

  /** Writes `preview-<step>.png` (or the next free -N name) in the background; never throws. */
  write(step: number, bytes: Uint8Array): void {
    if (this.failed) return;
    const p = this.writeNow(`preview-${String(step).padStart(6, '0')}`, bytes).catch((e: unknown) => {
      this.fail(`cannot write into ${this.dir}: ${reason(e)}`);
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Waits for the writes in flight (their failures are already reported). */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private fail(line: string): false {
    if (!this.failed) this.warn(`${line}; no more previews are written (the run goes on)`);
    this.failed = true;
    return false;
  }

  private async writeNow(base: string, bytes: Uint8Array): Promise<void> {
    if (!(await this.prepare())) return;
    const tmp = path.join(this.dir, `.${base}.${crypto.randomBytes(6).toString('hex')}.tmp`);
    // 'wx': O_CREAT|O_EXCL, which also refuses a link planted under the temp name.
    await fs.writeFile(tmp, bytes, { flag: 'wx', mode: 0o644 });
    try {
      for (let n = 1; n <= MAX_SUFFIX; n++) {
        const file = path.join(this.dir, `${base}${n === 1 ? '' : `-${n}`}.png`);
        try {
          await place(tmp, file);
          this.written.push(file);
          return;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
      }
      throw new Error(`${base}.png … ${base}-${MAX_SUFFIX}.png all exist`);
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }
}
