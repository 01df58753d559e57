// Training kernels for the tfjs WebAssembly backend. The backend lacks
// Conv2DBackpropFilter; its Conv2DBackpropInput (also conv2dTranspose's forward pass) and
// transposed/batched BatchMatMul are scalar loops ten times slower than its XNNPACK paths;
// its Sum/Mean over spatial axes transpose the whole tensor first; its MaxPoolGrad is a
// slow scalar loop; its Identity copies every tensor the gradient tape saves. `registerWasmTrainingKernels()` installs fast versions built on those XNNPACK
// paths; call it before or after `setBackend('wasm')`. It is idempotent.
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { tf, tfjsLibrary } from '../../../model/tf';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { batchMatMulConfig } from './batchMatMul';
import { conv2dBackpropFilterConfig } from './conv2dBackpropFilter';
import { clearBackpropInputCache, conv2dBackpropInputConfig } from './conv2dBackpropInput';
import { identityConfig } from './identity';
import { maxPoolGradConfig } from './maxPoolGrad';
import { meanConfig, sumConfig } from './reductions';

const BACKEND = 'wasm';
/** Marks kernel functions installed here, so a second call can recognise them. */
const OURS = Symbol('fst.wasmTrainingKernel');

type Marked = KernelFunc & { [OURS]?: true };

/** The kernels this module installs: added where wasm has none, replaced where it is slow. */
export const WASM_TRAINING_KERNELS = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'BatchMatMul',
  'Sum',
  'Mean',
  'MaxPoolGrad',
  'Identity',
] as const;

function install(make: (fallback: KernelFunc | undefined) => KernelConfig, name: string): void {
  const existing = tf.getKernel(name, BACKEND);
  if (existing != null && (existing.kernelFunc as Marked)[OURS]) return;
  const config = make(existing?.kernelFunc);
  (config.kernelFunc as Marked)[OURS] = true;
  // The replaced kernel stays our fallback, and its setup (run when the backend starts)
  // is what makes it callable.
  if (existing?.setupFunc != null) config.setupFunc = existing.setupFunc;
  // Replacing a kernel is explicit: tfjs throws when a name is registered twice.
  if (existing != null) tf.unregisterKernel(name, BACKEND);
  tf.registerKernel(config);
}

/** Registers (once) every wasm kernel that training needs and the backend lacks or has slow. */
export function registerWasmTrainingKernels(): void {
  // The backend's own kernels first: registered later, they would replace ours.
  tfjsLibrary().wasmBackend();
  install(conv2dBackpropFilterConfig, 'Conv2DBackpropFilter');
  install(conv2dBackpropInputConfig, 'Conv2DBackpropInput');
  install(batchMatMulConfig, 'BatchMatMul');
  install(sumConfig, 'Sum');
  install(meanConfig, 'Mean');
  install(maxPoolGradConfig, 'MaxPoolGrad');
  install(identityConfig, 'Identity');
}

/** True when every kernel of WASM_TRAINING_KERNELS is ours. */
export function wasmTrainingKernelsRegistered(): boolean {
  return WASM_TRAINING_KERNELS.every((name) => {
    const k = tf.getKernel(name, BACKEND);
    return k != null && (k.kernelFunc as Marked)[OURS] === true;
  });
}

/**
 * Frees what the kernels cache between calls (sub-filters derived from live filters; they
 * are otherwise freed once their filter is disposed). For the end of a training run.
 */
export function clearWasmKernelCaches(): void {
  const backend = tf.findBackend(BACKEND) as BackendWasm | null;
  if (backend != null) clearBackpropInputCache(backend);
}
