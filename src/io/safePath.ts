// Files named inside a folder that came from elsewhere (a model someone sent, a download, a
// checkpoint being imported) must stay inside that folder: a "../" in a manifest, an absolute
// path, or a symbolic link to a file outside would let the folder's author copy any readable
// file on the user's disk into a style, and from there into exports.
import fs from 'node:fs/promises';
import path from 'node:path';
import { isInsideFolder, type PathOps } from '../shared/paths';

// Names Windows maps to devices in every folder ("CON", "nul.txt", "COM1"…): opening one reads
// the console or a serial port instead of a file.
const WINDOWS_DEVICE =
  /^(con|prn|aux|nul|conin\$|conout\$|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])(\..*)?$/i;

/**
 * The path of `name` directly inside `dir`, by name only (no file access; `p` is Node's path, or
 * path.win32 / path.posix in tests): undefined for a name with folders in it, "..", ".", an
 * absolute path, another drive, a NUL byte, and under Windows rules a ':' (drive or alternate
 * data stream) or a device name.
 */
export function directChild(dir: string, name: string, p: PathOps = path): string | undefined {
  const root = p.resolve(dir);
  const file = p.resolve(root, name);
  if (p.dirname(file) !== root || name.includes('\u0000')) return undefined;
  if (p.sep === '\\' && (name.includes(':') || WINDOWS_DEVICE.test(name.replace(/[. ]+$/, '')))) return undefined;
  return file;
}

/**
 * The file `name` directly inside `dir`, with symbolic links resolved; undefined when it would
 * leave the folder (see directChild, or a link that points outside). A name that does not exist
 * is returned as is, so the read reports it missing.
 */
export async function fileInFolder(dir: string, name: string): Promise<string | undefined> {
  const file = directChild(dir, name);
  if (!file) return undefined;
  let real: string;
  try {
    real = await fs.realpath(file);
  } catch {
    return file;
  }
  const root = path.dirname(file);
  const realRoot = await fs.realpath(root).catch(() => root);
  return isInsideFolder(real, realRoot, path) && real !== realRoot ? real : undefined;
}
