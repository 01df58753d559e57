// Which runtime runs the training steps: the 'auto' table, the named ONNX Runtime backends, the
// one line that says the choice, 'auto' falling back to tfjs where ONNX Runtime cannot load or
// cannot build the graph, and a missing GPU provider as one 'backend' error that writes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { readCheckpoint } from '../../src/io/checkpoint';
import { trainStyle } from '../../src/engine/train/trainJob';
import { tfjsBackendFor } from '../../src/engine/tfjs/backends';
import { chooseTrainingBackend, ONNX_CPU_STEP_SPEEDUP, startOnnxTrainer } from '../../src/engine/train/trainingBackend';
import { OnnxTrainer } from '../../src/engine/train/onnxTrainer';
import { paramSpecs, sizeOfShape } from '../../src/model/architecture';
import type { VggWeights } from '../../src/model/vggSpec';
import { TFJS_BACKENDS, TRAINING_BACKENDS, type TrainingOverrides } from '../../src/protocol/jobs';
import { StyleTransferError } from '../../src/protocol/errors';
import { hasSharedData, tempDir } from '../helpers/paths';
import { engineSettings, trainOptions } from '../helpers/training';

test('auto runs the ONNX Runtime step in place of the measured CPU backends and keeps the unmeasured ones', () => {
  assert.deepEqual(chooseTrainingBackend('auto', 'wasm'), {
    name: 'onnx',
    onnx: 'cpu',
    reason: `auto: ONNX Runtime's training step measured ${ONNX_CPU_STEP_SPEEDUP.wasm}× as fast as wasm's`,
  });
  assert.equal(chooseTrainingBackend('auto', 'cpu').onnx, 'cpu');
  for (const b of ['tfjs-node-gpu', 'tfjs-node', 'webgpu'] as const) {
    const c = chooseTrainingBackend('auto', b);
    assert.equal(c.onnx, undefined, b);
    assert.equal(c.name, b);
    assert.match(c.reason!, /not measured/);
  }
});

test('named backends: tfjs ones run on tfjs, onnx* on the matching provider with tfjs (auto) for the rest', () => {
  for (const b of ['wasm', 'cpu', 'tfjs-node', 'tfjs-node-gpu', 'webgpu'] as const)
    assert.deepEqual(chooseTrainingBackend(b, b), { name: b });
  assert.deepEqual(chooseTrainingBackend('onnx', 'wasm'), { name: 'onnx', onnx: 'cpu' });
  assert.deepEqual(chooseTrainingBackend('onnx-cuda', 'wasm'), { name: 'onnx-cuda', onnx: 'cuda' });
  assert.deepEqual(chooseTrainingBackend('onnx-webgpu', 'wasm'), { name: 'onnx-webgpu', onnx: 'webgpu' });
  for (const b of ['onnx', 'onnx-cuda', 'onnx-webgpu'] as const) {
    assert.ok(TRAINING_BACKENDS.includes(b));
    assert.ok(!(TFJS_BACKENDS as readonly string[]).includes(b));
    assert.equal(tfjsBackendFor(b), 'auto');
  }
});

const TINY: TrainingOverrides = {
  iterations: 2,
  imageSize: 32,
  batchSize: 1,
  checkpointEvery: 2,
  previewEvery: 2,
  styleSize: 64,
  architecture: { type: 'johnson2016', filters: [4, 8, 8], residualBlocks: 1 },
};

const options = (root: string, name: string) => trainOptions(root, name, TINY);

test('a training job on auto says once that it trains on ONNX Runtime and why, and records it in the checkpoint', async (t) => {
  if (!hasSharedData(t)) return;
  const root = tempDir('fst-train-auto-');
  const logs: string[] = [];
  const r = await trainStyle(options(root, 'auto'), engineSettings('auto'), { log: (m) => logs.push(m) });
  assert.equal(r.iterations, 2);
  const said = logs.filter((l) => l.startsWith('training on '));
  assert.deepEqual(said.length, 1, logs.join('\n'));
  assert.match(
    said[0],
    /^training on ONNX Runtime \(CPU\) \(auto: ONNX Runtime's training step measured [\d.]+× as fast as wasm's\); previews on WebAssembly/,
  );
  assert.equal((await readCheckpoint(r.checkpoint)).info.backend, 'onnx');
});

test('auto falls back to tfjs where ONNX Runtime cannot load or cannot build the graph; a named onnx backend reports it', async () => {
  const arch = { type: 'johnson2016' as const, filters: [2, 2, 2] as [number, number, number], residualBlocks: 1 };
  const weights = new Map(paramSpecs(arch).map((p) => [p.name, new Float32Array(sizeOfShape(p.shape))]));
  // VGG's first conv only: the loss at relu1_1.
  const conv1 = {
    name: 'conv1_1',
    inChannels: 3,
    outChannels: 64,
    kernel: new Float32Array(9 * 3 * 64).fill(0.01),
    bias: new Float32Array(64),
  };
  const vgg: VggWeights = { source: 'synthetic', channelOrder: 'rgb', mean: [0, 0, 0], layers: [conv1] };
  const create = (size: number, loadRuntime?: () => unknown) => () =>
    OnnxTrainer.create({
      arch,
      batch: 1,
      height: size,
      width: size,
      vgg,
      layers: { content: 'relu1_1', style: ['relu1_1'] },
      lossWeights: { content: 1, style: 1, tv: 1 },
      targetGrams: { relu1_1: new Float32Array(64 * 64) },
      weights,
      loadRuntime,
    });
  const started = await startOnnxTrainer('auto', create(8));
  assert.ok('trainer' in started, JSON.stringify(started));
  await started.trainer.release();
  const odd = await startOnnxTrainer('auto', create(30));
  assert.deepEqual(odd, {
    fallback:
      'auto: the ONNX Runtime step is unavailable: training graph: the image size must be a multiple of 4, got 30×30',
  });
  const missing = await startOnnxTrainer(
    'auto',
    create(8, () => {
      throw new Error('libonnxruntime.so.1: cannot open shared object file');
    }),
  );
  assert.deepEqual(missing, {
    fallback:
      'auto: the ONNX Runtime step is unavailable: ONNX Runtime (onnxruntime-node) cannot be loaded: libonnxruntime.so.1: cannot open shared object file',
  });
  await assert.rejects(
    startOnnxTrainer('onnx', create(30)),
    (e) => e instanceof StyleTransferError && e.code === 'bad-input',
  );
  // Other errors are not a reason to change runtimes.
  await assert.rejects(
    startOnnxTrainer('auto', () => Promise.reject(new StyleTransferError('bad-checkpoint', 'x'))),
    /x/,
  );
});

test('onnx-cuda and onnx-webgpu without their provider: one backend error naming it, before loading anything, and nothing written', async (t) => {
  if (!hasSharedData(t)) return;
  const root = tempDir('fst-train-gpu-');
  for (const [backend, provider] of [
    ['onnx-cuda', 'cuda'],
    ['onnx-webgpu', 'webgpu'],
  ] as const) {
    const out = options(root, backend);
    let err: unknown;
    const phases: string[] = [];
    try {
      await trainStyle(out, engineSettings(backend), {
        progress: (p) => {
          if (p.type === 'phase') phases.push(p.message);
        },
      });
    } catch (e) {
      err = e;
    }
    if (!err) {
      t.diagnostic(`${backend}: this machine has the ${provider} provider; trained on it`);
      continue;
    }
    assert.ok(err instanceof StyleTransferError, String(err));
    assert.equal(err.code, 'backend');
    assert.match(err.message, new RegExp(`^ONNX Runtime's ${provider} provider cannot train here: `));
    assert.ok(!err.message.includes('\n'), err.message);
    assert.ok(!fs.existsSync(out.output), `${out.output} was written`);
    assert.deepEqual(phases, [], 'said before loading anything');
  }
});
