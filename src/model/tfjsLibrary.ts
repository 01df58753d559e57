// The TensorFlow.js libraries, in one module that the bundles build as a file of their own
// (dist/tfjs.js, esbuild.mjs) and load on first use through model/tf.ts. A stylize on ONNX
// Runtime never loads them: tfjs is two thirds of the CLI and worker bundles, and compiling and
// starting it cost every process about 30 ms before its first image. Only third-party code
// belongs here (a class of ours would exist twice, once per bundle file).
import * as core from '@tensorflow/tfjs-core';
import type * as WasmBackend from '@tensorflow/tfjs-backend-wasm';
// Importing tfjs-core's entry alone registers no gradients.
import '@tensorflow/tfjs-core/dist/register_all_gradients';

// Silences tfjs's console nagging ("install tfjs-node") and skips debug-only checks.
core.env().set('PROD', true);

export { core };

/** tfjs's WebAssembly backend; the first call registers the backend 'wasm' and its kernels. */
export function wasmBackend(): typeof WasmBackend {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@tensorflow/tfjs-backend-wasm') as typeof WasmBackend;
}

/** Registers tfjs's plain JavaScript backend 'cpu' (once). */
export function registerCpuBackend(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('@tensorflow/tfjs-backend-cpu');
}
