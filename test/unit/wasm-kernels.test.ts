// The wasm training kernels (src/engine/tfjs/wasmKernels) against the cpu backend's kernels:
// every result must match to 1e-4 relative (max |difference| / max |cpu value|).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../src/model/tf';
import '@tensorflow/tfjs-backend-cpu';
import {
  WASM_TRAINING_KERNELS,
  clearWasmKernelCaches,
  registerWasmTrainingKernels,
  wasmTrainingKernelsRegistered,
} from '../../src/engine/tfjs/wasmKernels';
import { axisPhases } from '../../src/engine/tfjs/wasmKernels/conv2dBackpropInput';
import { backpropFilterNHWC } from '../../src/engine/tfjs/wasmKernels/conv2dBackpropFilter';

const TOLERANCE = 1e-4;

/** Deterministic values in [-0.5, 0.5) (an LCG), identical on every backend. */
function values(shape: readonly number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  let x = seed * 7919 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    v[i] = x / 2147483648 - 0.5;
  }
  return v;
}

function relativeError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length, 'result sizes differ');
  let diff = 0,
    scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / (scale || 1);
}

/** Runs `f` on a backend and returns its outputs as arrays, leaving no tensors behind. */
async function runOn(backend: 'cpu' | 'wasm', f: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const data = await Promise.all(list.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(list);
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  return data;
}

async function assertSameOnBoth(what: string, f: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const expected = await runOn('cpu', f);
  const actual = await runOn('wasm', f);
  expected.forEach((e, i) => {
    const err = relativeError(actual[i], e);
    assert.ok(err <= TOLERANCE, `${what}, output ${i}: relative error ${err.toExponential(2)}`);
    assert.ok(
      e.some((v) => v !== 0),
      `${what}, output ${i}: the cpu result is all zeros, the case tests nothing`,
    );
  });
}

/** A tensor as a kernel sees it. */
const info = (t: tf.Tensor) => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });

registerWasmTrainingKernels();

type Pad = 'same' | 'valid';
interface ConvCase {
  x: [number, number, number, number];
  k: number | [number, number];
  out: number;
  stride: number | [number, number];
  pad: Pad;
}

// stride 1/2 (and mixed, and 3), kernels 1/3/9 (and non-square), 'same'/'valid', odd sizes,
// batch > 1, channels 3/32/64.
const CONV_CASES: ConvCase[] = [
  { x: [1, 8, 8, 3], k: 3, out: 4, stride: 1, pad: 'same' },
  { x: [2, 9, 7, 5], k: 3, out: 6, stride: 2, pad: 'same' },
  { x: [2, 9, 7, 5], k: 3, out: 6, stride: 2, pad: 'valid' },
  { x: [1, 17, 15, 3], k: 9, out: 32, stride: 1, pad: 'same' },
  { x: [1, 13, 11, 32], k: 9, out: 3, stride: 1, pad: 'same' },
  { x: [1, 12, 12, 32], k: 9, out: 3, stride: 1, pad: 'valid' },
  { x: [2, 12, 11, 8], k: 5, out: 24, stride: 1, pad: 'valid' },
  { x: [1, 11, 13, 4], k: 1, out: 3, stride: 2, pad: 'valid' },
  { x: [3, 11, 13, 4], k: 1, out: 5, stride: 1, pad: 'same' },
  { x: [3, 10, 10, 32], k: 3, out: 64, stride: 2, pad: 'same' },
  { x: [2, 7, 9, 64], k: 3, out: 64, stride: 1, pad: 'same' },
  { x: [2, 16, 16, 64], k: 3, out: 32, stride: 2, pad: 'valid' },
  { x: [1, 10, 12, 2], k: 4, out: 3, stride: 3, pad: 'same' },
  { x: [1, 10, 12, 2], k: [5, 2], out: 3, stride: [2, 3], pad: 'valid' },
];

const caseName = (c: ConvCase) => `x [${c.x}], k ${c.k}, out ${c.out}, stride ${c.stride}, ${c.pad}`;
const filterShape = (c: ConvCase): [number, number, number, number] => {
  const [kh, kw] = Array.isArray(c.k) ? c.k : [c.k, c.k];
  return [kh, kw, c.x[3], c.out];
};
function outShape(c: ConvCase): [number, number, number, number] {
  return tf.backend_util.computeConv2DInfo(c.x, filterShape(c), c.stride, 1, c.pad).outShape;
}

test('the kernels are registered once, and the slow Conv2DBackpropInput is replaced', async () => {
  assert.ok(wasmTrainingKernelsRegistered());
  const before = WASM_TRAINING_KERNELS.map((k) => tf.getKernel(k, 'wasm').kernelFunc);
  registerWasmTrainingKernels(); // a second call must neither throw nor re-register
  assert.deepEqual(
    WASM_TRAINING_KERNELS.map((k) => tf.getKernel(k, 'wasm').kernelFunc),
    before,
  );
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm') != null);
});

test('axisPhases covers every output row exactly once with the right taps', () => {
  // Brute force: for each dx row, the (dy row, tap) pairs of the forward convolution.
  for (const [inSize, filterSize, stride, padBefore] of [
    [9, 3, 2, 0],
    [9, 3, 2, 1],
    [10, 4, 3, 1],
    [11, 1, 2, 0],
    [8, 9, 1, 4],
    [7, 5, 2, 3],
  ]) {
    const outSize = Math.floor((inSize + 2 * padBefore - filterSize) / stride) + 1;
    const phases = axisPhases(inSize, outSize, filterSize, stride, padBefore);
    const seen = new Set<number>();
    for (const p of phases) {
      for (let q = 0; q < p.count; q++) {
        const i = stride * q + p.phase;
        seen.add(i);
        const want = new Set<string>();
        for (let o = 0; o < outSize; o++)
          for (let k = 0; k < filterSize; k++) if (o * stride + k - padBefore === i) want.add(`${o},${k}`);
        const got = new Set<string>();
        for (let m = 0; m < p.taps; m++) {
          // correlation row j = q + m' of dy padded by padBefore, with tap reversed: m' = taps−1−m
          const o = q + (p.taps - 1 - m) - p.padBefore;
          if (o >= 0 && o < outSize) got.add(`${o},${p.firstTap + stride * m}`);
        }
        assert.deepEqual(
          [...got].sort(),
          [...want].sort(),
          `in ${inSize} k ${filterSize} s ${stride} pad ${padBefore} row ${i}`,
        );
      }
    }
    assert.equal(seen.size, inSize);
  }
});

for (const c of CONV_CASES) {
  test(`Conv2DBackpropInput (conv2dTranspose) matches cpu: ${caseName(c)}`, async () => {
    const dyShape = outShape(c);
    await assertSameOnBoth(caseName(c), () =>
      tf.conv2dTranspose(
        tf.tensor(values(dyShape, 1), dyShape) as tf.Tensor4D,
        tf.tensor(values(filterShape(c), 2), filterShape(c)) as tf.Tensor4D,
        c.x,
        c.stride,
        c.pad,
      ),
    );
  });

  test(`Conv2DBackpropFilter matches cpu: ${caseName(c)}`, async () => {
    const dyShape = outShape(c);
    await assertSameOnBoth(
      caseName(c),
      () =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x: tf.tensor(values(c.x, 3), c.x), dy: tf.tensor(values(dyShape, 4), dyShape) },
            {
              strides: c.stride,
              pad: c.pad,
              dataFormat: 'NHWC',
              filterShape: filterShape(c),
            } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor,
    );
  });
}

test('Conv2DBackpropFilter in row bands (bounded memory) equals the one-pass result', async () => {
  await tf.setBackend('wasm');
  const backend = tf.backend() as BackendWasm;
  const x = tf.tensor(values([2, 15, 13, 6], 5), [2, 15, 13, 6]);
  const dy = tf.tensor(values([2, 8, 7, 4], 6), [2, 8, 7, 4]);
  const whole = backpropFilterNHWC(backend, info(x), info(dy), [3, 3, 6, 4], 2, 2, 1, 0);
  const banded = backpropFilterNHWC(backend, info(x), info(dy), [3, 3, 6, 4], 2, 2, 1, 0, 6 * 2 * 7); // one or two rows per band
  const a = backend.typedArrayFromHeap(whole) as Float32Array,
    b = backend.typedArrayFromHeap(banded) as Float32Array;
  assert.ok(relativeError(b, a) <= 1e-6, `relative error ${relativeError(b, a)}`);
  backend.disposeData(whole.dataId);
  backend.disposeData(banded.dataId);
  tf.dispose([x, dy]);
});

test('Conv2DBackpropFilter: the convolution and the GEMM strategies agree', async () => {
  await tf.setBackend('wasm');
  const backend = tf.backend() as BackendWasm;
  const cases: [number[], number, number, number, number][] = [
    [[2, 11, 9, 5], 3, 20, 1, 1],
    [[1, 12, 10, 4], 5, 16, 0, 1],
    [[1, 9, 9, 3], 9, 24, 4, 1],
    [[1, 8, 7, 6], 3, 4, 1, 1],
    [[2, 11, 9, 5], 3, 20, 1, 2],
    [[1, 13, 10, 4], 4, 16, 1, 3],
    [[1, 12, 12, 3], 9, 8, 4, 2],
  ];
  for (const [xs, k, co, pad, st] of cases) {
    const oh = Math.floor((xs[1] + 2 * pad - k) / st) + 1,
      ow = Math.floor((xs[2] + 2 * pad - k) / st) + 1;
    const x = tf.tensor(values(xs, 30), xs),
      dy = tf.tensor(values([xs[0], oh, ow, co], 31), [xs[0], oh, ow, co]);
    const by = (strategy: 'conv' | 'gemm') =>
      backpropFilterNHWC(backend, info(x), info(dy), [k, k, xs[3], co], st, st, pad, pad, undefined, strategy);
    const byConv = by('conv'),
      byGemm = by('gemm');
    const err = relativeError(
      backend.typedArrayFromHeap(byGemm) as Float32Array,
      backend.typedArrayFromHeap(byConv) as Float32Array,
    );
    assert.ok(err <= 1e-5, `x [${xs}] k ${k} out ${co} pad ${pad} stride ${st}: relative error ${err}`);
    backend.disposeData(byConv.dataId);
    backend.disposeData(byGemm.dataId);
    tf.dispose([x, dy]);
  }
});

/** The gradients (input and filter) of sum(op(a, w) · upstream), from deterministic values with these seeds. */
function gradients(
  op: (a: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor,
  shapes: { a: number[]; w: number[]; out: number[] },
  seeds: { a: number; w: number; out: number },
): tf.Tensor[] {
  const g = tf.grads((a: tf.Tensor, w: tf.Tensor) =>
    tf.sum(tf.mul(op(a as tf.Tensor4D, w as tf.Tensor4D), tf.tensor(values(shapes.out, seeds.out), shapes.out))),
  );
  return g([tf.tensor(values(shapes.a, seeds.a), shapes.a), tf.tensor(values(shapes.w, seeds.w), shapes.w)]);
}

for (const c of [CONV_CASES[1], CONV_CASES[4], CONV_CASES[8], CONV_CASES[12]]) {
  test(`conv2d gradients (input and filter) match cpu: ${caseName(c)}`, async () => {
    const shapes = { a: c.x, w: filterShape(c), out: outShape(c) };
    await assertSameOnBoth(caseName(c), () =>
      gradients((x, w) => tf.conv2d(x, w, c.stride, c.pad), shapes, { a: 5, w: 6, out: 7 }),
    );
  });

  test(`conv2dTranspose gradients (input and filter) match cpu: ${caseName(c)}`, async () => {
    const shapes = { a: outShape(c), w: filterShape(c), out: c.x };
    await assertSameOnBoth(caseName(c), () =>
      gradients((y, w) => tf.conv2dTranspose(y, w, c.x, c.stride, c.pad), shapes, { a: 9, w: 10, out: 8 }),
    );
  });
}

const MATMUL_CASES: [number[], number[], boolean, boolean][] = [
  [[2, 5, 3], [2, 3, 4], false, false],
  [[2, 3, 5], [2, 3, 4], true, false],
  [[2, 5, 3], [2, 4, 3], false, true],
  [[2, 3, 5], [1, 4, 3], true, true],
  [[7, 3], [3, 4], false, false],
  [[3, 2, 5, 3], [3, 4], false, false],
  [[1, 5, 3], [4, 3, 6], false, false],
  [[4, 64, 32], [4, 64, 32], true, false], // a Gram matrix FᵀF with batch 4
];

for (const [as, bs, ta, tb] of MATMUL_CASES) {
  test(`BatchMatMul matches cpu: [${as}]${ta ? 'ᵀ' : ''} · [${bs}]${tb ? 'ᵀ' : ''}`, async () => {
    await assertSameOnBoth('matMul', () =>
      tf.matMul(tf.tensor(values(as, 11), as), tf.tensor(values(bs, 12), bs), ta, tb),
    );
  });
}

test('Gram matrix gradient matches cpu', async () => {
  await assertSameOnBoth('gram', () => {
    const target = tf.tensor(values([2, 8, 8], 13), [2, 8, 8]);
    const g = tf.grad((f: tf.Tensor) => {
      const flat = tf.reshape(f, [2, 30, 8]);
      return tf.sum(tf.squaredDifference(tf.div(tf.matMul(flat, flat, true, false), 240), target));
    });
    return g(tf.tensor(values([2, 5, 6, 8], 14), [2, 5, 6, 8]));
  });
});

const REDUCE_CASES: [number[], number | number[], boolean][] = [
  [[2, 7, 5, 6], [1, 2], true], // instance norm statistics
  [[2, 7, 5, 6], [0, 1, 2], false], // shift/scale gradients
  [[3, 4, 5], 0, false],
  [[3, 4, 5], [1], true],
  [[2, 7, 5, 6], [2, 3], false], // innermost: the backend's kernel
  [[2, 7, 5, 6], [0, 2], false], // scattered: the backend's kernel
  [[2, 7, 5, 6], [-3, -2], false],
];
for (const [shape, axis, keepDims] of REDUCE_CASES) {
  test(`Sum and Mean match cpu: [${shape}] over ${axis}${keepDims ? ', keepDims' : ''}`, async () => {
    const x = () => tf.tensor(values(shape, 15), shape);
    await assertSameOnBoth('sum', () => tf.sum(x(), axis, keepDims));
    await assertSameOnBoth('mean', () => tf.mean(x(), axis, keepDims));
  });
}

test('Sum over many pixels (one pooling window of 2^18) matches cpu', async () => {
  await assertSameOnBoth('sum', () =>
    tf.sum(tf.add(tf.tensor(values([4, 256, 256, 3], 16), [4, 256, 256, 3]), 0.3), [0, 1, 2]),
  );
});

const POOL_CASES: [[number, number, number, number], number, number, Pad][] = [
  [[2, 8, 10, 5], 2, 2, 'valid'], // the loss network's pooling
  [[1, 9, 7, 3], 2, 2, 'valid'], // odd size: last row/column unused
  [[1, 9, 7, 3], 3, 2, 'same'], // overlapping windows, padding
  [[2, 6, 6, 4], 2, 1, 'same'],
];
for (const [shape, size, stride, pad] of POOL_CASES) {
  test(`MaxPoolGrad matches cpu, ties included: [${shape}] window ${size} stride ${stride} ${pad}`, async () => {
    await assertSameOnBoth('maxPool gradient', () => {
      // relu makes many windows all-zero: the gradient must go to the first maximum only.
      const x = tf.relu(tf.tensor(values(shape, 17), shape)) as tf.Tensor4D;
      const y = tf.maxPool(x, size, stride, pad);
      const dy = tf.tensor(values(y.shape, 18), y.shape);
      return tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, size, stride, pad))(x, dy);
    });
  });
}

/** A small transform network and loss network: every kernel of the real training step. */
function tinyTrainingLoss(vars: tf.Variable[], content: tf.Tensor4D, vgg: tf.Tensor[]): tf.Scalar {
  const [w1, w2, w3, w4, w5, shift, scale] = vars;
  const norm = (x: tf.Tensor4D, c: number) => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    const n = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-3)));
    return tf.add(tf.mul(n, tf.slice(scale, 0, c)), tf.slice(shift, 0, c)) as tf.Tensor4D;
  };
  let h = tf.relu(norm(tf.conv2d(content, w1 as tf.Tensor4D, 1, 'same'), 8));
  h = tf.relu(norm(tf.conv2d(h, w2 as tf.Tensor4D, 2, 'same'), 16));
  const r = tf.add(norm(tf.conv2d(h, w3 as tf.Tensor4D, 1, 'same'), 16), h) as tf.Tensor4D;
  h = tf.relu(norm(tf.conv2dTranspose(r, w4 as tf.Tensor4D, [content.shape[0], 12, 12, 8], 2, 'same'), 8));
  const y = tf.add(tf.mul(tf.tanh(norm(tf.conv2d(h, w5 as tf.Tensor4D, 1, 'same'), 3)), 150), 127.5) as tf.Tensor4D;
  // Loss network: conv+bias+relu, max pooling, Gram matrices, content and total variation.
  const features = (x: tf.Tensor4D) => {
    const f1 = tf.fused.conv2d({
      x: tf.sub(x, 120) as tf.Tensor4D,
      filter: vgg[0] as tf.Tensor4D,
      bias: vgg[1],
      activation: 'relu',
      pad: 'same',
      strides: 1,
    });
    const f2 = tf.fused.conv2d({
      x: tf.maxPool(f1, 2, 2, 'valid'),
      filter: vgg[2] as tf.Tensor4D,
      bias: vgg[3],
      activation: 'relu',
      pad: 'same',
      strides: 1,
    });
    return [f1, f2];
  };
  const gram = (f: tf.Tensor4D) => {
    const [b, hh, ww, c] = f.shape;
    const flat = tf.reshape(f, [b, hh * ww, c]);
    return tf.div(tf.matMul(flat, flat, true, false), hh * ww * c);
  };
  const [o1, o2] = features(y);
  const [, c2] = features(content);
  const styleLoss = tf.add(
    tf.mean(tf.squaredDifference(gram(o1), tf.onesLike(gram(o1)))),
    tf.mean(tf.squaredDifference(gram(o2), 0.5)),
  );
  const contentLoss = tf.mean(tf.squaredDifference(o2, c2));
  const tv = tf.mean(
    tf.square(tf.sub(tf.slice(y, [0, 1, 0, 0], [-1, 11, -1, -1]), tf.slice(y, [0, 0, 0, 0], [-1, 11, -1, -1]))),
  );
  return tf.addN([tf.mul(contentLoss, 7.5), tf.mul(styleLoss, 100), tf.mul(tv, 2)]) as tf.Scalar;
}

test('a whole small training step gives the same gradients on wasm and cpu', async () => {
  const shapes = [[9, 9, 3, 8], [3, 3, 8, 16], [3, 3, 16, 16], [3, 3, 8, 16], [9, 9, 8, 3], [16], [16]];
  const vggShapes = [[3, 3, 3, 6], [6], [3, 3, 6, 10], [10]];
  const results: Record<string, Float32Array[]> = {};
  for (const backend of ['cpu', 'wasm'] as const) {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const vars = shapes.map((s, i) => {
      const init = tf.tidy(() => tf.add(tf.mul(tf.tensor(values(s, 20 + i), s), i < 5 ? 0.6 : 1), i === 6 ? 1 : 0));
      const v = tf.variable(init);
      init.dispose();
      return v;
    });
    const vgg = vggShapes.map((s, i) => tf.tensor(values(s, 40 + i), s));
    const content = tf.tidy(() =>
      tf.mul(tf.add(tf.tensor(values([2, 12, 12, 3], 50), [2, 12, 12, 3]), 0.5), 255),
    ) as tf.Tensor4D;
    const { value, grads } = tf.variableGrads(() => tinyTrainingLoss(vars, content, vgg), vars);
    results[backend] = [
      (await value.data()) as Float32Array,
      ...(await Promise.all(vars.map(async (v) => (await grads[v.name].data()) as Float32Array))),
    ];
    tf.dispose([value, ...Object.values(grads), ...vars, ...vgg, content]);
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  }
  results.cpu.forEach((expected, i) => {
    const err = relativeError(results.wasm[i], expected);
    assert.ok(
      err <= TOLERANCE,
      `${i === 0 ? 'loss' : `gradient of variable ${i - 1}`}: relative error ${err.toExponential(2)}`,
    );
  });
});

test('the kernels leave no tensors or wasm buffers behind', async () => {
  await tf.setBackend('wasm');
  const backend = tf.backend() as BackendWasm;
  clearWasmKernelCaches();
  const tensors = tf.memory().numTensors,
    buffers = backend.numDataIds();
  for (let i = 0; i < 3; i++) {
    const x = tf.tensor(values([2, 9, 9, 4], i), [2, 9, 9, 4]) as tf.Tensor4D;
    const w = tf.tensor(values([3, 3, 4, 6], i + 9), [3, 3, 4, 6]);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(
        tf.conv2dTranspose(
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'),
          b as tf.Tensor4D,
          [2, 9, 9, 4],
          2,
          'same',
        ),
      ),
    );
    tf.dispose(g([x, w]));
    tf.dispose(tf.tidy(() => tf.matMul(tf.reshape(x, [2, 81, 4]), tf.reshape(x, [2, 81, 4]), true, false)));
    tf.dispose([x, w]);
  }
  // A gradient that does not fit the forward convolution is rejected with a clear message.
  const dy = tf.zeros([1, 4, 4, 6]),
    x = tf.zeros([1, 9, 9, 4]);
  assert.throws(
    () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
        strides: 2,
        pad: 'same',
        dataFormat: 'NHWC',
        filterShape: [3, 3, 4, 6],
      } as unknown as tf.NamedAttrMap),
    /does not match/,
  );
  tf.dispose([dy, x]);
  assert.equal(tf.memory().numTensors, tensors);
  clearWasmKernelCaches();
  assert.equal(backend.numDataIds(), buffers);
});
