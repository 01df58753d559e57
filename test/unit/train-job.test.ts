// The training job end to end on real VGG weights and images: checkpoints on disk, exact
// resume through those files, loss going down, and one clear error per bad input with no
// checkpoint damaged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { tf } from '../../src/model/tf';
import { readCheckpoint } from '../../src/io/checkpoint';
import { resumeTraining, trainStyle } from '../../src/engine/train/trainJob';
import type { JobProgress, TrainingOverrides, TrainOptions } from '../../src/protocol/jobs';
import { rejectsWith } from '../helpers/errors';
import { hasSharedData, shared, tempDir } from '../helpers/paths';
import { engineSettings, trainOptions } from '../helpers/training';

const settings = engineSettings('wasm');
const TINY: TrainingOverrides = {
  iterations: 10,
  imageSize: 32,
  batchSize: 2,
  checkpointEvery: 5,
  previewEvery: 0,
  styleSize: 64,
  architecture: { type: 'johnson2016', filters: [4, 8, 8], residualBlocks: 1, upsample: 'nearest' },
};

const options = (root: string, name: string, extra: Partial<TrainOptions> = {}) =>
  trainOptions(root, name, TINY, extra);

const hashDir = (d: string) =>
  fs
    .readdirSync(d)
    .sort()
    .map(
      (f) =>
        `${f}:${crypto
          .createHash('sha256')
          .update(fs.readFileSync(path.join(d, f)))
          .digest('hex')}`,
    )
    .join('\n');

test('10 steps + resume from the checkpoint files + 10 steps equals 20 steps (to 1e-5)', async (t) => {
  if (!hasSharedData(t)) return;
  const root = tempDir('fst-train-');
  const straight = await trainStyle(options(root, 'straight', { overrides: { ...TINY, iterations: 20 } }), settings);
  assert.equal(straight.iterations, 20);
  const first = await trainStyle(options(root, 'resumed'), settings);
  assert.equal(first.iterations, 10);
  const resumed = await resumeTraining(
    { checkpoint: path.join(root, 'resumed'), vggPath: shared('vgg19-keras-block1-3'), iterations: 20 },
    settings,
  );
  assert.equal(resumed.iterations, 20);
  const a = await readCheckpoint(path.join(root, 'straight'));
  const b = await readCheckpoint(path.join(root, 'resumed'));
  let maxDiff = 0;
  for (const [k, v] of a.weights)
    v.forEach((x, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(x - b.weights.get(k)![i]));
    });
  t.diagnostic(`max weight difference after resume: ${maxDiff}`);
  assert.ok(maxDiff <= 1e-5, `max difference ${maxDiff}`);
  assert.equal(b.info.iteration, 20);
  assert.equal(b.info.lossHistory?.length, 20);
  assert.deepEqual(
    b.info.lossHistory?.map((l) => l.iteration),
    a.info.lossHistory?.map((l) => l.iteration),
  );
});

test('the style loss falls below half of its first steps and no tensors leak', async (t) => {
  if (!hasSharedData(t)) return;
  const root = tempDir('fst-train-');
  // A first job warms up caches that live for the process (backend, kernels); then count.
  await trainStyle(options(root, 'warmup', { overrides: { ...TINY, iterations: 1 } }), settings);
  const before = tf.memory().numTensors;
  const steps: Extract<JobProgress, { type: 'train' }>[] = [];
  const checkpoints: number[] = [];
  await trainStyle(
    options(root, 'falls', {
      overrides: { ...TINY, iterations: 80, batchSize: 1, checkpointEvery: 40, learningRate: 0.01 },
    }),
    settings,
    {
      progress: (p) => {
        if (p.type === 'train') steps.push(p);
        if (p.type === 'checkpoint') checkpoints.push(p.iteration);
      },
    },
  );
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(checkpoints, [40, 80]);
  const firstMean = steps.slice(0, 10).reduce((s, p) => s + p.losses.style, 0) / 10;
  const last = steps.slice(-5).reduce((s, p) => s + p.losses.style, 0) / 5;
  t.diagnostic(
    `style loss: first 10 steps ${firstMean.toExponential(3)}, last 5 ${last.toExponential(3)} (${((100 * last) / firstMean).toFixed(1)} %)`,
  );
  assert.ok(last < 0.5 * firstMean, `style loss ${firstMean} → ${last}`);
});

test('bad inputs: one clear error each, and an existing checkpoint is left intact', async (t) => {
  if (!hasSharedData(t)) return;
  const root = tempDir('fst-train-');
  // A corrupt VGG folder: model.json cut short.
  const vgg = path.join(root, 'vgg');
  fs.cpSync(shared('vgg19-keras-block1-3'), vgg, { recursive: true });
  fs.chmodSync(vgg, 0o755);
  for (const f of fs.readdirSync(vgg)) fs.chmodSync(path.join(vgg, f), 0o644);
  fs.writeFileSync(path.join(vgg, 'model.json'), fs.readFileSync(path.join(vgg, 'model.json'), 'utf8').slice(0, 200));
  await rejectsWith(trainStyle(options(root, 'a', { vggPath: vgg }), settings), 'bad-weights', /model\.json/);
  // A layer the block 1–3 weights do not have.
  await rejectsWith(
    trainStyle(options(root, 'b', { overrides: { ...TINY, contentLayers: ['relu4_2'] } }), settings),
    'bad-weights',
    /relu4_2 is not available/,
  );
  // An empty training folder and an all-corrupt one.
  const empty = path.join(root, 'empty');
  fs.mkdirSync(empty);
  await rejectsWith(trainStyle(options(root, 'c', { dataDir: empty }), settings), 'bad-input', /no images found/);
  const corrupt = path.join(root, 'corrupt');
  fs.mkdirSync(corrupt);
  for (const n of ['a.png', 'b.jpg']) fs.writeFileSync(path.join(corrupt, n), crypto.randomBytes(500));
  await rejectsWith(
    trainStyle(options(root, 'd', { dataDir: corrupt }), settings),
    'bad-input',
    /none of the 2 images .* could be read/,
  );
  // A style image that cannot be read.
  const badStyle = path.join(root, 'style.png');
  fs.writeFileSync(badStyle, 'not an image');
  await rejectsWith(trainStyle(options(root, 'e', { styleImage: badStyle }), settings), 'bad-image', /style\.png/);
  for (const n of ['a', 'b', 'c', 'd', 'e'])
    assert.ok(!fs.existsSync(path.join(root, n)), `no checkpoint ${n} created`);

  // Resuming a good checkpoint with broken VGG weights fails without touching it.
  const good = await trainStyle(options(root, 'good', { overrides: { ...TINY, iterations: 2 } }), settings);
  const before = hashDir(good.checkpoint);
  await rejectsWith(
    resumeTraining({ checkpoint: good.checkpoint, vggPath: vgg, iterations: 4 }, settings),
    'bad-weights',
    /model\.json/,
  );
  assert.equal(hashDir(good.checkpoint), before);
  // --init-from: a new style starts from the good one's weights and takes its network size;
  // a different size asked for is refused, nothing created.
  const { architecture: _arch, ...noSize } = TINY;
  const tuned = await trainStyle(
    options(root, 'tuned', { initFrom: good.checkpoint, overrides: { ...noSize, iterations: 1 } }),
    settings,
  );
  const base = await readCheckpoint(good.checkpoint);
  const ft = await readCheckpoint(tuned.checkpoint);
  assert.deepEqual(ft.info.architecture, base.info.architecture);
  assert.equal((ft.info.source as { initFrom?: string }).initFrom, good.checkpoint);
  const w0 = base.weights.get('res1a/weight')!;
  const w1 = ft.weights.get('res1a/weight')!;
  // One Adam step moves each weight by at most ≈ the learning rate: a fine-tune, not a fresh start.
  assert.ok(
    w1.every((v, i) => Math.abs(v - w0[i]) < 5e-3),
    'weights start from the base',
  );
  await rejectsWith(
    trainStyle(
      options(root, 'tuned2', {
        initFrom: good.checkpoint,
        overrides: { ...TINY, iterations: 1, architecture: { ...TINY.architecture!, filters: [8, 8, 8] } },
      }),
      settings,
    ),
    'bad-input',
    /differs from the one asked for/,
  );
  assert.ok(!fs.existsSync(path.join(root, 'tuned2')));
  // A new training into an existing folder is refused (Resume is the way to continue).
  await rejectsWith(trainStyle(options(root, 'good'), settings), 'output-exists', /already exists/);
  // A tiny but valid PNG dataset works (images smaller than the training size are enlarged).
  const small = path.join(root, 'small');
  fs.mkdirSync(small);
  await sharp({ create: { width: 20, height: 12, channels: 3, background: '#40a040' } })
    .png()
    .toFile(path.join(small, 'p.png'));
  const r = await trainStyle(
    options(root, 'from-small', { dataDir: small, overrides: { ...TINY, iterations: 1 } }),
    settings,
  );
  assert.equal(r.iterations, 1);
});
