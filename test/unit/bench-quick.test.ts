// `npm run bench -- --quick` (what CI can afford): every stdout line is JSON, the machine is
// described, the CPU figures are real numbers, and every other backend says whether it ran or
// why not. Times are printed, never asserted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

const REPO = path.resolve(__dirname, '..', '..');

test('bench --quick prints one valid JSON line per figure, for every backend', { timeout: 420_000 }, () => {
  const r = spawnSync(process.execPath, [path.join(REPO, 'bench', 'run.mjs'), '--quick'], {
    cwd: REPO,
    encoding: 'utf8',
    maxBuffer: 16 * 2 ** 20,
  });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  const lines = r.stdout.split('\n').filter((l) => l.trim());
  const figures = lines.map((l, i) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      assert.fail(`stdout line ${i + 1} is not JSON: ${l.slice(0, 200)}`);
    }
  });
  const machine = figures.find((f) => f.type === 'machine');
  assert.ok(machine && typeof machine.cores === 'number' && typeof machine.cpuModel === 'string', 'the machine line');
  const stylize = (backend: string, size: number) =>
    figures.find((f) => f.type === 'stylize' && f.backend === backend && f.size === size);
  for (const backend of ['onnxruntime-cpu-reference', 'onnxruntime-cpu-fp32']) {
    for (const size of [256, 512]) {
      const f = stylize(backend, size);
      assert.ok(
        f?.available === true && typeof f.seconds === 'number' && f.seconds > 0 && typeof f.peakRssMB === 'number',
        `${backend} ${size}²: ${JSON.stringify(f)}`,
      );
      assert.ok((f.runs as number[]).length >= 3, 'median of at least 3 runs');
    }
  }
  assert.ok(
    (stylize('onnxruntime-cpu-fp32', 512)?.psnrVsReference as number) > 60,
    'the fast graph computes what the reference graph computes',
  );
  // Every backend gets a line: its figure, or why it is not available here.
  for (const backend of [
    'onnxruntime-webgpu-fp32',
    'onnxruntime-cuda-fp32',
    'tfjs-node-gpu',
    'tfjs-node',
    'tfjs-wasm',
    'tfjs-cpu',
  ]) {
    const f = stylize(backend, 256);
    assert.ok(
      f &&
        (f.available === true
          ? typeof f.seconds === 'number'
          : typeof f.reason === 'string' && (f.reason as string).length > 10),
      `${backend}: ${JSON.stringify(f)}`,
    );
  }
  // The training step at 128² batch 1 on threaded wasm and on ONNX Runtime, with GFLOP/s.
  for (const backend of ['tfjs-wasm-threaded', 'onnxruntime-cpu']) {
    const step = figures.find((f) => f.type === 'train' && f.backend === backend && f.size === 128 && f.batch === 1);
    assert.ok(
      step?.available === true &&
        typeof step.seconds === 'number' &&
        step.seconds > 0 &&
        typeof step.gflops === 'number' &&
        step.gflops > 0,
      `${backend} training step: ${JSON.stringify(step)}`,
    );
  }
  for (const backend of ['onnxruntime-cuda', 'onnxruntime-webgpu', 'tfjs-node-gpu', 'tfjs-node', 'tfjs-cpu']) {
    const f = figures.find((x) => x.type === 'train' && x.backend === backend);
    assert.ok(
      f &&
        (f.available === true
          ? typeof f.seconds === 'number'
          : typeof f.reason === 'string' && (f.reason as string).length > 10),
      `${backend} training: ${JSON.stringify(f)}`,
    );
  }
  // What users wait for: whole cold processes, next to the warm figure of the same size.
  for (const size of [256, 1024]) {
    const p = figures.find((f) => f.type === 'process' && f.size === size);
    assert.ok(
      p && typeof p.seconds === 'number' && p.seconds > 0 && typeof p.peakRssMB === 'number' && p.peakRssMB > 0,
      `whole process ${size}²: ${JSON.stringify(p)}`,
    );
  }
  const p1024 = figures.find((f) => f.type === 'process' && f.size === 1024)!;
  assert.ok(
    typeof p1024.warmSeconds === 'number' && typeof p1024.coldOverWarm === 'number',
    `cold/warm ratio at 1024²: ${JSON.stringify(p1024)}`,
  );
  const summary = figures.find((f) => f.type === 'summary');
  assert.ok(
    summary && Array.isArray(summary.sideBySide) && (summary.sideBySide as unknown[]).length > 0,
    'the summary with the side-by-side speed-up',
  );
  const training = (summary.training as Record<string, unknown>[]).find((t) => t.size === 128 && t.batch === 1);
  assert.ok(
    training && typeof training.speedup === 'number' && typeof training.trainOverStylize === 'number',
    `the training summary: ${JSON.stringify(summary.training)}`,
  );
});
