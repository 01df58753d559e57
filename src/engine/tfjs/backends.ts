// Picks the TensorFlow.js backend at run time (DESIGN §5): tfjs-node-gpu (CUDA), tfjs-node,
// then WebAssembly (with our gradient kernels), then plain JS; WebGPU (any GPU vendor;
// webgpuBackend.ts) when named. The GPU/native packages cannot be installed on every machine,
// so they are loaded only when present — from node_modules or from extra folders (where "Set
// Up GPU Acceleration…" installs them).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf, tfjsLibrary } from '../../model/tf';
import { StyleTransferError } from '../../protocol/errors';
import { isOnnxTrainingBackend, type OnnxTrainingBackend, type TrainingBackend } from '../../protocol/jobs';
import { fromModuleRoots } from '../moduleRoots';
import { startWebGpuBackend } from './webgpuBackend';

export type TfjsBackendPreference = Exclude<TrainingBackend, OnnxTrainingBackend>;

/** The tfjs backend a training backend needs: the onnx* ones run their steps on ONNX Runtime and the rest on 'auto'. */
export function tfjsBackendFor(b: TrainingBackend): TfjsBackendPreference {
  return isOnnxTrainingBackend(b) ? 'auto' : b;
}

export interface BackendReport {
  /** What ran: one of the preferences other than 'auto'. */
  readonly name: Exclude<TfjsBackendPreference, 'auto'>;
  /** tfjs's own backend name ('tensorflow', 'wasm', 'cpu'). */
  readonly tfjsName: string;
  /** Human-readable, for the status bar and logs. */
  readonly label: string;
  /** Candidates tried before it, with why they did not load. */
  readonly skipped: readonly { name: string; reason: string }[];
}

export interface BackendOptions {
  /** Folders whose node_modules may hold @tensorflow/tfjs-node(-gpu) or the WebGPU packages. */
  readonly extraModuleRoots?: readonly string[];
  /** WebGPU may run on a software adapter when there is no GPU (tests and benchmarks only). */
  readonly allowSoftwareWebGpu?: boolean;
  /** Folder holding tfjs-backend-wasm's .wasm files (the bundles copy them to dist/wasm). */
  readonly wasmDir?: string;
  /**
   * Threads for the WebAssembly backend: 0 or undefined = one per core (at most 8), 1 = the
   * single-threaded build. More than one runs tfjs's threaded build (wasmKernels/threadedBackend.ts):
   * a 256² training step 3.7 s instead of 9.5 s on 2 cores (npm run bench).
   */
  readonly threads?: number;
}

let current: BackendReport | undefined;

async function tryNative(
  pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node',
  opts: BackendOptions,
): Promise<void> {
  fromModuleRoots(opts.extraModuleRoots ?? [], (req) => req(pkg)); // registers the 'tensorflow' backend on load
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but its backend failed to initialise`);
}

function defaultWasmDir(): string | undefined {
  // In the bundles (dist/*.js) the binaries sit in dist/wasm; from sources tfjs finds its own.
  const bundled = path.join(__dirname, 'wasm');
  return fs.existsSync(path.join(bundled, 'tfjs-backend-wasm-simd.wasm')) ? bundled : undefined;
}

/** The bundles ship the threaded build's scripts beside its .wasm (esbuild.mjs); from sources, the package's. */
function threadedFilesDir(wasmDir: string | undefined): string | undefined {
  return wasmDir && fs.existsSync(path.join(wasmDir, 'tfjs-backend-wasm-threaded-simd.worker.js'))
    ? wasmDir
    : undefined;
}

let threadedAllowed = false;

/**
 * Lets the WebAssembly backend use tfjs's threaded build. Only for processes that end on
 * purpose (the engine's worker thread is terminated; the CLI exits when its command is done):
 * the build's pthread workers keep Node's event loop alive.
 */
export function allowThreadedWasm(allowed = true): void {
  threadedAllowed = allowed;
}

/** Starts the WebAssembly backend; returns its threads (1: the single-threaded build). */
async function tryWasm(opts: BackendOptions, note: (reason: string) => void): Promise<number> {
  const wasm = tfjsLibrary().wasmBackend();
  const dir = opts.wasmDir ?? defaultWasmDir();
  if (dir) wasm.setWasmPaths(dir.endsWith(path.sep) ? dir : dir + path.sep);
  const threads = Math.min(8, opts.threads && opts.threads > 0 ? Math.floor(opts.threads) : os.cpus().length);
  let started = 1;
  if (threads > 1 && threadedAllowed) {
    try {
      const { useThreadedWasmBackend } = await import('./wasmKernels/threadedBackend');
      started = await useThreadedWasmBackend({ threads, filesDir: threadedFilesDir(dir) });
    } catch (e) {
      // The single-threaded build still works: say why, and go on with it.
      note(`threaded WebAssembly: ${(e as Error).message}`);
    }
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('the WebAssembly backend failed to initialise');
  // Gradient kernels wasm lacks, and fast versions of slow ones (conv2dTranspose's forward
  // pass among them, so tfjs stylization gains too).
  const { registerWasmTrainingKernels } = await import('./wasmKernels');
  registerWasmTrainingKernels();
  return started;
}

async function tryCpu(): Promise<void> {
  tfjsLibrary().registerCpuBackend();
  if (!(await tf.setBackend('cpu'))) throw new Error('the plain JavaScript backend failed to initialise');
}

const LABELS: Record<BackendReport['name'], string> = {
  'tfjs-node-gpu': 'TensorFlow (CUDA GPU)',
  'tfjs-node': 'TensorFlow (native CPU)',
  webgpu: 'WebGPU',
  wasm: 'WebAssembly (SIMD)',
  cpu: 'JavaScript (slow)',
};

/**
 * Initialises the best available tfjs backend for `preference` ('auto' tries them in order;
 * a named one must load or the call fails with a 'backend' error saying why).
 */
export async function initTfjsBackend(
  preference: TfjsBackendPreference = 'auto',
  opts: BackendOptions = {},
): Promise<BackendReport> {
  if (current && (preference === 'auto' || preference === current.name)) return current;
  // The engine's tfjs-core first, as when it was part of the bundle: the native and WebGPU
  // packages bring their own copy, which registers into the engine that already exists.
  tfjsLibrary();
  // WebGPU only when named: Set Up GPU Acceleration… names it, and on machines without a GPU
  // Dawn's start would only cost time before WebAssembly.
  const order: BackendReport['name'][] =
    preference === 'auto' ? ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] : [preference];
  const skipped: { name: string; reason: string }[] = [];
  for (const name of order) {
    try {
      let threads = 1;
      let label = LABELS[name];
      if (name === 'tfjs-node-gpu' || name === 'tfjs-node') await tryNative(`@tensorflow/${name}`, opts);
      else if (name === 'webgpu') {
        const gpu = await startWebGpuBackend({
          extraModuleRoots: opts.extraModuleRoots,
          allowSoftwareAdapter: opts.allowSoftwareWebGpu,
        });
        label = `WebGPU (${gpu.adapter}${gpu.software ? ', software' : ''})`;
      } else if (name === 'wasm')
        threads = await tryWasm(opts, (reason) => skipped.push({ name: 'wasm-threaded', reason }));
      else await tryCpu();
      await tf.ready();
      if (threads > 1) label = `WebAssembly (SIMD, ${threads} threads)`;
      current = { name, tfjsName: tf.getBackend(), label, skipped };
      return current;
    } catch (e) {
      skipped.push({ name, reason: (e as Error).message });
    }
  }
  throw new StyleTransferError(
    'backend',
    `no TensorFlow.js backend could be loaded for "${preference}": ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
  );
}

export function currentTfjsBackend(): BackendReport | undefined {
  return current;
}
