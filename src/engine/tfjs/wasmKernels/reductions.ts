// Sum and Mean for the wasm backend when the reduced axes are followed by kept axes, as
// in instance norm (axes [1, 2] of NHWC) and in every bias/shift/scale gradient (axes
// [0, 1, 2]). The backend's kernels first transpose the reduced axes to the end — a
// generic, slow 4-D transpose of the whole tensor — and then sum. Here the tensor is
// viewed (no copy) as [outer, reduced, 1, inner] and averaged by XNNPACK's average
// pooling over a [reduced, 1] window, which reads it once with SIMD: 20–50× faster.
// Other cases (innermost or scattered axes, integer tensors) go to the backend's kernels.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../../model/tf';
import { f32, withScope } from './heap';

interface ReduceAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/** [outer, reduced, inner] when `axes` are one contiguous block with kept axes after it. */
export function contiguousReduction(
  shape: readonly number[],
  axis: number | number[],
): [number, number, number] | null {
  const axes = tf.util.parseAxisParam(axis, shape as number[]).sort((a, b) => a - b);
  if (axes.length === 0) return null;
  for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1] + 1) return null;
  const first = axes[0],
    last = axes[axes.length - 1];
  const size = (from: number, to: number) => shape.slice(from, to).reduce((a, b) => a * b, 1);
  const inner = size(last + 1, shape.length);
  if (inner === 1) return null; // innermost reduction: the backend does it without a transpose
  return [size(0, first), size(first, last + 1), inner];
}

function reduce(kind: 'Sum' | 'Mean', fallback: KernelFunc | undefined): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const { axis, keepDims } = attrs as unknown as ReduceAttrs;
    const dims = x.dtype === 'float32' ? contiguousReduction(x.shape, axis) : null;
    if (dims == null || dims[1] === 0) {
      if (fallback == null) throw new Error(`${kind} on wasm: no kernel for this case`);
      return fallback({ inputs, backend, attrs: attrs as NamedAttrMap });
    }
    const [outer, reduced, inner] = dims;
    const wasm = backend as BackendWasm;
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    return withScope(wasm, (s) => {
      // The same data seen as [outer, reduced, 1, inner]; AvgPool only reads it.
      const seen: TensorInfo = { dataId: x.dataId, shape: [outer, reduced, 1, inner], dtype: 'float32' };
      const mean = s.run('AvgPool', { x: seen }, { filterSize: [reduced, 1], strides: 1, pad: 'valid' });
      if (kind === 'Sum') {
        const v = f32(wasm, mean);
        for (let i = 0; i < v.length; i++) v[i] *= reduced;
      }
      mean.shape = keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
      return s.keep(mean);
    });
  };
}

export function sumConfig(fallback: KernelFunc | undefined): KernelConfig {
  return { kernelName: 'Sum', backendName: 'wasm', kernelFunc: reduce('Sum', fallback) };
}

export function meanConfig(fallback: KernelFunc | undefined): KernelConfig {
  return { kernelName: 'Mean', backendName: 'wasm', kernelFunc: reduce('Mean', fallback) };
}
