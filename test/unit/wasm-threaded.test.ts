// The multi-threaded wasm build started in Node (src/engine/tfjs/wasmKernels/threadedBackend.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runJsonChild } from '../helpers/jsonChild';

test('the threaded wasm build runs with 2 threads in Node and matches cpu', () => {
  const result = runJsonChild<{ threads: number; backendName: string; rel: number[] }>(
    'wasmThreadedChild',
    ['2'],
    120_000,
  );
  assert.equal(result.backendName, 'wasm');
  assert.equal(result.threads, 2);
  assert.equal(result.rel.length, 2);
  for (const e of result.rel) assert.ok(e <= 1e-4, `relative error ${e}`);
});
