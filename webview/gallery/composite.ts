// Strength and colour preservation in the webview, so the sliders respond at once without a
// round trip to the engine. The same maths as src/model/color.ts (which the engine applies
// when saving): the histogram matrix comes from src/shared/colorMatch.ts, which both use; the
// per-pixel loops are this file's own (bytes and look-up tables, not float images); a unit test
// (test/unit/gallery-composite.test.ts) checks both give the same bytes within 1/255.
// - strength: blend content and stylization in linear light (sRGB decoded);
// - 'luminance': the stylization's luminance with the content's chroma (YCbCr, BT.601 full
//   range), the luminance clamped so that chroma stays inside the RGB cube;
// - 'histogram': the stylization recoloured to the content's colour mean and covariance.
// Order: colours first, then strength. Pure typed-array code (no DOM), RGBA in and out.

import { covarianceMatchMatrix } from '../../src/shared/colorMatch';

export type CompositeColorMode = 'none' | 'luminance' | 'histogram';

const LUT_SIZE = 4096;

/** sRGB byte → linear 0..1, exact for the 256 byte values. */
const BYTE_TO_LINEAR = (() => {
  const t = new Float32Array(256);
  for (let i = 0; i < 256; i++) {
    const c = i / 255;
    t[i] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }
  return t;
})();

/** sRGB 0..1 sampled finely, for non-integer inputs (colour-preserved values). */
const SRGB_TO_LINEAR = (() => {
  const t = new Float32Array(LUT_SIZE + 1);
  for (let i = 0; i <= LUT_SIZE; i++) {
    const c = i / LUT_SIZE;
    t[i] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }
  return t;
})();

/** linear 0..1 → sRGB 0..255, sampled finely (interpolated; error far below 1/255). */
const LINEAR_TO_SRGB = (() => {
  const t = new Float32Array(LUT_SIZE + 1);
  for (let i = 0; i <= LUT_SIZE; i++) {
    const l = i / LUT_SIZE;
    t[i] = (l <= 0.0031308 ? l * 12.92 : 1.055 * l ** (1 / 2.4) - 0.055) * 255;
  }
  return t;
})();

export function srgbToLinear(v: number): number {
  const x = (v <= 0 ? 0 : v >= 255 ? 1 : v / 255) * LUT_SIZE;
  const i = Math.floor(x);
  if (i >= LUT_SIZE) return 1;
  const f = x - i;
  return SRGB_TO_LINEAR[i] * (1 - f) + SRGB_TO_LINEAR[i + 1] * f;
}

export function linearToSrgb(l: number): number {
  if (!(l > 0)) return 0;
  if (l >= 1) return 255;
  // Below ~0.0031 the curve is linear; sample it exactly (the table's steps are too coarse there).
  if (l <= 0.0031308) return l * 12.92 * 255;
  const x = l * LUT_SIZE;
  const i = Math.floor(x);
  const f = x - i;
  return LINEAR_TO_SRGB[i] * (1 - f) + LINEAR_TO_SRGB[i + 1] * f;
}

function toByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/**
 * One pixel's stylization luminance with the content's chroma, written to out[0..2]. The
 * luminance is clamped to the range in which that chroma stays inside the RGB cube.
 */
function luminancePixel(r: number, g: number, b: number, sr: number, sg: number, sb: number, out: Float64Array): void {
  const cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
  const cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
  const dr = 1.402 * (cr - 128);
  const dg = -0.344136 * (cb - 128) - 0.714136 * (cr - 128);
  const db = 1.772 * (cb - 128);
  const lo = Math.max(-dr, -dg, -db, 0);
  const hi = Math.min(255 - dr, 255 - dg, 255 - db, 255);
  let y = 0.299 * sr + 0.587 * sg + 0.114 * sb;
  y = y < lo ? lo : y > hi ? hi : y;
  out[0] = y + dr;
  out[1] = y + dg;
  out[2] = y + db;
}

function meanCov(d: ArrayLike<number>, pixels: number, stride: number): { mean: number[]; cov: number[][] } {
  const mean = [0, 0, 0];
  for (let p = 0, i = 0; p < pixels; p++, i += stride) for (let k = 0; k < 3; k++) mean[k] += d[i + k];
  for (let k = 0; k < 3; k++) mean[k] /= pixels;
  const cov = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  for (let p = 0, i = 0; p < pixels; p++, i += stride) {
    const x0 = d[i] - mean[0],
      x1 = d[i + 1] - mean[1],
      x2 = d[i + 2] - mean[2];
    cov[0][0] += x0 * x0;
    cov[0][1] += x0 * x1;
    cov[0][2] += x0 * x2;
    cov[1][1] += x1 * x1;
    cov[1][2] += x1 * x2;
    cov[2][2] += x2 * x2;
  }
  for (let a = 0; a < 3; a++)
    for (let b = a; b < 3; b++) {
      cov[a][b] /= pixels;
      cov[b][a] = cov[a][b];
    }
  return { mean, cov };
}

/** The affine map that gives the stylization the content's colour mean and covariance. */
export interface HistogramMap {
  readonly A: number[][];
  readonly from: number[];
  readonly to: number[];
}

export function histogramMap(
  content: Uint8ClampedArray | Uint8Array,
  stylized: Uint8ClampedArray | Uint8Array,
  pixels: number,
  stride = 4,
): HistogramMap {
  const c = meanCov(content, pixels, stride);
  const s = meanCov(stylized, pixels, stride);
  return { A: covarianceMatchMatrix(c.cov, s.cov), from: s.mean, to: c.mean };
}

/**
 * Composites a content image and its raw stylization (both RGBA, same size) for any strength
 * and colour mode, pixel by pixel with table look-ups: no per-image float copies, so a
 * full-size render of a large photo costs no more memory than its output. Only the
 * histogram statistics (two 3×3 matrices) are cached.
 */
export class Compositor {
  readonly pixels: number;
  private histogram: HistogramMap | undefined;

  constructor(
    readonly content: Uint8ClampedArray | Uint8Array,
    readonly stylized: Uint8ClampedArray | Uint8Array,
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = width * height;
    if (content.length !== this.pixels * 4 || stylized.length !== this.pixels * 4)
      throw new Error(`compositor: expected ${width}×${height} RGBA images`);
  }

  /** Writes the composite into `out` (RGBA, alpha from the stylization); returns `out`. */
  render(
    strength: number,
    mode: CompositeColorMode,
    out: Uint8ClampedArray | Uint8Array = new Uint8ClampedArray(this.pixels * 4),
  ): Uint8ClampedArray | Uint8Array {
    if (!(strength >= 0 && strength <= 1)) throw new Error(`strength must be between 0 and 1, got ${strength}`);
    const n = this.pixels,
      c = this.content,
      s = this.stylized;
    if (strength === 0) {
      for (let p = 0, i = 0; p < n; p++, i += 4) {
        out[i] = c[i];
        out[i + 1] = c[i + 1];
        out[i + 2] = c[i + 2];
        out[i + 3] = s[i + 3];
      }
      return out;
    }
    if (mode === 'none') {
      for (let p = 0, i = 0; p < n; p++, i += 4) {
        if (strength === 1) {
          out[i] = s[i];
          out[i + 1] = s[i + 1];
          out[i + 2] = s[i + 2];
        } else
          for (let k = 0; k < 3; k++) {
            const a = BYTE_TO_LINEAR[c[i + k]];
            out[i + k] = toByte(linearToSrgb(a + (BYTE_TO_LINEAR[s[i + k]] - a) * strength));
          }
        out[i + 3] = s[i + 3];
      }
      return out;
    }
    const h = mode === 'histogram' ? (this.histogram ??= histogramMap(c, s, n)) : undefined;
    const px = new Float64Array(3);
    for (let p = 0, i = 0; p < n; p++, i += 4) {
      if (h) {
        const x0 = s[i] - h.from[0],
          x1 = s[i + 1] - h.from[1],
          x2 = s[i + 2] - h.from[2];
        for (let k = 0; k < 3; k++) px[k] = h.A[k][0] * x0 + h.A[k][1] * x1 + h.A[k][2] * x2 + h.to[k];
      } else {
        luminancePixel(c[i], c[i + 1], c[i + 2], s[i], s[i + 1], s[i + 2], px);
      }
      for (let k = 0; k < 3; k++) {
        if (strength === 1) {
          out[i + k] = toByte(px[k]);
          continue;
        }
        const a = BYTE_TO_LINEAR[c[i + k]];
        out[i + k] = toByte(linearToSrgb(a + (srgbToLinear(px[k]) - a) * strength));
      }
      out[i + 3] = s[i + 3];
    }
    return out;
  }
}
