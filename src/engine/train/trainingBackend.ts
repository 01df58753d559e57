// Which runtime runs the training steps. A named onnx* backend runs them on ONNX Runtime with that
// execution provider; 'auto' decides from the table below: the speed-up of the ONNX Runtime CPU
// step over the tfjs backend that 'auto' loaded, measured side by side in one `npm run bench`
// run. A table rather than a measurement at start-up: timing both would cost a step of each
// (seconds to minutes at 256² batch 4) on every training start, and on a loaded machine one
// step each decides by noise. A tfjs backend missing from the table was not measured against the
// ONNX Runtime step, so 'auto' keeps it: tfjs-node-gpu (a GPU, against two CPU cores) and
// tfjs-node (native TensorFlow, which cannot be installed on the development machine).
import type { OnnxTrainingBackend, TrainingBackend } from '../../protocol/jobs';
import { isOnnxTrainingBackend } from '../../protocol/jobs';
import { StyleTransferError } from '../../protocol/errors';
import type { BackendReport } from '../tfjs/backends';
import type { OnnxProvider } from '../onnx/onnxRunner';

export const ONNX_TRAINING_PROVIDERS: Readonly<Record<OnnxTrainingBackend, OnnxProvider>> = Object.freeze({
  onnx: 'cpu',
  'onnx-cuda': 'cuda',
  'onnx-webgpu': 'webgpu',
});

const PROVIDER_LABELS: Readonly<Record<OnnxProvider, string>> = Object.freeze({
  cpu: 'ONNX Runtime (CPU)',
  cuda: 'ONNX Runtime (CUDA)',
  webgpu: 'ONNX Runtime (WebGPU)',
});

export function onnxTrainingLabel(provider: OnnxProvider): string {
  return PROVIDER_LABELS[provider];
}

/**
 * How many times faster the ONNX Runtime CPU step is than a step on each tfjs backend: the
 * smallest ratio measured, in wall or CPU time (VGG19 to relu5_1, 128² batch 1 and 256² batch 4,
 * AMD EPYC, 2 cores; README "Training on ONNX Runtime": 3.4× / 2.5× and 4.3× / 4.3×). wasm:
 * against the threaded build with 2 threads (the single-threaded build is slower still). cpu:
 * plain-JavaScript tfjs, ~1000 s per 128² step against ~1.4 s.
 */
export const ONNX_CPU_STEP_SPEEDUP: Readonly<Partial<Record<BackendReport['name'], number>>> = Object.freeze({
  wasm: 2.5,
  cpu: 700,
});

export interface TrainingBackendChoice {
  /** What runs the steps (recorded in the checkpoint). */
  readonly name: BackendReport['name'] | OnnxTrainingBackend;
  /** The ONNX Runtime provider that runs the steps; undefined: the tfjs backend runs them. */
  readonly onnx?: OnnxProvider;
  /** Why, for 'auto' (one line for the log); undefined for a backend chosen by name. */
  readonly reason?: string;
}

/** The runtime for `preference`, given the tfjs backend that loaded for it (tfjsBackendFor). */
export function chooseTrainingBackend(preference: TrainingBackend, tfjs: BackendReport['name']): TrainingBackendChoice {
  if (isOnnxTrainingBackend(preference)) return { name: preference, onnx: ONNX_TRAINING_PROVIDERS[preference] };
  if (preference !== 'auto') return { name: tfjs };
  const speedup = ONNX_CPU_STEP_SPEEDUP[tfjs];
  if (speedup !== undefined && speedup > 1) {
    return {
      name: 'onnx',
      onnx: 'cpu',
      reason: `auto: ONNX Runtime's training step measured ${speedup}× as fast as ${tfjs}'s`,
    };
  }
  return { name: tfjs, reason: `auto: ${tfjs} (the ONNX Runtime step was not measured against it)` };
}

/**
 * Starts the ONNX Runtime trainer with `create`. Under 'auto' a 'backend' error (ONNX Runtime or
 * the provider cannot load) or 'bad-input' (a graph it cannot build for these settings) means
 * tfjs runs the steps instead: the result says why. A backend chosen by name reports the error.
 */
export async function startOnnxTrainer<T>(
  preference: TrainingBackend,
  create: () => Promise<T>,
): Promise<{ trainer: T } | { fallback: string }> {
  try {
    return { trainer: await create() };
  } catch (e) {
    if (preference !== 'auto' || !(e instanceof StyleTransferError && (e.code === 'backend' || e.code === 'bad-input')))
      throw e;
    return { fallback: `auto: the ONNX Runtime step is unavailable: ${e.message}` };
  }
}
