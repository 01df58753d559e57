import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/model/tf';
import '@tensorflow/tfjs-backend-cpu';
import {
  PAPER_ARCHITECTURE,
  layerSpecs,
  parameterCount,
  paramSpecs,
  validateArchitecture,
} from '../../src/model/architecture';
import { TransformNet } from '../../src/model/transformNet';
import { crop, padToMultiple, reflectIndex } from '../../src/model/pixels';

test('the paper network has 1,677,638 parameters in 16 layers', () => {
  assert.equal(parameterCount(PAPER_ARCHITECTURE), 1_677_638);
  assert.equal(layerSpecs().length, 16);
  assert.equal(paramSpecs().length, 48);
});

test('reflectIndex mirrors without repeating the edge, and repeats for tiny sizes', () => {
  assert.deepEqual(
    [-3, -2, -1, 0, 1, 2, 3, 4, 5].map((i) => reflectIndex(i, 4)),
    [3, 2, 1, 0, 1, 2, 3, 2, 1],
  );
  assert.deepEqual(
    [-3, -1, 0, 1].map((i) => reflectIndex(i, 1)),
    [0, 0, 0, 0],
  );
  assert.deepEqual(
    [-3, -2, -1].map((i) => reflectIndex(i, 2)),
    [1, 0, 1],
  );
});

test('padding before the image and cropping back is the identity', () => {
  const img = { width: 3, height: 5, channels: 3, data: Float32Array.from({ length: 45 }, (_, i) => i) };
  const p = padToMultiple(img, 4);
  assert.deepEqual([p.width, p.height, p.padding.top, p.padding.left], [4, 8, 3, 1]);
  const back = crop(p, p.padding.left, p.padding.top, 3, 5);
  assert.deepEqual([...back.data], [...img.data]);
});

test('forward pass keeps the size, stays in the tanh range and leaks no tensors', async () => {
  await tf.setBackend('cpu');
  const net = TransformNet.init(PAPER_ARCHITECTURE, 7);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const x = tf.randomUniform([1, 16, 12, 3], 0, 255, 'float32', i) as tf.Tensor4D;
    const y = net.apply(x, true);
    assert.deepEqual(y.shape, [1, 16, 12, 3]);
    const v = await y.data();
    assert.ok(v.every((a) => a >= -22.5 - 1e-3 && a <= 277.5 + 1e-3));
    x.dispose();
    y.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  net.dispose();
});

test('instance norm makes the output independent of input brightness scale at init', async () => {
  // Per-image statistics: a network with shift 0 / scale 1 norms is invariant to x → a·x
  // (convs have no bias), a property a batch-norm or bias bug would break.
  await tf.setBackend('cpu');
  const net = TransformNet.init(PAPER_ARCHITECTURE, 3);
  const x = tf.randomUniform([1, 8, 8, 3], 0, 100, 'float32', 1) as tf.Tensor4D;
  const a = await net.apply(x).data();
  const b = await net.apply(tf.mul(x, 2.5) as tf.Tensor4D).data();
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  assert.ok(maxDiff < 0.05, `max difference ${maxDiff}`);
  net.dispose();
});

test('outputScale 127.5 keeps every output in 0..255; the reference scale 150 stays implicit in the architecture', async () => {
  await tf.setBackend('cpu');
  assert.deepEqual(
    validateArchitecture({ ...PAPER_ARCHITECTURE, outputScale: 150 }),
    validateArchitecture(PAPER_ARCHITECTURE),
  );
  assert.equal(validateArchitecture({ ...PAPER_ARCHITECTURE, outputScale: 127.5 }).outputScale, 127.5);
  assert.throws(
    () => validateArchitecture({ ...PAPER_ARCHITECTURE, outputScale: -1 }),
    /unsupported network architecture/,
  );
  const arch = { type: 'johnson2016' as const, filters: [4, 8, 8] as const, residualBlocks: 1, outputScale: 127.5 };
  const net = TransformNet.init(arch, 3);
  // Large shifts on the output norm push tanh to ±1: the reference scale would leave 0..255.
  const shift = net.params.get('conv4/shift')!;
  shift.assign(tf.tensor1d([8, -8, 8]));
  const x = tf.randomUniform([1, 16, 12, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
  const y = net.apply(x);
  const v = await y.data();
  assert.ok(
    v.every((a) => a >= 0 && a <= 255),
    `range ${Math.min(...v)}..${Math.max(...v)}`,
  );
  assert.ok(Math.max(...v) > 254 && Math.min(...v) < 1);
  tf.dispose([x, y]);
  net.dispose();
});
