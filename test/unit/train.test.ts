import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, type Tensor4D } from '../../src/model/tf';
import '@tensorflow/tfjs-backend-cpu';
import type { TransformNetArchitecture } from '../../src/model/architecture';
import { Adam } from '../../src/model/adam';
import { TransformNet } from '../../src/model/transformNet';
import {
  batchAt,
  epochOrder,
  trainTransformNet,
  type TrainEvent,
  type TrainingData,
  type TrainingLoss,
} from '../../src/model/train';

const TINY: TransformNetArchitecture = { type: 'johnson2016', filters: [4, 8, 8], residualBlocks: 1 };
const SIZE = 8;

// A cheap stand-in for the perceptual loss: pull the output towards a fixed colour ramp,
// plus the output's mean as a "style" term, so gradients flow through every layer.
const loss: TrainingLoss = {
  compute(stylized, content) {
    return tf.tidy(() => {
      const target = tf.reshape(tf.linspace(0, 255, SIZE * SIZE * 3), [1, SIZE, SIZE, 3]);
      const c = tf.mean(tf.squaredDifference(stylized, tf.add(tf.mul(content, 0.1), target)));
      const s = tf.square(tf.sub(tf.mean(stylized), 100));
      const tv = tf.mean(
        tf.abs(
          tf.sub(
            tf.slice(stylized, [0, 1, 0, 0], [-1, SIZE - 1, -1, -1]),
            tf.slice(stylized, [0, 0, 0, 0], [-1, SIZE - 1, -1, -1]),
          ),
        ),
      );
      return {
        total: tf.addN([c, s, tv]) as tf.Scalar,
        content: c as tf.Scalar,
        style: s as tf.Scalar,
        tv: tv as tf.Scalar,
      };
    });
  },
};

function data(n: number): TrainingData {
  return {
    size: n,
    async batch(indices) {
      return tf.tidy(() => tf.stack(indices.map((i) => tf.fill([SIZE, SIZE, 3], (i * 37) % 255))) as Tensor4D);
    },
  };
}

async function run(net: TransformNet, adam: Adam, from: number, to: number, events: TrainEvent[] = []) {
  const schedule = { batchSize: 2, iterations: to, seed: 5, checkpointEvery: 4, previewEvery: 0 };
  for await (const e of trainTransformNet({
    net,
    loss,
    data: data(5),
    optimizer: adam,
    schedule,
    startIteration: from,
  }))
    events.push(e);
  return events;
}

test('data order is a seeded permutation per epoch and batches wrap small sets', () => {
  const o = epochOrder(10, 0, 1);
  assert.deepEqual(
    [...o].sort((a, b) => a - b),
    [...Array(10).keys()],
  );
  assert.deepEqual(epochOrder(10, 0, 1), o);
  assert.notDeepEqual(epochOrder(10, 1, 1), o);
  assert.deepEqual(batchAt(0, 3, 4, 1).indices.length, 4);
  assert.equal(batchAt(2, 5, 2, 1).epoch, 1); // 5 images, batch 2 → 2 steps per epoch
});

test('training lowers the loss, reports every step and frees its tensors', async () => {
  await tf.setBackend('cpu');
  const net = TransformNet.init(TINY, 1);
  const adam = new Adam(net.params, { learningRate: 1e-2, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const before = tf.memory().numTensors;
  const events = await run(net, adam, 0, 30);
  assert.equal(tf.memory().numTensors, before);
  const steps = events.filter((e) => e.type === 'step');
  assert.equal(steps.length, 30);
  assert.deepEqual(
    events.filter((e) => e.type === 'checkpoint').map((e) => e.iteration),
    [4, 8, 12, 16, 20, 24, 28, 30],
  );
  const first = steps[0].type === 'step' ? steps[0].losses.total : NaN;
  const last = steps[29].type === 'step' ? steps[29].losses.total : NaN;
  assert.ok(last < first * 0.8, `loss ${first} → ${last}`);
  net.dispose();
  adam.dispose();
});

test('resume is exact: 10 steps + save + 10 steps equals 20 steps', async () => {
  await tf.setBackend('cpu');
  const straight = TransformNet.init(TINY, 3);
  const adamA = new Adam(straight.params);
  await run(straight, adamA, 0, 20);

  const first = TransformNet.init(TINY, 3);
  const adamB = new Adam(first.params);
  await run(first, adamB, 0, 10);
  const weights = await first.toWeights();
  const state = await adamB.getState();
  first.dispose();
  adamB.dispose();
  const resumed = TransformNet.fromWeights(TINY, weights);
  const adamC = new Adam(resumed.params, undefined, state);
  assert.equal(adamC.iterations, 10);
  await run(resumed, adamC, 10, 20);

  const a = await straight.toWeights();
  const b = await resumed.toWeights();
  let maxDiff = 0;
  for (const [k, v] of a)
    v.forEach((x, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(x - b.get(k)![i]));
    });
  assert.ok(maxDiff <= 1e-5, `max weight difference ${maxDiff}`);
  // And training did change the weights (so equality is not trivial).
  const init = await TransformNet.init(TINY, 3).toWeights();
  assert.ok(Math.abs(init.get('conv1/weight')![0] - a.get('conv1/weight')![0]) > 1e-4);
  for (const t of [straight, resumed]) t.dispose();
  for (const o of [adamA, adamC]) o.dispose();
});
