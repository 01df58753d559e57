// Direct calls into the C functions the tfjs wasm module exports (the same ones its own
// kernels wrap), so our kernels can hand XNNPACK zero-copy views as inputs and outputs.
//
// Both XNNPACK paths cache an operator (with the packed weights) under the *id* of the
// weight tensor (the GEMM's B, the convolution's filter) until that id is disposed. So a
// weight argument must never be a buffer whose contents change under the same id: pass
// freshly made tensors or views, and release them after use.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { heapF32, heapOffset, wasmId, wasmModule } from './heap';

type WasmFn = (...args: unknown[]) => void;
interface Fns {
  batchMatMul: WasmFn;
  conv2d: WasmFn;
  transpose: WasmFn;
}
const cache = new WeakMap<object, Fns>();

function fns(backend: BackendWasm): Fns {
  let f = cache.get(backend.wasm);
  if (f == null) {
    const m = wasmModule(backend);
    const n = (k: number) => new Array<string>(k).fill('number');
    f = {
      // a_id, a_shape (int32 bytes), a_rank, b_id, b_shape, b_rank, transpose_a, transpose_b, out_id
      batchMatMul: m.cwrap('BatchMatMul', null, [
        'number',
        'array',
        'number',
        'number',
        'array',
        'number',
        'number',
        'number',
        'number',
      ]),
      // x_id, batch, in_h, in_w, filter_id, f_h, f_w, pad t r b l, same, dil h w, stride h w, in_c, out_c, out_id
      conv2d: m.cwrap('Conv2D', null, n(19)),
      // x_id, x_shape, rank, dtype, out_id, perm, perm_len
      transpose: m.cwrap('Transpose', null, ['number', 'array', 'number', 'number', 'number', 'array', 'number']),
    };
    cache.set(backend.wasm, f);
  }
  return f;
}

function copyFloats(backend: BackendWasm, from: TensorInfo, to: TensorInfo, count: number): void {
  const a = heapOffset(backend, from) >>> 2,
    b = heapOffset(backend, to) >>> 2;
  heapF32(backend).copyWithin(b, a, a + count);
}

const int32Bytes = (values: number[]) => new Uint8Array(new Int32Array(values).buffer);

function checkSize(t: TensorInfo, size: number, what: string): void {
  const have = t.shape.reduce((a, b) => a * b, 1);
  if (have !== size) throw new Error(`${what}: expected ${size} elements, tensor has ${have}`);
}

/**
 * out[M,N] = a[M,K] · b[K,N], all row-major float32, through XNNPACK's fully-connected
 * operator (the fast path of the backend's BatchMatMul, ~30 GFLOPS here). `b` is packed
 * once per id (see the file comment).
 */
export function gemm(
  backend: BackendWasm,
  a: TensorInfo,
  b: TensorInfo,
  out: TensorInfo,
  M: number,
  K: number,
  N: number,
): void {
  checkSize(a, M * K, 'gemm a');
  checkSize(b, K * N, 'gemm b');
  checkSize(out, M * N, 'gemm out');
  fns(backend).batchMatMul(
    wasmId(backend, a),
    int32Bytes([1, M, K]),
    3,
    wasmId(backend, b),
    int32Bytes([1, K, N]),
    3,
    0,
    0,
    wasmId(backend, out),
  );
}

/** out = transpose of the row-major [rows, cols] matrix `x` (shape [cols, rows]). */
export function transpose2d(backend: BackendWasm, x: TensorInfo, out: TensorInfo, rows: number, cols: number): void {
  checkSize(x, rows * cols, 'transpose x');
  checkSize(out, rows * cols, 'transpose out');
  if (rows === 1 || cols === 1) {
    // Same memory layout: a copy.
    copyFloats(backend, x, out, rows * cols);
    return;
  }
  fns(backend).transpose(
    wasmId(backend, x),
    int32Bytes([rows, cols]),
    2,
    0 /* float32 */,
    wasmId(backend, out),
    int32Bytes([1, 0]),
    2,
  );
}

/** Permutes a float32 tensor of any rank into `out` (same as the Transpose kernel, into a given buffer). */
export function transposeInto(
  backend: BackendWasm,
  x: TensorInfo,
  shape: number[],
  perm: number[],
  out: TensorInfo,
): void {
  // Axes of size 1 do not move data; dropping them gives the C kernel a lower rank (faster).
  const kept = shape.map((d, i) => (d === 1 ? -1 : i)).filter((i) => i >= 0);
  const keptPerm = perm.filter((p) => shape[p] !== 1).map((p) => kept.indexOf(p));
  const keptShape = kept.map((i) => shape[i]);
  if (keptPerm.every((p, i) => p === i)) {
    copyFloats(
      backend,
      x,
      out,
      keptShape.reduce((a, b) => a * b, 1),
    );
    return;
  }
  fns(backend).transpose(
    wasmId(backend, x),
    int32Bytes(keptShape),
    keptShape.length,
    0,
    wasmId(backend, out),
    int32Bytes(keptPerm),
    keptPerm.length,
  );
}

export interface ConvParams {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  filterHeight: number;
  filterWidth: number;
  outChannels: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
}

export function convOutSize(p: ConvParams): [number, number] {
  const eh = (p.filterHeight - 1) * p.dilationHeight + 1,
    ew = (p.filterWidth - 1) * p.dilationWidth + 1;
  return [
    Math.floor((p.inHeight + p.padTop + p.padBottom - eh) / p.strideHeight) + 1,
    Math.floor((p.inWidth + p.padLeft + p.padRight - ew) / p.strideWidth) + 1,
  ];
}

/** NHWC convolution with explicit (non-negative) padding through XNNPACK, into `out`. */
export function conv2dInto(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  out: TensorInfo,
  p: ConvParams,
): void {
  if (Math.min(p.padTop, p.padBottom, p.padLeft, p.padRight) < 0) throw new Error('conv2dInto: negative padding');
  const [oh, ow] = convOutSize(p);
  checkSize(x, p.batch * p.inHeight * p.inWidth * p.inChannels, 'conv x');
  checkSize(filter, p.filterHeight * p.filterWidth * p.inChannels * p.outChannels, 'conv filter');
  checkSize(out, p.batch * oh * ow * p.outChannels, 'conv out');
  fns(backend).conv2d(
    wasmId(backend, x),
    p.batch,
    p.inHeight,
    p.inWidth,
    wasmId(backend, filter),
    p.filterHeight,
    p.filterWidth,
    p.padTop,
    p.padRight,
    p.padBottom,
    p.padLeft,
    0,
    p.dilationHeight,
    p.dilationWidth,
    p.strideHeight,
    p.strideWidth,
    p.inChannels,
    p.outChannels,
    wasmId(backend, out),
  );
}
