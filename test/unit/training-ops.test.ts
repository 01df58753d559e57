// Ops with hand-written gradients (src/model/instanceNorm.ts, src/model/frozenConv.ts):
// same values and gradients as their composite tfjs forms, on cpu and on wasm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, type Tensor, type Tensor4D } from '../../src/model/tf';
import '@tensorflow/tfjs-backend-cpu';
import { registerWasmTrainingKernels } from '../../src/engine/tfjs/wasmKernels';
import { instanceNorm, type NormActivation } from '../../src/model/instanceNorm';
import { frozenConv2dRelu } from '../../src/model/frozenConv';
import { INSTANCE_NORM_EPSILON } from '../../src/model/architecture';

registerWasmTrainingKernels();

function values(shape: number[], seed: number, scale = 1, offset = 0): Float32Array {
  const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let x = seed * 7919 + 1;
  for (let i = 0; i < v.length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    v[i] = (x / 2147483648 - 0.5) * scale + offset;
  }
  return v;
}

function relativeError(a: Float32Array, e: Float32Array): number {
  let d = 0,
    m = 0;
  for (let i = 0; i < e.length; i++) {
    d = Math.max(d, Math.abs(a[i] - e[i]));
    m = Math.max(m, Math.abs(e[i]));
  }
  return d / (m || 1);
}

/** Runs `f` on `backend`; returns its outputs' values and checks nothing leaked. */
async function run(backend: string, f: () => Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const out = tf.tidy(f);
  const data = await Promise.all(out.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(out);
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  return data;
}

function assertClose(actual: Float32Array[], expected: Float32Array[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => {
    const err = relativeError(actual[i], e);
    assert.ok(err <= tolerance, `${what}, output ${i}: relative error ${err.toExponential(2)}`);
  });
}

function compositeInstanceNorm(x: Tensor4D, shift: Tensor, scale: Tensor, activation: NormActivation): Tensor4D {
  const { mean, variance } = tf.moments(x, [1, 2], true);
  const y = tf.add(
    tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, INSTANCE_NORM_EPSILON))), scale),
    shift,
  ) as Tensor4D;
  return activation === 'relu' ? tf.relu(y) : y;
}

for (const activation of ['none', 'relu'] as const) {
  for (const shape of [
    [2, 7, 5, 6],
    [1, 16, 16, 32],
  ] as [number, number, number, number][]) {
    const C = shape[3];
    // value and the gradients of a weighted sum (weights w) with respect to x, shift and scale
    const valueAndGrads =
      (norm: (x: Tensor4D, shift: Tensor, scale: Tensor, activation: NormActivation) => Tensor4D) => () => {
        const x = tf.tensor(values(shape, 1, 40, 3), shape) as Tensor4D;
        const shift = tf.tensor(values([C], 2), [C]),
          scale = tf.tensor(values([C], 3, 1, 1), [C]);
        const w = tf.tensor(values(shape, 4), shape);
        const f = (a: Tensor, b: Tensor, c: Tensor) => tf.sum(tf.mul(norm(a as Tensor4D, b, c, activation), w));
        return [norm(x, shift, scale, activation), ...tf.grads(f)([x, shift, scale])];
      };

    test(`instanceNorm (${activation}) equals the composite form, values and gradients: [${shape}]`, async () => {
      const expected = await run('cpu', valueAndGrads(compositeInstanceNorm));
      assertClose(await run('cpu', valueAndGrads(instanceNorm)), expected, 2e-5, 'cpu');
      assertClose(await run('wasm', valueAndGrads(instanceNorm)), expected, 1e-4, 'wasm');
    });
  }
}

test('instanceNorm leaves far fewer buffers on the gradient tape than the composite form', async () => {
  await tf.setBackend('cpu');
  const x = tf.variable(tf.zeros([1, 32, 32, 16]));
  const shift = tf.zeros([16]),
    scale = tf.ones([16]);
  // Data buffers alive right after the op inside a tape: what the backward pass keeps.
  const kept = (norm: (x: Tensor4D, shift: Tensor, scale: Tensor, activation: NormActivation) => Tensor4D) => {
    let count = 0;
    const before = tf.memory().numDataBuffers;
    const { value, grads } = tf.variableGrads(() => {
      const y = norm(x as unknown as Tensor4D, shift, scale, 'relu');
      count = tf.memory().numDataBuffers - before;
      return tf.sum(y);
    }, [x]);
    tf.dispose([value, ...Object.values(grads)]);
    return count;
  };
  const ours = kept(instanceNorm),
    composite = kept(compositeInstanceNorm);
  // ours: x̂ and the output (full size), 1/σ (one value per channel)
  assert.ok(ours <= 3, `instanceNorm keeps ${ours} buffers`);
  assert.ok(composite >= 9, `the composite form kept ${composite}: the comparison is not measuring what it should`);
  tf.dispose([x, shift, scale]);
});

test('frozenConv2dRelu equals relu(conv2d + bias) and its input gradient, on cpu and wasm', async () => {
  const make = (frozen: boolean) => () => {
    const x = tf.tensor(values([2, 9, 11, 5], 5, 20), [2, 9, 11, 5]) as Tensor4D;
    const filter = tf.tensor(values([3, 3, 5, 7], 6), [3, 3, 5, 7]) as Tensor4D;
    const bias = tf.tensor1d(values([7], 7));
    const w = tf.tensor(values([2, 9, 11, 7], 8), [2, 9, 11, 7]);
    const layer = (a: Tensor4D) =>
      frozen ? frozenConv2dRelu(a, filter, bias) : (tf.relu(tf.add(tf.conv2d(a, filter, 1, 'same'), bias)) as Tensor4D);
    return [layer(x), tf.grad((a: Tensor) => tf.sum(tf.mul(layer(a as Tensor4D), w)))(x)];
  };
  const expected = await run('cpu', make(false));
  assertClose(await run('cpu', make(true)), expected, 1e-5, 'cpu');
  assertClose(await run('wasm', make(true)), expected, 1e-4, 'wasm');
});
