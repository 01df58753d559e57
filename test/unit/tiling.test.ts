// Tiled stylize (huge images with bounded memory): tile geometry, the norm-statistics network
// variants (tfjs and ONNX agree), seamlessness and agreement with a one-piece stylize on real
// photos with the udnie network, post-processing per band, cancel, progress, no leaks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { tf } from '../../src/model/tf';
import '@tensorflow/tfjs-backend-wasm';
import {
  PAPER_ARCHITECTURE,
  borderPadding,
  layerSpecs,
  type TransformNetArchitecture,
} from '../../src/model/architecture';
import { validateNormStats, type NormStats } from '../../src/model/normStats';
import { exportTransformNetToOnnx } from '../../src/model/onnx/onnxExport';
import {
  NORM_STATS_METADATA_KEYS,
  normLayersOf,
  withExternalNormStats,
  withNormStatsOutputs,
} from '../../src/model/onnx/onnxNormStats';
import { crop, psnr, toBytes, type FloatImage, type RgbBytes } from '../../src/model/pixels';
import { normStatsWithTfjs, stylizeWithTfjs } from '../../src/model/stylize';
import { planAxis, planTiles, receptiveRadius, defaultMargin } from '../../src/model/tiling';
import { TransformNet } from '../../src/model/transformNet';
import { decodeOnnxModel, onnxMetadata } from '../../src/model/onnx/onnxExport';
import { createOnnxSession } from '../../src/engine/onnx/onnxRunner';
import { stylizeWithOnnx } from '../../src/engine/onnx/onnxStylize';
import { onnxNormStats, stylizeWithOnnxStats } from '../../src/engine/onnx/onnxNormRunner';
import { createStylizeEngine } from '../../src/engine/stylize/engines';
import type { StylizeEngine } from '../../src/engine/stylize/stylizer';
import { loadStyle, type LoadedStyle } from '../../src/engine/styles';
import { poolNormStats, shouldTile, stylizeTiled, type TileProgress } from '../../src/engine/stylize/tiledStylize';
import { stylizeDecoded, stylizeDecoded8, stylizeFiles } from '../../src/engine/stylize/stylizeJob';
import { StyleTransferError } from '../../src/protocol/errors';
import { hasSharedData, shared, tempDir } from '../helpers/paths';
import { SMALL_ARCHITECTURE, smallWeights } from '../helpers/weights';
import { syntheticImage } from '../helpers/syntheticImage';

const SMALL: TransformNetArchitecture = SMALL_ARCHITECTURE;
const cpuOnly = { providers: ['cpu'] as const };

/** A photo resized to width × height (after turning it by `rotate` degrees), as bytes. */
async function photo(file: string, width: number, height: number, rotate = 0): Promise<RgbBytes> {
  let p = sharp(file);
  if (rotate) {
    // Turned, the straight edges of buildings and frames no longer line up with pixel
    // columns, so a column's neighbour difference says something about seams, not content.
    // The largest centred square inside the turned photo has no empty corners.
    const { width: w, height: h } = await sharp(file).metadata();
    const a = (rotate * Math.PI) / 180;
    const side = Math.floor(Math.min(w, h) / (Math.cos(a) + Math.sin(a))) - 2;
    const { data, info } = await sharp(file).rotate(rotate).raw().toBuffer({ resolveWithObject: true });
    p = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).extract({
      left: Math.floor((info.width - side) / 2),
      top: Math.floor((info.height - side) / 2),
      width: side,
      height: side,
    });
  }
  const data = await p.resize(width, height, { fit: 'cover' }).removeAlpha().raw().toBuffer();
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

const toFloat = (img: RgbBytes): FloatImage => ({
  width: img.width,
  height: img.height,
  channels: 3,
  data: Float32Array.from(img.data),
});

function maxRelativeStatsDifference(a: NormStats, b: NormStats): number {
  let worst = 0;
  for (const [layer, s] of a) {
    const t = b.get(layer)!;
    for (let c = 0; c < s.mean.length; c++) {
      const sd = Math.sqrt(t.variance[c] + 1e-3);
      worst = Math.max(
        worst,
        Math.abs(s.mean[c] - t.mean[c]) / sd,
        Math.abs(s.variance[c] - t.variance[c]) / (t.variance[c] + 1e-3),
      );
    }
  }
  return worst;
}

let engine: StylizeEngine | undefined;
let udnie: LoadedStyle | undefined;
const cacheDir = tempDir('fst-tiling-cache-');

before(async () => {
  await tf.setBackend('wasm');
});

after(() => {
  engine?.dispose();
});

async function udnieEngine(): Promise<{ engine: StylizeEngine; style: LoadedStyle }> {
  engine ??= await createStylizeEngine({ runtime: 'onnx', cacheDir });
  udnie ??= await loadStyle(shared('pretrained', 'udnie'));
  return { engine, style: udnie };
}

// ---- geometry ----

test('the receptive field of the paper network reaches 54 px (margin 56)', () => {
  assert.equal(receptiveRadius(PAPER_ARCHITECTURE), 54);
  assert.equal(defaultMargin(PAPER_ARCHITECTURE), 56);
  // Fewer residual blocks see less; nearest upsampling sees a little more than transposed convs.
  assert.ok(receptiveRadius(SMALL) < 54);
  assert.ok(receptiveRadius({ ...PAPER_ARCHITECTURE, upsample: 'nearest' }) >= 54);
  // Each 3×3 conv at stride 4 adds 4 px: one residual block adds 8.
  assert.equal(receptiveRadius({ ...PAPER_ARCHITECTURE, residualBlocks: 6 }) - receptiveRadius(PAPER_ARCHITECTURE), 8);
});

test('planAxis: tiles on the stride grid, overlaps ≥ the requested one, ramps only over trusted pixels, weights sum to 1', () => {
  for (const length of [4, 256, 260, 1000, 1024, 2048, 2052, 6000, 8000]) {
    for (const [tile, overlap, margin] of [
      [256, 128, 56],
      [512, 128, 56],
      [1024, 128, 56],
      [400, 96, 40],
      [1024, 0, 0],
    ]) {
      const tiles = planAxis(length, { tile, overlap, margin });
      const sum = new Float64Array(length);
      tiles.forEach((t, i) => {
        assert.equal(t.start % 4, 0);
        assert.ok(t.end - t.start <= tile && t.start >= 0 && t.end <= length);
        assert.equal(t.weights.length, t.keepEnd - t.keepStart);
        if (i > 0) {
          assert.ok(tiles[i - 1].end - t.start >= overlap, `overlap of tiles ${i - 1} and ${i} at length ${length}`);
          // Blended pixels are at least `margin` inside both tiles (exact outputs only).
          assert.ok(t.keepStart >= t.start + margin && tiles[i - 1].keepEnd <= tiles[i - 1].end - margin);
        }
        for (let x = t.keepStart; x < t.keepEnd; x++) sum[x] += t.weights[x - t.keepStart];
      });
      assert.equal(tiles[0].start, 0);
      assert.equal(tiles[tiles.length - 1].end, length);
      for (let x = 0; x < length; x++)
        assert.ok(Math.abs(sum[x] - 1) < 1e-6, `weights at ${x} of ${length} sum to ${sum[x]}`);
    }
  }
  // Small images are one tile; the 8000-px side of the benchmark needs 9 tiles of ≤ 1024.
  assert.equal(planAxis(1024, { tile: 1024, overlap: 128, margin: 56 }).length, 1);
  assert.equal(planAxis(8000, { tile: 1024, overlap: 128, margin: 56 }).length, 9);
  assert.throws(() => planTiles(1000, 1000, PAPER_ARCHITECTURE, { tileSize: 200 }), /too small for an overlap of 128/);
});

// ---- the norm-statistics variants ----

test("statsOverride with an image's own statistics reproduces the plain forward pass (tfjs), without leaking tensors", async () => {
  const weights = await smallWeights(3);
  const net = TransformNet.fromWeights(SMALL, weights);
  const img = syntheticImage(40, 28, 2);
  const before = tf.memory().numTensors;
  const stats = await normStatsWithTfjs(net, img);
  validateNormStats(stats, SMALL);
  const plain = await stylizeWithTfjs(net, img);
  const fixed = await stylizeWithTfjs(net, img, stats);
  assert.ok(psnr(plain.data, fixed.data) > 90, `PSNR ${psnr(plain.data, fixed.data)}`);
  // Other statistics give another image: the override is really used.
  const other = await normStatsWithTfjs(net, syntheticImage(40, 28, 9));
  assert.ok(psnr(plain.data, (await stylizeWithTfjs(net, img, other)).data) < 40);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  assert.throws(() => validateNormStats(new Map([...stats].slice(1)), SMALL), /layer "conv1" is missing/);
  net.dispose();
});

test('ONNX statistics-output and external-statistics variants agree with tfjs (≥ 45 dB), opsets 13, 17, 18, 21', async (t) => {
  const weights = await smallWeights(5);
  const net = TransformNet.fromWeights(SMALL, weights);
  const img = syntheticImage(70, 45, 3);
  const part = crop(syntheticImage(70, 45, 7), 4, 8, 48, 32);
  const tfStats = await normStatsWithTfjs(net, img);
  const tfTile = await stylizeWithTfjs(net, part, tfStats);
  for (const opset of [13, 17, 18, 21]) {
    const core = exportTransformNetToOnnx(SMALL, weights, { opset });
    const statsModel = withNormStatsOutputs(core);
    const fixedModel = withExternalNormStats(core);
    assert.equal(
      onnxMetadata(decodeOnnxModel(statsModel))[NORM_STATS_METADATA_KEYS.outputs],
      layerSpecs(SMALL)
        .map((l) => l.name)
        .join(','),
    );
    // The folded model has no instance norm left and takes two inputs per layer.
    assert.equal(normLayersOf(decodeOnnxModel(fixedModel)).length, 0);
    const sStats = await createOnnxSession(statsModel, cpuOnly);
    const sFixed = await createOnnxSession(fixedModel, cpuOnly);
    assert.equal(sFixed.session.inputNames.length, 1 + 2 * layerSpecs(SMALL).length);
    const onnxStats = await onnxNormStats(sStats, img);
    const diff = maxRelativeStatsDifference(onnxStats, tfStats);
    assert.ok(diff < 1e-3, `opset ${opset}: statistics differ by ${diff}`);
    const onnxTile = await stylizeWithOnnxStats(sFixed, part, tfStats);
    const db = psnr(onnxTile.data, tfTile.data);
    t.diagnostic(`opset ${opset}: statistics within ${diff.toExponential(1)} σ, tile PSNR ${db.toFixed(1)} dB`);
    assert.ok(db >= 45, `opset ${opset}: PSNR ${db}`);
    await sStats.release();
    await sFixed.release();
  }
  net.dispose();
});

test('udnie: ONNX with its own statistics fed back equals the plain model; tfjs with ONNX statistics agrees (≥ 45 dB)', async (t) => {
  if (!hasSharedData(t)) return;
  const { style } = await udnieEngine();
  const core = exportTransformNetToOnnx(style.arch, style.weights);
  const [sCore, sStats, sFixed] = await Promise.all([
    createOnnxSession(core, cpuOnly),
    createOnnxSession(withNormStatsOutputs(core), cpuOnly),
    createOnnxSession(withExternalNormStats(core), cpuOnly),
  ]);
  const img = toFloat(await photo(shared('reference', 'chicago.jpg'), 203, 150));
  const padding = borderPadding(style.arch);
  const stats = await onnxNormStats(sStats, img, undefined, padding);
  const plain = await stylizeWithOnnx(sCore, img, padding);
  const fed = await stylizeWithOnnxStats(sFixed, img, stats, padding);
  const dbSelf = psnr(plain.data, fed.data);
  const net = TransformNet.fromWeights(style.arch, style.weights);
  const tile = crop(img, 40, 20, 120, 100);
  const viaTfjs = await stylizeWithTfjs(net, tile, stats);
  const viaOnnx = await stylizeWithOnnxStats(sFixed, tile, stats, padding);
  const dbCross = psnr(viaTfjs.data, viaOnnx.data);
  t.diagnostic(
    `own statistics fed back: ${dbSelf.toFixed(1)} dB; tfjs vs ONNX with fixed statistics: ${dbCross.toFixed(1)} dB`,
  );
  assert.ok(dbSelf >= 60, `PSNR ${dbSelf}`);
  assert.ok(dbCross >= 45, `PSNR ${dbCross}`);
  net.dispose();
  await Promise.all([sCore.release(), sStats.release(), sFixed.release()]);
});

test('variants of some layers only, and clear errors', async () => {
  const weights = await smallWeights(2);
  const core = exportTransformNetToOnnx(SMALL, weights);
  const hybrid = withNormStatsOutputs(withExternalNormStats(core, { layers: ['conv1'] }));
  const meta = onnxMetadata(decodeOnnxModel(hybrid));
  assert.equal(meta[NORM_STATS_METADATA_KEYS.inputs], 'conv1');
  assert.ok(!meta[NORM_STATS_METADATA_KEYS.outputs].split(',').includes('conv1'));
  const s = await createOnnxSession(hybrid, cpuOnly);
  const net = TransformNet.fromWeights(SMALL, weights);
  const img = syntheticImage(32, 24);
  const own = await normStatsWithTfjs(net, img);
  // Fed its own conv1 statistics, the hybrid measures the other layers as the plain pass does.
  const measured = await onnxNormStats(s, img, own);
  assert.equal(measured.size, layerSpecs(SMALL).length - 1);
  assert.ok(maxRelativeStatsDifference(measured, own) < 1e-3);
  await assert.rejects(onnxNormStats(s, img), /no norm statistics for layer conv1/);
  await s.release();
  net.dispose();
  assert.throws(
    () => withExternalNormStats(core, { layers: ['nope'] }),
    (e: unknown) => e instanceof StyleTransferError && /no instance norm of that name/.test(e.message),
  );
  assert.throws(() => withNormStatsOutputs(withNormStatsOutputs(core)), /already outputs norm statistics/);
  assert.throws(() => withExternalNormStats(withExternalNormStats(core)), /no InstanceNormalization left/);
  assert.throws(
    () => withExternalNormStats(new Uint8Array([1, 2, 3])),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'bad-checkpoint',
  );
});

test('pooling statistics is the mean and variance of the union', () => {
  const s = (m: number, v: number) => new Map([['l', { mean: Float32Array.of(m), variance: Float32Array.of(v) }]]);
  // Halves with means 0 and 2 and variance 1 each: union mean 1, variance 1 + 1.
  const p = poolNormStats([
    { stats: s(0, 1), weight: 1 },
    { stats: s(2, 1), weight: 1 },
  ]).get('l')!;
  assert.deepEqual([p.mean[0], p.variance[0]], [1, 2]);
  const q = poolNormStats([
    { stats: s(0, 1), weight: 3 },
    { stats: s(4, 1), weight: 1 },
  ]).get('l')!;
  assert.deepEqual([q.mean[0], q.variance[0]], [1, 4]);
});

// ---- assembly, with a stand-in network ----

/** An engine whose "network" is `net` (on float tiles), recording what it was asked to do. */
function fakeEngine(net: (img: FloatImage) => FloatImage) {
  const calls = { stylize: 0, statsPasses: 0, measured: 0, tilePasses: 0, tiles: 0, closed: 0 };
  const stats: NormStats = new Map(
    layerSpecs(PAPER_ARCHITECTURE).map((l) => [
      l.name,
      { mean: new Float32Array(l.outChannels), variance: new Float32Array(l.outChannels).fill(1) },
    ]),
  );
  const engine: StylizeEngine = {
    label: 'fake',
    stylize: async (_style, img) => {
      calls.stylize++;
      return net(img);
    },
    runtimeFor: async () => 'onnx',
    openStatsPass: async () => {
      calls.statsPasses++;
      return {
        measure: async () => {
          calls.measured++;
          return stats;
        },
        close: async () => {
          calls.closed++;
        },
      };
    },
    openTilePass: async () => {
      calls.tilePasses++;
      return {
        stylize: async (img) => {
          calls.tiles++;
          assert.ok(img.width % 4 === 0 && img.height % 4 === 0, 'tiles are multiples of 4');
          return net(img);
        },
        close: async () => {
          calls.closed++;
        },
      };
    },
    dispose: () => undefined,
  };
  return { engine, calls };
}

const fakeStyle: LoadedStyle = {
  name: 'fake',
  dir: '/nonexistent',
  arch: PAPER_ARCHITECTURE,
  weights: new Map(),
  hash: 'f'.repeat(64),
  format: 'ml5',
};

test('tiles reassemble exactly: an identity network gives back the input, at odd sizes, with every pass closed', async () => {
  for (const [w, h, tileSize] of [
    [1501, 1003, 256],
    [1030, 517, 1024],
    [259, 1201, 300],
  ]) {
    const src: RgbBytes = { width: w, height: h, data: toBytes(syntheticImage(w, h, w).data) };
    const { engine, calls } = fakeEngine((img) => img);
    const out = await stylizeTiled(engine, fakeStyle, src, { tileSize });
    assert.ok(Buffer.from(out.data).equals(Buffer.from(src.data)), `${w}×${h} in tiles of ${tileSize}`);
    const plan = planTiles(w, h, PAPER_ARCHITECTURE, { tileSize });
    assert.equal(calls.tiles, plan.cols.length * plan.rows.length);
    assert.equal(calls.closed, calls.statsPasses + calls.tilePasses);
  }
  // Above a megapixel the statistics come from full-resolution tiles of up to 1024²: all
  // 6 of a 3×2 grid, half of a 4×2 one.
  for (const [w, h, measured] of [
    [3001, 2003, 6],
    [4096, 2048, 4],
  ]) {
    const { engine, calls } = fakeEngine((img) => img);
    await stylizeTiled(engine, fakeStyle, { width: w, height: h, data: new Uint8Array(w * h * 3) });
    assert.equal(calls.measured, measured);
  }
});

test('the stylize job tiles large images automatically and small ones go in one piece', async () => {
  const run = async (w: number, h: number, opts = {}) => {
    const { engine, calls } = fakeEngine((img) => img);
    const img = {
      width: w,
      height: h,
      rgb: { width: w, height: h, data: new Uint8Array(w * h * 3).fill(90) },
      format: 'png' as const,
      source: {} as never,
    };
    const r = await stylizeDecoded8(engine, fakeStyle, img, opts);
    assert.deepEqual([r.width, r.height], [w, h]);
    return calls;
  };
  assert.equal((await run(1400, 1400)).stylize, 1); // 1.96 MP
  assert.equal((await run(1500, 1500)).stylize, 0); // 2.25 MP: tiled
  assert.ok((await run(1500, 1500)).tiles > 1);
  assert.ok((await run(300, 200, { tileSize: 256 })).tiles > 1);
  assert.ok(shouldTile(1500, 1500, 'onnx') && !shouldTile(1400, 1400, 'onnx') && shouldTile(1100, 1000, 'tfjs'));
  // Scaling up may not get round the pixel limit.
  const { engine } = fakeEngine((img) => img);
  const img = {
    width: 100,
    height: 100,
    rgb: { width: 100, height: 100, data: new Uint8Array(30_000) },
    format: 'png' as const,
    source: {} as never,
  };
  await assert.rejects(
    stylizeDecoded8(engine, fakeStyle, img, { scale: 4 }, { maxPixels: 100_000 }),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'image-too-large',
  );
});

// ---- whole images through the engine ----

test('tiled and one-piece stylize of a ~1024² photo agree (≥ 30 dB)', async (t) => {
  if (!hasSharedData(t)) return;
  const { engine, style } = await udnieEngine();
  // Not a multiple of 4: the tiles must see the borders as the one-piece pass does (udnie, an
  // imported network, computes zero padding itself; the first tiles are cut at the image's edge).
  const src = await photo(shared('reference', 'stata.jpg'), 1022, 1019);
  const progress: TileProgress[] = [];
  const tiled = await stylizeTiled(engine, style, src, { tileSize: 512, onProgress: (p) => progress.push(p) });
  const whole = await engine.stylize(style, toFloat(src));
  const db = psnr(toBytes(whole.data), tiled.data);
  const stylizePhase = progress.filter((p) => p.phase === 'stylize');
  t.diagnostic(`1022×1019 in ${stylizePhase.length} tiles of ≤ 512: PSNR ${db.toFixed(1)} dB against one piece`);
  assert.ok(db >= 30, `PSNR ${db}`);
  assert.ok(psnr(tiled.data, src.data) < 20, 'the result is stylized');
  // Statistics once (the image is small enough to measure whole), then every tile in order.
  assert.deepEqual(
    progress.filter((p) => p.phase === 'stats').map((p) => p.done),
    [0, 1],
  );
  assert.deepEqual(
    stylizePhase.map((p) => p.done),
    stylizePhase.map((_, i) => i + 1),
  );
  assert.equal(stylizePhase.length, 9);
});

test('no seams on a 2048² photo in 512-pixel tiles: every boundary within 1.5× the average neighbour difference', async (t) => {
  if (!hasSharedData(t)) return;
  const { engine, style } = await udnieEngine();
  const N = 2048;
  const src = await photo(shared('content', 'kodak', 'kodim24.png'), N, N, 30);
  // Statistics from a small copy (cheap): seams are about geometry and blending, and every
  // tile uses the same statistics whatever they are.
  const statsPass = await engine.openStatsPass(style);
  const small = await photo(shared('content', 'kodak', 'kodim24.png'), 256, 256, 30);
  const stats = await statsPass.measure(toFloat(small));
  await statsPass.close();
  const out = await stylizeTiled(engine, style, src, { tileSize: 512, normStats: stats });
  const plan = planTiles(N, N, style.arch, { tileSize: 512 });
  const d = out.data;
  const diff = (a: number, b: number) =>
    Math.abs(d[a] - d[b]) + Math.abs(d[a + 1] - d[b + 1]) + Math.abs(d[a + 2] - d[b + 2]);
  const colDiff = (x: number) => {
    let s = 0;
    for (let y = 0; y < N; y++) s += diff((y * N + x) * 3, (y * N + x - 1) * 3);
    return s / (3 * N);
  };
  const rowDiff = (y: number) => {
    let s = 0;
    for (let x = 0; x < N; x++) s += diff((y * N + x) * 3, ((y - 1) * N + x) * 3);
    return s / (3 * N);
  };
  let colAvg = 0,
    rowAvg = 0;
  for (let i = 1; i < N; i++) {
    colAvg += colDiff(i);
    rowAvg += rowDiff(i);
  }
  colAvg /= N - 1;
  rowAvg /= N - 1;
  // Where neighbouring tiles meet: the cross-fade ramps, at their start, centre and end.
  const ramps = (tiles: typeof plan.cols) =>
    tiles.slice(1).map((tile, i) => ({ start: tile.keepStart, end: tiles[i].keepEnd }));
  const measure = (tiles: typeof plan.cols, diffAt: (i: number) => number, avg: number) =>
    ramps(tiles).map((r) => {
      const centre = Math.round((r.start + r.end) / 2);
      // The brief's measure at the boundary (against the whole image's average), and a local
      // one (against the median of the 48 lines around it) that regional texture cannot fool.
      const local = (b: number) => {
        const around = [];
        for (let k = 2; k <= 25; k++) around.push(diffAt(b - k), diffAt(b + k));
        around.sort((a, z) => a - z);
        return diffAt(b) / around[around.length >> 1];
      };
      return { centre: diffAt(centre) / avg, local: Math.max(...[r.start, centre, r.end].map(local)) };
    });
  const cols = measure(plan.cols, colDiff, colAvg);
  const rows = measure(plan.rows, rowDiff, rowAvg);
  const worst = (m: typeof cols, k: 'centre' | 'local') => Math.max(...m.map((x) => x[k])).toFixed(2);
  t.diagnostic(
    `${plan.cols.length}×${plan.rows.length} tiles; average neighbour difference ${colAvg.toFixed(2)} (columns), ${rowAvg.toFixed(2)} (rows); ` +
      `at the boundaries, against the average: columns ≤ ${worst(cols, 'centre')}, rows ≤ ${worst(rows, 'centre')}; ` +
      `against their neighbourhood (ramp start, centre, end): columns ≤ ${worst(cols, 'local')}, rows ≤ ${worst(rows, 'local')}`,
  );
  assert.equal(cols.length, 4);
  assert.equal(rows.length, 4);
  for (const m of [...cols, ...rows]) {
    assert.ok(m.centre <= 1.5, `boundary ratio ${m.centre}`);
    assert.ok(m.local <= 1.5, `local boundary ratio ${m.local}`);
  }
  // Stronger, independent of the content: a 512² window centred on a corner where four tiles
  // meet, stylized on its own with the same statistics, matches the tiled result inside its
  // trusted part (more than the receptive field from its edges).
  const cx = plan.cols[1].keepEnd - 8,
    cy = plan.rows[1].keepEnd - 8;
  const x0 = (cx - 256) & ~3,
    y0 = (cy - 256) & ~3;
  const pass = await engine.openTilePass(style, stats);
  const window = await pass.stylize(crop(toFloat(src), x0, y0, 512, 512));
  await pass.close();
  const m = plan.margin;
  const inner = crop({ ...window, data: Float32Array.from(toBytes(window.data)) }, m, m, 512 - 2 * m, 512 - 2 * m);
  const same = crop(toFloat(out), x0 + m, y0 + m, 512 - 2 * m, 512 - 2 * m);
  const db = psnr(inner.data, same.data);
  t.diagnostic(`window across a four-tile corner: PSNR ${db.toFixed(1)} dB against the tiled result`);
  assert.ok(db >= 50, `PSNR ${db}`);
});

test('colour modes and strength per band match the one-piece post-processing', async (t) => {
  if (!hasSharedData(t)) return;
  const { engine, style } = await udnieEngine();
  const src = await photo(shared('content', 'kodak', 'kodim23.png'), 420, 300);
  const decoded = {
    width: src.width,
    height: src.height,
    rgb: toFloat(src),
    format: 'png' as const,
    source: {} as never,
  };
  for (const [colorMode, strength, minDb] of [
    ['luminance', 0.6, 45],
    ['histogram', 0.5, 40],
  ] as const) {
    const tiled = await stylizeTiled(engine, style, src, { tileSize: 256, colorMode, strength });
    const whole = await stylizeDecoded(engine, style, decoded, { colorMode, strength });
    const db = psnr(toBytes(whole.rgb.data), tiled.data);
    t.diagnostic(`${colorMode}, strength ${strength}: ${db.toFixed(1)} dB`);
    assert.ok(db >= minDb, `${colorMode} ${strength}: PSNR ${db}`);
  }
});

test('the tfjs runtime tiles too, matches its one-piece result and leaks no tensors', async () => {
  const tfEngine = await createStylizeEngine({ runtime: 'tfjs', cacheDir });
  await tf.setBackend('wasm');
  const weights = await smallWeights(4);
  const style: LoadedStyle = {
    name: 'small',
    dir: cacheDir,
    arch: SMALL,
    weights,
    hash: 'a'.repeat(64),
    format: 'ml5',
  };
  const src: RgbBytes = { width: 300, height: 210, data: toBytes(syntheticImage(300, 210, 5).data) };
  const first = await stylizeTiled(tfEngine, style, src, { tileSize: 200 });
  const tensors = tf.memory().numTensors;
  const again = await stylizeTiled(tfEngine, style, src, { tileSize: 200 });
  assert.equal(tf.memory().numTensors, tensors, 'tensors leaked');
  assert.deepEqual(again.data, first.data);
  const whole = await tfEngine.stylize(style, toFloat(src));
  assert.ok(psnr(toBytes(whole.data), first.data) >= 45);
  tfEngine.dispose();
});

test('the stylize job tiles when asked, reports tiles, and a cancel between tiles writes nothing', async (t) => {
  if (!hasSharedData(t)) return;
  const { engine } = await udnieEngine();
  const dir = tempDir('fst-tiling-job-');
  const input = path.join(dir, 'photo.png');
  await sharp(shared('content', 'kodak', 'kodim05.png'))
    .resize(384, 256)
    .png()
    .toFile(input);
  const outDir = path.join(dir, 'out');
  const controller = new AbortController();
  const seen: unknown[] = [];
  const cancelled = await stylizeFiles(
    { inputs: [input], style: shared('pretrained', 'udnie'), options: { outDir, tileSize: 256 } },
    engine,
    {
      signal: controller.signal,
      progress: (p) => {
        seen.push(p);
        if (p.type === 'stylize' && p.tile?.phase === 'stylize' && p.tile.done === 1) controller.abort();
      },
    },
  );
  assert.equal(cancelled.cancelled, true);
  assert.equal(cancelled.outputs.length, 0);
  assert.equal(cancelled.failures.length, 0);
  assert.ok(!fs.existsSync(outDir) || fs.readdirSync(outDir).length === 0, 'nothing written');
  assert.ok(seen.some((p) => (p as { tile?: TileProgress }).tile?.phase === 'stats'));
  // Uncancelled, the same request writes one file of the input's size.
  const done = await stylizeFiles(
    { inputs: [input], style: shared('pretrained', 'udnie'), options: { outDir, tileSize: 256 } },
    engine,
  );
  assert.equal(done.outputs.length, 1);
  const meta = await sharp(done.outputs[0].output).metadata();
  assert.deepEqual([meta.width, meta.height], [384, 256]);
});

test('bad tiling options are clear errors', async (t) => {
  if (!hasSharedData(t)) return;
  const { engine, style } = await udnieEngine();
  const src: RgbBytes = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3) };
  await assert.rejects(stylizeTiled(engine, style, src, { tileSize: 200 }), /too small for an overlap of 128/);
  await assert.rejects(stylizeTiled(engine, style, src, { tileSize: 10 }), /tile size must be a whole number from 64/);
  await assert.rejects(stylizeTiled(engine, style, src, { stats: 'exact' as never }), /tile statistics must be/);
  await assert.rejects(stylizeTiled(engine, style, { ...src, width: 65 }), /has 12288 bytes/);
  await assert.rejects(stylizeTiled(engine, style, src, { normStats: new Map() }), /layer "conv1" is missing/);
});
