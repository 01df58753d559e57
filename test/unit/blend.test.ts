// Style blending: output mixing in linear light (one piece and tiled), instance-norm parameter
// mixing for styles that share their convolutions, and clear errors for impossible blends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { tf } from '../../src/model/tf';
import '@tensorflow/tfjs-backend-wasm';
import type { TransformNetArchitecture, WeightMap } from '../../src/model/architecture';
import { TransformNet } from '../../src/model/transformNet';
import { psnr, toBytes, type FloatImage } from '../../src/model/pixels';
import { writeCheckpoint } from '../../src/io/checkpoint';
import { BlendEngine, blendNormParameters, mixLinear, resolveBlend, withBlend } from '../../src/engine/stylize/blend';
import { createStylizeEngine } from '../../src/engine/stylize/engines';
import { stylizeDecoded8 } from '../../src/engine/stylize/stylizeJob';
import { loadStyle } from '../../src/engine/styles';
import { StyleTransferError } from '../../src/protocol/errors';
import { tempDir } from '../helpers/paths';

const ARCH: TransformNetArchitecture = {
  type: 'johnson2016',
  filters: [8, 16, 16],
  residualBlocks: 1,
  upsample: 'nearest',
};

async function weights(seed: number): Promise<WeightMap> {
  const net = TransformNet.init(ARCH, seed);
  const w = await net.toWeights();
  net.dispose();
  let k = seed;
  for (const [name, v] of w)
    if (!name.endsWith('/weight'))
      w.set(
        name,
        v.map(() => (name.endsWith('/scale') ? 1 : 0) + Math.sin(k++) * 0.4),
      );
  return w;
}

async function style(root: string, name: string, w: WeightMap): Promise<string> {
  const dir = path.join(root, name);
  const now = new Date().toISOString();
  await writeCheckpoint(
    dir,
    { name, architecture: ARCH, source: { kind: 'trained' }, iteration: 1, createdAt: now, updatedAt: now },
    w,
  );
  return dir;
}

function image(w: number, h: number): FloatImage {
  const data = new Float32Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = 127 + 100 * Math.sin(i * 0.013) * Math.cos(i * 0.0007);
  return { width: w, height: h, channels: 3, data };
}

test('mixLinear mixes in linear light and keeps single images intact', () => {
  const black = { width: 1, height: 1, channels: 3, data: Float32Array.from([0, 0, 0]) };
  const white = { width: 1, height: 1, channels: 3, data: Float32Array.from([255, 255, 255]) };
  assert.ok(Math.abs(mixLinear([black, white], [0.5, 0.5]).data[0] - 187.5) < 0.6);
  const img = image(5, 4);
  const same = mixLinear([img], [1]);
  img.data.forEach((v, i) => assert.ok(Math.abs(v - same.data[i]) < 0.05));
});

test('blend weights: the main style takes the rest; bad weights are one clear error each', async () => {
  await tf.setBackend('wasm');
  const root = tempDir('fst-blend-');
  const a = await loadStyle(await style(root, 'a', await weights(1)));
  const b = await style(root, 'b', await weights(2));
  const parts = await resolveBlend(a, [{ style: b, weight: 0.3 }]);
  assert.deepEqual(
    parts.map((p) => [p.style.name, +p.weight.toFixed(6)]),
    [
      ['b', 0.3],
      ['a', 0.7],
    ],
  );
  const bad = (e: unknown, re: RegExp) =>
    e instanceof StyleTransferError && e.code === 'bad-input' && re.test(e.message);
  await assert.rejects(
    resolveBlend(a, [
      { style: b, weight: 0.8 },
      { style: b, weight: 0.5 },
    ]),
    (e) => bad(e, /add up to 1\.3/),
  );
  await assert.rejects(resolveBlend(a, [{ style: b, weight: -0.1 }]), (e) => bad(e, /between 0 and 1/));
  await assert.rejects(
    resolveBlend(a, [{ style: path.join(root, 'nope'), weight: 0.5 }]),
    (e) => e instanceof StyleTransferError && e.code === 'not-found',
  );
});

test('output blending: 50/50 equals the linear-light mix of both stylizations, tiled or not', async () => {
  await tf.setBackend('wasm');
  const root = tempDir('fst-blend-');
  const a = await loadStyle(await style(root, 'a', await weights(3)));
  const b = await style(root, 'b', await weights(4));
  const engine = await createStylizeEngine({ runtime: 'onnx', cacheDir: path.join(root, 'cache') });
  try {
    const img = image(300, 220);
    const { engine: blended, style: composite } = await withBlend(engine, a, { blend: [{ style: b, weight: 0.5 }] });
    assert.ok(blended instanceof BlendEngine);
    assert.equal(composite.name, 'b-50+a-50');
    const mixed = await blended.stylize(composite, img);
    const expected = mixLinear(
      [await engine.stylize(await loadStyle(b), img), await engine.stylize(a, img)],
      [0.5, 0.5],
    );
    assert.ok(psnr(mixed.data, expected.data) > 80);
    // Tiled (small tiles force several) through the normal stylize path, with the exact stats.
    const bytes = {
      width: img.width,
      height: img.height,
      rgb: { width: img.width, height: img.height, data: toBytes(img.data) },
      format: 'png' as const,
    };
    const oneRes = await stylizeDecoded8(engine, a, bytes as never, { blend: [{ style: b, weight: 0.5 }] });
    const tiledRes = await stylizeDecoded8(engine, a, bytes as never, {
      blend: [{ style: b, weight: 0.5 }],
      tileSize: 160,
      tileStats: 'sampled',
    });
    const asBytes = (r: { rgb: Uint8Array | FloatImage }) =>
      r.rgb instanceof Uint8Array ? r.rgb : toBytes(r.rgb.data);
    const db = psnr(asBytes(oneRes), asBytes(tiledRes));
    assert.ok(db > 30, `tiled blend vs one piece: ${db.toFixed(1)} dB`);
  } finally {
    engine.dispose();
  }
});

test('norm blending mixes instance-norm parameters of styles that share their convolutions', async () => {
  await tf.setBackend('wasm');
  const root = tempDir('fst-blend-');
  const wa = await weights(5);
  const wb = new Map([...wa].map(([k, v]) => [k, k.endsWith('/weight') ? v : v.map((x) => x * 0.5 + 0.2)]));
  const a = await loadStyle(await style(root, 'a', wa));
  const b = await loadStyle(await style(root, 'b', wb));
  const mixed = blendNormParameters(await resolveBlend(a, [{ style: b.dir, weight: 0.25 }]));
  const k = 'res1a/shift';
  mixed.weights
    .get(k)!
    .forEach((v, i) => assert.ok(Math.abs(v - (0.25 * wb.get(k)![i] + 0.75 * wa.get(k)![i])) < 1e-6));
  assert.deepEqual(mixed.weights.get('conv1/weight'), wa.get('conv1/weight'));
  const other = await loadStyle(await style(root, 'c', await weights(6)));
  assert.throws(
    () =>
      blendNormParameters([
        { style: a, weight: 0.5 },
        { style: other, weight: 0.5 },
      ]),
    /do not share their convolution weights/,
  );
});
