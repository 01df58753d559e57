// "Blown-out blobs" (issue 12): pixels of a stylized image that are clipped — every channel
// ≥ 250 (white) or every channel ≤ 5 (black) — where the photo is not clipped, counted only in
// 8-connected regions of at least 0.05 % of the image. Small clipped specks are part of many
// styles; large flat holes are the failure users see. White and black pixels form one mask:
// a region is judged by its size, whichever way it clipped. Plain arrays, no tfjs.
import type { RgbBytes } from './pixels';

export interface BlobOptions {
  /** Smallest region counted, as a share of the image's pixels (default 0.0005 = 0.05 %). */
  readonly minShare?: number;
  /** A channel at or above this is clipped white (default 250). */
  readonly high?: number;
  /** A channel at or below this is clipped black (default 5). */
  readonly low?: number;
}

export const BLOB_DEFAULTS = Object.freeze({ minShare: 0.0005, high: 250, low: 5 });

export interface BlobReport {
  /** Pixels in counted regions / all pixels. */
  readonly share: number;
  readonly pixels: number;
  /** Counted regions. */
  readonly regions: number;
}

function clippedAt(d: Uint8Array, i: number, high: number, low: number): boolean {
  const r = d[i],
    g = d[i + 1],
    b = d[i + 2];
  return (r >= high && g >= high && b >= high) || (r <= low && g <= low && b <= low);
}

/** The mask of pixels clipped in `output` and not in `photo` (1 = candidate). */
export function clippedMask(output: RgbBytes, photo: RgbBytes, opts: BlobOptions = {}): Uint8Array {
  const { high, low } = { ...BLOB_DEFAULTS, ...opts };
  if (output.width !== photo.width || output.height !== photo.height) {
    throw new RangeError(
      `blob mask: image ${output.width}×${output.height} and photo ${photo.width}×${photo.height} differ in size`,
    );
  }
  const n = output.width * output.height;
  if (output.data.length !== n * 3 || photo.data.length !== n * 3)
    throw new RangeError('blob mask: images must hold 3 bytes per pixel');
  const mask = new Uint8Array(n);
  for (let p = 0; p < n; p++)
    mask[p] = clippedAt(output.data, p * 3, high, low) && !clippedAt(photo.data, p * 3, high, low) ? 1 : 0;
  return mask;
}

/** Sizes of the 8-connected regions of 1s in `mask` (width × height), by flood fill with an explicit stack. */
export function regionSizes(mask: Uint8Array, width: number, height: number): number[] {
  if (mask.length !== width * height)
    throw new RangeError(`mask holds ${mask.length} values, expected ${width}×${height}`);
  const seen = new Uint8Array(mask.length);
  const stack = new Int32Array(mask.length);
  const sizes: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    let top = 0;
    let size = 0;
    stack[top++] = start;
    seen[start] = 1;
    while (top > 0) {
      const p = stack[--top];
      size++;
      const x = p % width,
        y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const q = yy * width + xx;
          if (mask[q] && !seen[q]) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
      }
    }
    sizes.push(size);
  }
  return sizes;
}

/** The blob share of `output` (stylized) against `photo`, both 8-bit RGB of one size. */
export function blobShare(output: RgbBytes, photo: RgbBytes, opts: BlobOptions = {}): BlobReport {
  const minShare = opts.minShare ?? BLOB_DEFAULTS.minShare;
  const n = output.width * output.height;
  if (n === 0) return { share: 0, pixels: 0, regions: 0 };
  const minPixels = minShare * n;
  const sizes = regionSizes(clippedMask(output, photo, opts), output.width, output.height).filter(
    (s) => s >= minPixels,
  );
  const pixels = sizes.reduce((a, b) => a + b, 0);
  return { share: pixels / n, pixels, regions: sizes.length };
}
