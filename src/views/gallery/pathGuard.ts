// The one place where a path that came from the gallery webview becomes a path the host
// reads or shows: it must resolve (symbolic links followed) to a file inside an allowed
// folder — the workspace folders, the extension's storage and bundled samples — or be a file
// the user picked in a dialog this session. No vscode import, so it is unit-tested in Node.
import fs from 'node:fs/promises';
import path from 'node:path';
import { isInsideFolder } from '../../shared/paths';

async function realOrUndefined(p: string): Promise<string | undefined> {
  try {
    return await fs.realpath(p);
  } catch {
    return undefined;
  }
}

export interface PathGuardOptions {
  /** Folders whose files may be read (evaluated on every check: workspace folders change). */
  readonly roots: () => readonly string[];
  /** Largest file accepted, in bytes. */
  readonly maxBytes?: number;
}

export class PathGuard {
  /** Real paths of files the user chose explicitly (open/save dialogs, the active editor). */
  private readonly granted = new Set<string>();

  constructor(private readonly opts: PathGuardOptions) {}

  /** Allows one file outside the roots (the user chose it in a dialog). */
  async grant(file: string): Promise<void> {
    const real = await realOrUndefined(path.resolve(file));
    if (real) this.granted.add(real);
  }

  /**
   * The real path of `p` when it is an existing regular file inside the allowed folders (or
   * granted), else an Error that says why. Never touches the file's content.
   */
  async checkFile(p: string): Promise<string | Error> {
    if (typeof p !== 'string' || p.length === 0 || p.includes('\u0000')) return new Error('not a path');
    if (!path.isAbsolute(p)) return new Error(`${p} is not an absolute path`);
    const resolved = path.resolve(p);
    const real = await realOrUndefined(resolved);
    if (!real) {
      // Say "outside" before "missing" so a probe learns nothing about files it may not read.
      return (await this.insideRoots(resolved))
        ? new Error(`${p} does not exist`)
        : new Error(`${p} is outside the workspace and the extension's folders`);
    }
    if (!this.granted.has(real) && !(await this.insideRoots(real)))
      return new Error(`${p} is outside the workspace and the extension's folders`);
    let st;
    try {
      st = await fs.stat(real);
    } catch {
      return new Error(`${p} cannot be read`);
    }
    if (!st.isFile()) return new Error(`${p} is not a file`);
    if (this.opts.maxBytes !== undefined && st.size > this.opts.maxBytes)
      return new Error(`${p} is too large (${st.size} bytes, at most ${this.opts.maxBytes})`);
    return real;
  }

  private async insideRoots(p: string): Promise<boolean> {
    for (const root of this.opts.roots()) {
      const realRoot = (await realOrUndefined(path.resolve(root))) ?? path.resolve(root);
      if (isInsideFolder(p, realRoot, path)) return true;
    }
    return false;
  }
}

/** Image formats the engine decodes, recognised by their first bytes (not by the name). */
export function sniffImageType(b: Uint8Array): 'png' | 'jpeg' | 'gif' | 'webp' | 'tiff' | 'avif' | 'heif' | undefined {
  const at = (i: number, s: string) => [...s].every((c, k) => b[i + k] === c.charCodeAt(0));
  if (b.length < 12) return undefined;
  if (b[0] === 0x89 && at(1, 'PNG\r\n\u001a\n')) return 'png';
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (at(0, 'GIF87a') || at(0, 'GIF89a')) return 'gif';
  if (at(0, 'RIFF') && at(8, 'WEBP')) return 'webp';
  if (at(0, 'II*\u0000') || at(0, 'MM\u0000*')) return 'tiff';
  if (at(4, 'ftyp')) {
    const brand = String.fromCharCode(b[8], b[9], b[10], b[11]);
    if (brand === 'avif' || brand === 'avis') return 'avif';
    if (['heic', 'heix', 'mif1', 'msf1', 'heim', 'heis', 'hevc'].includes(brand)) return 'heif';
  }
  return undefined;
}

/** Video containers, recognised by their first bytes: ISO media (MP4, MOV) and Matroska (WebM, MKV). */
export function sniffVideoType(b: Uint8Array): 'mp4' | 'mov' | 'webm' | 'mkv' | undefined {
  if (b.length < 16 || sniffImageType(b)) return undefined;
  const text = (from: number, to: number) => String.fromCharCode(...b.subarray(from, Math.min(to, b.length)));
  if (text(4, 8) === 'ftyp') return text(8, 12) === 'qt  ' ? 'mov' : 'mp4';
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3)
    return text(0, 64).includes('webm') ? 'webm' : 'mkv';
  return undefined;
}
