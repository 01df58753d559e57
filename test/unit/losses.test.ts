import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf, type Scalar, type Tensor3D, type Tensor4D } from '../../src/model/tf';
import { Vgg19, VGG19_LAYERS, type VggWeights } from '../../src/model/vgg';
import {
  BLOCK1_3_LOSS_LAYERS,
  DEFAULT_LOSS_WEIGHTS,
  PerceptualLoss,
  REFERENCE_LOSS_LAYERS,
  contentLoss,
  defaultLayersFor,
  gram,
  rangeLoss,
  styleLoss,
  totalVariationLoss,
  type LossLayers,
} from '../../src/model/losses';
import { loadKerasVgg } from '../../src/io/vggWeights';
import { StyleTransferError } from '../../src/protocol/errors';
import { hasSharedData, shared } from '../helpers/paths';
import { gaussian, rng, syntheticVggWeights } from '../helpers/vggFixtures';

const near = (a: number, b: number, rel = 1e-5) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));
const value = async (s: Scalar) => (await s.data())[0];

function randomImages(seed: number, b: number, h = 8, w = 8): Tensor4D {
  const r = rng(seed);
  return tf.tensor4d(
    Float32Array.from({ length: b * h * w * 3 }, () => 255 * r()),
    [b, h, w, 3],
  );
}

test('gram of a known matrix is FᵀF / (H·W·C)', async () => {
  // Pixels (rows) [1 2 3], [4 5 6], [7 8 9], [10 11 12] of a 2×2 image with 3 channels.
  const f = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [1, 2, 2, 3]);
  const g = gram(f);
  assert.deepEqual(g.shape, [1, 3, 3]);
  const byHand = [166, 188, 210, 188, 214, 240, 210, 240, 270].map((v) => v / 12);
  (await g.data()).forEach((v, i) => assert.ok(near(v, byHand[i]), `G[${i}] = ${v}, by hand ${byHand[i]}`));
  // Per image in a batch: the second image is twice the first, so its Gram is four times it.
  const batch = tf.concat([f, tf.mul(f, 2)]) as Tensor4D;
  const gb = await gram(batch).data();
  for (let i = 0; i < 9; i++) assert.ok(near(gb[9 + i], 4 * gb[i]));
});

test('content, style and total-variation losses of small known inputs', async () => {
  const a = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  const b = tf.tensor4d([1, 0, 3, 8], [1, 2, 2, 1]);
  assert.ok(near(await value(contentLoss(a, b)), (0 + 4 + 0 + 16) / 4));
  // [[0 1 3], [2 2 7]]: dx² = 1, 4, 0, 25 (mean 7.5); dy² = 4, 1, 16 (mean 7).
  const img = tf.tensor4d([0, 1, 3, 2, 2, 7], [1, 2, 3, 1]);
  assert.ok(near(await value(totalVariationLoss(img)), 14.5));
  assert.equal(await value(totalVariationLoss(tf.fill([2, 5, 4, 3], 77) as Tensor4D)), 0);
  assert.equal(
    await value(totalVariationLoss(tf.tensor4d([1, 5, 2], [1, 1, 3, 1]))),
    12.5,
    'a single row has only horizontal terms: (16 + 9) / 2',
  );
  const f = randomImages(1, 2, 4, 4);
  const own = { x: gram(f) };
  assert.ok((await value(styleLoss({ x: f }, own))) < 1e-6, 'identical statistics cost nothing');
  // A [1, C, C] target is broadcast over the batch: mean over B·C·C of squared differences.
  const target = tf.zeros([1, 3, 3]) as Tensor3D;
  const g = await own.x.data();
  let expected = 0;
  for (const v of g) expected += v * v;
  assert.ok(near(await value(styleLoss({ x: f }, { x: target })), expected / 18));
  assert.throws(
    () => contentLoss(a, img),
    (e: StyleTransferError) => e.code === 'bad-input',
  );
});

test("default layers follow DESIGN §4: the reference's with full VGG19, relu2_2 / relu1_1, relu2_1, relu3_1 with blocks 1–3", () => {
  const all = VGG19_LAYERS.map((l) => l.name);
  assert.deepEqual(defaultLayersFor(all), {
    content: 'relu4_2',
    style: ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'],
  });
  assert.equal(defaultLayersFor(all), REFERENCE_LOSS_LAYERS);
  const block13 = all.slice(0, all.indexOf('pool3') + 1);
  assert.deepEqual(defaultLayersFor(block13), { content: 'relu2_2', style: ['relu1_1', 'relu2_1', 'relu3_1'] });
  assert.equal(defaultLayersFor(block13), BLOCK1_3_LOSS_LAYERS);
  assert.throws(
    () => defaultLayersFor(all.slice(0, all.indexOf('pool2') + 1)),
    /reach only relu2_2; style transfer needs at least relu3_1/,
  );
  assert.deepEqual(DEFAULT_LOSS_WEIGHTS, { content: 7.5, style: 100, tv: 200 });
});

test("the weighted parts equal the reference implementation's formulas (l2_loss, sizes, batch)", async () => {
  await tf.setBackend('cpu');
  const vgg = Vgg19.fromWeights(syntheticVggWeights([6, 6, 8, 8, 10], 11));
  const style = randomImages(2, 1, 12, 10);
  const stylized = randomImages(3, 2);
  const content = randomImages(4, 2);
  const layers: LossLayers = BLOCK1_3_LOSS_LAYERS;
  const loss = PerceptualLoss.create(vgg, style, { layers });
  const parts = loss.compute(stylized, content);

  // The reference, in float64 from the same features: l2_loss(t) = Σt²/2, sizes per image.
  const l2 = (xs: ArrayLike<number>, ys?: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += (xs[i] - (ys ? ys[i] : 0)) ** 2;
    return s / 2;
  };
  const B = 2;
  const fOut = vgg.features(stylized, [layers.content, ...layers.style]);
  const fContent = vgg.features(content, [layers.content]);
  const [, h, w, c] = fOut[layers.content].shape;
  const contentRef =
    (7.5 * (2 * l2(await fOut[layers.content].data(), await fContent[layers.content].data()))) / (h * w * c * B);
  let styleRef = 0;
  const fStyle = vgg.features(style, layers.style);
  for (const name of layers.style) {
    const [, hs, ws, cs] = fStyle[name].shape;
    const sf = await fStyle[name].data();
    const A = new Float64Array(cs * cs); // style_gram = featuresᵀ·features / features.size, [C, C]
    for (let i = 0; i < cs; i++)
      for (let j = 0; j < cs; j++) {
        let s = 0;
        for (let p = 0; p < hs * ws; p++) s += sf[p * cs + i] * sf[p * cs + j];
        A[i * cs + j] = s / (hs * ws * cs);
      }
    const [, ho, wo] = fOut[name].shape;
    const of = await fOut[name].data();
    let sum = 0;
    for (let b = 0; b < B; b++) {
      const G = new Float64Array(cs * cs);
      for (let i = 0; i < cs; i++)
        for (let j = 0; j < cs; j++) {
          let s = 0;
          for (let p = 0; p < ho * wo; p++) s += of[(b * ho * wo + p) * cs + i] * of[(b * ho * wo + p) * cs + j];
          G[i * cs + j] = s / (ho * wo * cs);
        }
      sum += l2(G, A);
    }
    styleRef += (2 * sum) / A.length;
  }
  styleRef = (100 * styleRef) / B;
  const x = await stylized.data();
  const [, H, W] = stylized.shape;
  let xTv = 0,
    yTv = 0;
  for (let b = 0; b < B; b++)
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++)
        for (let ch = 0; ch < 3; ch++) {
          const at = (yy: number, xq: number) => x[((b * H + yy) * W + xq) * 3 + ch];
          if (xx + 1 < W) xTv += (at(y, xx + 1) - at(y, xx)) ** 2 / 2;
          if (y + 1 < H) yTv += (at(y + 1, xx) - at(y, xx)) ** 2 / 2;
        }
  const tvRef = (200 * 2 * (xTv / (H * (W - 1) * 3) + yTv / ((H - 1) * W * 3))) / B;

  const got = {
    content: await value(parts.content),
    style: await value(parts.style),
    tv: await value(parts.tv),
    total: await value(parts.total),
  };
  assert.ok(near(got.content, contentRef, 1e-4), `content ${got.content} vs reference ${contentRef}`);
  assert.ok(near(got.style, styleRef, 1e-4), `style ${got.style} vs reference ${styleRef}`);
  assert.ok(near(got.tv, tvRef, 1e-4), `tv ${got.tv} vs reference ${tvRef}`);
  assert.ok(near(got.total, contentRef + styleRef + tvRef, 1e-4));
  tf.dispose([
    style,
    stylized,
    content,
    parts.total,
    ...Object.values(fOut),
    ...Object.values(fContent),
    ...Object.values(fStyle),
  ]);
  loss.dispose();
  vgg.dispose();
});

// ----- Finite-difference gradient checks ---------------------------------------------
//
// The analytic gradients come from tfjs (float32, cpu backend). The finite differences are
// central differences of the same loss evaluated in float64 by a plain-JS twin of the VGG
// forward pass and the loss formulas (asserted equal to the tfjs values at the base point),
// because float32 rounding in the forward pass (~1e-7 of the loss) swamps a difference small
// enough to stay on one side of every ReLU kink. Along a line x + t·v the network is affine
// while no ReLU changes sign and no max-pool window changes its winner, so the step is
// halved until the twin's activation pattern is the same at x ± εv. Directions: the gradient
// itself, then the gradient plus random noise of equal norm (a directional derivative that
// is not a near-cancelling sum). TV, which needs no network, is also checked on tfjs alone.

type Shape4 = [number, number, number, number];
interface Act {
  data: Float64Array;
  shape: Shape4;
}

/** The VGG forward pass in float64: preprocessing, 3×3 SAME convs + bias, ReLU, 2×2 max pool ('same'). */
function twinFeatures(
  w: VggWeights,
  x: Float64Array,
  shape: Shape4,
  upTo: string,
  pattern?: string[],
): Map<string, Act> {
  const [B, H0, W0] = shape;
  const out = new Map<string, Act>();
  let cur: Act = { data: new Float64Array(x.length), shape };
  for (let p = 0; p < B * H0 * W0; p++) {
    for (let c = 0; c < 3; c++) {
      const src = w.channelOrder === 'bgr' ? 2 - c : c;
      cur.data[p * 3 + c] = x[p * 3 + src] - w.mean[c];
    }
  }
  const last = VGG19_LAYERS.findIndex((l) => l.name === upTo);
  for (const spec of VGG19_LAYERS.slice(0, last + 1)) {
    const [b, h, wd, c] = cur.shape;
    if (spec.kind === 'conv') {
      const l = w.layers.find((q) => q.name === spec.name)!;
      const O = l.outChannels;
      const y = new Float64Array(b * h * wd * O);
      for (let n = 0; n < b; n++)
        for (let i = 0; i < h; i++)
          for (let j = 0; j < wd; j++) {
            const o0 = ((n * h + i) * wd + j) * O;
            for (let o = 0; o < O; o++) y[o0 + o] = l.bias[o];
            for (let kh = 0; kh < 3; kh++)
              for (let kw = 0; kw < 3; kw++) {
                const ii = i + kh - 1,
                  jj = j + kw - 1;
                if (ii < 0 || ii >= h || jj < 0 || jj >= wd) continue;
                const i0 = ((n * h + ii) * wd + jj) * c;
                for (let ci = 0; ci < c; ci++) {
                  const v = cur.data[i0 + ci];
                  const k0 = ((kh * 3 + kw) * c + ci) * O;
                  for (let o = 0; o < O; o++) y[o0 + o] += v * l.kernel[k0 + o];
                }
              }
          }
      cur = { data: y, shape: [b, h, wd, O] };
      pattern?.push(Array.from(y, (v) => (v > 0 ? '1' : '0')).join(''));
    } else if (spec.kind === 'relu') {
      cur = { data: cur.data.map((v) => Math.max(0, v)), shape: cur.shape };
    } else {
      const oh = Math.ceil(h / 2),
        ow = Math.ceil(wd / 2);
      const y = new Float64Array(b * oh * ow * c);
      const winners: number[] = [];
      for (let n = 0; n < b; n++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++)
            for (let ci = 0; ci < c; ci++) {
              let best = -Infinity,
                arg = -1;
              for (let k = 0; k < 4; k++) {
                const ii = 2 * i + (k >> 1),
                  jj = 2 * j + (k & 1);
                if (ii >= h || jj >= wd) continue;
                const v = cur.data[((n * h + ii) * wd + jj) * c + ci];
                if (v > best) {
                  best = v;
                  arg = k;
                }
              }
              y[((n * oh + i) * ow + j) * c + ci] = best;
              winners.push(best > 0 ? arg : -1); // all-zero windows have no winner that matters
            }
      cur = { data: y, shape: [b, oh, ow, c] };
      pattern?.push(winners.join(','));
    }
    out.set(spec.name, cur);
  }
  return out;
}

function twinGram(f: Act): Float64Array[] {
  const [b, h, w, c] = f.shape;
  return Array.from({ length: b }, (_, n) => {
    const g = new Float64Array(c * c);
    for (let p = 0; p < h * w; p++) {
      const base = (n * h * w + p) * c;
      for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) g[i * c + j] += f.data[base + i] * f.data[base + j];
    }
    return g.map((v) => v / (h * w * c));
  });
}

interface TwinLoss {
  readonly loss: (x: Float64Array, pattern?: string[]) => number;
  readonly shape: Shape4;
}

/** The perceptual loss in float64 (same formulas as losses.ts), for stylized images of `shape`. */
function twinPerceptual(
  w: VggWeights,
  layers: LossLayers,
  weights: { content: number; style: number; tv: number },
  style: { data: Float64Array; shape: Shape4 },
  content: { data: Float64Array; shape: Shape4 },
): TwinLoss {
  const deepest = [layers.content, ...layers.style].sort(
    (a, b) => VGG19_LAYERS.findIndex((l) => l.name === b) - VGG19_LAYERS.findIndex((l) => l.name === a),
  )[0];
  const targets = twinFeatures(w, style.data, style.shape, deepest);
  const grams = new Map(layers.style.map((n) => [n, twinGram(targets.get(n)!)[0]]));
  const p = twinFeatures(w, content.data, content.shape, layers.content).get(layers.content)!;
  const [B, H, W, C] = content.shape;
  return {
    shape: content.shape,
    loss(x, pattern) {
      const f = twinFeatures(w, x, content.shape, deepest, pattern);
      const fc = f.get(layers.content)!;
      let contentSum = 0;
      for (let i = 0; i < fc.data.length; i++) contentSum += (fc.data[i] - p.data[i]) ** 2;
      let styleSum = 0;
      for (const n of layers.style) {
        const a = grams.get(n)!;
        let s = 0;
        for (const g of twinGram(f.get(n)!)) for (let i = 0; i < g.length; i++) s += (g[i] - a[i]) ** 2;
        styleSum += s / (B * a.length);
      }
      let dx = 0,
        dy = 0;
      for (let n = 0; n < B; n++)
        for (let i = 0; i < H; i++)
          for (let j = 0; j < W; j++)
            for (let c = 0; c < C; c++) {
              const at = (ii: number, jj: number) => x[((n * H + ii) * W + jj) * C + c];
              if (j + 1 < W) dx += (at(i, j + 1) - at(i, j)) ** 2;
              if (i + 1 < H) dy += (at(i + 1, j) - at(i, j)) ** 2;
            }
      const tv = dx / (B * H * (W - 1) * C) + dy / (B * (H - 1) * W * C);
      return (weights.content * contentSum) / fc.data.length + weights.style * styleSum + weights.tv * tv;
    },
  };
}

async function gradientCheck(
  what: string,
  f: (x: Tensor4D) => Scalar,
  x: Tensor4D,
  twin?: TwinLoss,
  directions = 3,
): Promise<number> {
  const g = tf.grad((t) => f(t as Tensor4D))(x);
  const grad = Float64Array.from(await g.data());
  g.dispose();
  const x64 = Float64Array.from(await x.data());
  const L32 = await value(tf.tidy(() => f(x)));
  const gNorm = Math.hypot(...grad);
  assert.ok(gNorm > 0 && Number.isFinite(gNorm), `${what}: gradient norm ${gNorm}`);
  const basePattern: string[] = [];
  const L0 = twin ? twin.loss(x64, basePattern) : L32;
  if (twin) assert.ok(near(L0, L32, 1e-4), `${what}: float64 twin gives ${L0}, tfjs ${L32}`);
  const noise = gaussian(rng(17));
  let worst = 0;
  for (let d = 0; d < directions; d++) {
    const n = Float64Array.from({ length: x.size }, noise);
    const nNorm = Math.hypot(...n);
    const v = Float64Array.from(grad, (q, i) => q / gNorm + (d === 0 ? 0 : n[i] / nNorm));
    let analytic = 0;
    for (let i = 0; i < v.length; i++) analytic += grad[i] * v[i];
    const shifted = (e: number) => x64.map((q, i) => q + e * v[i]);
    let numeric: number;
    let eps: number;
    if (twin) {
      eps = (1e-5 * Math.abs(L0)) / Math.abs(analytic); // float64: a tiny step is exact enough
      const samePattern = (e: number) => {
        const pp: string[] = [];
        twin.loss(shifted(e), pp);
        return pp.every((s, i) => s === basePattern[i]);
      };
      for (let halvings = 0; !(samePattern(eps) && samePattern(-eps)); halvings++) {
        assert.ok(halvings < 30, `${what}: no step keeps the activation pattern`);
        eps /= 2;
      }
      numeric = (twin.loss(shifted(eps)) - twin.loss(shifted(-eps))) / (2 * eps);
    } else {
      // TV alone is an exact quadratic: any step works in float32, a large one beats rounding.
      eps = (0.05 * Math.abs(L0)) / Math.abs(analytic);
      const [p, m] = [shifted(eps), shifted(-eps)].map((a) => tf.tensor(Float32Array.from(a), x.shape) as Tensor4D);
      numeric = ((await value(tf.tidy(() => f(p)))) - (await value(tf.tidy(() => f(m))))) / (2 * eps);
      tf.dispose([p, m]);
    }
    const err = Math.abs(numeric - analytic) / Math.abs(analytic);
    assert.ok(
      err <= 1e-3,
      `${what}, direction ${d}: finite difference ${numeric} vs analytic ${analytic} (relative error ${err.toExponential(2)}, step ${eps.toExponential(2)})`,
    );
    worst = Math.max(worst, err);
  }
  return worst;
}

async function asFloat64(t: Tensor4D): Promise<{ data: Float64Array; shape: Shape4 }> {
  return { data: Float64Array.from(await t.data()), shape: t.shape as Shape4 };
}

test('gradients match finite differences: TV, content, style and the total through a small random VGG', async () => {
  await tf.setBackend('cpu');
  const w = syntheticVggWeights([6, 6, 8, 8, 10], 11);
  const vgg = Vgg19.fromWeights(w);
  const style = randomImages(5, 1, 10, 6);
  const content = randomImages(6, 2, 8, 6);
  const x = randomImages(7, 2, 8, 6);
  const worst: Record<string, string> = {};
  const cases: [string, { content: number; style: number; tv: number }][] = [
    ['tv', { content: 0, style: 0, tv: 1 }],
    ['content', { content: 1, style: 0, tv: 0 }],
    ['style', { content: 0, style: 1, tv: 0 }],
    ['total', DEFAULT_LOSS_WEIGHTS],
  ];
  for (const [what, weights] of cases) {
    const loss = PerceptualLoss.create(vgg, style, { layers: BLOCK1_3_LOSS_LAYERS, weights });
    const f = (t: Tensor4D) => loss.compute(t, content).total;
    const twin = twinPerceptual(w, BLOCK1_3_LOSS_LAYERS, weights, await asFloat64(style), await asFloat64(content));
    const err = await gradientCheck(what, f, x, what === 'tv' ? undefined : twin);
    if (what === 'tv') await gradientCheck('tv (float64 twin)', f, x, twin);
    worst[what] = err.toExponential(1);
    loss.dispose();
  }
  console.log(`worst relative errors: ${JSON.stringify(worst)}`);
  tf.dispose([style, content, x]);
  vgg.dispose();
});

test('the gradient check notices a gradient that is 0.5% off', async () => {
  await tf.setBackend('cpu');
  const x = randomImages(14, 1, 4, 4);
  // The TV loss with a gradient scaled by 1.005.
  // The TV loss with its gradient (written out: d/dx of mean(d²) moves 2d/N to both pixels of each pair) times 1.005.
  const tvGrad = (img: Tensor4D) => {
    const [b, h, w, c] = img.shape;
    const dx = tf.sub(tf.slice(img, [0, 0, 1, 0], [b, h, w - 1, c]), tf.slice(img, [0, 0, 0, 0], [b, h, w - 1, c]));
    const dy = tf.sub(tf.slice(img, [0, 1, 0, 0], [b, h - 1, w, c]), tf.slice(img, [0, 0, 0, 0], [b, h - 1, w, c]));
    const gx = tf.mul(
      tf.sub(
        tf.pad(dx, [
          [0, 0],
          [0, 0],
          [1, 0],
          [0, 0],
        ]),
        tf.pad(dx, [
          [0, 0],
          [0, 0],
          [0, 1],
          [0, 0],
        ]),
      ),
      2 / dx.size,
    );
    const gy = tf.mul(
      tf.sub(
        tf.pad(dy, [
          [0, 0],
          [1, 0],
          [0, 0],
          [0, 0],
        ]),
        tf.pad(dy, [
          [0, 0],
          [0, 1],
          [0, 0],
          [0, 0],
        ]),
      ),
      2 / dy.size,
    );
    return tf.add(gx, gy);
  };
  const skewed = (scale: number) =>
    tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [t, save] = args as [Tensor4D, tf.GradSaveFunc];
      save([t]);
      return {
        value: totalVariationLoss(t),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.mul(tvGrad(saved[0] as Tensor4D), dy), scale),
      };
    });
  assert.ok(
    (await gradientCheck('tv written out', (t) => skewed(1)(t) as Scalar, x)) < 1e-5,
    'the written-out gradient is right',
  );
  await assert.rejects(
    gradientCheck('skewed tv', (t) => skewed(1.005)(t) as Scalar, x),
    /relative error 4\.9\de-3/,
  );
  x.dispose();
});

test('style and content gradients through the real VGG blocks 1–2 (Keras weights) on 8×8 images match finite differences', async (t) => {
  if (!hasSharedData(t)) return;
  await tf.setBackend('cpu');
  const w = await loadKerasVgg(shared('vgg19-keras-block1-3'));
  const vgg = Vgg19.fromWeights(w);
  const style = randomImages(8, 1);
  const content = randomImages(9, 1);
  const x = randomImages(10, 1);
  const layers = { content: 'relu2_2', style: ['relu1_1', 'relu2_1'] };
  const worst: Record<string, string> = {};
  for (const [what, weights] of [
    ['style', { content: 0, style: 1, tv: 0 }],
    ['content', { content: 1, style: 0, tv: 0 }],
  ] as const) {
    const loss = PerceptualLoss.create(vgg, style, { layers, weights });
    const twin = twinPerceptual(w, layers, weights, await asFloat64(style), await asFloat64(content));
    worst[what] = (await gradientCheck(`keras ${what}`, (s) => loss.compute(s, content).total, x, twin)).toExponential(
      1,
    );
    loss.dispose();
  }
  console.log(`keras worst relative errors: ${JSON.stringify(worst)}`);
  tf.dispose([style, content, x]);
  vgg.dispose();
});

test('no tensors leak across a loss computation, inside or outside a gradient scope', async () => {
  await tf.setBackend('cpu');
  const vgg = Vgg19.fromWeights(syntheticVggWeights([4, 4, 6, 6, 8], 12));
  const style = randomImages(11, 1);
  const content = randomImages(12, 2);
  const start = tf.memory().numTensors;
  const loss = PerceptualLoss.create(vgg, style);
  assert.deepEqual(loss.layers, BLOCK1_3_LOSS_LAYERS);
  assert.equal(tf.memory().numTensors, start + 3, 'only the three target Grams are kept');
  const init = randomImages(13, 2);
  const x = tf.variable(init, true);
  init.dispose();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 2; i++) {
    const p = loss.compute(x as unknown as Tensor4D, content);
    tf.dispose([p.total, p.content, p.style, p.tv]);
    let kept: { content?: Scalar } = {};
    const { value: v, grads } = tf.variableGrads(() => {
      const parts = loss.compute(x as unknown as Tensor4D, content, { keepParts: true });
      kept = parts;
      tf.dispose([parts.style, parts.tv]);
      return parts.total;
    }, [x]);
    assert.ok(Number.isFinite(await value(v)) && Number.isFinite(await value(kept.content!)));
    tf.dispose([v, kept.content!, ...Object.values(grads)]);
    assert.equal(tf.memory().numTensors, before, `iteration ${i}`);
  }
  x.dispose();
  loss.dispose();
  assert.equal(tf.memory().numTensors, start);
  tf.dispose([style, content]);
  vgg.dispose();
});

test('bad settings are refused: missing layer, repeated layer, negative weight, mismatched batches', async () => {
  await tf.setBackend('cpu');
  const vgg = Vgg19.fromWeights(syntheticVggWeights([4, 4, 6, 6, 8], 12));
  const style = randomImages(11, 1);
  const before = tf.memory().numTensors;
  assert.throws(
    () => PerceptualLoss.create(vgg, style, { layers: REFERENCE_LOSS_LAYERS }),
    (e: StyleTransferError) => e.code === 'bad-weights' && /relu4_2 is not available/.test(e.message),
  );
  assert.throws(
    () => PerceptualLoss.create(vgg, style, { layers: { content: 'relu2_2', style: ['relu1_1', 'relu1_1'] } }),
    /repeat/,
  );
  assert.throws(
    () => PerceptualLoss.create(vgg, style, { weights: { tv: -1 } }),
    /tv weight must be a finite number ≥ 0/,
  );
  assert.equal(tf.memory().numTensors, before, 'refused settings allocate nothing');
  const loss = PerceptualLoss.create(vgg, style);
  const a = randomImages(1, 2),
    b = randomImages(2, 1);
  assert.throws(() => loss.compute(a, b), /differ in shape/);
  tf.dispose([a, b, style]);
  loss.dispose();
  vgg.dispose();
});

test('range loss: zero while every value before tanh is within ±2, the mean squared excess beyond', () => {
  const inside = tf.tensor4d([0, 1.5, -1.99, 2], [1, 2, 2, 1]);
  assert.equal(rangeLoss(inside).dataSync()[0], 0);
  // excesses 0, 0.5, 1, 3 → (0.25 + 1 + 9) / 4
  const z = tf.tensor4d([1, 2.5, -3, 5], [1, 2, 2, 1]);
  assert.ok(Math.abs(rangeLoss(z).dataSync()[0] - 10.25 / 4) < 1e-6);
  // Its gradient pushes each value back towards the limit: 2·e·sign(z)/N.
  const g = tf
    .grad((x: tf.Tensor) => rangeLoss(x as Tensor4D))(z)
    .dataSync();
  assert.deepEqual(Array.from(g), [0, (2 * 0.5) / 4, (-2 * 1) / 4, (2 * 3) / 4]);
  tf.dispose([inside, z]);
});
