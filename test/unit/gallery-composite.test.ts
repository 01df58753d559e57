// The gallery webview composites strength and colours itself (webview/gallery/composite.ts);
// the engine applies src/model/color.ts when saving. Both must give the same pixels, and the
// webview's results must have the numerical properties the gallery promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Compositor, linearToSrgb, srgbToLinear } from '../../webview/gallery/composite';
import {
  linearToSrgb as modelLinearToSrgb,
  postProcess,
  rgbToYcbcr,
  srgbToLinear as modelSrgbToLinear,
} from '../../src/model/color';
import { toBytes, type FloatImage } from '../../src/model/pixels';

const W = 61,
  H = 37; // odd sizes: no accidental alignment
/** A varied "photo" and a differently coloured, textured "stylization", as RGBA bytes. */
function rgba(
  f: (x: number, y: number) => [number, number, number],
  alpha = (_x: number, _y: number) => 255,
): Uint8ClampedArray {
  const d = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const [r, g, b] = f(x, y);
      d.set([r, g, b, alpha(x, y)], (y * W + x) * 4);
    }
  return d;
}
const content = rgba((x, y) => [
  20 + 200 * (x / (W - 1)),
  30 + 190 * (y / (H - 1)),
  128 + 100 * Math.sin(x * 0.4 + y * 0.1),
]);
const stylized = rgba(
  (x, y) => [(x * 37 + y * 11) % 256, 240 - 5 * y, 10 + 4 * x],
  (x) => (x < 3 ? 0 : 255),
);

function toFloat(d: Uint8ClampedArray): FloatImage {
  const data = new Float32Array(W * H * 3);
  for (let p = 0; p < W * H; p++) for (let k = 0; k < 3; k++) data[p * 3 + k] = d[p * 4 + k];
  return { width: W, height: H, channels: 3, data };
}

function rgbOf(d: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let p = 0; p < W * H; p++) out.push(d[p * 4], d[p * 4 + 1], d[p * 4 + 2]);
  return out;
}

test("transfer curves agree with the model's within 1e-4 (linear) and 0.01 (sRGB levels)", () => {
  for (let v = 0; v <= 255; v += 0.37)
    assert.ok(Math.abs(srgbToLinear(v) - modelSrgbToLinear(v)) < 1e-4, `srgbToLinear(${v})`);
  for (let l = 0; l <= 1; l += 0.00037)
    assert.ok(Math.abs(linearToSrgb(l) - modelLinearToSrgb(l)) < 0.01, `linearToSrgb(${l})`);
});

test('the webview composite equals the engine post-processing within 1/255 for every mode and strength', () => {
  const comp = new Compositor(content, stylized, W, H);
  const cf = toFloat(content),
    sf = toFloat(stylized);
  for (const colorMode of ['none', 'luminance', 'histogram'] as const) {
    for (const strength of [0, 0.1, 0.35, 0.5, 0.8, 1]) {
      const ours = rgbOf(comp.render(strength, colorMode));
      const theirs = toBytes(postProcess(cf, sf, { colorMode, strength }).data);
      let max = 0,
        sum = 0;
      for (let i = 0; i < ours.length; i++) {
        const d = Math.abs(ours[i] - theirs[i]);
        max = Math.max(max, d);
        sum += d;
      }
      assert.ok(max <= 1, `${colorMode} @ ${strength}: max difference ${max}`);
      assert.ok(sum / ours.length < 0.05, `${colorMode} @ ${strength}: mean difference ${sum / ours.length}`);
    }
  }
});

test('strength 0 is the input exactly and strength 1 the full stylization exactly; alpha follows the stylization', () => {
  const comp = new Compositor(content, stylized, W, H);
  const zero = comp.render(0, 'none');
  const one = comp.render(1, 'none');
  assert.deepEqual(rgbOf(zero), rgbOf(content));
  assert.deepEqual(rgbOf(one), rgbOf(stylized));
  assert.deepEqual(rgbOf(comp.render(0, 'luminance')), rgbOf(content), 'strength 0 ignores the colour mode');
  for (let p = 0; p < W * H; p++) assert.equal(one[p * 4 + 3], stylized[p * 4 + 3]);
  // In between, each channel lies between the two (the blend is monotonic per channel).
  const half = comp.render(0.5, 'none');
  for (let i = 0; i < half.length; i++) {
    if (i % 4 === 3) continue;
    const lo = Math.min(content[i], stylized[i]),
      hi = Math.max(content[i], stylized[i]);
    assert.ok(half[i] >= lo && half[i] <= hi, `channel ${i}: ${half[i]} not in [${lo}, ${hi}]`);
  }
});

test("preserved colours keep the input chroma within 1/255 on average and take the stylization's luminance", () => {
  const comp = new Compositor(content, stylized, W, H);
  const out = comp.render(1, 'luminance');
  let chroma = 0,
    lumaFollow = 0,
    n = 0;
  for (let p = 0; p < W * H; p++) {
    const i = p * 4;
    const [, cb1, cr1] = rgbToYcbcr(out[i], out[i + 1], out[i + 2]);
    const [, cb2, cr2] = rgbToYcbcr(content[i], content[i + 1], content[i + 2]);
    chroma += (Math.abs(cb1 - cb2) + Math.abs(cr1 - cr2)) / 2;
    const [yOut] = rgbToYcbcr(out[i], out[i + 1], out[i + 2]);
    const [yStyle] = rgbToYcbcr(stylized[i], stylized[i + 1], stylized[i + 2]);
    lumaFollow += Math.abs(yOut - yStyle);
    n++;
  }
  assert.ok(chroma / n <= 1, `mean chroma error ${(chroma / n).toFixed(3)} levels (1 level = 1/255)`);
  // Luminance is clamped only where the content's chroma would leave the RGB cube.
  assert.ok(lumaFollow / n < 12, `mean luminance distance to the stylization ${(lumaFollow / n).toFixed(2)}`);
});

test('rendering is repeatable across cached modes and rejects a strength outside [0, 1]', () => {
  const comp = new Compositor(content, stylized, W, H);
  const a = [...comp.render(0.4, 'luminance')];
  comp.render(0.9, 'histogram');
  comp.render(0.2, 'none');
  assert.deepEqual([...comp.render(0.4, 'luminance')], a);
  assert.throws(() => comp.render(1.2, 'none'), /between 0 and 1/);
  assert.throws(() => new Compositor(content, stylized.subarray(4), W, H), /RGBA/);
});
