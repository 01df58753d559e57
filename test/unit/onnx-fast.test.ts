// The fast ONNX graph (blocked layers, sub-pixel upsampling) must compute what the core export
// computes; the int8 pieces (statistics, MSE ranges, equalization) are checked against numbers;
// the int8 graph must fuse into QLinearConv and stay close to fp32; the engine's fast-model
// cache reuses files and records the precision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { layerSpecs, paramSpecs, type TransformNetArchitecture, type WeightMap } from '../../src/model/architecture';
import { exportTransformNetToOnnx, decodeOnnxModel } from '../../src/model/onnx/onnxExport';
import { exportFastTransformNet } from '../../src/model/onnx/onnxFast';
import { blockTaps, defaultBlocks, quantizeWeightsPerChannel, uint8Params } from '../../src/model/onnx/onnxFastWeights';
import {
  ChannelStats,
  calibrationTensors,
  equalizationGroups,
  equalizeWeights,
  mseRange,
  planInt8,
} from '../../src/model/onnx/int8Plan';
import {
  clampedPsnr,
  collectCalibrationStats,
  ensureFastOnnxModel,
  exportInt8Model,
  int8Layers,
  INT8_SESSION_CONFIG,
  FAST_GRAPH_LAYOUT,
} from '../../src/engine/onnx/onnxQuantized';
import { sha256OfWeights } from '../../src/engine/onnx/onnxCache';
import type { FloatImage } from '../../src/model/pixels';
import { withNormStatsOutputs } from '../../src/model/onnx/onnxNormStats';
import { StyleTransferError } from '../../src/protocol/errors';
import { REPO_ROOT, tempDir } from '../helpers/paths';

const SMALL: TransformNetArchitecture = { type: 'johnson2016', filters: [8, 16, 32], residualBlocks: 2 };
const SMALL_NEAREST: TransformNetArchitecture = { ...SMALL, upsample: 'nearest' };

function seededWeights(arch: TransformNetArchitecture, seed = 3): WeightMap {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
  return new Map(
    paramSpecs(arch).map((p) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      return [
        p.name,
        Float32Array.from({ length: n }, () =>
          p.role === 'scale' ? 0.8 + 0.4 * (rnd() + 0.5) : p.role === 'shift' ? 0.2 * rnd() : 0.3 * rnd(),
        ),
      ];
    }),
  );
}

function image(w: number, h: number): FloatImage {
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        data[(y * w + x) * 3 + c] = 127 + 100 * Math.sin(0.21 * x + 0.13 * y + c) * Math.cos(0.07 * x * (c + 1));
      }
  return { width: w, height: h, channels: 3, data };
}

function chw(img: FloatImage): ort.Tensor {
  const { width: W, height: H } = img;
  const out = new Float32Array(3 * W * H);
  for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) out[c * W * H + i] = img.data[i * 3 + c];
  return new ort.Tensor('float32', out, [1, 3, H, W]);
}

async function runModel(model: Uint8Array, x: ort.Tensor, extra?: Record<string, unknown>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    logSeverityLevel: 3,
    ...(extra ? { extra } : {}),
  });
  try {
    return (await s.run({ input: x })).output.data as Float32Array;
  } finally {
    await s.release();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('block taps: the 9×9 conv on 2×2 blocks is a 5×5 conv; a stride-2 transposed conv onto 2×2 blocks reads a 2×2 window', () => {
  const conv9 = blockTaps({ kind: 'conv', kernel: 9, stride: 1 }, 2, 2);
  assert.equal(conv9.stride, 1);
  assert.deepEqual([Math.min(...conv9.taps.map((t) => t.d)), Math.max(...conv9.taps.map((t) => t.d))], [-2, 2]);
  assert.equal(conv9.taps.length, 2 * 9); // every (phase, tap) reads exactly one input pixel
  const deconv = blockTaps({ kind: 'deconv', kernel: 3, stride: 2 }, 1, 2);
  // phase 0 reads taps 0 (same block) and 2 (block before); phase 1 reads tap 1 only
  assert.deepEqual(
    deconv.taps.map((t) => [t.r, t.i, t.d]).sort(),
    [
      [0, 0, 0],
      [0, 2, -1],
      [1, 1, 0],
    ].sort(),
  );
  // stride-2 conv from 2×2 blocks to plain pixels stays a stride-1 conv on the block grid
  assert.equal(blockTaps({ kind: 'conv', kernel: 3, stride: 2 }, 2, 1).stride, 1);
  assert.throws(() => blockTaps({ kind: 'deconv', kernel: 3, stride: 2 }, 1, 1), /needs output block 2/);
  assert.deepEqual(
    Object.entries(defaultBlocks(SMALL))
      .filter(([, b]) => b > 1)
      .map(([n]) => n),
    ['deconv2', 'conv4'],
  );
});

test("the fast fp32 graph computes the core export's output (transposed and nearest upsampling, several layouts and sizes)", async () => {
  for (const arch of [SMALL, SMALL_NEAREST, { ...SMALL_NEAREST, outputScale: 127.5 }]) {
    const weights = seededWeights(arch);
    const core = exportTransformNetToOnnx(arch, weights);
    for (const [w, h] of [
      [16, 12],
      [36, 20],
    ]) {
      const x = chw(image(w, h));
      const ref = await runModel(core, x);
      for (const layout of [{}, FAST_GRAPH_LAYOUT, { blocks: { deconv2: 1, conv4: 1 } }, { deconvAsConv: true }]) {
        const out = await runModel(exportFastTransformNet(arch, weights, layout), x);
        const diff = maxAbsDiff(ref, out);
        assert.ok(diff < 1e-2, `${arch.upsample ?? 'transpose'} ${w}×${h} ${JSON.stringify(layout)}: max |Δ| ${diff}`);
      }
    }
  }
  const opsOf = (layout: object) =>
    new Set(
      decodeOnnxModel(exportFastTransformNet(SMALL, seededWeights(SMALL), layout)).graph!.node!.map((n) => n.opType),
    );
  // The engine's layout: blocks, and transposed convs as sub-pixel convs (no ConvTranspose).
  const ops = opsOf(FAST_GRAPH_LAYOUT);
  assert.ok(ops.has('SpaceToDepth') && ops.has('DepthToSpace') && !ops.has('ConvTranspose'), [...ops].join(','));
  assert.ok(opsOf({}).has('ConvTranspose'));
  const m = decodeOnnxModel(exportFastTransformNet(SMALL, seededWeights(SMALL), FAST_GRAPH_LAYOUT));
  assert.equal(m.graph!.input![0].name, 'input');
  assert.equal(m.graph!.output![0].name, 'output');
  assert.throws(
    () => exportFastTransformNet(SMALL, new Map()),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'bad-checkpoint',
  );
  assert.throws(
    () =>
      exportFastTransformNet(SMALL, seededWeights(SMALL), {
        int8: { nope: { input: { min: 0, max: 1 }, output: [] } },
      }),
    /no layer "nope"/,
  );
});

test("the fast graph's norm-statistics variants: the statistics of the core export's variant, and fed back they give the plain output", async () => {
  for (const layout of [{}, FAST_GRAPH_LAYOUT]) {
    const weights = seededWeights(SMALL);
    const core = exportTransformNetToOnnx(SMALL, weights);
    const x = chw(image(36, 20));
    const ref = await runModel(core, x);
    const run = async (model: Uint8Array, feeds: Record<string, ort.Tensor>) => {
      const s = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], logSeverityLevel: 3 });
      try {
        return { out: await s.run(feeds), outputNames: s.outputNames };
      } finally {
        await s.release();
      }
    };
    const measured = await run(exportFastTransformNet(SMALL, weights, { ...layout, normStats: 'outputs' }), {
      input: x,
    });
    const coreStats = await run(withNormStatsOutputs(core), { input: x });
    const statNames = measured.outputNames.filter((n) => n.startsWith('norm_stats/'));
    assert.equal(statNames.length, 2 * layerSpecs(SMALL).length);
    for (const n of statNames) {
      const d = maxAbsDiff(measured.out[n].data as Float32Array, coreStats.out[n].data as Float32Array);
      const scale = Math.max(...Array.from(coreStats.out[n].data as Float32Array, Math.abs));
      assert.ok(d <= 1e-4 * scale + 1e-5, `${n}: max |Δ| ${d} of ${scale}`);
    }
    assert.ok(maxAbsDiff(ref, measured.out.output.data as Float32Array) < 1e-2);
    const fed = Object.fromEntries(statNames.map((n) => [n, measured.out[n] as ort.Tensor]));
    const fixed = await run(exportFastTransformNet(SMALL, weights, { ...layout, normStats: 'inputs' }), {
      input: x,
      ...fed,
    });
    assert.ok(maxAbsDiff(ref, fixed.out.output.data as Float32Array) < 1e-2, JSON.stringify(layout));
  }
  assert.throws(
    () =>
      exportFastTransformNet(SMALL, seededWeights(SMALL), {
        normStats: 'inputs',
        int8: { conv1: { input: { min: 0, max: 1 }, output: [] } },
      }),
    /fp32 only/,
  );
});

test('channel statistics, MSE ranges and uint8/int8 parameters', () => {
  const st = new ChannelStats(2, 4);
  st.add(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, 40, 0, 0, 0, 0]), 8);
  assert.deepEqual([...st.min], [1, -3]);
  assert.deepEqual([...st.max], [8, 40]);
  assert.deepEqual(st.samples[0], [1, 3, 5, 7]); // every 2nd of 8 values
  const scaled = st.scaled([2, 0.5]);
  assert.deepEqual(
    [[...scaled.min], [...scaled.max]],
    [
      [2, -1.5],
      [16, 20],
    ],
  );
  // Laplace(0, 1) samples reach ±11.5; the MSE-optimal 8-bit clip is known to be ≈ ±9.9
  const laplace = Array.from({ length: 100000 }, (_, i) => {
    const u = (i + 0.5) / 100000 - 0.5;
    return -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  });
  const r = mseRange(laplace, -11.513, 11.513, 0);
  assert.ok(r.max > 9.6 && r.max < 10.2 && Math.abs(r.min + r.max) < 1e-9, JSON.stringify(r));
  // uniform data keeps (about) its range
  const u = mseRange(
    Array.from({ length: 5000 }, (_, i) => i / 4999),
    0,
    1,
    0,
  );
  assert.ok(u.max > 0.95, JSON.stringify(u));
  assert.deepEqual(uint8Params({ min: 0, max: 255 }), { scale: 1, zeroPoint: 0 });
  assert.deepEqual(uint8Params({ min: -1, max: 1 }), { scale: 2 / 255, zeroPoint: 128 });
  const { q, scales } = quantizeWeightsPerChannel(Float32Array.from([0.5, -1, 0.25, 2, -2, 1]), 2);
  assert.deepEqual([...q], [64, -127, 32, 127, -127, 64]);
  assert.deepEqual(
    [...scales].map((s) => +s.toFixed(6)),
    [+(1 / 127).toFixed(6), +(2 / 127).toFixed(6)],
  );
});

test('equalization is exact: scaled norms and divided consumer weights give the same output', async () => {
  for (const arch of [SMALL, SMALL_NEAREST]) {
    const weights = seededWeights(arch, 5);
    const groups = equalizationGroups(arch);
    // conv1→conv2, conv2→conv3, the residual stream (conv3 + res*b → res*a, deconv1), res1a→res1b, res2a→res2b, deconv1→deconv2, deconv2→conv4
    assert.equal(groups.length, 7);
    const stream = groups.find((g) => g.producers.some((p) => p.name === 'conv3'))!;
    assert.deepEqual(
      stream.producers.map((p) => p.name),
      ['conv3', 'res1b', 'res2b'],
    );
    assert.deepEqual(
      stream.consumers.map((c) => c.name),
      ['res1a', 'res2a', 'deconv1'],
    );
    // fake statistics with very different channel amplitudes
    const inputs = new Map<string, ChannelStats>();
    for (const t of calibrationTensors(arch)) {
      const C = layerSpecs(arch).find((l) => l.name === t.layer)!.inChannels;
      const st = new ChannelStats(C);
      for (let c = 0; c < C; c++) {
        st.min[c] = -0.1 * (c + 1);
        st.max[c] = (c % 3 === 0 ? 50 : 1) * (c + 1);
      }
      inputs.set(t.layer, st);
    }
    const eq = equalizeWeights(arch, weights, inputs);
    assert.ok(
      [...eq.inputScales.values()].some((s) => Math.max(...s) > 10),
      'channels were rescaled',
    );
    const x = chw(image(24, 16));
    const a = await runModel(exportTransformNetToOnnx(arch, weights), x);
    const b = await runModel(exportTransformNetToOnnx(arch, eq.weights), x);
    assert.ok(maxAbsDiff(a, b) < 2e-2, `max |Δ| ${maxAbsDiff(a, b)}`);
  }
});

test('int8: the graph fuses into QLinearConv, stays close to fp32, and the statistics cover every layer', async () => {
  const arch = SMALL;
  const weights = seededWeights(arch, 7);
  const images = [image(64, 48), image(40, 40)];
  const stats = await collectCalibrationStats(arch, weights, images);
  assert.deepEqual(
    [...stats.inputs.keys()],
    calibrationTensors(arch).map((t) => t.layer),
  );
  const pixels = stats.inputs.get('conv1')!;
  assert.equal(pixels.channels, 3);
  assert.ok(
    Math.min(...pixels.min) >= 27 - 1e-3 && Math.max(...pixels.max) <= 227 + 1e-3 && Math.max(...pixels.max) > 200,
    'the image itself',
  );
  assert.equal(stats.outputs.get('res1a')!.channels, 32);
  const int8 = exportInt8Model(arch, weights, stats);
  const fp32 = exportFastTransformNet(arch, weights, FAST_GRAPH_LAYOUT);
  const dir = tempDir('fst-int8-');
  const optimized = path.join(dir, 'opt.onnx');
  const s = await ort.InferenceSession.create(int8, {
    executionProviders: ['cpu'],
    logSeverityLevel: 3,
    optimizedModelFilePath: optimized,
    extra: INT8_SESSION_CONFIG as Record<string, unknown>,
  });
  await s.release();
  const fused = decodeOnnxModel(fs.readFileSync(optimized)).graph!.node!.filter(
    (n) => n.opType === 'QLinearConv',
  ).length;
  assert.equal(fused, int8Layers(arch).length, 'one QLinearConv per int8 layer');
  const x = chw(image(48, 32));
  const p = clampedPsnr(
    await runModel(fp32, x),
    await runModel(int8, x, INT8_SESSION_CONFIG as Record<string, unknown>),
  );
  // Random weights are harder than trained ones; a wrong fold, bias or scale gives < 15 dB.
  assert.ok(p > 25, `int8 vs fp32: ${p.toFixed(1)} dB`);
  assert.throws(
    () => planInt8(['conv1'], { inputs: new Map(), outputs: new Map() }, new Map()),
    /no calibration statistics for layer conv1/,
  );
});

test('fast-model cache: built once beside the checkpoint, reused, precision and PSNR recorded; int8 below 40 dB is refused', async () => {
  const arch = SMALL;
  const weights = seededWeights(arch, 11);
  const dir = tempDir('fst-fast-cache-');
  const req = { arch, weights, weightsSha256: sha256OfWeights(arch, weights), dir };
  const first = await ensureFastOnnxModel({ ...req, precision: 'fp32' });
  assert.equal(first.precision, 'fp32');
  assert.equal(first.exported, true);
  assert.equal(path.basename(first.path), 'model.fast.onnx');
  const again = await ensureFastOnnxModel({ ...req, precision: 'auto' });
  assert.equal(again.exported, false);
  assert.equal(again.path, first.path);
  // int8 with the extension's sample photos: random weights fall below 40 dB, which is refused with the number
  const photos = path.join(REPO_ROOT, 'media', 'samples', 'photos');
  await assert.rejects(
    ensureFastOnnxModel({ ...req, precision: 'int8', calibrationDir: photos }),
    (e: unknown) =>
      e instanceof StyleTransferError &&
      e.code === 'bad-input' &&
      /cannot run in int8: int8 output reaches only [\d.]+ dB PSNR against fp32 \(needs 40 dB\)/.test(e.message),
  );
  const sidecar = JSON.parse(fs.readFileSync(path.join(dir, 'model.int8.onnx.json'), 'utf8'));
  assert.equal(sidecar.info.precision, 'int8');
  assert.equal(sidecar.info.psnrDb.length, 2);
  // the decision is cached: the second request fails the same way without calibrating again
  const t0 = Date.now();
  await assert.rejects(
    ensureFastOnnxModel({ ...req, precision: 'int8', calibrationDir: photos }),
    /cannot run in int8/,
  );
  assert.ok(Date.now() - t0 < 2000);
});
