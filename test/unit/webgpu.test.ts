// Training on tfjs's WebGPU backend (src/engine/tfjs/webgpuBackend.ts), in a child process. This
// machine has no GPU, so the child accepts Mesa's software OpenGL ES adapter (Debian packages
// libegl-mesa0, libgles2, libgl1-mesa-dri; .ci/run installs them): the kernels are the ones a
// real GPU runs, so the numbers must match the cpu backend's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runJsonChild } from '../helpers/jsonChild';

test('WebGPU: four training steps (transform net, perceptual loss, Adam) match the cpu backend', () => {
  const out = runJsonChild<{
    label: string;
    tfjsName: string;
    gpuLosses: number[];
    cpuLosses: number[];
    worstWeightDiff: number;
    leaked: number;
  }>('webgpuTrainChild', [], 240_000);
  console.log(`WebGPU adapter: ${out.label}`);
  assert.equal(out.tfjsName, 'webgpu');
  assert.match(out.label, /^WebGPU \(.+\)$/);
  assert.equal(out.gpuLosses.length, 4);
  out.gpuLosses.forEach((l, i) => {
    const rel = Math.abs(l - out.cpuLosses[i]) / out.cpuLosses[i];
    assert.ok(rel < 1e-4, `step ${i + 1}: WebGPU loss ${l} vs cpu ${out.cpuLosses[i]} (relative ${rel})`);
  });
  assert.ok(out.gpuLosses[3] < out.gpuLosses[0], `training lowers the loss: ${out.gpuLosses.join(', ')}`);
  assert.ok(out.worstWeightDiff < 1e-3, `weights after four steps differ by ${out.worstWeightDiff} (relative)`);
  assert.equal(out.leaked, 0, 'tensors left behind on the WebGPU backend');
});

test('WebGPU: without a GPU the named backend fails with the reason, never on a software adapter by surprise', () => {
  const out = runJsonChild<{ loaded?: string; refused?: string; code?: string }>(
    'webgpuTrainChild',
    ['refuse'],
    120_000,
  );
  assert.equal(out.loaded, undefined, `this machine has no GPU, yet WebGPU loaded: ${out.loaded}`);
  assert.equal(out.code, 'backend');
  assert.match(
    out.refused ?? '',
    /webgpu: (no WebGPU adapter: Dawn found no GPU|only a software WebGPU adapter .* slower than WebAssembly)/,
  );
});
