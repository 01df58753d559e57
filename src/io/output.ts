// Writing results without ever losing a file: outputs get a fresh name beside the input
// (name.<style>.ext, name.<style>-2.ext, …), bytes go to a temporary file in the target folder
// that is fsynced and then linked/renamed into place, and any failure removes the temporary
// file and says precisely what the file system refused.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { StyleTransferError } from '../protocol/errors';
import { retryWhileBusy } from '../shared/busyRetry';
import { FORMAT_EXTENSION, formatFromExtension, type ImageFormat } from './formats';
import { encodeImage, type EncodableImage, type EncodeOptions } from './imageEncode';

const MAX_STYLE_NAME = 64;
const MAX_CANDIDATES = 10_000;

/**
 * A style name made safe as part of a file name on Windows, macOS and Linux: reserved and
 * control characters and whitespace become '-', leading/trailing dots and dashes go, the
 * length is capped; an empty result becomes 'styled'.
 */
export function sanitizeStyleName(name: string): string {
  const cleaned = name
    .normalize('NFC')
    .replace(/[<>:"/\\|?*\u0000-\u001f\u007f\s]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[.\-]+|[.\-]+$/g, '');
  const capped = [...cleaned]
    .slice(0, MAX_STYLE_NAME)
    .join('')
    .replace(/[.\-]+$/g, '');
  return capped || 'styled';
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p); // lstat: a dangling symlink still occupies the name
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw fileSystemError(e, p, 'check');
  }
}

/**
 * Where to write `input` stylized with `styleName`: `dir/name.<style>.<ext>`, or the first free
 * `name.<style>-N.<ext>` (N = 2, 3, …). The extension is the input's when it names `format`
 * (or, without `format`, any writable format), else the format's canonical one; inputs in a
 * format we cannot write (HEIC) become PNG; `extension` (".mp4") overrides all that. Never
 * returns an existing path.
 */
export async function outputPathFor(
  input: string,
  styleName: string,
  opts: { outDir?: string; format?: ImageFormat; extension?: string } = {},
): Promise<string> {
  const dir = opts.outDir ?? path.dirname(input);
  const inputExt = path.extname(input);
  const base = path.basename(input, inputExt) || path.basename(input);
  const inputFormat = formatFromExtension(input);
  const format = opts.format ?? inputFormat ?? 'png';
  const ext = opts.extension ?? (inputFormat === format ? inputExt : FORMAT_EXTENSION[format]);
  const style = sanitizeStyleName(styleName);
  for (let i = 1; i <= MAX_CANDIDATES; i++) {
    const candidate = path.join(dir, `${base}.${style}${i === 1 ? '' : `-${i}`}${ext}`);
    if (!(await exists(candidate))) return candidate;
  }
  throw new StyleTransferError(
    'output-exists',
    `${MAX_CANDIDATES} files named ${base}.${style}*${ext} already exist in ${dir}; choose another output folder`,
  );
}

/** One precise error for a failed file-system operation on `target`. */
export function fileSystemError(e: unknown, target: string, action: 'write' | 'check' | 'create'): StyleTransferError {
  if (e instanceof StyleTransferError) return e;
  const err = e as NodeJS.ErrnoException;
  const dir = path.dirname(target);
  const detail = err?.message ?? String(e);
  const io = (message: string) => new StyleTransferError('io', message, detail);
  switch (err?.code) {
    case 'EEXIST':
    case 'ENOTEMPTY':
      return new StyleTransferError('output-exists', `${target} already exists; not overwriting it`, detail);
    case 'ENOENT':
      return new StyleTransferError(
        'not-found',
        `cannot ${action} ${target}: the folder ${dir} does not exist`,
        detail,
      );
    case 'ENOTDIR':
      return io(`cannot ${action} ${target}: a part of the path ${dir} is a file, not a folder`);
    case 'EISDIR':
      return io(`cannot ${action} ${target}: it is a folder`);
    case 'EACCES':
    case 'EPERM':
    case 'EBUSY':
      // Windows reports a file held open by another program (a viewer, a scanner) this way too.
      return io(
        process.platform === 'win32'
          ? `cannot ${action} ${target}: permission denied in ${dir}, or the file is open in another program`
          : `cannot ${action} ${target}: permission denied in ${dir}`,
      );
    case 'EROFS':
      return io(`cannot ${action} ${target}: ${dir} is on a read-only file system`);
    case 'ENOSPC':
      return io(`cannot ${action} ${target}: the disk is full`);
    case 'EDQUOT':
      return io(`cannot ${action} ${target}: disk quota exceeded`);
    case 'ENAMETOOLONG':
      return io(`cannot ${action} ${target}: the file name is too long`);
    case 'EMFILE':
    case 'ENFILE':
      return io(`cannot ${action} ${target}: too many open files`);
    case 'EIO':
      return io(`cannot ${action} ${target}: input/output error on the device`);
    default:
      return io(`cannot ${action} ${target}: ${detail}`);
  }
}

/**
 * `.name.<random>.<pid>.tmp` beside `target`, short enough to stay under the usual 255-byte
 * limit. The process id lets a later run tell a dead writer's leftover from a live one's work.
 */
function tempPathFor(target: string): string {
  const name = path.basename(target).slice(0, 100);
  return path.join(path.dirname(target), `.${name}.${crypto.randomBytes(6).toString('hex')}.${process.pid}.tmp`);
}

// Temp files and folders only: a `.old` folder may be the only copy left by a kill mid-swap.
const TEMP_NAME = /^\..+\.[0-9a-f]{12}\.(\d+)\.tmp$/;
const swept = new Set<string>();

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/**
 * Removes what interrupted writes (a kill, a power cut) left in `dir`: our temp files and
 * folders whose writing process is gone. Once per folder and process; never fails the write.
 */
async function sweepLeftovers(dir: string): Promise<void> {
  const key = path.resolve(dir);
  if (swept.has(key)) return;
  swept.add(key);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    const p = path.join(dir, name);
    // Only what we make (files and folders), never a link or special file someone put there.
    const st = await fs.lstat(p).catch(() => undefined);
    if (st && (st.isFile() || st.isDirectory()))
      await fs.rm(p, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function removeQuietly(p: string, recursive = false): Promise<void> {
  await fs.rm(p, { force: true, recursive }).catch(() => undefined);
}

/** fs.rename, retried for a moment on Windows while another program holds the file (busyRetry.ts). */
function rename(from: string, to: string): Promise<void> {
  return retryWhileBusy(() => fs.rename(from, to), process.platform);
}

/** Makes a completed rename durable; not possible on every platform (Windows), so best effort. */
async function syncDir(dir: string): Promise<void> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(dir, 'r');
    await fh.sync();
  } catch {
    // directories cannot be opened or fsynced everywhere; the data itself is already synced
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV']);

/**
 * Moves the finished temp file to `target` only if `target` does not exist. A hard link fails
 * atomically with EEXIST when something took the name meanwhile. On file systems without hard
 * links (FAT, some network shares) the name is reserved with an exclusive create and the temp
 * file renamed over that empty placeholder.
 */
async function moveNoClobber(tmp: string, target: string): Promise<void> {
  try {
    await fs.link(tmp, target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (!NO_HARD_LINKS.has(code)) throw e;
    const placeholder = await fs.open(target, 'wx'); // EEXIST if taken
    await placeholder.close();
    try {
      await rename(tmp, target);
    } catch (e2) {
      await removeQuietly(target);
      throw e2;
    }
    return;
  }
  await removeQuietly(tmp);
}

/**
 * Refuses a target that is already there (a dangling link counts as absent, as before):
 * one 'output-exists' error, `<target> already exists; <advice>`. Writers that create their
 * output all at once (checkpoints, ONNX files) check this first, before any slow work.
 */
export async function refuseExisting(target: string, advice = 'not overwriting it'): Promise<void> {
  try {
    await fs.access(target);
  } catch {
    return;
  }
  throw new StyleTransferError('output-exists', `${target} already exists; ${advice}`);
}

export interface WriteOptions {
  /** Replace an existing file (atomically: readers see the old or the new file, never a mix). */
  readonly overwrite?: boolean;
  /** Create missing parent folders. */
  readonly createDir?: boolean;
}

/** Creates the folder `target` goes in (and its parents); a failure is one StyleTransferError naming `target`. */
async function createFolderFor(target: string): Promise<void> {
  try {
    await fs.mkdir(path.dirname(target), { recursive: true });
  } catch (e) {
    throw fileSystemError(e, target, 'create');
  }
}

/**
 * Writes `bytes` to `target` all at once or not at all: a temp file in the same folder,
 * fsynced, then renamed (overwrite) or linked (no overwrite: an existing file, even one created
 * while writing, is never clobbered). On failure the temp file is removed and one
 * StyleTransferError ('io', 'not-found' or 'output-exists') is thrown.
 */
export async function writeFileAtomic(target: string, bytes: Uint8Array, opts: WriteOptions = {}): Promise<void> {
  const dir = path.dirname(target);
  if (opts.createDir) await createFolderFor(target);
  if (!opts.overwrite && (await exists(target))) {
    throw new StyleTransferError('output-exists', `${target} already exists; not overwriting it`);
  }
  if (opts.overwrite) {
    // Replace only a file: a link (dangling or not), FIFO or device there is not ours (a folder fails the rename).
    const st = await fs.lstat(target).catch(() => undefined);
    if (st && !st.isFile() && !st.isDirectory())
      throw new StyleTransferError(
        'output-exists',
        `${target} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; not replacing it`,
      );
  }
  await sweepLeftovers(dir);
  const tmp = tempPathFor(target);
  let fh: fs.FileHandle | undefined;
  let created = false;
  try {
    fh = await fs.open(tmp, 'wx');
    created = true;
    await fh.writeFile(bytes);
    await fh.sync();
    await fh.close();
    fh = undefined;
    if (opts.overwrite) await rename(tmp, target);
    else await moveNoClobber(tmp, target);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    if (created) await removeQuietly(tmp);
    throw fileSystemError(e, target, 'write');
  }
  await syncDir(dir);
}

/** Writes `bytes` to a fresh, never-existing file chosen by `pathFor` (retried if the name is taken meanwhile). */
async function writeNew(pathFor: () => Promise<string>, bytes: Uint8Array, createDir: boolean): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const target = await pathFor();
    try {
      await writeFileAtomic(target, bytes, { createDir });
      return target;
    } catch (e) {
      if (e instanceof StyleTransferError && e.code === 'output-exists' && attempt < 10) continue;
      throw e;
    }
  }
}

export interface WriteImageOptions extends EncodeOptions, WriteOptions {
  /** Default: from the target's extension. */
  readonly format?: ImageFormat;
}

/** Encodes and writes an image atomically; the format comes from the extension unless given. */
export async function writeImageFile(target: string, img: EncodableImage, opts: WriteImageOptions = {}): Promise<void> {
  const format = opts.format ?? formatFromExtension(target);
  if (!format) {
    throw new StyleTransferError(
      'bad-input',
      `cannot tell the image format from the name ${path.basename(target)}; use .png, .jpg, .webp, .avif, .tif or .gif`,
    );
  }
  const bytes = await encodeImage(img, format, opts);
  await writeFileAtomic(target, bytes, opts);
}

/**
 * Writes a stylized result for `input` under a fresh name (see outputPathFor) and returns the
 * path. Encoding happens once; if another process takes the chosen name before the write, the
 * next free name is used.
 */
export async function writeStylizedImage(
  input: string,
  styleName: string,
  img: EncodableImage,
  opts: EncodeOptions & { outDir?: string; format?: ImageFormat; createDir?: boolean } = {},
): Promise<string> {
  const format = opts.format ?? formatFromExtension(input) ?? 'png';
  const bytes = await encodeImage(img, format, opts);
  return writeNew(
    () => outputPathFor(input, styleName, { outDir: opts.outDir, format }),
    bytes,
    opts.createDir ?? false,
  );
}

/** Writes already encoded `bytes` for `input` under a fresh name (see outputPathFor) and returns the path. */
export function writeStylizedBytes(
  input: string,
  styleName: string,
  bytes: Uint8Array,
  opts: { outDir?: string; format?: ImageFormat; createDir?: boolean } = {},
): Promise<string> {
  return writeNew(
    () => outputPathFor(input, styleName, { outDir: opts.outDir, format: opts.format }),
    bytes,
    opts.createDir ?? false,
  );
}

/**
 * A new file for `input` whose contents another program writes (ffmpeg): `produce` fills a
 * temporary file beside the target, which is then fsynced and linked to a fresh name
 * (outputPathFor with `extension`; the next free one if another process took it meanwhile).
 * Whatever `produce` throws (a cancel included) removes the temporary file and is rethrown.
 */
export async function writeProducedFile(
  input: string,
  styleName: string,
  extension: string,
  produce: (tmp: string) => Promise<void>,
  opts: { outDir?: string; createDir?: boolean } = {},
): Promise<string> {
  const pathFor = () => outputPathFor(input, styleName, { outDir: opts.outDir, extension });
  let target = await pathFor();
  const dir = path.dirname(target);
  if (opts.createDir) await createFolderFor(target);
  await sweepLeftovers(dir);
  const tmp = tempPathFor(target);
  try {
    await produce(tmp);
    const fh = await fs.open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await moveNoClobber(tmp, target);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 10) throw fileSystemError(e, target, 'write');
        target = await pathFor();
      }
    }
  } catch (e) {
    await removeQuietly(tmp);
    throw e instanceof StyleTransferError ? e : fileSystemError(e, target, 'write');
  }
  await syncDir(dir);
  return target;
}

/** fsyncs every file under `dir` so a renamed folder never holds half-written files after a crash. */
async function syncTree(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await syncTree(p);
    } else if (entry.isFile()) {
      // 'r+': Windows flushes only a handle with write access (FlushFileBuffers; EPERM with 'r').
      const fh = await fs.open(p, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }
  await syncDir(dir);
}

/**
 * Creates the folder `targetDir` all at once: `fill` writes into a fresh temp folder beside it,
 * which is then renamed into place. Without `overwrite` an existing non-empty `targetDir` is an
 * 'output-exists' error (checked before and, atomically, by the rename). With `overwrite` the
 * old folder is moved aside, the new one renamed in, and the old one deleted; if the second
 * rename fails the old folder is put back. Whatever `fill` throws is rethrown after the temp
 * folder is removed.
 */
export async function writeDirAtomic(
  targetDir: string,
  fill: (tmpDir: string) => Promise<void>,
  opts: WriteOptions = {},
): Promise<void> {
  const parent = path.dirname(targetDir);
  if (opts.createDir) {
    try {
      await fs.mkdir(parent, { recursive: true });
    } catch (e) {
      throw fileSystemError(e, targetDir, 'create');
    }
  }
  if (!opts.overwrite && (await exists(targetDir))) {
    throw new StyleTransferError('output-exists', `${targetDir} already exists; not overwriting it`);
  }
  await sweepLeftovers(parent);
  const tmp = tempPathFor(targetDir);
  try {
    await fs.mkdir(tmp);
  } catch (e) {
    throw fileSystemError(e, targetDir, 'create');
  }
  try {
    await fill(tmp);
  } catch (e) {
    await removeQuietly(tmp, true);
    throw e;
  }
  try {
    await syncTree(tmp);
    if (opts.overwrite && (await exists(targetDir))) {
      const old = `${tmp.slice(0, -'.tmp'.length)}.old`;
      await rename(targetDir, old);
      try {
        await rename(tmp, targetDir);
      } catch (e) {
        await rename(old, targetDir).catch(() => undefined);
        throw e;
      }
      await removeQuietly(old, true);
    } else {
      // POSIX rename replaces an empty folder but fails (ENOTEMPTY/EEXIST) on a non-empty one,
      // so a folder created meanwhile is never clobbered.
      await rename(tmp, targetDir);
    }
  } catch (e) {
    await removeQuietly(tmp, true);
    throw fileSystemError(e, targetDir, 'write');
  }
  await syncDir(parent);
}
