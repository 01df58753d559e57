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
        throw new StyleTransferError(
          code === 'ENOENT' ? 'not-found' : 'io',
          `cannot read the training images folder ${dir} (${code ?? String(e)})`,
        );
      }
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const r = path.join(rel, e.name);
      if (e.isDirectory()) await walk(r);
      else if (e.isFile() && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) out.push(r);
      if (out.length > MAX_FILES)
        throw new StyleTransferError('bad-input', `${dir} holds more than ${MAX_FILES} images`);
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
  /**
   * One image as RGB floats at `size`×`size` (cached). With `variant` (any integer) and
   * augmentation on, a crop position and flip chosen by that number; without, the centre.
   */
  load(index: number, variant?: number): Promise<FloatImage>;
}

/**
 * Opens the training images in `dir`. Each file's header is checked first so an unreadable
 * file is dropped up front (keeping the order deterministic); a file that still fails to
 * decode later is replaced by the next usable one, with a warning.
 */
/** Deterministic 32-bit hash of integers (for augmentation choices). */
function mix(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

/** Default scale of the decoded image relative to the crop when augmenting (room for random crops). */
const AUGMENT_SCALE = 1.25;

export async function openTrainingImages(
  dir: string,
  size: number,
  opts: {
    cacheBytes?: number;
    warn?: (msg: string) => void;
    files?: readonly string[];
    augment?: boolean;
    cropScale?: number;
  } = {},
): Promise<TrainingImageSet> {
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
    throw new StyleTransferError(
      'bad-input',
      all.length === 0
        ? `no images found in ${dir} (looked for ${IMAGE_EXTENSIONS.join(' ')} files, recursively)`
        : `none of the ${all.length} images in ${dir} could be read`,
    );
  }
  const cache = new Map<number, Uint8Array>();
  const decoded = opts.augment ? Math.max(size, Math.round(size * (opts.cropScale ?? AUGMENT_SCALE))) : size;
  const perImage = decoded * decoded * 3;
  const maxCached = Math.max(1, Math.floor((opts.cacheBytes ?? 512 * 1024 * 1024) / perImage));
  const failed = new Set<number>();
  async function decode(index: number): Promise<Uint8Array> {
    const hit = cache.get(index);
    if (hit) return hit;
    const img = await readImage(path.join(dir, files[index]), {
      resize: { width: decoded, height: decoded, fit: 'cover', enlarge: true },
    });
    if (img.width !== decoded || img.height !== decoded) throw new Error(`decoded to ${img.width}×${img.height}`);
    const bytes = Uint8Array.from(img.rgb.data, (v) => Math.round(v));
    if (cache.size < maxCached) cache.set(index, bytes);
    return bytes;
  }
  return {
    dir,
    files,
    skipped,
    async load(index: number, variant?: number): Promise<FloatImage> {
      for (let k = 0; k < files.length; k++) {
        const i = (index + k) % files.length;
        if (failed.has(i)) continue;
        try {
          const bytes = await decode(i);
          const margin = decoded - size;
          const h = variant === undefined ? 0 : mix(variant, i);
          const x0 = variant === undefined ? margin >> 1 : h % (margin + 1);
          const y0 = variant === undefined ? margin >> 1 : (h >>> 8) % (margin + 1);
          const flip = variant !== undefined && opts.augment === true && (h >>> 20) % 2 === 1;
          const data = new Float32Array(size * size * 3);
          for (let y = 0; y < size; y++) {
            for (let x = 0; x < size; x++) {
              const sx = x0 + (flip ? size - 1 - x : x);
              const src = ((y0 + y) * decoded + sx) * 3;
              const dst = (y * size + x) * 3;
              data[dst] = bytes[src];
              data[dst + 1] = bytes[src + 1];
              data[dst + 2] = bytes[src + 2];
            }
          }
          return { width: size, height: size, channels: 3, data };
        } catch (e) {
          failed.add(i);
          opts.warn?.(`skipping training image ${files[i]}: ${(e as Error).message.split('\n')[0]}`);
        }
      }
      throw new StyleTransferError('bad-input', `none of the training images in ${dir} could be decoded`);
    },
  };
}
