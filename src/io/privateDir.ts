// Cache folders that only this user can write. A cache in a shared folder (the old
// $TMPDIR/fast-style-transfer-cache) lets another local user pre-create it, fill it with links or
// plant graphs that the engine would then run; a folder we create with mode 0700, and check is
// ours and not a link every time we use it, cannot be.
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StyleTransferError } from '../protocol/errors';

/** The CLI's cache folder: $XDG_CACHE_HOME (or ~/.cache)/fast-style-transfer; the platform's equivalent on macOS and Windows. */
export function defaultUserCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home = os.homedir(),
): string {
  if (platform === 'win32')
    return path.join(env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'), 'fast-style-transfer', 'Cache');
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'fast-style-transfer');
  // The XDG spec: a relative value is invalid and must be ignored.
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.cache'), 'fast-style-transfer');
}

/**
 * Creates `dir` (mode 0700) if needed and checks it is a real folder (not a link) owned by this
 * user; a folder of ours that others can read or write is tightened to 0700. Returns its
 * absolute path. Errors: StyleTransferError('io') with what is wrong.
 */
export async function ensurePrivateDir(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  try {
    // Missing parents are made private too (they hold nothing but the cache).
    await fsp.mkdir(abs, { recursive: true, mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST')
      throw new StyleTransferError('io', `cannot create the cache folder ${abs} (${code ?? (e as Error).message})`);
  }
  const st = await fsp.lstat(abs);
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new StyleTransferError(
      'io',
      `the cache folder ${abs} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}; remove it (the cache must be a private folder of yours)`,
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new StyleTransferError('io', `the cache folder ${abs} belongs to another user (uid ${st.uid}); not using it`);
  }
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    try {
      await fsp.chmod(abs, 0o700);
    } catch (e) {
      throw new StyleTransferError(
        'io',
        `cannot make the cache folder ${abs} private (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
  }
  return abs;
}
