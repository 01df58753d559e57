// Image encoding with sharp: 8-bit sRGB (+ alpha) to PNG, JPEG, WebP, AVIF, GIF or TIFF, with the
// format size limits checked first (split from image.ts, which decodes and resizes).
import sharp from 'sharp';
import type { FloatImage } from '../model/pixels';
import { toBytes } from '../model/pixels';
import { StyleTransferError } from '../protocol/errors';
import { formatLabel, type ImageFormat } from './formats';
import { interleaveAlpha } from './image';

export interface EncodableImage {
  readonly width: number;
  readonly height: number;
  /** Interleaved RGB (HWC); floats are clamped to 0..255 and rounded. */
  readonly rgb: Float32Array | Uint8Array | FloatImage;
  readonly alpha?: Uint8Array;
}

export interface EncodeOptions {
  /** 1…100 for JPEG, WebP, AVIF (defaults 92, 90, 70); ignored by lossless formats. */
  readonly quality?: number;
  /** Colour under transparent pixels when writing JPEG, which has no alpha; default white. */
  readonly background?: { readonly r: number; readonly g: number; readonly b: number };
}

export const DEFAULT_QUALITY: Readonly<Record<'jpeg' | 'webp' | 'avif', number>> = { jpeg: 92, webp: 90, avif: 70 };

/** Largest width or height each format can store (format specifications). */
const MAX_SIDE: Partial<Record<ImageFormat, number>> = { jpeg: 65_535, webp: 16_383, gif: 65_535 };

function rgbBytes(rgb: EncodableImage['rgb']): Uint8Array {
  const data = rgb instanceof Float32Array || rgb instanceof Uint8Array ? rgb : rgb.data;
  return data instanceof Uint8Array ? data : toBytes(data);
}

/** Encodes 8-bit sRGB (+ alpha) in `format`; metadata is not written (orientation is already applied). */
export async function encodeImage(img: EncodableImage, format: ImageFormat, opts: EncodeOptions = {}): Promise<Buffer> {
  const { width, height } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new StyleTransferError('bad-input', `cannot encode an image of size ${width}×${height}`);
  }
  if (!('data' in img.rgb) && img.rgb.length !== width * height * 3) {
    throw new StyleTransferError(
      'bad-input',
      `RGB data has ${img.rgb.length} values, expected ${width}×${height}×3 = ${width * height * 3}`,
    );
  }
  if ('data' in img.rgb && (img.rgb.channels !== 3 || img.rgb.width !== width || img.rgb.height !== height)) {
    throw new StyleTransferError(
      'bad-input',
      `RGB image is ${img.rgb.width}×${img.rgb.height}×${img.rgb.channels}, expected ${width}×${height}×3`,
    );
  }
  if (img.alpha && img.alpha.length !== width * height) {
    throw new StyleTransferError(
      'bad-input',
      `alpha has ${img.alpha.length} values, expected ${width}×${height} = ${width * height}`,
    );
  }
  const quality =
    opts.quality ?? (format === 'jpeg' || format === 'webp' || format === 'avif' ? DEFAULT_QUALITY[format] : 100);
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new StyleTransferError('bad-input', `quality must be a whole number from 1 to 100 (got ${opts.quality})`);
  }
  const limit = MAX_SIDE[format];
  if (limit !== undefined && (width > limit || height > limit)) {
    throw new StyleTransferError(
      'image-too-large',
      `${formatLabel(format)} cannot store a ${width}×${height} image (at most ${limit} pixels per side); save it as PNG or TIFF instead`,
    );
  }

  const rgb = rgbBytes(img.rgb);
  const n = width * height;
  let pixels: Uint8Array;
  let channels: 3 | 4;
  if (!img.alpha) {
    pixels = rgb;
    channels = 3;
  } else if (format === 'jpeg') {
    // JPEG has no alpha: composite over the background the way a viewer shows the
    // transparent original, rather than exposing whatever colour lies under alpha 0.
    const bg = opts.background ?? { r: 255, g: 255, b: 255 };
    const bgc = [bg.r, bg.g, bg.b];
    pixels = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      const a = img.alpha[i] / 255;
      for (let k = 0; k < 3; k++) pixels[i * 3 + k] = Math.round(rgb[i * 3 + k] * a + bgc[k] * (1 - a));
    }
    channels = 3;
  } else {
    pixels = interleaveAlpha(rgb, img.alpha);
    channels = 4;
  }

  let p = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length), {
    raw: { width, height, channels },
    limitInputPixels: false,
  });
  switch (format) {
    case 'png':
      p = p.png({ compressionLevel: 6 });
      break;
    // No chroma subsampling at high quality: stylized images are full of fine colour texture.
    case 'jpeg':
      p = p.jpeg({ quality, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0' });
      break;
    case 'webp':
      p = p.webp({ quality, alphaQuality: 100 });
      break;
    // effort 2: at the default 4 a 4096² image takes ~30 s on two cores, at 2 ~4 s, for
    // files ~15% larger. AVIF codes alpha lossily too (within a few levels).
    case 'avif':
      p = p.avif({ quality, effort: 2 });
      break;
    // Lossless; sharp's default TIFF compression is JPEG.
    case 'tiff':
      p = p.tiff({ compression: 'lzw', predictor: 'horizontal' });
      break;
    case 'gif':
      p = p.gif();
      break;
    default:
      throw new StyleTransferError('bad-input', `cannot write images as ${String(format)}`);
  }
  try {
    return await p.toBuffer();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/too large/i.test(msg)) {
      throw new StyleTransferError(
        'image-too-large',
        `${formatLabel(format)} cannot store a ${width}×${height} image; save it as PNG or TIFF instead`,
        msg,
      );
    }
    throw new Error(`encoding ${width}×${height} as ${format} failed: ${msg}`);
  }
}
