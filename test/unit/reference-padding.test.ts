// Imported ml5 networks are computed as the reference implementation computes them ('zero'
// border padding, architecture.ts): the published chicago_udnie.jpg through the path of
// `fst stylize` in both runtimes, the ONNX graphs against the tfjs network at every size
// remainder, and tiles against one piece.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import sharp from 'sharp';
import { tf } from '../../src/model/tf';
import '@tensorflow/tfjs-backend-wasm';
import type { TransformNetArchitecture } from '../../src/model/architecture';
import { exportTransformNetToOnnx } from '../../src/model/onnx/onnxExport';
import { exportFastTransformNet } from '../../src/model/onnx/onnxFast';
import { psnr, toBytes, type FloatImage, type RgbBytes } from '../../src/model/pixels';
import { stylizeWithTfjs } from '../../src/model/stylize';
import { TransformNet } from '../../src/model/transformNet';
import { readMl5Folder } from '../../src/io/ml5Import';
import { createOnnxSession } from '../../src/engine/onnx/onnxRunner';
import { stylizeWithOnnx } from '../../src/engine/onnx/onnxStylize';
import { fastGraphLayout } from '../../src/engine/onnx/onnxQuantized';
import { createStylizeEngine } from '../../src/engine/stylize/engines';
import { stylizeFiles } from '../../src/engine/stylize/stylizeJob';
import { stylizeTiled } from '../../src/engine/stylize/tiledStylize';
import type { LoadedStyle } from '../../src/engine/styles';
import { hasSharedData, shared, tempDir } from '../helpers/paths';
import { SMALL_ARCHITECTURE, smallWeights } from '../helpers/weights';
import { syntheticImage as texturedImage } from '../helpers/syntheticImage';

const ZERO: TransformNetArchitecture = { ...SMALL_ARCHITECTURE, padding: 'zero' };
const cpuOnly = { providers: ['cpu'] as const };

/** The synthetic image with a bright band along its top six rows in place of the left/right step. */
const syntheticImage = (width: number, height: number, seed: number) =>
  texturedImage(width, height, seed, (_x, y) => (y < 6 ? 60 : 0));

before(async () => {
  await tf.setBackend('wasm');
});

for (const runtime of ['auto', 'tfjs'] as const) {
  test(`udnie on chicago.jpg through fst stylize's path (runtime ${runtime}) matches the published chicago_udnie.jpg at ≥ 40 dB`, async (t) => {
    if (!hasSharedData(t)) return;
    const dir = tempDir('fst-refpad-');
    // Default settings, as `fst stylize -m <ml5 folder> -f png`; a private cache folder.
    const engine = await createStylizeEngine({ runtime, cacheDir: path.join(dir, 'cache') });
    try {
      const r = await stylizeFiles(
        {
          inputs: [shared('reference', 'chicago.jpg')],
          style: shared('pretrained', 'udnie'),
          options: { outDir: dir, format: 'png' },
        },
        engine,
      );
      assert.equal(r.failures.length, 0, r.failures.map((f) => f.error.message).join('; '));
      const ours = await sharp(r.outputs[0].output).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const ref = await sharp(shared('reference', 'chicago_udnie.jpg'))
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      assert.deepEqual([ours.info.width, ours.info.height], [ref.info.width, ref.info.height]);
      // Our row r is the published file's row r (it holds the last 474 of the reference's 476 rows).
      const db = psnr(ours.data, ref.data);
      // The top rows are where the border handling shows: at most a JPEG's error there.
      const W = ref.info.width;
      const top = psnr(ours.data.subarray(0, 4 * W * 3), ref.data.subarray(0, 4 * W * 3));
      t.diagnostic(
        `${r.runtime}: PSNR ${db.toFixed(2)} dB against chicago_udnie.jpg (top 4 rows ${top.toFixed(2)} dB)`,
      );
      assert.ok(db >= 40, `PSNR ${db.toFixed(2)} dB`);
      assert.ok(top >= 38, `top rows PSNR ${top.toFixed(2)} dB`);
      if (runtime === 'auto') assert.match(r.runtime ?? '', /onnxruntime/);
    } finally {
      engine.dispose();
    }
  });
}

test('the ml5 importer records zero border padding', async (t) => {
  if (!hasSharedData(t)) return;
  const { arch } = await readMl5Folder(shared('pretrained', 'udnie'));
  assert.equal(arch.padding, 'zero');
});

test('zero padding: the ONNX core and fast graphs reproduce the tfjs network at every size remainder; multiples of 4 equal reflect', async (t) => {
  const weights = await smallWeights(6, ZERO);
  const net = TransformNet.fromWeights(ZERO, weights);
  const reflectNet = TransformNet.fromWeights(SMALL_ARCHITECTURE, weights);
  const core = await createOnnxSession(exportTransformNetToOnnx(ZERO, weights), cpuOnly);
  const fast = await createOnnxSession(exportFastTransformNet(ZERO, weights, fastGraphLayout(ZERO)), cpuOnly);
  const selfContained = await createOnnxSession(
    exportTransformNetToOnnx(ZERO, weights, { selfContained: true }),
    cpuOnly,
  );
  try {
    for (const [w, h] of [
      [37, 29],
      [38, 30],
      [39, 31],
      [40, 32],
      [5, 3],
      [1, 1],
    ]) {
      const img = syntheticImage(w, h, w);
      const viaTfjs = await stylizeWithTfjs(net, img);
      assert.deepEqual([viaTfjs.width, viaTfjs.height], [w, h]);
      for (const [name, s] of [
        ['core', core],
        ['fast', fast],
      ] as const) {
        const out = await stylizeWithOnnx(s, img, 'zero');
        const db = psnr(viaTfjs.data, out.data);
        t.diagnostic(`${w}×${h} ${name}: ${db.toFixed(1)} dB`);
        assert.ok(db >= 45, `${w}×${h} ${name}: PSNR ${db}`);
      }
      // The self-contained export takes the image as it is and crops inside the graph.
      const input = new selfContained.runtime.Tensor('float32', hwc(img), [1, 3, h, w]);
      const out = (await selfContained.session.run({ input })).output;
      assert.deepEqual(out.dims, [1, 3, h, w]);
      const sc = chw(out.data as Float32Array, w, h);
      assert.ok(psnr(viaTfjs.data, sc) >= 45, `${w}×${h} self-contained`);
      if (w % 4 === 0 && h % 4 === 0) {
        assert.ok(
          psnr(viaTfjs.data, (await stylizeWithTfjs(reflectNet, img)).data) > 90,
          'multiples of 4: both modes are one function',
        );
      } else if (w > 4 && h > 4) {
        // Elsewhere they differ: the mode is really used.
        assert.ok(
          psnr(viaTfjs.data, (await stylizeWithTfjs(reflectNet, img)).data) < 45,
          `${w}×${h}: reflect and zero differ`,
        );
      }
    }
  } finally {
    net.dispose();
    reflectNet.dispose();
    await Promise.all([core.release(), fast.release(), selfContained.release()]);
  }
});

function hwc(img: FloatImage): Float32Array {
  const plane = img.width * img.height;
  const out = new Float32Array(plane * 3);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = img.data[i * 3 + c];
  return out;
}
function chw(data: Float32Array, w: number, h: number): Float32Array {
  const plane = w * h;
  const out = new Float32Array(plane * 3);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = data[c * plane + i];
  return out;
}

for (const runtime of ['onnx', 'tfjs'] as const) {
  test(`zero padding: tiles (${runtime}) reproduce the one-piece result at odd sizes`, async (t) => {
    const dir = tempDir('fst-refpad-tiles-');
    const engine = await createStylizeEngine({ runtime, cacheDir: dir });
    const weights = await smallWeights(7, ZERO);
    const style: LoadedStyle = { name: 'small-zero', dir, arch: ZERO, weights, hash: 'b'.repeat(64), format: 'ml5' };
    try {
      for (const [w, h] of [
        [301, 211],
        [298, 209],
      ]) {
        const src: RgbBytes = { width: w, height: h, data: toBytes(syntheticImage(w, h, 3).data) };
        const tiled = await stylizeTiled(engine, style, src, { tileSize: 200 });
        const whole = await engine.stylize(style, {
          width: w,
          height: h,
          channels: 3,
          data: Float32Array.from(src.data),
        });
        const db = psnr(toBytes(whole.data), tiled.data);
        t.diagnostic(`${runtime} ${w}×${h} in tiles of 200: ${db.toFixed(1)} dB against one piece`);
        assert.ok(db >= 45, `PSNR ${db}`);
      }
    } finally {
      engine.dispose();
    }
  });
}
