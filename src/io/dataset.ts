// Training images: every readable image under a folder (recursively, sorted so the order is
// reproducible), decoded on demand to the training size (resize to cover, centre crop),
// with a bounded in-memory cache. Unreadable files are skipped with a warning, never fatal.
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { FloatImage } from '../model/pixels';
import { StyleTransferError } from '../protocol/errors';
import { IMAGE_EXTENSIONS } from './formats';
import { readImage } from './image';

const MAX_FILES = 1_000_000;

/** Image files under `dir`, as sorted paths relative to it. */
export async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
    } catch (e) {
      if (rel === '') {
        const code = (e as NodeJS.ErrnoException).code;
        throw new StyleTransferError(code === 'ENOENT' ? 'not-found' : 'io', `cannot read the training images folder ${dir} (${code ?? String(e)})`);
      }
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const r = path.join(rel, e.name);
      if (e.isDirectory()) await walk(r);
      else if (e.isFile() && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) out.push(r);
      if (out.length > MAX_FILES) throw new StyleTransferError('bad-input', `${dir} holds more than ${MAX_FILES} images`);
    }
  }
  await walk('');
  return out.sort();
}

export interface TrainingImageSet {
  readonly dir: string;
  /** Usable files (relative paths), in training order before shuffling. */
  readonly files: readonly string[];
  /** Files skipped as unreadable, with the reason. */
  readonly skipped: readonly { file: string; reason: string }[];
  /** One image as RGB floats at `size`×`size` (cached). */
  load(index: number): Promise<FloatImage>;
}

/**
 * Opens the training images in `dir`. Each file's header is checked first so an unreadable
 * file is dropped up front (keeping the order deterministic); a file that still fails to
 * decode later is replaced by the next usable one, with a warning.
 */
export async function openTrainingImages(dir: string, size: number, opts: { cacheBytes?: number; warn?: (msg: string) => void; files?: readonly string[] } = {}): Promise<TrainingImageSet> {
  const all = opts.files ? [...opts.files] : await listImages(dir);
  const files: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const f of all) {
    try {
      const meta = await sharp(path.join(dir, f), { failOn: 'error' }).metadata();
      if (!meta.width || !meta.height) throw new Error('no size');
      files.push(f);
    } catch (e) {
      const reason = (e as Error).message.split('\n')[0];
      skipped.push({ file: f, reason });
      opts.warn?.(`skipping training image ${f}: not readable (${reason})`);
    }
  }
  if (files.length === 0) {
    throw new StyleTransferError('bad-input', all.length === 0
      ? `no images found in ${dir} (looked for ${IMAGE_EXTENSIONS.join(' ')} files, recursively)`
      : `none of the ${all.length} images in ${dir} could be read`);
  }
  const cache = new Map<number, Uint8Array>();
  const perImage = size * size * 3;
  const maxCached = Math.max(1, Math.floor((opts.cacheBytes ?? 512 * 1024 * 1024) / perImage));
  const failed = new Set<number>();
  async function decode(index: number): Promise<Uint8Array> {
    const hit = cache.get(index);
    if (hit) return hit;
    const img = await readImage(path.join(dir, files[index]), { resize: { width: size, height: size, fit: 'cover', enlarge: true } });
    if (img.width !== size || img.height !== size) throw new Error(`decoded to ${img.width}×${img.height}`);
    const bytes = Uint8Array.from(img.rgb.data, (v) => Math.round(v));
    if (cache.size < maxCached) cache.set(index, bytes);
    return bytes;
  }
  return {
    dir,
    files,
    skipped,
    async load(index: number): Promise<FloatImage> {
      for (let k = 0; k < files.length; k++) {
        const i = (index + k) % files.length;
        if (failed.has(i)) continue;
        try {
          const bytes = await decode(i);
          return { width: size, height: size, channels: 3, data: Float32Array.from(bytes) };
        } catch (e) {
          failed.add(i);
          opts.warn?.(`skipping training image ${files[i]}: ${(e as Error).message.split('\n')[0]}`);
        }
      }
      throw new StyleTransferError('bad-input', `none of the training images in ${dir} could be decoded`);
    },
  };
}
