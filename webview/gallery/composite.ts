// Strength and colour preservation in the webview, so the sliders respond at once without a
// round trip to the engine. The same maths as src/model/color.ts (which the engine applies
// when saving), ported because the webview may import protocol types only; a unit test
// (test/unit/gallery-composite.test.ts) checks both give the same bytes within 1/255.
// - strength: blend content and stylization in linear light (sRGB decoded);
// - 'luminance': the stylization's luminance with the content's chroma (YCbCr, BT.601 full
//   range), the luminance clamped so that chroma stays inside the RGB cube;
// - 'histogram': the stylization recoloured to the content's colour mean and covariance.
// Order: colours first, then strength. Pure typed-array code (no DOM), RGBA in and out.

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

/** The stylization's luminance with the content's chroma, as float RGB (3 per pixel). */
export function preserveLuminance(content: Uint8ClampedArray | Uint8Array, stylized: Uint8ClampedArray | Uint8Array, pixels: number, stride = 4): Float32Array {
  const out = new Float32Array(pixels * 3);
  for (let p = 0, i = 0, o = 0; p < pixels; p++, i += stride, o += 3) {
    const r = content[i], g = content[i + 1], b = content[i + 2];
    const cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
    const cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
    const dr = 1.402 * (cr - 128);
    const dg = -0.344136 * (cb - 128) - 0.714136 * (cr - 128);
    const db = 1.772 * (cb - 128);
    const lo = Math.max(-dr, -dg, -db, 0);
    const hi = Math.min(255 - dr, 255 - dg, 255 - db, 255);
    let y = 0.299 * stylized[i] + 0.587 * stylized[i + 1] + 0.114 * stylized[i + 2];
    y = y < lo ? lo : y > hi ? hi : y;
    out[o] = y + dr;
    out[o + 1] = y + dg;
    out[o + 2] = y + db;
  }
  return out;
}

function meanCov(d: ArrayLike<number>, pixels: number, stride: number): { mean: number[]; cov: number[][] } {
  const mean = [0, 0, 0];
  for (let p = 0, i = 0; p < pixels; p++, i += stride) for (let k = 0; k < 3; k++) mean[k] += d[i + k];
  for (let k = 0; k < 3; k++) mean[k] /= pixels;
  const cov = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (let p = 0, i = 0; p < pixels; p++, i += stride) {
    const x0 = d[i] - mean[0], x1 = d[i + 1] - mean[1], x2 = d[i + 2] - mean[2];
    cov[0][0] += x0 * x0; cov[0][1] += x0 * x1; cov[0][2] += x0 * x2;
    cov[1][1] += x1 * x1; cov[1][2] += x1 * x2; cov[2][2] += x2 * x2;
  }
  for (let a = 0; a < 3; a++) for (let b = a; b < 3; b++) { cov[a][b] /= pixels; cov[b][a] = cov[a][b]; }
  return { mean, cov };
}

/** Eigen-decomposition of a symmetric 3×3 matrix (Jacobi rotations). */
function symmetricEigen(m: number[][]): { values: number[]; vectors: number[][] } {
  const a = m.map((r) => [...r]);
  const v = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  for (let sweep = 0; sweep < 50; sweep++) {
    if (a[0][1] ** 2 + a[0][2] ** 2 + a[1][2] ** 2 < 1e-20) break;
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]]) {
      if (Math.abs(a[p][q]) < 1e-30) continue;
      const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      for (let k = 0; k < 3; k++) { const x = a[k][p], y = a[k][q]; a[k][p] = c * x - s * y; a[k][q] = s * x + c * y; }
      for (let k = 0; k < 3; k++) { const x = a[p][k], y = a[q][k]; a[p][k] = c * x - s * y; a[q][k] = s * x + c * y; }
      for (let k = 0; k < 3; k++) { const x = v[k][p], y = v[k][q]; v[k][p] = c * x - s * y; v[k][q] = s * x + c * y; }
    }
  }
  return { values: [a[0][0], a[1][1], a[2][2]], vectors: v };
}

function symmetricPower(m: number[][], power: number): number[][] {
  const { values, vectors } = symmetricEigen(m);
  const out = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (let k = 0; k < 3; k++) {
    const l = Math.max(values[k], 1e-6) ** power;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) out[i][j] += vectors[i][k] * l * vectors[j][k];
  }
  return out;
}

/** The stylization recoloured to the content's colour mean and covariance, as float RGB. */
export function matchHistogram(content: Uint8ClampedArray | Uint8Array, stylized: Uint8ClampedArray | Uint8Array, pixels: number, stride = 4): Float32Array {
  const c = meanCov(content, pixels, stride);
  const s = meanCov(stylized, pixels, stride);
  const cHalf = symmetricPower(c.cov, 0.5);
  const sInvHalf = symmetricPower(s.cov, -0.5);
  const A = [0, 1, 2].map((i) => [0, 1, 2].map((j) => cHalf[i][0] * sInvHalf[0][j] + cHalf[i][1] * sInvHalf[1][j] + cHalf[i][2] * sInvHalf[2][j]));
  const out = new Float32Array(pixels * 3);
  for (let p = 0, i = 0, o = 0; p < pixels; p++, i += stride, o += 3) {
    const x0 = stylized[i] - s.mean[0], x1 = stylized[i + 1] - s.mean[1], x2 = stylized[i + 2] - s.mean[2];
    for (let k = 0; k < 3; k++) out[o + k] = A[k][0] * x0 + A[k][1] * x1 + A[k][2] * x2 + c.mean[k];
  }
  return out;
}

/**
 * Composites a content image and its raw stylization (both RGBA, same size) for any strength
 * and colour mode. Work that does not depend on the strength (linearising, the colour
 * transfer) is cached, so dragging the strength slider costs one pass of table look-ups.
 */
export class Compositor {
  readonly pixels: number;
  private contentLinear: Float32Array | undefined;
  private readonly styled = new Map<CompositeColorMode, { srgb?: Float32Array; linear?: Float32Array }>();

  constructor(readonly content: Uint8ClampedArray | Uint8Array, readonly stylized: Uint8ClampedArray | Uint8Array, readonly width: number, readonly height: number) {
    this.pixels = width * height;
    if (content.length !== this.pixels * 4 || stylized.length !== this.pixels * 4) throw new Error(`compositor: expected ${width}×${height} RGBA images`);
  }

  /** Colour-transferred stylization (float sRGB) for a mode; undefined for 'none' (the bytes as they are). */
  private colored(mode: CompositeColorMode): Float32Array | undefined {
    if (mode === 'none') return undefined;
    let entry = this.styled.get(mode);
    if (!entry) this.styled.set(mode, entry = {});
    entry.srgb ??= mode === 'luminance' ? preserveLuminance(this.content, this.stylized, this.pixels) : matchHistogram(this.content, this.stylized, this.pixels);
    return entry.srgb;
  }

  private coloredLinear(mode: CompositeColorMode): Float32Array {
    const entry = this.styled.get(mode) ?? {};
    this.styled.set(mode, entry);
    if (!entry.linear) {
      const lin = new Float32Array(this.pixels * 3);
      const c = this.colored(mode);
      if (c) for (let i = 0; i < lin.length; i++) lin[i] = srgbToLinear(c[i]);
      else for (let p = 0, i = 0, o = 0; p < this.pixels; p++, i += 4, o += 3) {
        lin[o] = BYTE_TO_LINEAR[this.stylized[i]]; lin[o + 1] = BYTE_TO_LINEAR[this.stylized[i + 1]]; lin[o + 2] = BYTE_TO_LINEAR[this.stylized[i + 2]];
      }
      entry.linear = lin;
    }
    return entry.linear;
  }

  private linearContent(): Float32Array {
    if (!this.contentLinear) {
      const lin = new Float32Array(this.pixels * 3);
      for (let p = 0, i = 0, o = 0; p < this.pixels; p++, i += 4, o += 3) {
        lin[o] = BYTE_TO_LINEAR[this.content[i]]; lin[o + 1] = BYTE_TO_LINEAR[this.content[i + 1]]; lin[o + 2] = BYTE_TO_LINEAR[this.content[i + 2]];
      }
      this.contentLinear = lin;
    }
    return this.contentLinear;
  }

  /** Writes the composite into `out` (RGBA, alpha from the stylization); returns `out`. */
  render(strength: number, mode: CompositeColorMode, out: Uint8ClampedArray | Uint8Array = new Uint8ClampedArray(this.pixels * 4)): Uint8ClampedArray | Uint8Array {
    if (!(strength >= 0 && strength <= 1)) throw new Error(`strength must be between 0 and 1, got ${strength}`);
    const n = this.pixels;
    if (strength === 0) {
      for (let p = 0, i = 0; p < n; p++, i += 4) { out[i] = this.content[i]; out[i + 1] = this.content[i + 1]; out[i + 2] = this.content[i + 2]; out[i + 3] = this.stylized[i + 3]; }
      return out;
    }
    if (strength === 1) {
      const c = this.colored(mode);
      for (let p = 0, i = 0, o = 0; p < n; p++, i += 4, o += 3) {
        if (c) { out[i] = toByte(c[o]); out[i + 1] = toByte(c[o + 1]); out[i + 2] = toByte(c[o + 2]); }
        else { out[i] = this.stylized[i]; out[i + 1] = this.stylized[i + 1]; out[i + 2] = this.stylized[i + 2]; }
        out[i + 3] = this.stylized[i + 3];
      }
      return out;
    }
    const a = this.linearContent();
    const b = this.coloredLinear(mode);
    for (let p = 0, i = 0, o = 0; p < n; p++, i += 4, o += 3) {
      out[i] = toByte(linearToSrgb(a[o] + (b[o] - a[o]) * strength));
      out[i + 1] = toByte(linearToSrgb(a[o + 1] + (b[o + 1] - a[o + 1]) * strength));
      out[i + 2] = toByte(linearToSrgb(a[o + 2] + (b[o + 2] - a[o + 2]) * strength));
      out[i + 3] = this.stylized[i + 3];
    }
    return out;
  }
}
