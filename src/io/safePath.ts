// Files named inside a folder that came from elsewhere (a model someone sent, a download, a
// checkpoint being imported) must stay inside that folder: a "../" in a manifest, an absolute
// path, or a symbolic link to a file outside would let the folder's author copy any readable
// file on the user's disk into a style, and from there into exports.
import fs from 'node:fs/promises';
import path from 'node:path';

/** `child` equals `root` or lies below it (both absolute and normalised). */
export function isInsideFolder(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * The file `name` directly inside `dir`, with symbolic links resolved; undefined when it would
 * leave the folder (a path with folders in it, "..", an absolute path, or a link that points
 * outside). A name that does not exist is returned as is, so the read reports it missing.
 */
export async function fileInFolder(dir: string, name: string): Promise<string | undefined> {
  const root = path.resolve(dir);
  const file = path.resolve(root, name);
  if (path.dirname(file) !== root || name.includes('\u0000')) return undefined;
  let real: string;
  try {
    real = await fs.realpath(file);
  } catch {
    return file;
  }
  const realRoot = await fs.realpath(root).catch(() => root);
  return isInsideFolder(real, realRoot) && real !== realRoot ? real : undefined;
}
