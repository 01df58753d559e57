// Links and special files planted where a loader expects a regular file: the cases an outside
// tester used to make `fst` hang (a FIFO, a link to /dev/zero) or copy a file from elsewhere.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const SPECIAL_KINDS = ['link-outside', 'dangling-link', 'fifo', 'dev-zero-link', 'folder'] as const;
export type SpecialKind = (typeof SPECIAL_KINDS)[number];

/** FIFOs and /dev/zero exist on Linux and macOS only. */
export const specialFilesSupported = process.platform !== 'win32' && fs.existsSync('/dev/zero');

/**
 * Replaces `file` with `kind`; `outsideFile` is an existing file outside the folder (the target
 * of 'link-outside'). Returns the FIFO's path when one was made (pass it to unblockFifo).
 */
export function plantSpecial(file: string, kind: SpecialKind, outsideFile: string): string | undefined {
  fs.rmSync(file, { recursive: true, force: true });
  switch (kind) {
    case 'link-outside':
      fs.symlinkSync(outsideFile, file);
      return undefined;
    case 'dangling-link':
      fs.symlinkSync(path.join(path.dirname(file), 'no-such-file'), file);
      return undefined;
    case 'fifo':
      execFileSync('mkfifo', [file]);
      return file;
    case 'dev-zero-link':
      fs.symlinkSync('/dev/zero', file);
      return undefined;
    case 'folder':
      fs.mkdirSync(file);
      return undefined;
  }
}

/**
 * Lets any reader still blocked on `fifo` finish (opens the write end and closes it, which
 * gives the reader end-of-file), so a regression fails its test instead of hanging the process.
 */
export function unblockFifo(fifo: string): void {
  try {
    const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    fs.closeSync(fd);
  } catch {
    /* ENXIO: nobody is reading — the good case */
  }
}

/** Runs `p` with a deadline: a read that blocks on a FIFO or /dev/zero fails instead of hanging. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} still running after ${ms} ms (hangs?)`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
