// Post-processing that needs no retraining (pure arithmetic on 0..255 RGB float images):
// - strength: blend content and stylization in linear light, so half strength does not
//   darken mid-tones the way blending gamma-encoded values does;
// - colour preservation (Gatys et al. 2016, "Preserving Color in Neural Artistic Style
//   Transfer"): 'luminance' keeps the content's chroma and takes the stylization's
//   luminance (YCbCr, BT.601 full range as in JPEG); 'histogram' matches the stylization's
//   colour mean and covariance to the content's. Luminance transfer keeps the original
//   colours exactly (up to gamut clipping) and is the default; histogram matching keeps
//   more of the style's tonal variety.
import { covarianceMatchMatrix } from '../shared/colorMatch';
import type { FloatImage } from './pixels';

function sameSize(a: FloatImage, b: FloatImage, what: string): void {
  if (a.width !== b.width || a.height !== b.height || a.channels !== 3 || b.channels !== 3) {
    throw new Error(`${what}: images differ in size (${a.width}×${a.height} vs ${b.width}×${b.height})`);
  }
}

const LUT_SIZE = 4096;
/** sRGB (0..255) → linear (0..1), sampled finely enough for interpolation. */
const toLinearLut = (() => {
  const lut = new Float32Array(LUT_SIZE + 1);
  for (let i = 0; i <= LUT_SIZE; i++) {
    const c = i / LUT_SIZE;
    lut[i] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }
  return lut;
})();

export function srgbToLinear(v: number): number {
  const x = Math.min(Math.max(v / 255, 0), 1) * LUT_SIZE;
  const i = Math.floor(x);
  if (i >= LUT_SIZE) return 1;
  const f = x - i;
  return toLinearLut[i] * (1 - f) + toLinearLut[i + 1] * f;
}

export function linearToSrgb(l: number): number {
  const c = l <= 0 ? 0 : l >= 1 ? 1 : l <= 0.0031308 ? l * 12.92 : 1.055 * l ** (1 / 2.4) - 0.055;
  return c * 255;
}

/** Blends `stylized` into `content` by `strength` (0 = content exactly, 1 = stylized exactly). */
export function applyStrength(content: FloatImage, stylized: FloatImage, strength: number): FloatImage {
  sameSize(content, stylized, 'strength');
  // Checked where the request arrived; asserted here because a bad value would extrapolate colours silently.
  if (!(strength >= 0 && strength <= 1)) throw new Error(`strength must be between 0 and 1, got ${strength}`);
  if (strength === 0) return { ...content, data: content.data.slice() };
  if (strength === 1) return stylized;
  const out = new Float32Array(content.data.length);
  for (let i = 0; i < out.length; i++) {
    const a = srgbToLinear(content.data[i]);
    const b = srgbToLinear(stylized.data[i]);
    out[i] = linearToSrgb(a + (b - a) * strength);
  }
  return { width: content.width, height: content.height, channels: 3, data: out };
}

export function rgbToYcbcr(r: number, g: number, b: number): [number, number, number] {
  return [
    0.299 * r + 0.587 * g + 0.114 * b,
    128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
    128 + 0.5 * r - 0.418688 * g - 0.081312 * b,
  ];
}

/**
 * The stylization's luminance with the content's chroma. The luminance is clamped to the
 * range in which that chroma stays inside the RGB cube, so clipping to 0..255 later never
 * shifts the colours (the content's own luminance is always inside that range).
 */
export function preserveColorsLuminance(content: FloatImage, stylized: FloatImage): FloatImage {
  sameSize(content, stylized, 'preserve colours');
  const c = content.data;
  const s = stylized.data;
  const out = new Float32Array(c.length);
  for (let i = 0; i < c.length; i += 3) {
    const [, cb, cr] = rgbToYcbcr(c[i], c[i + 1], c[i + 2]);
    const dr = 1.402 * (cr - 128);
    const dg = -0.344136 * (cb - 128) - 0.714136 * (cr - 128);
    const db = 1.772 * (cb - 128);
    const lo = Math.max(-dr, -dg, -db, 0);
    const hi = Math.min(255 - dr, 255 - dg, 255 - db, 255);
    let y = 0.299 * s[i] + 0.587 * s[i + 1] + 0.114 * s[i + 2];
    y = y < lo ? lo : y > hi ? hi : y;
    out[i] = y + dr;
    out[i + 1] = y + dg;
    out[i + 2] = y + db;
  }
  return { width: content.width, height: content.height, channels: 3, data: out };
}

function meanCov(d: Float32Array): { mean: number[]; cov: number[][] } {
  const n = d.length / 3;
  const mean = [0, 0, 0];
  for (let i = 0; i < d.length; i += 3) for (let k = 0; k < 3; k++) mean[k] += d[i + k];
  for (let k = 0; k < 3; k++) mean[k] /= n;
  const cov = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  for (let i = 0; i < d.length; i += 3) {
    const x = [d[i] - mean[0], d[i + 1] - mean[1], d[i + 2] - mean[2]];
    for (let a = 0; a < 3; a++) for (let b = a; b < 3; b++) cov[a][b] += x[a] * x[b];
  }
  for (let a = 0; a < 3; a++)
    for (let b = a; b < 3; b++) {
      cov[a][b] /= n;
      cov[b][a] = cov[a][b];
    }
  return { mean, cov };
}

/** Colour mean (3) and covariance (3×3) of RGB pixels. */
export interface ColorStats {
  readonly mean: number[];
  readonly cov: number[][];
}

/**
 * Colour mean and covariance accumulated over pieces of an image (tiled stylize sees one
 * band at a time). Sums in float64 around mid-grey, so the one-pass formula loses nothing
 * noticeable on 0..255 data even over 10⁸ pixels.
 */
export class ColorMomentsAccumulator {
  private n = 0;
  private readonly sum = [0, 0, 0];
  private readonly sq = [0, 0, 0, 0, 0, 0]; // rr rg rb gg gb bb

  /** Adds interleaved RGB pixels. */
  add(rgb: ArrayLike<number>): void {
    const s = this.sum,
      q = this.sq;
    for (let i = 0; i + 2 < rgb.length; i += 3) {
      const r = rgb[i] - 127.5,
        g = rgb[i + 1] - 127.5,
        b = rgb[i + 2] - 127.5;
      s[0] += r;
      s[1] += g;
      s[2] += b;
      q[0] += r * r;
      q[1] += r * g;
      q[2] += r * b;
      q[3] += g * g;
      q[4] += g * b;
      q[5] += b * b;
    }
    this.n += Math.floor(rgb.length / 3);
  }

  result(): ColorStats {
    const n = Math.max(this.n, 1);
    const m = this.sum.map((v) => v / n);
    const q = this.sq.map((v) => v / n);
    const c = (a: number, b: number, i: number) => q[i] - m[a] * m[b];
    const rg = c(0, 1, 1),
      rb = c(0, 2, 2),
      gb = c(1, 2, 4);
    return {
      mean: m.map((v) => v + 127.5),
      cov: [
        [c(0, 0, 0), rg, rb],
        [rg, c(1, 1, 3), gb],
        [rb, gb, c(2, 2, 5)],
      ],
    };
  }
}

/** An affine colour map: out = A · rgb + b. */
export interface ColorTransform {
  readonly A: number[][];
  readonly b: number[];
}

/** The affine map that gives pixels distributed like `stylized` the mean and covariance of `content`. */
export function histogramMatchTransform(content: ColorStats, stylized: ColorStats): ColorTransform {
  const A = covarianceMatchMatrix(content.cov, stylized.cov);
  const b = [0, 1, 2].map(
    (k) => content.mean[k] - (A[k][0] * stylized.mean[0] + A[k][1] * stylized.mean[1] + A[k][2] * stylized.mean[2]),
  );
  return { A, b };
}

export function applyColorTransform(img: FloatImage, t: ColorTransform): FloatImage {
  const d = img.data;
  const out = new Float32Array(d.length);
  const { A, b } = t;
  for (let i = 0; i < d.length; i += 3) {
    const x0 = d[i],
      x1 = d[i + 1],
      x2 = d[i + 2];
    for (let k = 0; k < 3; k++) out[i + k] = A[k][0] * x0 + A[k][1] * x1 + A[k][2] * x2 + b[k];
  }
  return { width: img.width, height: img.height, channels: 3, data: out };
}

/** Recolours `stylized` so its colour mean and covariance equal the content's. */
export function preserveColorsHistogram(content: FloatImage, stylized: FloatImage): FloatImage {
  sameSize(content, stylized, 'preserve colours');
  return applyColorTransform(stylized, histogramMatchTransform(meanCov(content.data), meanCov(stylized.data)));
}

/** The post-processing chain in its fixed order: colours first, then strength. */
export function postProcess(
  content: FloatImage,
  stylized: FloatImage,
  opts: { colorMode?: 'none' | 'luminance' | 'histogram'; strength?: number },
): FloatImage {
  let out = stylized;
  if (opts.colorMode === 'luminance') out = preserveColorsLuminance(content, out);
  else if (opts.colorMode === 'histogram') out = preserveColorsHistogram(content, out);
  const strength = opts.strength ?? 1;
  if (strength !== 1) out = applyStrength(content, out, strength);
  return out;
}
