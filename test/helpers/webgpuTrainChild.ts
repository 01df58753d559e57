// Child process for test/unit/webgpu.test.ts: starts tfjs's WebGPU backend through the engine
// (src/engine/tfjs/webgpuBackend.ts; a software adapter is accepted, since test machines have no
// GPU), runs four steps of the real training loop — transform network, VGG-shaped perceptual
// loss with frozen convs, Adam — there and on the cpu backend from the same start, and prints
// one JSON line: the backend's label, the losses of both runs and the final weights' worst
// relative difference. With the argument "refuse", only starts the backend with the engine's
// options (no software adapter) and prints why it refused. A separate process: Dawn's threads
// would keep the test runner alive.
import { tf, type Tensor4D } from '../../src/model/tf';
import '@tensorflow/tfjs-backend-cpu';
import { initTfjsBackend } from '../../src/engine/tfjs/backends';
import { Adam } from '../../src/model/adam';
import { PerceptualLoss } from '../../src/model/losses';
import { TransformNet } from '../../src/model/transformNet';
import { trainTransformNet } from '../../src/model/train';
import { Vgg19 } from '../../src/model/vgg';
import type { TransformNetArchitecture } from '../../src/model/architecture';
import { syntheticVggWeights } from './vggFixtures';

const ARCH: TransformNetArchitecture = { type: 'johnson2016', filters: [8, 16, 16], residualBlocks: 2 };
const SIZE = 32;

function image(seed: number, n: number): Tensor4D {
  return tf.tidy(
    () =>
      tf.reshape(tf.mul(tf.add(tf.sin(tf.mul(tf.range(0, n * SIZE * SIZE * 3), 0.013 * seed)), 1), 127.5), [
        n,
        SIZE,
        SIZE,
        3,
      ]) as Tensor4D,
  );
}

async function train(backend: string): Promise<{ losses: number[]; weights: Float32Array[] }> {
  await tf.setBackend(backend);
  const vgg = Vgg19.fromWeights(syntheticVggWeights([8, 8, 12, 12, 16], 3));
  const style = image(5, 1);
  const loss = PerceptualLoss.create(vgg, style, {
    layers: { content: 'relu2_2', style: ['relu1_1', 'relu2_1', 'relu3_1'] },
  });
  const net = TransformNet.init(ARCH, 7);
  const data = {
    size: 4,
    batch: async (indices: readonly number[]) =>
      tf.tidy(() => tf.concat(indices.map((i) => image(i + 1, 1))) as Tensor4D),
  };
  const optimizer = new Adam(net.params);
  const losses: number[] = [];
  const schedule = { batchSize: 2, iterations: 4, seed: 1, checkpointEvery: 0, previewEvery: 0 };
  for await (const e of trainTransformNet({ net, loss, data, optimizer, schedule })) {
    if (e.type === 'step') losses.push(e.losses.total);
  }
  const weights = await Promise.all([...net.params.values()].map(async (v) => (await v.data()) as Float32Array));
  optimizer.dispose();
  loss.dispose();
  vgg.dispose();
  style.dispose();
  net.dispose();
  return { losses, weights };
}

async function main(): Promise<void> {
  if (process.argv[2] === 'refuse') {
    // The engine's own options: no software adapter.
    try {
      const r = await initTfjsBackend('webgpu');
      console.log(JSON.stringify({ loaded: r.label }));
    } catch (e) {
      console.log(JSON.stringify({ refused: (e as Error).message, code: (e as { code?: string }).code }));
    }
    return;
  }
  const report = await initTfjsBackend('webgpu', {
    allowSoftwareWebGpu: true,
    extraModuleRoots: process.env.FST_WEBGPU_ROOT ? [process.env.FST_WEBGPU_ROOT] : [],
  });
  const before = tf.memory().numTensors;
  const gpu = await train('webgpu');
  const leaked = tf.memory().numTensors - before;
  const cpu = await train('cpu');
  let worst = 0;
  cpu.weights.forEach((w, i) => {
    let d = 0,
      m = 0;
    w.forEach((v, j) => {
      d = Math.max(d, Math.abs(v - gpu.weights[i][j]));
      m = Math.max(m, Math.abs(v));
    });
    worst = Math.max(worst, d / (m || 1));
  });
  console.log(
    JSON.stringify({
      label: report.label,
      tfjsName: report.tfjsName,
      gpuLosses: gpu.losses,
      cpuLosses: cpu.losses,
      worstWeightDiff: worst,
      leaked,
    }),
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.log(JSON.stringify({ error: String((e as Error)?.message ?? e) }));
    process.exit(1);
  },
);
