// "Stylize with Any Image": the minimisers on functions with known minima, then the Gatys
// pixel optimisation on a tiny real problem (block 1–3 VGG, chicago.jpg, Starry Night), the
// job (files, previews, cancel) and the CLI. Runs on the wasm backend like the product.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tf, type Tensor4D } from '../../src/model/tf';
import {
  adam,
  lbfgs,
  type Evaluation,
  type MinimizerResult,
  type MinimizerStep,
  type Vector,
} from '../../src/model/minimize';
import { ImageLoss, optimizeImage, type OptimizeEvent, type OptimizeImageResult } from '../../src/model/optimize';
import { PerceptualLoss, defaultLayersFor } from '../../src/model/losses';
import { Vgg19 } from '../../src/model/vgg';
import { initTfjsBackend } from '../../src/engine/tfjs/backends';
import { registerWasmTrainingKernels } from '../../src/engine/tfjs/wasmKernels';
import { optimizeWithImage } from '../../src/engine/optimizeJob';
import { loadVggWeights } from '../../src/io/vggWeights';
import { maxSide, readImage } from '../../src/io/image';
import {
  DEFAULT_MAX_INPUT_PIXELS,
  type EngineSettings,
  type JobProgress,
  type OptimizeOptions,
} from '../../src/protocol/jobs';
import { StyleTransferError } from '../../src/protocol/errors';
import { hasSharedData, shared, tempDir } from '../helpers/paths';
import { runFst } from '../helpers/cli';

async function drain<E extends Evaluation>(
  gen: AsyncGenerator<MinimizerStep<E>, MinimizerResult, void>,
): Promise<{ values: number[]; result: MinimizerResult }> {
  const values: number[] = [];
  let r = await gen.next();
  while (!r.done) {
    values.push(r.value.evaluation.value);
    r = await gen.next();
  }
  return { values, result: r.value };
}

function rosenbrock(x: Vector): Evaluation {
  let value = 0;
  const gradient = new Float64Array(x.length);
  for (let i = 0; i < x.length - 1; i++) {
    const a = x[i + 1] - x[i] * x[i];
    const b = 1 - x[i];
    value += 100 * a * a + b * b;
    gradient[i] += -400 * x[i] * a - 2 * b;
    gradient[i + 1] += 200 * a;
  }
  return { value, gradient };
}

/** ½ Σ dᵢ (xᵢ − cᵢ)² with condition number 1000. */
function quadratic(n: number) {
  const d = Float64Array.from({ length: n }, (_, i) => 1 + (999 * i) / (n - 1));
  const c = Float64Array.from({ length: n }, (_, i) => 3 * Math.sin(i + 1));
  const f = (x: Vector): Evaluation => {
    let value = 0;
    const gradient = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const e = x[i] - c[i];
      value += 0.5 * d[i] * e * e;
      gradient[i] = d[i] * e;
    }
    return { value, gradient };
  };
  return { f, c };
}

function maxError(x: ArrayLike<number>, want: (i: number) => number): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) e = Math.max(e, Math.abs(x[i] - want(i)));
  return e;
}

function nonIncreasing(values: number[]): boolean {
  return values.every((v, i) => i === 0 || v <= values[i - 1]);
}

test('L-BFGS finds the Rosenbrock minimum (2-D and 10-D) with a monotone value', async () => {
  for (const n of [2, 10]) {
    const x0 = Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? -1.2 : 1));
    const { values, result } = await drain(lbfgs(x0, rosenbrock, { maxIterations: 300, gradientTolerance: 1e-8 }));
    assert.equal(result.reason, 'converged', `n=${n}: ${result.reason} after ${result.iterations}`);
    assert.ok(maxError(result.x, () => 1) < 1e-6, `n=${n}: x = ${Array.from(result.x)}`);
    assert.ok(result.value < 1e-12);
    assert.ok(result.iterations < 150, `n=${n}: ${result.iterations} iterations (curvature pairs must be used)`);
    assert.ok(nonIncreasing(values), 'the Armijo search never accepts an increase');
    assert.equal(x0[0], -1.2, 'x0 is not modified');
  }
});

test('L-BFGS with box bounds: the projected minimum of Rosenbrock and of an ill-conditioned quadratic', async () => {
  // With x₀ ≤ 0.5 the minimum is at (0.5, 0.25), value 0.25.
  const bounded = await drain(
    lbfgs(new Float64Array([-1.2, 0.4]), rosenbrock, {
      maxIterations: 200,
      gradientTolerance: 1e-9,
      bounds: { lower: -2, upper: 0.5 },
    }),
  );
  assert.ok(
    Math.abs(bounded.result.x[0] - 0.5) < 1e-9 && Math.abs(bounded.result.x[1] - 0.25) < 1e-6,
    `x = ${Array.from(bounded.result.x)}`,
  );
  assert.ok(Math.abs(bounded.result.value - 0.25) < 1e-9);

  const { f, c } = quadratic(500);
  const free = await drain(lbfgs(new Float64Array(500), f, { maxIterations: 500, gradientTolerance: 1e-6 }));
  assert.ok(maxError(free.result.x, (i) => c[i]) < 1e-6, 'unbounded: x = c');
  // Steepest descent would need ~κ·ln(1/ε) ≈ 10⁴ iterations here, CG ~√κ·ln(1/ε) ≈ 450.
  assert.ok(free.result.iterations < 400, `${free.result.iterations} iterations`);
  const box = await drain(
    lbfgs(new Float64Array(500), f, { maxIterations: 500, gradientTolerance: 1e-6, bounds: { lower: -1, upper: 1 } }),
  );
  assert.ok(maxError(box.result.x, (i) => Math.min(1, Math.max(-1, c[i]))) < 1e-5, 'bounded: x = clip(c)');
  assert.ok(
    Array.from(box.result.x).every((v) => v >= -1 && v <= 1),
    'every iterate stays inside the box',
  );
  assert.ok(nonIncreasing(box.values));
});

test('L-BFGS stops cleanly when the "gradient" is not a descent direction', async () => {
  // A gradient of the wrong sign: every search direction goes uphill.
  let calls = 0;
  const wrong = (x: Vector): Evaluation => {
    calls++;
    const e = rosenbrock(x);
    return { value: e.value, gradient: Array.from(e.gradient, (g) => -g) };
  };
  const x0 = new Float64Array([-1.2, 1]);
  const { values, result } = await drain(lbfgs(x0, wrong, { maxIterations: 50, maxLineSearch: 10 }));
  assert.equal(result.reason, 'no-progress');
  assert.equal(result.iterations, 0);
  assert.deepEqual(Array.from(result.x), [-1.2, 1], 'the point stays where it was');
  assert.equal(result.value, values[0]);
  assert.ok(calls <= 1 + 10, `${calls} evaluations: gives up after one line search along −g`);
  // A non-finite value is never accepted.
  const nan = (x: Vector): Evaluation => (x[0] === 0 ? { value: 1, gradient: [1] } : { value: NaN, gradient: [NaN] });
  const r = await drain(lbfgs(new Float64Array([0]), nan, { maxIterations: 5 }));
  assert.equal(r.result.reason, 'no-progress');
  assert.equal(r.result.x[0], 0);
});

test("Adam finds a quadratic minimum and Rosenbrock's, keeping bounds", async () => {
  const { f, c } = quadratic(50);
  const q = await drain(adam(new Float64Array(50), f, { maxIterations: 3000, learningRate: 0.05 }));
  assert.ok(maxError(q.result.x, (i) => c[i]) < 1e-3, `max error ${maxError(q.result.x, (i) => c[i])}`);
  const rosen = await drain(
    adam(new Float64Array([-1.2, 1]), rosenbrock, { maxIterations: 20000, learningRate: 0.01 }),
  );
  assert.ok(maxError(rosen.result.x, () => 1) < 1e-3, `x = ${Array.from(rosen.result.x)}`);
  const box = await drain(
    adam(new Float64Array(50), f, { maxIterations: 3000, learningRate: 0.05, bounds: { lower: -1, upper: 1 } }),
  );
  assert.ok(maxError(box.result.x, (i) => Math.min(1, Math.max(-1, c[i]))) < 1e-3);
  assert.equal(q.values.length, 3001, 'the start plus one value per iteration');
  await assert.rejects(adam(new Float64Array(1), f, { maxIterations: 1, learningRate: 0 }).next(), RangeError);
});

// ------------------------------------------------------------------------------------------
// The real problem, tiny: 64 px, block 1–3 VGG.

const SIZE = 64;
let fixture: Promise<{ vgg: Vgg19; content: Tensor4D; style: Tensor4D }> | undefined;
function realProblem() {
  fixture ??= (async () => {
    await initTfjsBackend('wasm');
    registerWasmTrainingKernels();
    const vgg = Vgg19.fromWeights((await loadVggWeights(shared('vgg19-keras-block1-3'))).weights);
    const c = await readImage(shared('reference', 'chicago.jpg'), { resize: maxSide(SIZE) });
    const s = await readImage(shared('styles', 'starry_night.jpg'), { resize: maxSide(SIZE) });
    return {
      vgg,
      content: tf.tensor4d(c.rgb.data, [1, c.height, c.width, 3]),
      style: tf.tensor4d(s.rgb.data, [1, s.height, s.width, 3]),
    };
  })();
  return fixture;
}

async function runOptimize(args: Omit<Parameters<typeof optimizeImage>[0], 'vgg' | 'content' | 'style'>) {
  const { vgg, content, style } = await realProblem();
  const events: OptimizeEvent[] = [];
  const gen = optimizeImage({ vgg, content, style, ...args });
  let r = await gen.next();
  while (!r.done) {
    events.push(r.value);
    r = await gen.next();
  }
  return { events, result: r.value as OptimizeImageResult };
}

test('the image loss equals the training loss (PerceptualLoss) for the same weights', async (t) => {
  if (!hasSharedData(t)) return;
  const { vgg, content, style } = await realProblem();
  const layers = defaultLayersFor(vgg.availableLayers());
  const weights = { content: 3, style: 50, tv: 20 };
  const x = tf.tidy(
    () => tf.clipByValue(tf.add(content, tf.randomNormal(content.shape, 0, 20, 'float32', 7)), 0, 255) as Tensor4D,
  );
  const before = tf.memory().numTensors;
  const loss = new ImageLoss(vgg, content, style, layers, weights);
  const mine = await loss.evaluate(await x.data());
  loss.dispose();
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
  const ref = PerceptualLoss.create(vgg, style, { layers, weights });
  const parts = ref.compute(x, content, { keepParts: true });
  const want = {
    total: parts.total.dataSync()[0],
    content: parts.content.dataSync()[0],
    style: parts.style.dataSync()[0],
    tv: parts.tv.dataSync()[0],
  };
  tf.dispose([parts.total, parts.content, parts.style, parts.tv, x]);
  ref.dispose();
  for (const k of ['total', 'content', 'style', 'tv'] as const) {
    assert.ok(
      Math.abs(mine.losses[k] - want[k]) <= 1e-4 * Math.abs(want[k]) + 1e-3,
      `${k}: ${mine.losses[k]} vs ${want[k]}`,
    );
  }
  assert.equal(mine.gradient.length, x.size);
});

test('L-BFGS on a 64 px photo lowers the loss monotonically by > 50 %, keeps pixels in 0..255 and leaks nothing', async (t) => {
  if (!hasSharedData(t)) return;
  await realProblem();
  const before = tf.memory().numTensors;
  const { events, result } = await runOptimize({ steps: 12, method: 'lbfgs', previewEvery: 5 });
  assert.equal(tf.memory().numTensors, before, 'every tensor freed');
  const steps = events.filter((e) => e.type === 'step');
  assert.deepEqual(
    steps.map((e) => e.step),
    [...Array(13).keys()],
    'step 0 (the photo) then 1…12',
  );
  const totals = steps.map((e) => e.losses.total);
  assert.ok(nonIncreasing(totals), `monotone: ${totals.map((v) => v.toExponential(2)).join(' ')}`);
  assert.ok(
    result.finalLosses.total < 0.5 * result.initialLosses.total,
    `${result.initialLosses.total} → ${result.finalLosses.total}`,
  );
  assert.ok(result.initialLosses.content < 1e-3, 'the start is the photo itself (content loss 0)');
  assert.ok(result.finalLosses.style < 0.3 * result.initialLosses.style, 'the style term falls most');
  assert.equal(result.steps, 12);
  assert.ok(result.evaluations >= 13);
  assert.deepEqual(
    events.filter((e) => e.type === 'preview').map((e) => e.step),
    [5, 10],
  );
  const { data, width, height } = result.image;
  const [, h, w] = (await realProblem()).content.shape;
  assert.equal(width, w);
  assert.equal(height, h);
  let changed = 0;
  const original = await (await realProblem()).content.data();
  for (let i = 0; i < data.length; i++) {
    assert.ok(data[i] >= 0 && data[i] <= 255, `pixel ${i} = ${data[i]}`);
    if (Math.abs(data[i] - original[i]) > 8) changed++;
  }
  assert.ok(changed > data.length / 4, `the image changed visibly (${changed} of ${data.length} values by > 8)`);
});

test('Adam on the same problem lowers the loss too (more slowly), and noise init works', async (t) => {
  if (!hasSharedData(t)) return;
  const { events, result } = await runOptimize({ steps: 12, method: 'adam' });
  const totals = events.flatMap((e) => (e.type === 'step' ? [e.losses.total] : []));
  const rises = totals.filter((v, i) => i > 0 && v > totals[i - 1]).length;
  assert.ok(rises <= 3, `mostly decreasing: ${totals.map((v) => v.toExponential(2)).join(' ')}`);
  assert.ok(
    result.finalLosses.total < 0.6 * result.initialLosses.total,
    `${result.initialLosses.total} → ${result.finalLosses.total}`,
  );
  assert.equal(result.finalLosses.total, Math.min(...totals), 'the result is the best image seen');
  const noise = await runOptimize({ steps: 3, init: 'noise', seed: 3 });
  assert.ok(noise.result.initialLosses.content > 1000, 'noise starts far from the photo');
  assert.ok(noise.result.finalLosses.total < noise.result.initialLosses.total);
});

test('a signal stops the optimisation within one evaluation and returns the best image so far', async (t) => {
  if (!hasSharedData(t)) return;
  await realProblem();
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  const { vgg, content, style } = await realProblem();
  const gen = optimizeImage({ vgg, content, style, steps: 50, signal: controller.signal });
  let r = await gen.next();
  let last = 0;
  while (!r.done) {
    if (r.value.type === 'step') last = r.value.step;
    if (last === 2) controller.abort();
    r = await gen.next();
  }
  assert.equal(r.value.stopReason, 'cancelled');
  assert.equal(r.value.steps, 2);
  assert.equal(last, 2, 'no step after the abort');
  assert.equal(tf.memory().numTensors, before);
  // Aborted before anything was evaluated: a 'cancelled' error.
  const early = new AbortController();
  early.abort();
  await assert.rejects(
    optimizeImage({ vgg, content, style, steps: 5, signal: early.signal }).next(),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'cancelled',
  );
  assert.equal(tf.memory().numTensors, before);
});

test('bad optimisation arguments are one clear error each', async (t) => {
  if (!hasSharedData(t)) return;
  const { vgg, content, style } = await realProblem();
  const expectBad = (args: Partial<Parameters<typeof optimizeImage>[0]>, re: RegExp) =>
    assert.rejects(
      optimizeImage({ vgg, content, style, steps: 1, ...args }).next(),
      (e: unknown) => e instanceof StyleTransferError && re.test(e.message),
    );
  await expectBad({ steps: -1 }, /steps/);
  await expectBad({ method: 'sgd' as 'adam' }, /method/);
  await expectBad({ learningRate: 0 }, /learning rate/);
  await expectBad({ layers: { content: 'relu4_2', style: ['relu1_1'] } }, /relu4_2 is not available/);
  await expectBad({ weights: { style: -1 } }, /style weight/);
});

// ------------------------------------------------------------------------------------------
// The job and the CLI.

const SETTINGS: EngineSettings = {
  trainingBackend: 'wasm',
  stylizeRuntime: 'auto',
  threads: 0,
  cacheDir: '',
  extraModuleRoots: [],
  maxInputPixels: DEFAULT_MAX_INPUT_PIXELS,
};

function jobOptions(outDir: string, extra: Partial<OptimizeOptions> = {}): OptimizeOptions {
  return {
    image: shared('reference', 'chicago.jpg'),
    styleImage: shared('styles', 'starry_night.jpg'),
    vggPath: shared('vgg19-keras-block1-3'),
    outDir,
    size: 48,
    steps: 4,
    previewEvery: 2,
    ...extra,
  };
}

test('the optimize job writes one PNG under a fresh name and streams progress and previews', async (t) => {
  if (!hasSharedData(t)) return;
  const out = tempDir('fst-optimize-');
  const progress: JobProgress[] = [];
  await realProblem(); // backend ready, so the tensor count below is comparable
  const tensorsBefore = tf.memory().numTensors;
  const r = await optimizeWithImage(jobOptions(out), SETTINGS, { progress: (p) => progress.push(p) });
  assert.equal(tf.memory().numTensors, tensorsBefore, "the job frees VGG, images and every step's tensors");
  assert.equal(r.cancelled, false);
  assert.equal(r.output, path.join(out, 'chicago.starry_night-optimized.png'));
  assert.deepEqual(fs.readdirSync(out), ['chicago.starry_night-optimized.png']);
  const meta = await readImage(r.output!);
  assert.equal(meta.format, 'png');
  assert.deepEqual([meta.width, meta.height, r.width, r.height], [48, 32, 48, 32]);
  assert.ok(r.finalLosses.total < r.initialLosses.total);
  const steps = progress.filter((p) => p.type === 'optimize');
  assert.deepEqual(
    steps.map((p) => p.step),
    [0, 1, 2, 3, 4],
  );
  assert.ok(steps.every((p) => p.totalSteps === 4 && p.etaSeconds >= 0));
  assert.equal(steps.at(-1)!.type === 'optimize' && steps.at(-1)!.etaSeconds, 0);
  const previews = progress.flatMap((p) => (p.type === 'optimizePreview' ? [p] : []));
  assert.deepEqual(
    previews.map((p) => p.step),
    [2, 4],
  );
  assert.deepEqual([...previews[0].image.bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'PNG bytes');
  // A second run never overwrites: the next free name.
  const again = await optimizeWithImage(jobOptions(out, { steps: 1, previewEvery: 0 }), SETTINGS);
  assert.equal(again.output, path.join(out, 'chicago.starry_night-optimized-2.png'));
});

test('cancelling the job stops promptly and writes nothing (or the best image with saveOnCancel)', async (t) => {
  if (!hasSharedData(t)) return;
  const out = tempDir('fst-optimize-cancel-');
  for (const saveOnCancel of [false, true]) {
    const controller = new AbortController();
    let lastStep = -1;
    const r = await optimizeWithImage(jobOptions(out, { steps: 500, saveOnCancel }), SETTINGS, {
      signal: controller.signal,
      progress: (p) => {
        if (p.type !== 'optimize') return;
        lastStep = p.step;
        if (p.step === 2) controller.abort();
      },
    });
    assert.equal(r.cancelled, true);
    assert.equal(lastStep, 2, 'no step after the cancel');
    assert.equal(r.steps, 2);
    if (!saveOnCancel) {
      assert.equal(r.output, undefined);
      assert.deepEqual(fs.readdirSync(out), [], 'no file, not even a temporary one');
    } else {
      assert.deepEqual(fs.readdirSync(out), ['chicago.starry_night-optimized.png']);
    }
  }
});

test("a cancel arriving as an event (like the worker's cancel message or Ctrl+C) is seen between steps", async (t) => {
  if (!hasSharedData(t)) return;
  // The loop does no I/O; unless it yields to the event loop, timers, messages and signals
  // would wait until all steps are done.
  const out = tempDir('fst-optimize-event-');
  const controller = new AbortController();
  let lastStep = -1;
  let scheduled = false;
  const r = await optimizeWithImage(jobOptions(out, { steps: 300, previewEvery: 0 }), SETTINGS, {
    signal: controller.signal,
    progress: (p) => {
      if (p.type !== 'optimize') return;
      lastStep = p.step;
      if (p.step === 1 && !scheduled) {
        scheduled = true;
        setTimeout(() => controller.abort(), 0);
      }
    },
  });
  assert.equal(r.cancelled, true);
  assert.ok(lastStep <= 3, `stopped at step ${lastStep}`);
  assert.deepEqual(fs.readdirSync(out), []);
});

test('the job refuses bad input before any slow work, with one precise error', async (t) => {
  if (!hasSharedData(t)) return;
  const out = tempDir('fst-optimize-bad-');
  const expect = (extra: Partial<OptimizeOptions>, code: string, re: RegExp) =>
    assert.rejects(
      optimizeWithImage(jobOptions(out, extra), SETTINGS),
      (e: unknown) => e instanceof StyleTransferError && e.code === code && re.test(e.message),
    );
  await expect({ vggPath: path.join(out, 'no-vgg') }, 'not-found', /VGG weights not found/);
  await expect({ image: path.join(out, 'missing.jpg') }, 'not-found', /missing\.jpg does not exist/);
  await expect({ size: 1024 }, 'bad-input', /above the maximum 512/);
  await expect({ steps: 0 }, 'bad-input', /steps/);
  await expect({ method: 'sgd' as 'adam' }, 'bad-input', /method/);
  await expect({ contentLayer: 'relu5_2' }, 'bad-weights', /relu5_2 is not available/);
  fs.writeFileSync(path.join(out, 'broken.png'), 'not an image');
  await expect({ styleImage: path.join(out, 'broken.png') }, 'bad-image', /broken\.png/);
  assert.deepEqual(fs.readdirSync(out).sort(), ['broken.png'], 'nothing written');
});

test('fst optimize: prints progress and the output path; bad input is a one-line error and a non-zero exit', async (t) => {
  if (!hasSharedData(t)) return;
  const out = tempDir('fst-optimize-cli-');
  const base = [
    'optimize',
    '--style',
    shared('styles', 'wave.jpg'),
    '--vgg',
    shared('vgg19-keras-block1-3'),
    '-o',
    out,
  ];
  const ok = await runFst([
    ...base,
    '--size',
    '40',
    '--steps',
    '3',
    '--log-every',
    '1',
    '--method',
    'adam',
    shared('reference', 'chicago.jpg'),
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  const lines = ok.stdout.split('\n');
  assert.match(lines[0], /^step 0\/3 loss \d/);
  assert.match(lines.at(-2)!, /^done: 3 steps .* adam, 40×27\) .* loss .* → .*−\d/);
  assert.equal(lines.at(-1), path.join(out, 'chicago.wave-optimized.png'));
  assert.ok(fs.existsSync(lines.at(-1)!));
  for (const [args, re] of [
    [[...base, '--size', 'big', shared('reference', 'chicago.jpg')], /--size must be a number/],
    [[...base, '--method', 'newton', shared('reference', 'chicago.jpg')], /--method must be one of lbfgs, adam/],
    [[...base.slice(0, 3), shared('reference', 'chicago.jpg')], /--vgg is required/],
    [[...base, path.join(out, 'nope.jpg')], /nope\.jpg does not exist/],
    [
      [
        'optimize',
        '--style',
        shared('styles', 'wave.jpg'),
        '--vgg',
        path.join(out, 'none'),
        shared('reference', 'chicago.jpg'),
      ],
      /VGG weights not found/,
    ],
  ] as const) {
    const r = await runFst([...args]);
    assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
    // stderr also carries the phase messages ("Loading VGG19 weights…"); the error is one line.
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('fst optimize:'));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0], re);
    assert.equal(r.stdout, '', 'nothing on stdout');
  }
  assert.deepEqual(fs.readdirSync(out), ['chicago.wave-optimized.png']);
});
