// Low-level helpers for kernels that run on the tfjs WebAssembly backend: scratch tensors
// in the wasm heap, zero-copy views into existing tensors, typed-array access, and calls
// into the backend's own (XNNPACK-backed) kernels. Everything a kernel allocates goes
// through a KernelScope so that it is freed even when the kernel throws.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { DataType, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../../model/tf';

/** The parts of the emscripten module the kernels use (typed here, not in tfjs's d.ts). */
interface WasmModule {
  HEAPU8: Uint8Array;
  /** Set by the threaded build: its shared memory, whose `buffer` is always current. */
  wasmMemory?: { buffer: ArrayBufferLike };
  cwrap(name: string, returnType: null, argTypes: string[]): (...args: unknown[]) => void;
  tfjs: { registerTensor(id: number, size: number, memoryOffset: number): void; disposeData(id: number): void };
}

export function wasmModule(backend: BackendWasm): WasmModule {
  return backend.wasm as unknown as WasmModule;
}

function entry(backend: BackendWasm, t: TensorInfo) {
  const d = backend.dataIdMap.get(t.dataId);
  if (d == null) throw new Error('tensor is not on the wasm backend');
  return d;
}

/** The tensor's id inside the wasm module (what exported C functions take). */
export function wasmId(backend: BackendWasm, t: TensorInfo): number {
  return entry(backend, t).id;
}

/** Byte offset of the tensor's data in the wasm heap. */
export function heapOffset(backend: BackendWasm, t: TensorInfo): number {
  return entry(backend, t).memoryOffset;
}

/**
 * A Float32Array over the tensor's data in the wasm heap. The heap can grow (and its
 * buffer be replaced) on any allocation, so take these right before use and never keep
 * them across an allocation or a kernel call.
 */
export function f32(backend: BackendWasm, t: TensorInfo, offsetElems = 0, length?: number): Float32Array {
  const size = length ?? t.shape.reduce((a, b) => a * b, 1) - offsetElems;
  return new Float32Array(heapBuffer(backend), heapOffset(backend, t) + 4 * offsetElems, size);
}

/** The whole wasm heap as floats (index = byte offset / 4). Same caveat as `f32`. */
export function heapF32(backend: BackendWasm): Float32Array {
  const buffer = heapBuffer(backend);
  return new Float32Array(buffer, 0, buffer.byteLength >>> 2);
}

function heapBuffer(backend: BackendWasm): ArrayBufferLike {
  const m = wasmModule(backend);
  // With threads, the heap may have grown on another thread, leaving HEAPU8 short.
  return m.wasmMemory?.buffer ?? m.HEAPU8.buffer;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Owns the intermediates of one kernel call. `alloc` and `run` results are freed by
 * `dispose` unless handed out with `keep`; `view`s alias memory owned by someone else and
 * are only unregistered, never freed.
 */
export class KernelScope {
  private readonly owned = new Set<TensorInfo>();
  private readonly views = new Set<TensorInfo>();

  constructor(readonly backend: BackendWasm) {}

  /** An uninitialised float32 tensor (or zero-filled with `zero`). */
  alloc(shape: number[], zero = false, dtype: DataType = 'float32'): TensorInfo {
    const t = this.backend.makeOutput(shape, dtype);
    if (zero) f32(this.backend, t).fill(0);
    this.owned.add(t);
    return t;
  }

  /**
   * A tensor of `shape` that aliases `base`'s memory from element `offsetElems` on, so
   * wasm kernels can read or write a slice of a tensor without copying it.
   */
  view(base: TensorInfo, offsetElems: number, shape: number[]): TensorInfo {
    const size = sizeOf(shape);
    if (offsetElems < 0 || offsetElems + size > sizeOf(base.shape)) {
      throw new Error(`view [${shape}] at ${offsetElems} is outside a tensor of shape [${base.shape}]`);
    }
    const t = this.backend.makeOutput(shape, base.dtype, heapOffset(this.backend, base) + 4 * offsetElems);
    this.views.add(t);
    return t;
  }

  /** Runs a kernel registered for 'wasm' (the backend's own or ours) on this backend. */
  run(kernelName: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
    const config = tf.getKernel(kernelName, 'wasm');
    if (config == null) throw new Error(`wasm kernel ${kernelName} is not registered`);
    const out = config.kernelFunc({ inputs, attrs, backend: this.backend }) as TensorInfo;
    this.owned.add(out);
    return out;
  }

  /** Hands `t` to the caller: it is no longer freed by `dispose`. */
  keep(t: TensorInfo): TensorInfo {
    if (!this.owned.delete(t)) throw new Error('keep: tensor is not owned by this scope');
    return t;
  }

  /** Frees an owned intermediate early (to keep peak memory down). */
  free(t: TensorInfo): void {
    if (this.owned.delete(t)) this.backend.disposeData(t.dataId);
    else if (this.views.delete(t)) this.releaseView(t);
  }

  dispose(): void {
    for (const t of this.owned) this.backend.disposeData(t.dataId);
    for (const t of this.views) this.releaseView(t);
    this.owned.clear();
    this.views.clear();
  }

  private releaseView(t: TensorInfo): void {
    const d = this.backend.dataIdMap.get(t.dataId);
    if (d == null) return;
    // Unregister only: the memory belongs to the base tensor. The C side also drops any
    // XNNPACK operator it cached for this id.
    wasmModule(this.backend).tfjs.disposeData(d.id);
    this.backend.dataIdMap.delete(t.dataId);
  }
}

/** Runs `body` with a fresh scope and always frees the scope's intermediates. */
export function withScope<T>(backend: BackendWasm, body: (s: KernelScope) => T): T {
  const scope = new KernelScope(backend);
  try {
    return body(scope);
  } finally {
    scope.dispose();
  }
}
