import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyStrength,
  linearToSrgb,
  postProcess,
  preserveColorsHistogram,
  preserveColorsLuminance,
  rgbToYcbcr,
  srgbToLinear,
} from '../../src/model/color';
import { toBytes, type FloatImage } from '../../src/model/pixels';

function image(w: number, h: number, f: (x: number, y: number) => [number, number, number]): FloatImage {
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), (y * w + x) * 3);
  return { width: w, height: h, channels: 3, data };
}
// A varied "photo" and a differently coloured, textured "stylization".
const content = image(64, 48, (x, y) => [50 + 150 * (x / 63), 60 + 140 * (y / 47), 128 + 60 * Math.sin(x * 0.3)]);
const stylized = image(64, 48, (x, y) => [40 + (200 * ((x * y) % 7)) / 6, 230 - 3 * y, 20 + 3 * x]);

function meanChromaError(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 3) {
    const [, cb1, cr1] = rgbToYcbcr(a[i], a[i + 1], a[i + 2]);
    const [, cb2, cr2] = rgbToYcbcr(b[i], b[i + 1], b[i + 2]);
    sum += (Math.abs(cb1 - cb2) + Math.abs(cr1 - cr2)) / 2;
  }
  return sum / (a.length / 3);
}

test('sRGB ↔ linear conversions invert each other', () => {
  for (let v = 0; v <= 255; v += 5) assert.ok(Math.abs(linearToSrgb(srgbToLinear(v)) - v) < 0.01, `${v}`);
  assert.equal(srgbToLinear(0), 0);
  assert.equal(srgbToLinear(255), 1);
});

test('strength 0 returns the input exactly, 1 the stylization, ½ blends in linear light', () => {
  assert.deepEqual(applyStrength(content, stylized, 0).data, content.data);
  assert.deepEqual(applyStrength(content, stylized, 1).data, stylized.data);
  const black = image(1, 1, () => [0, 0, 0]);
  const white = image(1, 1, () => [255, 255, 255]);
  // Half of black and white in linear light is 0.5 linear = 188 in sRGB, not 127.5.
  assert.ok(Math.abs(applyStrength(black, white, 0.5).data[0] - 187.5) < 0.6);
  assert.throws(() => applyStrength(content, stylized, 1.5), /between 0 and 1/);
});

test('luminance transfer keeps the content chroma within 1/255 and the stylization luminance', () => {
  const out = toBytes(preserveColorsLuminance(content, stylized).data);
  const err = meanChromaError(out, toBytes(content.data));
  assert.ok(err < 1, `mean chroma error ${err}`);
  // Luminance follows the stylization where the gamut allows: correlation close to 1.
  let num = 0,
    da = 0,
    db = 0;
  const ys = (d: ArrayLike<number>, i: number) => 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
  let ma = 0,
    mb = 0;
  const n = out.length / 3;
  for (let i = 0; i < out.length; i += 3) {
    ma += ys(out, i) / n;
    mb += ys(stylized.data, i) / n;
  }
  for (let i = 0; i < out.length; i += 3) {
    const a = ys(out, i) - ma,
      b = ys(stylized.data, i) - mb;
    num += a * b;
    da += a * a;
    db += b * b;
  }
  assert.ok(num / Math.sqrt(da * db) > 0.9, `luminance correlation ${num / Math.sqrt(da * db)}`);
});

test('histogram matching gives the content colour mean and covariance', () => {
  const out = preserveColorsHistogram(content, stylized);
  const stats = (d: Float32Array) => {
    const m = [0, 0, 0];
    const n = d.length / 3;
    for (let i = 0; i < d.length; i += 3) for (let k = 0; k < 3; k++) m[k] += d[i + k] / n;
    const c: number[] = [];
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) {
        let s = 0;
        for (let i = 0; i < d.length; i += 3) s += (d[i + a] - m[a]) * (d[i + b] - m[b]);
        c.push(s / n);
      }
    return { m, c };
  };
  const a = stats(out.data);
  const b = stats(content.data);
  a.m.forEach((v, k) => assert.ok(Math.abs(v - b.m[k]) < 1e-2));
  a.c.forEach((v, k) =>
    assert.ok(Math.abs(v - b.c[k]) < 1e-2 * Math.max(1, Math.abs(b.c[k])), `cov ${k}: ${v} vs ${b.c[k]}`),
  );
});

test('postProcess applies colours then strength, and strength 0 is still the input', () => {
  assert.deepEqual(postProcess(content, stylized, { colorMode: 'luminance', strength: 0 }).data, content.data);
  assert.deepEqual(postProcess(content, stylized, {}).data, stylized.data);
});
