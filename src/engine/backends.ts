// Picks the TensorFlow.js backend at run time (DESIGN §5): tfjs-node-gpu (CUDA), tfjs-node,
// then WebAssembly (with our gradient kernels), then plain JS. The GPU/native packages cannot
// be installed on every machine, so they are loaded only when present — from node_modules or
// from extra folders (where "Set Up GPU Acceleration…" installs them).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { tf } from '../model/tf';
import { StyleTransferError } from '../protocol/errors';

export type TfjsBackendPreference = 'auto' | 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';
export const TFJS_BACKEND_PREFERENCES: readonly TfjsBackendPreference[] = ['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];

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
  /** Folders whose node_modules may hold @tensorflow/tfjs-node(-gpu). */
  readonly extraModuleRoots?: readonly string[];
  /** Folder holding tfjs-backend-wasm's .wasm files (the bundles copy them to dist/wasm). */
  readonly wasmDir?: string;
}

let current: BackendReport | undefined;

function requireFrom(roots: readonly string[], id: string): unknown {
  const errors: string[] = [];
  for (const root of roots) {
    try {
      return createRequire(path.join(root, 'noop.js'))(id);
    } catch (e) {
      errors.push((e as Error).message.split('\n')[0]);
    }
  }
  try {
    // node_modules beside the bundle or the sources.
    return createRequire(__filename)(id);
  } catch (e) {
    errors.push((e as Error).message.split('\n')[0]);
  }
  throw new Error(errors[errors.length - 1] ?? `cannot load ${id}`);
}

async function tryNative(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node', opts: BackendOptions): Promise<void> {
  requireFrom(opts.extraModuleRoots ?? [], pkg); // registers the 'tensorflow' backend on load
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but its backend failed to initialise`);
}

function defaultWasmDir(): string | undefined {
  // In the bundles (dist/*.js) the binaries sit in dist/wasm; from sources tfjs finds its own.
  const bundled = path.join(__dirname, 'wasm');
  return fs.existsSync(path.join(bundled, 'tfjs-backend-wasm-simd.wasm')) ? bundled : undefined;
}

async function tryWasm(opts: BackendOptions): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dir = opts.wasmDir ?? defaultWasmDir();
  if (dir) wasm.setWasmPaths(dir.endsWith(path.sep) ? dir : dir + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new Error('the WebAssembly backend failed to initialise');
  // Gradient kernels wasm lacks, and fast versions of slow ones (conv2dTranspose's forward
  // pass among them, so tfjs stylization gains too).
  const { registerWasmTrainingKernels } = await import('./wasmKernels');
  registerWasmTrainingKernels();
}

async function tryCpu(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('the plain JavaScript backend failed to initialise');
}

const LABELS: Record<BackendReport['name'], string> = {
  'tfjs-node-gpu': 'TensorFlow (CUDA GPU)',
  'tfjs-node': 'TensorFlow (native CPU)',
  wasm: 'WebAssembly (SIMD)',
  cpu: 'JavaScript (slow)',
};

/**
 * Initialises the best available tfjs backend for `preference` ('auto' tries them in order;
 * a named one must load or the call fails with a 'backend' error saying why).
 */
export async function initTfjsBackend(preference: TfjsBackendPreference = 'auto', opts: BackendOptions = {}): Promise<BackendReport> {
  if (current && (preference === 'auto' || preference === current.name)) return current;
  const order: BackendReport['name'][] = preference === 'auto' ? ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] : [preference];
  const skipped: { name: string; reason: string }[] = [];
  for (const name of order) {
    try {
      if (name === 'tfjs-node-gpu' || name === 'tfjs-node') await tryNative(`@tensorflow/${name}`, opts);
      else if (name === 'wasm') await tryWasm(opts);
      else await tryCpu();
      await tf.ready();
      current = { name, tfjsName: tf.getBackend(), label: LABELS[name], skipped };
      return current;
    } catch (e) {
      skipped.push({ name, reason: (e as Error).message });
    }
  }
  throw new StyleTransferError('backend', `no TensorFlow.js backend could be loaded for "${preference}": ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

export function currentTfjsBackend(): BackendReport | undefined {
  return current;
}
