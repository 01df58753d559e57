// BatchMatMul for the wasm backend. The backend's kernel uses XNNPACK (~30 GFLOPS here)
// only for an untransposed product with batch 1, and a scalar blocked loop (~2 GFLOPS)
// for everything else — which is every Gram matrix FᵀF of the style loss and all of their
// gradients. This kernel reduces every case to the fast one: batch items become zero-copy
// views, a transposed operand is transposed into a scratch buffer first (linear cost
// against the product's cubic one), and a broadcast right-hand side is packed only once.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../../model/tf';
import { heapF32, heapOffset, withScope } from './heap';
import { wasmKernelConfig } from './kernelConfig';
import { gemm, transpose2d } from './wasmOps';

/** Inner-dimension slice for transposed left operands (measured: ~4096 is fastest here). */
const K_SLICE = 4096;

export function batchMatMulConfig(fallback: KernelFunc | undefined): KernelConfig {
  type Attrs = { transposeA: boolean; transposeB: boolean };
  return wasmKernelConfig<Attrs>('BatchMatMul', fallback, { what: 'float32' }, (backend, { a, b }, attrs) =>
    batchMatMul(backend, a, b, attrs.transposeA, attrs.transposeB),
  );
}

export function batchMatMul(
  backend: BackendWasm,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): TensorInfo {
  const ra = a.shape.length,
    rb = b.shape.length;
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const Ka = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (Ka !== Kb)
    throw new Error(
      `Error in matMul: inner shapes (${Ka}) and (${Kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  const K = Ka;
  const outerShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batch = Math.max(batchA, batchB);
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) {
    throw new Error(`BatchMatMul: batch dimensions of [${a.shape}] and [${b.shape}] cannot be broadcast`);
  }

  return withScope(backend, (s) => {
    // An empty inner dimension gives a zero product.
    const out = s.alloc([...outerShape, M, N], K === 0);
    if (M * N === 0 || K === 0) return s.keep(out);
    // The right operand as row-major [K, N]; shared by all batch items when broadcast.
    const rhs = (i: number): TensorInfo => {
      const item = s.view(b, batchB === 1 ? 0 : i * K * N, transposeB ? [N, K] : [K, N]);
      if (!transposeB) return item;
      const t = s.alloc([K, N]);
      transpose2d(backend, item, t, N, K);
      s.free(item);
      return t;
    };
    const sharedRhs = batchB === 1 ? rhs(0) : null;
    if (sharedRhs != null && !transposeA && batchA === batch) {
      // All of a's rows against one matrix: a single product with M·batch rows.
      const whole = s.view(a, 0, [batch * M, K]);
      gemm(backend, whole, sharedRhs, out, batch * M, K, N);
      return s.keep(out);
    }
    for (let i = 0; i < batch; i++) {
      const r = sharedRhs ?? rhs(i);
      const o = s.view(out, i * M * N, [M, N]);
      if (!transposeA) {
        const lhs = s.view(a, batchA === 1 ? 0 : i * M * K, [M, K]);
        gemm(backend, lhs, r, o, M, K, N);
        s.free(lhs);
      } else {
        // aᵀ is materialised in slices of its inner dimension, each one product added to
        // the result: XNNPACK does not split a product's inner dimension, and a Gram
        // matrix's (the pixel count) is long enough to fall out of the caches.
        const aBase = batchA === 1 ? 0 : i * M * K;
        for (let k0 = 0; k0 < K; k0 += K_SLICE) {
          const kc = Math.min(K_SLICE, K - k0);
          const rows = s.view(a, aBase + k0 * M, [kc, M]);
          const lhs = s.alloc([M, kc]);
          transpose2d(backend, rows, lhs, kc, M);
          s.free(rows);
          const rSlice = kc === K ? r : s.view(r, k0 * N, [kc, N]);
          const target = k0 === 0 ? o : s.alloc([M, N]);
          gemm(backend, lhs, rSlice, target, M, kc, N);
          if (target !== o) {
            const heap = heapF32(backend);
            const t = heapOffset(backend, target) >>> 2,
              d = heapOffset(backend, o) >>> 2;
            for (let j = 0; j < M * N; j++) heap[d + j] += heap[t + j];
            s.free(target);
          }
          if (rSlice !== r) s.free(rSlice);
          s.free(lhs);
        }
      }
      s.free(o);
      if (r !== sharedRhs) s.free(r);
    }
    return s.keep(out);
  });
}
