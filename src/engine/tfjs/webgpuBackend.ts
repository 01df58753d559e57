// TensorFlow.js on WebGPU in Node: the vendor-neutral GPU path for training (any GPU with a
// Vulkan, Metal or D3D12 driver; no CUDA toolkit). Neither package is a dependency of the
// extension — "Set Up GPU Acceleration… → WebGPU" installs them into its storage:
//   webgpu (npm)                      Dawn, Chromium's WebGPU implementation, as a Node addon
//   @tensorflow/tfjs-backend-webgpu   tfjs's WebGPU kernels (they register into the one tfjs
//                                     engine of the process, whichever copy of tfjs-core loads them)
// Facts (DESIGN §5): tfjs's backend looks for `navigator.gpu`, which Node lacks, so Dawn's
// entry point is put there; results are read with `await data()` (dataSync would need an
// OffscreenCanvas, and the engine never calls it). Without a GPU, only Mesa's software OpenGL
// ES adapter exists (`backend=opengles`, compatibility feature level, surfaceless EGL): it
// runs every training kernel but far slower than WebAssembly, so it is used only when asked
// for (tests and benchmarks check the kernels with it).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { tf } from '../../model/tf';
import { fromModuleRoots } from '../moduleRoots';

export interface WebGpuOptions {
  /** Folders whose node_modules may hold the two packages (tried first), then the extension's own. */
  readonly extraModuleRoots?: readonly string[];
  /** Accept a software adapter when no GPU adapter exists (tests and benchmarks only). */
  readonly allowSoftwareAdapter?: boolean;
}

export interface WebGpuStarted {
  /** The adapter, as its driver describes it ("NVIDIA GeForce …", "OpenGL ES 3.2 Mesa …"). */
  readonly adapter: string;
  readonly software: boolean;
}

interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}
interface AdapterLike {
  readonly info?: {
    readonly vendor?: string;
    readonly architecture?: string;
    readonly description?: string;
    readonly device?: string;
    readonly isFallbackAdapter?: boolean;
  };
}
interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<AdapterLike | null>;
  readonly wgslLanguageFeatures?: unknown;
}

function resolveFrom(roots: readonly string[], id: string): string {
  try {
    return fromModuleRoots(roots, (req) => req.resolve(id));
  } catch (e) {
    throw new Error(
      `${id} is not installed (run "Set Up GPU Acceleration…" and choose WebGPU): ${(e as Error).message}`,
    );
  }
}

function describe(a: AdapterLike): string {
  const i = a.info ?? {};
  return (
    i.description?.trim() ||
    [i.vendor, i.architecture, i.device].filter((s) => s && s.trim()).join(' ') ||
    'unnamed adapter'
  );
}

let started: WebGpuStarted | undefined;

const softwareOnly = (adapter: string) =>
  new Error(`only a software WebGPU adapter (${adapter}) is available, which is slower than WebAssembly`);

/**
 * Makes tfjs's 'webgpu' backend available and current. Throws with the reason when a package
 * is missing, Dawn cannot load, or no acceptable adapter exists.
 */
export async function startWebGpuBackend(opts: WebGpuOptions = {}): Promise<WebGpuStarted> {
  if (started && tf.findBackend('webgpu')) {
    if (started.software && !opts.allowSoftwareAdapter) throw softwareOnly(started.adapter);
    if (!(await tf.setBackend('webgpu'))) throw new Error('the WebGPU backend failed to initialise');
    return started;
  }
  const roots = opts.extraModuleRoots ?? [];
  const dawnEntry = resolveFrom(roots, 'webgpu');
  const backendEntry = resolveFrom(roots, '@tensorflow/tfjs-backend-webgpu');
  // The webgpu package is an ES module: a real dynamic import (the bundles keep it as one).
  const dawn = (await import(pathToFileURL(dawnEntry).href)) as DawnModule;
  Object.assign(globalThis, dawn.globals);

  // A GPU first (Vulkan, Metal or D3D12, whatever Dawn finds), then Mesa's software adapter.
  let gpu = dawn.create([]);
  let adapterOptions: Record<string, unknown> = { powerPreference: 'high-performance' };
  let adapter = await gpu.requestAdapter(adapterOptions).catch(() => null);
  let software = !adapter || adapter.info?.isFallbackAdapter === true;
  if (software && opts.allowSoftwareAdapter) {
    process.env.EGL_PLATFORM ??= 'surfaceless';
    gpu = dawn.create(['backend=opengles']);
    adapterOptions = { featureLevel: 'compatibility' };
    adapter = await gpu.requestAdapter(adapterOptions).catch(() => null);
    software = true;
  }
  if (!adapter) throw new Error('no WebGPU adapter: Dawn found no GPU with a Vulkan, Metal or D3D12 driver');
  const description = describe(adapter);
  if (software && !opts.allowSoftwareAdapter) throw softwareOnly(description);

  // tfjs asks navigator.gpu for an adapter when the backend starts: hand it the one chosen here.
  const gpuShim = {
    requestAdapter: () => gpu.requestAdapter(adapterOptions),
    getPreferredCanvasFormat: () => 'rgba8unorm',
    wgslLanguageFeatures: gpu.wgslLanguageFeatures,
  };
  const g = globalThis as { navigator?: object };
  if (!g.navigator) g.navigator = {};
  Object.defineProperty(g.navigator, 'gpu', { value: gpuShim, configurable: true });

  createRequire(__filename)(backendEntry); // registers the 'webgpu' backend and its kernels
  if (!(await tf.setBackend('webgpu'))) throw new Error('the WebGPU backend failed to initialise');
  started = { adapter: description, software };
  return started;
}
