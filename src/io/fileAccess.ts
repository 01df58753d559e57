// The one way the engine reads a file out of a style, model, VGG or cache folder. Such folders
// come from elsewhere (a download, a shared style, a folder another local user could fill), so
// every read is: a plain name directly inside the folder; a symbolic link only when it resolves
// inside the folder; a regular file only (a FIFO or a link to /dev/zero would block a read
// forever, a device or socket is never data); opened without following links and non-blocking,
// then checked again on the open descriptor (the name could be swapped between the two); and
// no bigger than the caller's cap, checked before a byte is read.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { isInsideFolder } from '../shared/paths';

/** Why a file was refused; `code` is 'ENOENT' etc. for the operating system's own errors. */
export class FileAccessError extends Error {
  constructor(
    readonly code: 'EOUTSIDE' | 'ENOTREG' | 'EFBIG' | 'EBADNAME',
    /** What is wrong, without the file's name, e.g. "a FIFO (named pipe), not a regular file". */
    readonly reason: string,
    readonly file: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'FileAccessError';
  }
}

// Windows has neither flag; there, lstat before opening is the check.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0);

/** "a FIFO …" for anything that is not a regular file. */
export function describeFileType(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder, not a file';
  if (st.isFIFO()) return 'a FIFO (named pipe), not a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device, not a regular file';
  if (st.isSocket()) return 'a socket, not a regular file';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function sizeText(n: number): string {
  return n >= 1024 ** 3
    ? `${(n / 1024 ** 3).toFixed(1)} GiB`
    : n >= 1024 ** 2
      ? `${(n / 1024 ** 2).toFixed(1)} MiB`
      : `${n} bytes`;
}

/** One line for an error of this module or of the file system: the reason, or the errno code. */
export function fileErrorText(e: unknown): string {
  if (e instanceof FileAccessError) return e.reason;
  const err = e as NodeJS.ErrnoException;
  return err?.code ?? err?.message ?? String(e);
}

/** The error's code (ours or the operating system's), e.g. 'ENOENT' or 'ENOTREG'. */
export function fileErrorCode(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

/**
 * The path that `name` inside `dir` stands for, after checking it: a plain name, and, when it
 * is a symbolic link, one that resolves inside the folder. Nothing is opened. Throws
 * FileAccessError, or the file system's error (ENOENT when the name does not exist).
 */
export async function resolveInFolder(dir: string, name: string): Promise<string> {
  const root = path.resolve(dir);
  const file = path.resolve(root, name);
  if (!name || name.includes('\u0000') || path.dirname(file) !== root) {
    throw new FileAccessError(
      'EBADNAME',
      'names a file outside the folder (only plain file names are allowed)',
      path.join(dir, name.replace(/\u0000/g, '\\0')),
    );
  }
  const lst = await fsp.lstat(file);
  if (!lst.isSymbolicLink()) return file;
  let real: string;
  try {
    real = await fsp.realpath(file);
  } catch (e) {
    if (fileErrorCode(e) === 'ENOENT')
      throw new FileAccessError('ENOTREG', 'a symbolic link to nothing (dangling)', file);
    throw e;
  }
  const realRoot = await fsp.realpath(root).catch(() => root);
  if (!isInsideFolder(real, realRoot, path) || real === realRoot)
    throw new FileAccessError('EOUTSIDE', 'a symbolic link to a file outside the folder', file);
  return real;
}

/**
 * Reads the regular file at `file` (whose links, if any, the caller has vetted): refuses
 * anything else before opening (lstat) and after (fstat on the descriptor), and files over
 * `maxBytes`. `file` itself must not be a link.
 */
async function readRegularNoFollow(file: string, maxBytes: number, shownAs: string): Promise<Buffer> {
  const lst = await fsp.lstat(file);
  if (!lst.isFile()) throw new FileAccessError('ENOTREG', describeFileType(lst), shownAs);
  if (lst.size > maxBytes)
    throw new FileAccessError(
      'EFBIG',
      `${sizeText(lst.size)}, more than the ${sizeText(maxBytes)} this file can be`,
      shownAs,
    );
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, OPEN_FLAGS);
  } catch (e) {
    // O_NOFOLLOW on a link that appeared since the lstat.
    if (fileErrorCode(e) === 'ELOOP') throw new FileAccessError('ENOTREG', 'a symbolic link', shownAs);
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new FileAccessError('ENOTREG', describeFileType(st), shownAs);
    if (st.size > maxBytes)
      throw new FileAccessError(
        'EFBIG',
        `${sizeText(st.size)}, more than the ${sizeText(maxBytes)} this file can be`,
        shownAs,
      );
    // Read what fstat announced; a file that grows meanwhile is cut there, never read past the cap.
    const buf = Buffer.allocUnsafe(st.size);
    let filled = 0;
    while (filled < buf.length) {
      const { bytesRead } = await fh.read(buf, filled, buf.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === buf.length ? buf : buf.subarray(0, filled);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * The bytes of the regular file `name` directly inside `dir` (see the top of this file).
 * Errors: FileAccessError (outside, not regular, too big, bad name) or the file system's own
 * (ENOENT when missing, EACCES…); fileErrorText gives one line for either.
 */
export async function readFileInFolder(dir: string, name: string, maxBytes: number): Promise<Buffer> {
  const file = await resolveInFolder(dir, name);
  return readRegularNoFollow(file, maxBytes, path.join(dir, name));
}

/** As readFileInFolder, decoded as UTF-8. */
export async function readTextInFolder(dir: string, name: string, maxBytes: number): Promise<string> {
  return (await readFileInFolder(dir, name, maxBytes)).toString('utf8');
}

/**
 * The bytes of a file the user named directly (a .mat file given on the command line): the
 * user's own links are followed, but it must still be a regular file no bigger than `maxBytes`.
 */
export async function readRegularFile(file: string, maxBytes: number): Promise<Buffer> {
  const real = await fsp.realpath(file);
  return readRegularNoFollow(real, maxBytes, file);
}

/** True when `name` in `dir` exists as something (a dangling link counts: the name is taken). */
export async function nameTaken(dir: string, name: string): Promise<boolean> {
  try {
    await fsp.lstat(path.join(dir, name));
    return true;
  } catch (e) {
    if (fileErrorCode(e) === 'ENOENT' || fileErrorCode(e) === 'ENOTDIR') return false;
    throw e;
  }
}

/** Size caps: what each kind of file can reasonably be. */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;
/** weights.bin, a Keras shard, an ml5 variable, an ONNX graph: Buffers end at 2 GiB. */
export const MAX_BLOB_BYTES = 2 * 1024 * 1024 * 1024 - 1;
export const MAX_THUMBNAIL_BYTES = 16 * 1024 * 1024;
