// Animated GIF and WebP through sharp alone: all frames as one tall RGBA image of stacked
// pages, with their delays and loop count, and the same back to a file's bytes.
import path from 'node:path';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { StyleTransferError } from '../protocol/errors';
import { ANIMATED_IMAGE_EXTENSIONS } from './formats';
import { DEFAULT_MAX_PIXELS } from './image';

/** Whether `file` is a GIF or WebP with more than one frame (reads the header only). */
export async function isAnimatedImage(file: string): Promise<boolean> {
  if (!ANIMATED_IMAGE_EXTENSIONS.includes(path.extname(file).toLowerCase())) return false;
  try {
    return ((await sharp(file).metadata()).pages ?? 1) > 1;
  } catch {
    return false; // the image path reports what is wrong with it
  }
}

export interface AnimatedImage {
  readonly format: 'gif' | 'webp';
  readonly width: number;
  /** Height of one frame. */
  readonly height: number;
  readonly pages: number;
  /** pages × height rows of width RGBA pixels. */
  readonly rgba: Uint8Array;
  /** Milliseconds each frame shows. */
  readonly delays: readonly number[];
  /** Times to play (0 = for ever). */
  readonly loop: number;
}

/** Every frame of an animated GIF or WebP; errors are one 'bad-image' or 'image-too-large' line. */
export async function readAnimatedImage(file: string, maxPixels = DEFAULT_MAX_PIXELS): Promise<AnimatedImage> {
  let meta: Metadata;
  try {
    meta = await sharp(file, { animated: true, limitInputPixels: false }).metadata();
  } catch (e) {
    throw new StyleTransferError('bad-image', `${file} is not a readable animated image: ${(e as Error).message}`);
  }
  if (meta.format !== 'gif' && meta.format !== 'webp')
    throw new StyleTransferError('bad-image', `${file}: animated ${meta.format} is not supported (GIF and WebP are)`);
  const pages = meta.pages ?? 1;
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (width * height * pages > maxPixels) {
    throw new StyleTransferError(
      'image-too-large',
      `${file}: ${pages} frames of ${width}×${height} are more than the limit of ${Math.round(maxPixels / 1e6)} megapixels`,
    );
  }
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(file, { animated: true, limitInputPixels: false })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new StyleTransferError('bad-image', `${file} could not be decoded: ${(e as Error).message}`);
  }
  if (decoded.info.width !== width || decoded.info.height !== height * pages) {
    throw new StyleTransferError(
      'bad-image',
      `${file}: decoded ${decoded.info.width}×${decoded.info.height}, expected ${pages} frames of ${width}×${height}`,
    );
  }
  return {
    format: meta.format,
    width,
    height,
    pages,
    rgba: decoded.data,
    delays: meta.delay?.length === pages ? meta.delay : Array.from({ length: pages }, () => 100),
    loop: meta.loop ?? 0,
  };
}

/** Encodes frames in `img.format` with their delays and loop count. */
export function encodeAnimatedImage(img: AnimatedImage, opts: { quality?: number } = {}): Promise<Buffer> {
  const s = sharp(img.rgba, {
    raw: { width: img.width, height: img.height * img.pages, channels: 4, pageHeight: img.height },
  });
  return img.format === 'gif'
    ? s.gif({ delay: [...img.delays], loop: img.loop }).toBuffer()
    : s.webp({ delay: [...img.delays], loop: img.loop, quality: opts.quality ?? 90 }).toBuffer();
}
