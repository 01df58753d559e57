// The host ↔ worker boundary with the real worker bundle (dist/worker.js, built by `npm test`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EngineClient } from '../../src/services/engineClient';
import { StyleTransferError } from '../../src/protocol/errors';
import { DEFAULT_MAX_INPUT_PIXELS, type EngineSettings, type JobProgress } from '../../src/protocol/jobs';
import { REPO_ROOT, hasSharedData, shared, tempDir } from '../helpers/paths';

const workerPath = path.join(REPO_ROOT, 'dist', 'worker.js');
const settings = (): EngineSettings => ({
  trainingBackend: 'auto',
  stylizeRuntime: 'auto',
  threads: 0,
  cacheDir: path.join(os.tmpdir(), 'fst-cache-test'),
  extraModuleRoots: [],
  maxInputPixels: DEFAULT_MAX_INPUT_PIXELS,
});

test('jobs run in the worker, report progress, and a crashed worker is replaced', async (t) => {
  if (!hasSharedData(t)) return;
  assert.ok(fs.existsSync(workerPath), 'dist/worker.js missing: run `node esbuild.mjs` first');
  const dir = tempDir('fst-client-');
  const photo = path.join(dir, 'photo.png');
  await sharp({ create: { width: 64, height: 48, channels: 3, background: '#2060a0' } })
    .png()
    .toFile(photo);
  const logs: string[] = [];
  const client = new EngineClient({ workerPath, settings, log: (_l, m) => logs.push(m) });
  try {
    const progress: JobProgress[] = [];
    const result = await client.request(
      { type: 'stylize', inputs: [photo], style: shared('pretrained', 'udnie'), options: {} },
      { onProgress: (p) => progress.push(p) },
    );
    assert.equal(result.outputs.length, 1);
    assert.ok(fs.existsSync(result.outputs[0].output));
    assert.deepEqual(
      progress.map((p) => p.type === 'stylize' && p.done),
      [0, 1],
    );
    const firstThread = client.workerThreadId;

    // A bad job is one error, and the worker survives it.
    await assert.rejects(
      client.request({
        type: 'stylize',
        inputs: [path.join(dir, 'nope.png')],
        style: shared('pretrained', 'udnie'),
        options: {},
      }),
      (e: unknown) => e instanceof StyleTransferError && e.code === 'not-found',
    );
    assert.equal(client.workerThreadId, firstThread);

    // Kill the worker in the middle of a job: the job fails with a clear error…
    const big = path.join(dir, 'big.png');
    await sharp({ create: { width: 1600, height: 1200, channels: 3, background: '#808080' } })
      .png()
      .toFile(big);
    const running = client.request(
      { type: 'stylize', inputs: [big], style: shared('pretrained', 'udnie'), options: { runtime: 'tfjs' } },
      {
        onProgress: (p) => {
          if (p.type === 'stylize' && p.done === 0) setTimeout(() => void client.terminateWorker(), 200);
        },
      },
    );
    await assert.rejects(
      running,
      (e: unknown) =>
        e instanceof StyleTransferError && /stopped unexpectedly.*next job starts a fresh engine/.test(e.message),
    );
    assert.equal(client.busy, 0);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.startsWith('big')),
      ['big.png'],
      'no partial output',
    );
    // …and the next job gets a new worker.
    const again = await client.request({
      type: 'stylize',
      inputs: [photo],
      style: shared('pretrained', 'udnie'),
      options: {},
    });
    assert.equal(again.outputs.length, 1);
    assert.notEqual(client.workerThreadId, firstThread);

    // Cancel by message: the job ends early, reports itself cancelled and writes nothing more.
    const controller = new AbortController();
    const cancelled = client.request(
      { type: 'stylize', inputs: [big, photo], style: shared('pretrained', 'udnie'), options: { runtime: 'tfjs' } },
      { signal: controller.signal },
    );
    controller.abort();
    const partial = await cancelled;
    assert.equal(partial.cancelled, true);
    assert.equal(partial.outputs.length, 0);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.startsWith('big')),
      ['big.png'],
    );
  } finally {
    await client.dispose();
  }
});

test('the worker trains on the threaded WebAssembly build (one thread per core), or the single-threaded one with threads = 1', async (t) => {
  assert.ok(fs.existsSync(workerPath), 'dist/worker.js missing: run `node esbuild.mjs` first');
  assert.ok(
    fs.existsSync(path.join(REPO_ROOT, 'dist', 'wasm', 'tfjs-backend-wasm-threaded-simd.worker.js')),
    'the bundle ships the threaded build',
  );
  for (const threads of [0, 1]) {
    const client = new EngineClient({ workerPath, settings: () => ({ ...settings(), threads }), log: () => undefined });
    try {
      const r = await client.request({ type: 'initBackend', preference: 'wasm' });
      assert.equal(r.name, 'wasm');
      const cores = Math.min(8, os.cpus().length);
      if (threads === 0 && cores > 1) {
        assert.equal(r.label, `WebAssembly (SIMD, ${cores} threads)`, JSON.stringify(r.skipped));
      } else {
        assert.equal(r.label, 'WebAssembly (SIMD)');
        if (threads === 0) t.diagnostic('one core here: the single-threaded build is the right one');
      }
    } finally {
      await client.dispose();
    }
  }
});
