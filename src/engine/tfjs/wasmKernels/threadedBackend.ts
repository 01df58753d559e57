// The multi-threaded (SIMD + pthreads) build of the tfjs WebAssembly backend, in Node.
//
// tfjs ships this build but never uses it in Node: its feature flag answers "no threads"
// when IS_NODE, its loader hands emscripten a `blob:` URL for the pthread worker script
// (Node's worker_threads cannot load those), and the C side sizes its thread pool as
// logical cores / 2. This module starts the same build itself: the worker script is
// written to a real file, the main script is given by path, and the core count reported
// to the C side is doubled so that it uses `threads` threads. XNNPACK then runs every
// convolution and matrix product on that many cores; everything else is unchanged
// (same kernels, same tensors, the same backend class registered as 'wasm').
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf, tfjsLibrary } from '../../../model/tf';

export interface ThreadedWasmOptions {
  /** Threads for XNNPACK (1–8, the build's pre-started pthread workers). Default: CPU count, at most 8. */
  threads?: number;
  /**
   * Folder holding `tfjs-backend-wasm-threaded-simd.js` and `.wasm` and the worker script
   * module (`tfjs-backend-wasm-threaded-simd.worker.js`). Default: the installed package.
   * A bundled extension ships these files beside its bundle and passes that folder.
   */
  filesDir?: string;
  /** Where to make the (private, randomly named) folder of the pthread worker script. Default: the OS temp folder. */
  workerDir?: string;
}

// The WebAssembly global has no typings in this project's libs (ES2022, no DOM).
interface WasmApi {
  instantiate(binary: Uint8Array, imports: object): Promise<{ instance: object; module: object }>;
}
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The part of the emscripten factory's settings this loader uses. */
interface FactoryConfig {
  locateFile(file: string, prefix: string): string;
  mainScriptUrlOrBlob: string;
  instantiateWasm(
    imports: { env: Record<string, unknown> },
    receive: (instance: object, module: object) => void,
  ): object;
}
interface ThreadedModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: unknown[]) => unknown;
  tfjs?: unknown;
}

const MAX_THREADS = 8; // PTHREAD_POOL_SIZE of tfjs's build

function packageFiles(): { js: string; wasm: string; worker: string } {
  // (createRequire: the bundles pass filesDir and never get here; esbuild need not resolve this.)
  const pkg = path.dirname(createRequire(__filename).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  return {
    js: path.join(pkg, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js'),
    wasm: path.join(pkg, 'dist', 'tfjs-backend-wasm-threaded-simd.wasm'),
    worker: path.join(pkg, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js'),
  };
}

const workerFiles = new Map<string, string>();

/**
 * Writes the pthread worker script (a string inside tfjs's worker module) to a file once per
 * process: in a fresh folder of unpredictable name (mkdtemp, mode 0700), created exclusively,
 * so a file or link another user planted at a guessable temp name is never followed or run.
 * The folder goes when the process exits.
 */
export function workerScript(workerModule: string, parent: string): string {
  const known = workerFiles.get(`${workerModule}\0${parent}`);
  if (known && fs.existsSync(known)) return known;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { wasmWorkerContents } = require(workerModule) as { wasmWorkerContents: string };
  // The string is a template literal in which "\n" escapes became line breaks; tfjs undoes
  // that the same way before making its Blob.
  const source = wasmWorkerContents.replace(/\n/g, '\\n');
  const dir = fs.mkdtempSync(path.join(parent, 'fst-tfjs-wasm-'));
  const file = path.join(dir, `pthread-${tf.version_core}.js`);
  fs.writeFileSync(file, source, { flag: 'wx', mode: 0o600 });
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  workerFiles.set(`${workerModule}\0${parent}`, file);
  return file;
}

/**
 * Replaces the 'wasm' backend with the threaded build and makes it current. Call before any
 * tensor lives on 'wasm' (the previous 'wasm' backend, if started, is disposed). Kernels
 * registered for 'wasm' — the backend's and ours — apply unchanged. Returns the number of
 * threads XNNPACK uses. The pthread workers keep Node's event loop alive until the backend
 * is disposed (`tf.removeBackend('wasm')`) or the process exits.
 */
export async function useThreadedWasmBackend(options: ThreadedWasmOptions = {}): Promise<number> {
  const threads = Math.max(1, Math.min(MAX_THREADS, Math.floor(options.threads ?? os.cpus().length)));
  const files =
    options.filesDir == null
      ? packageFiles()
      : {
          js: path.join(options.filesDir, 'tfjs-backend-wasm-threaded-simd.js'),
          wasm: path.join(options.filesDir, 'tfjs-backend-wasm-threaded-simd.wasm'),
          worker: path.join(options.filesDir, 'tfjs-backend-wasm-threaded-simd.worker.js'),
        };
  const worker = workerScript(files.worker, options.workerDir ?? os.tmpdir());
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const factory = require(files.js) as (config: FactoryConfig) => Promise<ThreadedModule>;
  const binary = fs.readFileSync(files.wasm);

  // emscripten waits forever for a module that fails to instantiate: surface the error.
  let fail: (e: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  const module = await Promise.race([
    failed,
    factory({
      locateFile: (file, prefix) =>
        file.endsWith('.worker.js') ? worker : file.endsWith('.wasm') ? files.wasm : prefix + file,
      // pthread workers load the main script by path (importScripts on a file)
      mainScriptUrlOrBlob: files.js,
      instantiateWasm: (imports, receive) => {
        // The C side starts logical-cores / 2 threads (it assumes two hardware threads per core).
        imports.env.emscripten_num_logical_cores = () => 2 * threads;
        WebAssemblyApi.instantiate(binary, imports).then(
          ({ instance, module: compiled }) => receive(instance, compiled),
          fail,
        );
        return {};
      },
    }),
  ]);
  // What tfjs's own loader attaches to the module before constructing the backend.
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };

  const { BackendWasm: Backend, getThreadsCount, setThreadsCount } = tfjsLibrary().wasmBackend();
  setThreadsCount(threads);
  const stock = tf.findBackendFactory('wasm');
  if (stock != null) tf.removeBackend('wasm');
  try {
    if (!tf.registerBackend('wasm', () => new Backend(module as unknown as BackendWasm['wasm']), 3)) {
      throw new Error('could not register the threaded wasm backend');
    }
    if (!(await tf.setBackend('wasm'))) throw new Error('the threaded wasm backend failed to start');
  } catch (e) {
    // Leave the single-threaded backend in place, as before the call.
    if (tf.findBackendFactory('wasm') != null) tf.removeBackend('wasm');
    if (stock != null) tf.registerBackend('wasm', stock, 2);
    throw e;
  }
  return getThreadsCount();
}
