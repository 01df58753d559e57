// The training step as an ONNX graph (src/model/onnx/train) against tfjs autodiff on the cpu
// backend: per layer family, the graph's backward (vector–Jacobian product with a random
// upstream gradient) must match tf.grads to 1e-3 relative (‖g_onnx − g_tfjs‖ / ‖g_tfjs‖).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import '@tensorflow/tfjs-backend-cpu';
import { tf, type Tensor, type Tensor4D } from '../../src/model/tf';
import { GraphBuilder } from '../../src/model/onnx/train/graph';
import { convBackward, convForward, type ConvLayer, type Shape4 } from '../../src/model/onnx/train/conv';
import { normBackward, normForward } from '../../src/model/onnx/train/norm';
import { upsampleNearest } from '../../src/model/transformNet';
import { instanceNorm } from '../../src/model/instanceNorm';
import {
  OUTPUT_OFFSET,
  OUTPUT_SCALE,
  layerSpecs,
  paramSpecs,
  type LayerActivation,
  type TransformNetArchitecture,
} from '../../src/model/architecture';
import { Vgg19 } from '../../src/model/vgg';
import {
  BLOCK1_3_LOSS_LAYERS,
  PerceptualLoss,
  contentLoss,
  gram,
  styleLoss,
  totalVariationLoss,
} from '../../src/model/losses';
import { TransformNet } from '../../src/model/transformNet';
import { buildTrainStepGraph, TRAIN_IO } from '../../src/model/onnx/train/trainStep';
import { OnnxTrainer } from '../../src/engine/train/onnxTrainer';
import { Adam, DEFAULT_ADAM } from '../../src/model/adam';
import { VggConstants, vggBackward, vggForward } from '../../src/model/onnx/train/vgg';
import { contentLossGrad, styleLayerLossGrad, tvLossGrad } from '../../src/model/onnx/train/losses';
import { adamStepSize, adamUpdate } from '../../src/model/onnx/train/adam';
import { loadKerasVgg } from '../../src/io/vggWeights';
import { gaussian, rng } from '../helpers/vggFixtures';
import { hasSharedData, shared } from '../helpers/paths';

const TOL = 1e-3;

function randn(seed: number, n: number, scale = 1): Float32Array {
  const g = gaussian(rng(seed));
  return Float32Array.from({ length: n }, () => g() * scale);
}

/** NHWC data → NCHW data. */
function toNchw(d: Float32Array | Int32Array | Uint8Array, [b, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(d.length);
  for (let n = 0; n < b; n++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) {
          out[((n * c + k) * h + y) * w + x] = d[((n * h + y) * w + x) * c + k];
        }
  return out;
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length, 'sizes differ');
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = TOL): void {
  const e = relErr(got, want);
  assert.ok(e <= tol, `${what}: relative error ${e.toExponential(2)} > ${tol}`);
}

async function runGraph(
  model: Uint8Array,
  feeds: Record<string, { data: Float32Array; dims: readonly number[] }>,
): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    logSeverityLevel: 3,
    graphOptimizationLevel: 'all',
  });
  try {
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor('float32', v.data, [...v.dims]);
    const out = await s.run(f);
    const r: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(out)) r[k] = v.data as Float32Array;
    return r;
  } finally {
    await s.release();
  }
}

async function nchwOf(t: Tensor): Promise<Float32Array> {
  return toNchw((await t.data()) as Float32Array, t.shape);
}

const CONV_CASES: ConvLayer[] = [
  { name: 'c9', kind: 'conv', kernel: 9, stride: 1, inChannels: 3, outChannels: 4 },
  { name: 'c9narrowing', kind: 'conv', kernel: 9, stride: 1, inChannels: 6, outChannels: 3 },
  { name: 'c3s2', kind: 'conv', kernel: 3, stride: 2, inChannels: 4, outChannels: 5 },
  { name: 'c3', kind: 'conv', kernel: 3, stride: 1, inChannels: 5, outChannels: 5 },
  { name: 'd3s2', kind: 'deconv', kernel: 3, stride: 2, inChannels: 5, outChannels: 4 },
  { name: 'u3s2', kind: 'upconv', kernel: 3, stride: 2, inChannels: 5, outChannels: 4 },
];

test('conv, strided conv, transposed conv and nearest-upsampling conv: output and gradients match tfjs', async () => {
  for (const l of CONV_CASES) {
    const [b, h, w] = [2, 12, 8];
    const wShape =
      l.kind === 'deconv'
        ? [l.kernel, l.kernel, l.outChannels, l.inChannels]
        : [l.kernel, l.kernel, l.inChannels, l.outChannels];
    const xT = tf.tensor4d(randn(1, b * h * w * l.inChannels, 50), [b, h, w, l.inChannels]);
    const wT = tf.tensor4d(
      randn(
        2,
        wShape.reduce((a, c) => a * c, 1),
        0.1,
      ),
      wShape as [number, number, number, number],
    );
    const fwd = (x: Tensor4D, f: Tensor4D): Tensor4D =>
      l.kind === 'conv'
        ? tf.conv2d(x, f, l.stride, 'same')
        : l.kind === 'upconv'
          ? tf.conv2d(upsampleNearest(x, l.stride), f, 1, 'same')
          : tf.conv2dTranspose(x, f, [b, h * l.stride, w * l.stride, l.outChannels], l.stride, 'same');
    const yT = fwd(xT, wT);
    const dyT = tf.tensor4d(randn(3, yT.size), yT.shape);
    const [dxT, dwT] = tf.grads((x: Tensor, f: Tensor) => tf.sum(tf.mul(fwd(x as Tensor4D, f as Tensor4D), dyT)))([
      xT,
      wT,
    ]);

    const g = new GraphBuilder();
    const inShape: Shape4 = [b, l.inChannels, h, w];
    const x = g.input('x', inShape);
    const wIn = g.input('w', wShape);
    const { y, saved } = convForward(g, l, x, wIn, inShape);
    const dy = g.input('dy', saved.outShape);
    const { dx, dw } = convBackward(g, saved, dy);
    assert.ok(dx);
    g.output(y, 'y', saved.outShape);
    g.output(dx, 'dx', inShape);
    g.output(dw, 'dw', wShape);
    const r = await runGraph(g.encode('conv_test'), {
      x: { data: await nchwOf(xT), dims: inShape },
      w: { data: (await wT.data()) as Float32Array, dims: wShape },
      dy: { data: await nchwOf(dyT), dims: saved.outShape },
    });
    assertClose(r.y, await nchwOf(yT), `${l.name} y`, 1e-5);
    assertClose(r.dx, await nchwOf(dxT), `${l.name} dx`);
    assertClose(r.dw, (await dwT.data()) as Float32Array, `${l.name} dw`);
    tf.dispose([xT, wT, yT, dyT, dxT, dwT]);
  }
});

test('instance norm with ReLU, with a residual, and the tanh output layer: output and gradients match tfjs', async () => {
  const cases: { act: LayerActivation; residual: boolean; outScale?: number }[] = [
    { act: 'relu', residual: false },
    { act: 'none', residual: true },
    { act: 'tanh', residual: false },
    { act: 'none', residual: false },
    { act: 'tanh', residual: false, outScale: 127.5 },
  ];
  for (const { act, residual, outScale = OUTPUT_SCALE } of cases) {
    const [b, h, w, c] = [2, 6, 4, 3];
    const xT = tf.tensor4d(randn(4, b * h * w * c, 20), [b, h, w, c]);
    const betaT = tf.tensor1d(randn(5, c, 0.3));
    const gammaT = tf.tensor1d(randn(6, c, 0.5).map((v) => v + 1));
    const resT = tf.tensor4d(randn(7, b * h * w * c), [b, h, w, c]);
    const fwd = (x: Tensor4D, beta: Tensor, gamma: Tensor, res: Tensor4D): Tensor4D => {
      let y = instanceNorm(x, beta, gamma, act === 'relu' && !residual ? 'relu' : 'none');
      if (residual) y = tf.add(y, res);
      return act === 'tanh' ? tf.add(tf.mul(tf.tanh(y), outScale), OUTPUT_OFFSET) : y;
    };
    const yT = fwd(xT, betaT, gammaT, resT);
    const dyT = tf.tensor4d(randn(8, yT.size), yT.shape);
    // tf.grads refuses a variable that does not reach the output: the residual only when used.
    const grads = tf.grads((x: Tensor, beta: Tensor, gamma: Tensor, res?: Tensor) =>
      tf.sum(tf.mul(fwd(x as Tensor4D, beta, gamma, (res ?? resT) as Tensor4D), dyT)),
    )(residual ? [xT, betaT, gammaT, resT] : [xT, betaT, gammaT]);

    const g = new GraphBuilder();
    const shape: Shape4 = [b, c, h, w];
    const x = g.input('x', shape);
    const shift = g.input('shift', [c]);
    const scale = g.input('scale', [c]);
    const res = residual ? g.input('res', shape) : undefined;
    const { y, saved } = normForward(g, 'n', x, shape, shift, scale, act, res, outScale);
    const dy = g.input('dy', shape);
    const back = normBackward(g, saved, dy);
    g.output(y, 'y', shape);
    g.output(back.dx, 'dx', shape);
    g.output(back.dshift, 'dshift', [c]);
    g.output(back.dscale, 'dscale', [c]);
    if (residual) g.output(back.dpre, 'dres', shape);
    const r = await runGraph(g.encode('norm_test'), {
      x: { data: await nchwOf(xT), dims: shape },
      shift: { data: (await betaT.data()) as Float32Array, dims: [c] },
      scale: { data: (await gammaT.data()) as Float32Array, dims: [c] },
      dy: { data: await nchwOf(dyT), dims: shape },
      ...(residual ? { res: { data: await nchwOf(resT), dims: shape } } : {}),
    });
    const what = `${act}${residual ? '+residual' : ''}${outScale !== OUTPUT_SCALE ? `·${outScale}` : ''}`;
    assertClose(r.y, await nchwOf(yT), `${what} y`, 1e-5);
    assertClose(r.dx, await nchwOf(grads[0]), `${what} dx`);
    assertClose(r.dshift, (await grads[1].data()) as Float32Array, `${what} dshift`);
    assertClose(r.dscale, (await grads[2].data()) as Float32Array, `${what} dscale`);
    if (residual) assertClose(r.dres, await nchwOf(grads[3]), `${what} dres`);
    tf.dispose([xT, betaT, gammaT, resT, yT, dyT, ...grads]);
  }
});

test('VGG19 blocks 1–3 (Keras weights): features and the input gradient from several layers match tfjs', async (t) => {
  if (!hasSharedData(t)) return;
  const weights = await loadKerasVgg(shared('vgg19-keras-block1-3'));
  const vgg = Vgg19.fromWeights(weights);
  const layers = ['relu1_1', 'conv1_2', 'pool1', 'relu2_1', 'relu2_2', 'relu3_1'];
  const [b, h, w] = [2, 16, 12];
  const xT = tf.tensor4d(
    randn(9, b * h * w * 3, 60).map((v) => v + 127),
    [b, h, w, 3],
  );
  const feats = vgg.features(xT, layers);
  const seedsT = layers.map((l, i) => tf.tensor4d(randn(10 + i, feats[l].size, 1e-2), feats[l].shape));
  const [dxT] = tf.grads((x: Tensor) => {
    const f = vgg.features(x as Tensor4D, layers);
    return tf.addN(layers.map((l, i) => tf.sum(tf.mul(f[l], seedsT[i]))));
  })([xT]);

  const g = new GraphBuilder();
  const shape: Shape4 = [b, 3, h, w];
  const x = g.input('x', shape);
  const fwd = vggForward(g, new VggConstants(g, weights), x, shape, layers, 'vgg');
  const feeds: Record<string, { data: Float32Array; dims: readonly number[] }> = {
    x: { data: await nchwOf(xT), dims: shape },
  };
  const seeds: Record<string, string> = {};
  for (const [i, l] of layers.entries()) {
    const s = fwd.features[l].shape;
    seeds[l] = g.input(`seed_${l}`, s);
    feeds[`seed_${l}`] = { data: await nchwOf(seedsT[i]), dims: s };
    g.output(fwd.features[l].value, `f_${l}`, s);
  }
  g.output(vggBackward(g, fwd, seeds, 'vgg'), 'dx', shape);
  const r = await runGraph(g.encode('vgg_test'), feeds);
  for (const l of layers) assertClose(r[`f_${l}`], await nchwOf(feats[l]), `${l} features`, 1e-5);
  assertClose(r.dx, await nchwOf(dxT), 'VGG input gradient');
  tf.dispose([xT, dxT, ...Object.values(feats), ...seedsT]);
  vgg.dispose();
});

test('content, style (Gram) and total-variation losses and their gradients match tfjs', async () => {
  const [b, h, w, c] = [2, 6, 5, 4];
  const fT = tf.tensor4d(randn(20, b * h * w * c, 10), [b, h, w, c]);
  const pT = tf.tensor4d(randn(21, b * h * w * c, 10), [b, h, w, c]);
  const imgT = tf.tensor4d(randn(22, b * h * w * 3, 80), [b, h, w, 3]);
  const styleT = tf.tensor4d(randn(23, h * w * c, 10), [1, h, w, c]);
  const aT = gram(styleT);
  const weights = { content: 7.5, style: 100, tv: 200 };
  const terms = (f: Tensor4D, img: Tensor4D) => [
    tf.mul(contentLoss(f, pT), weights.content),
    tf.mul(styleLoss({ f }, { f: aT }), weights.style),
    tf.mul(totalVariationLoss(img), weights.tv),
  ];
  const want = await Promise.all(terms(fT, imgT).map(async (s) => (await s.data())[0]));
  const [dfT, dimgT] = tf.grads((f: Tensor, img: Tensor) => tf.addN(terms(f as Tensor4D, img as Tensor4D)))([fT, imgT]);

  const g = new GraphBuilder();
  const fs: Shape4 = [b, c, h, w];
  const is: Shape4 = [b, 3, h, w];
  const f = g.input('f', fs);
  const p = g.input('p', fs);
  const img = g.input('img', is);
  const a = g.floats((await aT.data()) as Float32Array, [1, c, c], 'gram_target');
  const content = contentLossGrad(g, f, p, fs, weights.content);
  const style = styleLayerLossGrad(g, 'f', f, fs, a, weights.style);
  const tv = tvLossGrad(g, img, is, weights.tv);
  g.output(content.loss, 'content', []);
  g.output(style.loss, 'style', []);
  g.output(tv.loss, 'tv', []);
  g.output(g.add(content.df, style.df), 'df', fs);
  g.output(tv.dimg, 'dimg', is);
  const r = await runGraph(g.encode('loss_test'), {
    f: { data: await nchwOf(fT), dims: fs },
    p: { data: await nchwOf(pT), dims: fs },
    img: { data: await nchwOf(imgT), dims: is },
  });
  assertClose([r.content[0], r.style[0], r.tv[0]], want, 'loss values', 1e-5);
  assert.deepEqual([r.content.length, r.style.length, r.tv.length], [1, 1, 1]);
  assertClose(r.df, await nchwOf(dfT), 'feature gradient (content + style)');
  assertClose(r.dimg, await nchwOf(dimgT), 'image gradient (tv)');
  tf.dispose([fT, pT, imgT, styleT, aT, dfT, dimgT]);
});

test('Adam as elementwise ops: three updates equal adam.ts (parameters and moments)', async () => {
  const n = 50;
  const pT = tf.variable(tf.tensor1d(randn(30, n)), true);
  const adam = new Adam(new Map([['p', pT]]), DEFAULT_ADAM);
  const g = new GraphBuilder();
  const io = ['p', 'grad', 'm', 'v'].map((k) => g.input(k, [n]));
  const lr = g.input('lr', []);
  const u = adamUpdate(g, 'p', io[0], io[1], io[2], io[3], lr, DEFAULT_ADAM);
  g.output(u.p, 'p_new', [n]);
  g.output(u.m, 'm_new', [n]);
  g.output(u.v, 'v_new', [n]);
  const model = g.encode('adam_test');
  let state: Record<'p' | 'm' | 'v', Float32Array> = {
    p: (await pT.data()) as Float32Array,
    m: new Float32Array(n),
    v: new Float32Array(n),
  };
  for (let step = 1; step <= 3; step++) {
    const grad = randn(30 + step, n, step);
    const gT = tf.tensor1d(grad);
    adam.apply({ p: gT });
    gT.dispose();
    const r = await runGraph(model, {
      p: { data: state.p, dims: [n] },
      grad: { data: grad, dims: [n] },
      m: { data: state.m, dims: [n] },
      v: { data: state.v, dims: [n] },
      lr: { data: Float32Array.of(adamStepSize(DEFAULT_ADAM, step)), dims: [] },
    });
    state = { p: r.p_new, m: r.m_new, v: r.v_new };
    const s = await adam.getState();
    assertClose(state.p, (await pT.data()) as Float32Array, `step ${step} parameters`, 1e-6);
    assertClose(state.m, s.m.get('p')!, `step ${step} first moment`, 1e-6);
    assertClose(state.v, s.v.get('p')!, `step ${step} second moment`, 1e-6);
  }
  adam.dispose();
  pT.dispose();
});

/** A smooth synthetic batch [b, s, s, 3] in 0..255 (photo-like: neighbouring pixels correlate). */
function photoBatch(seed: number, b: number, s: number): Tensor4D {
  const r = rng(seed);
  const data = new Float32Array(b * s * s * 3);
  for (let n = 0; n < b; n++) {
    const [fx, fy, ph] = [0.1 + 0.3 * r(), 0.1 + 0.3 * r(), 6 * r()];
    for (let y = 0; y < s; y++)
      for (let x = 0; x < s; x++)
        for (let c = 0; c < 3; c++) {
          data[((n * s + y) * s + x) * 3 + c] =
            127 + 90 * Math.sin(fx * x + ph + c) * Math.cos(fy * y - c) + 20 * (r() - 0.5);
        }
  }
  return tf.tensor4d(data, [b, s, s, 3]);
}

const TINY: TransformNetArchitecture = { type: 'johnson2016', filters: [4, 8, 16], residualBlocks: 1 };

test('whole training step: the losses and the gradient of every parameter match tfjs autodiff (tiny nets, 32×32, batch 2, VGG blocks 1–3, with and without the range loss)', async (t) => {
  if (!hasSharedData(t)) return;
  const vggWeights = await loadKerasVgg(shared('vgg19-keras-block1-3'));
  const vgg = Vgg19.fromWeights(vggWeights);
  const styleT = photoBatch(40, 1, 48);
  const plain = PerceptualLoss.create(vgg, styleT, { layers: BLOCK1_3_LOSS_LAYERS });
  const ranged = PerceptualLoss.create(vgg, styleT, { layers: BLOCK1_3_LOSS_LAYERS, weights: { range: 1e7 } });
  const [b, s] = [2, 32];
  const contentT = photoBatch(41, b, s);
  const targetGrams: Record<string, Float32Array> = {};
  for (const [name, a] of Object.entries(plain.targetGrams())) targetGrams[name] = (await a.data()) as Float32Array;
  const cases = [
    { what: 'transpose', arch: TINY, loss: plain },
    { what: 'nearest', arch: { ...TINY, upsample: 'nearest' as const }, loss: plain },
    // The output layer's scale raised so that most values before tanh pass the range limit.
    { what: 'range loss', arch: TINY, loss: ranged, outputGain: 6 },
  ];
  for (const { what, arch, loss, outputGain } of cases) {
    const net = TransformNet.init(arch, 7);
    if (outputGain) {
      const outScale = net.params.get(`${layerSpecs(arch).at(-1)!.name}/scale`)!;
      outScale.assign(tf.fill(outScale.shape, outputGain));
    }
    const nameOf = new Map([...net.params].map(([n, v]) => [v.name, n]));
    const terms: Partial<Record<'content' | 'style' | 'tv' | 'range', number>> = {};
    const { value, grads } = tf.variableGrads(() => {
      let pre: Tensor4D | undefined;
      const stylized = net.apply(contentT, false, { onOutputPre: (p) => (pre = p) });
      const l = loss.compute(stylized, contentT, { keepParts: true, outputPre: pre });
      for (const k of ['content', 'style', 'tv', 'range'] as const) {
        terms[k] = l[k]?.dataSync()[0] ?? 0;
        l[k]?.dispose();
      }
      return l.total;
    }, net.variables());
    if (outputGain) assert.ok(terms.range! > 0.01 * (await value.data())[0], `range loss ${terms.range} is active`);

    const model = buildTrainStepGraph({
      arch,
      batch: b,
      height: s,
      width: s,
      vgg: vggWeights,
      layers: BLOCK1_3_LOSS_LAYERS,
      weights: loss.weights,
      targetGrams,
      outputGradients: true,
    });
    const feeds: Record<string, { data: Float32Array; dims: readonly number[] }> = {
      [TRAIN_IO.content]: { data: await nchwOf(contentT), dims: [b, 3, s, s] },
    };
    for (const p of paramSpecs(arch))
      feeds[TRAIN_IO.param(p.name)] = { data: (await net.params.get(p.name)!.data()) as Float32Array, dims: p.shape };
    const r = await runGraph(model, feeds);
    assertClose(
      [r.loss_content[0], r.loss_style[0], r.loss_tv[0], r.loss_range[0], r.loss_total[0]],
      [terms.content!, terms.style!, terms.tv!, terms.range!, (await value.data())[0]],
      `${what}: losses`,
      1e-5,
    );
    for (const [varName, grad] of Object.entries(grads)) {
      const name = nameOf.get(varName)!;
      assertClose(r[TRAIN_IO.grad(name)], (await grad.data()) as Float32Array, `${what}: gradient of ${name}`);
    }
    assert.equal(Object.keys(grads).length, paramSpecs(arch).length);
    tf.dispose([value, ...Object.values(grads)]);
    net.dispose();
  }
  tf.dispose([styleT, contentT]);
  plain.dispose();
  ranged.dispose();
  vgg.dispose();
});

test('20 Adam steps on ONNX Runtime (OnnxTrainer) give the losses of 20 tfjs steps (Adam of adam.ts), and its state resumes exactly', async (t) => {
  if (!hasSharedData(t)) return;
  const vggWeights = await loadKerasVgg(shared('vgg19-keras-block1-3'));
  const vgg = Vgg19.fromWeights(vggWeights);
  const styleT = photoBatch(50, 1, 24);
  const loss = PerceptualLoss.create(vgg, styleT, { layers: BLOCK1_3_LOSS_LAYERS });
  const targetGrams: Record<string, Float32Array> = {};
  for (const [name, a] of Object.entries(loss.targetGrams())) targetGrams[name] = (await a.data()) as Float32Array;
  const [b, s, steps] = [2, 16, 20];
  const net = TransformNet.init(TINY, 11);
  const common = {
    arch: TINY,
    batch: b,
    height: s,
    width: s,
    vgg: vggWeights,
    layers: BLOCK1_3_LOSS_LAYERS,
    lossWeights: loss.weights,
    targetGrams,
  };
  const trainer = await OnnxTrainer.create({ ...common, weights: await net.toWeights() });
  const adam = new Adam(net.params, DEFAULT_ADAM);
  const nameOf = new Map([...net.params].map(([n, v]) => [v.name, n]));
  let resumed: OnnxTrainer | undefined;
  try {
    for (let step = 0; step < steps; step++) {
      const batchT = photoBatch(100 + step, b, s);
      const batch = (await batchT.data()) as Float32Array;
      const want: number[] = [];
      const { value, grads } = tf.variableGrads(() => {
        const l = loss.compute(net.apply(batchT), batchT, { keepParts: true });
        for (const k of ['content', 'style', 'tv'] as const) {
          want.push(l[k].dataSync()[0]);
          l[k].dispose();
        }
        return l.total;
      }, net.variables());
      want.push((await value.data())[0]);
      const byParam: Record<string, Tensor> = {};
      for (const [v, grad] of Object.entries(grads)) byParam[nameOf.get(v)!] = grad;
      adam.apply(byParam);
      tf.dispose([value, ...Object.values(grads), batchT]);
      const got = await trainer.trainStep(batch);
      assertClose([got.content, got.style, got.tv, got.total], want, `step ${step + 1} losses`);
      if (resumed) {
        const again = await resumed.trainStep(batch);
        assert.deepEqual(again, got, `step ${step + 1}: the resumed trainer matches`);
      }
      if (step === 9) {
        // A second trainer started from the first's weights and Adam state continues identically.
        resumed = await OnnxTrainer.create({ ...common, weights: trainer.weights(), state: trainer.adamState() });
      }
    }
    assert.equal(trainer.iterations, steps);
    assert.equal(resumed!.iterations, steps);
    // Adam amplifies tiny gradient differences in near-zero entries; the weights still agree closely overall.
    const onnxWeights = trainer.weights();
    for (const [name, w] of await net.toWeights())
      assertClose(onnxWeights.get(name)!, w, `weights of ${name} after ${steps} steps`, 1e-2);
    await assert.rejects(trainer.trainStep(new Float32Array(5)), /must hold 2×16×16×3 = 1536 values, got 5/);
  } finally {
    await trainer.release();
    await resumed?.release();
    adam.dispose();
    net.dispose();
    tf.dispose(styleT);
    loss.dispose();
    vgg.dispose();
  }
});
