// What every kernel config here shares: the inputs it handles (float32, and what its attributes
// allow) go to our kernel; anything else goes to the kernel it replaces. And the convolution
// gradients' common step: the forward convolution's geometry, checked against dy.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../../model/tf';

export type Shape4 = [number, number, number, number];

/**
 * The config of `kernelName` for 'wasm': `run` for float32 inputs whose attributes `accepts` (when given);
 * anything else goes to `fallback`, or fails with "<kernelName> on wasm supports <what> only" when there is none.
 */
export function wasmKernelConfig<A>(
  kernelName: string,
  fallback: KernelFunc | undefined,
  handles: { what: string; accepts?: (attrs: A) => boolean },
  run: (backend: BackendWasm, inputs: Record<string, TensorInfo>, attrs: A) => TensorInfo,
): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as A;
    const float32 = Object.values(inputs).every((t) => t?.dtype === 'float32');
    if (!float32 || (handles.accepts && !handles.accepts(a))) {
      if (fallback == null) throw new Error(`${kernelName} on wasm supports ${handles.what} only`);
      return fallback({ inputs, backend, attrs: attrs as NamedAttrMap });
    }
    return run(backend as BackendWasm, inputs as Record<string, TensorInfo>, a);
  };
  return { kernelName, backendName: 'wasm', kernelFunc };
}

/** The attributes both convolution gradients share with their forward convolution. */
export interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The convolution gradients handle NHWC only. */
export const NHWC = {
  what: 'NHWC float32',
  accepts: (a: ConvGradAttrs) => tf.backend_util.convertConv2DDataFormat(a.dataFormat) === 'channelsLast',
};

/**
 * The forward convolution of input shape `x` and filter shape `filter` under these attributes, whose output
 * `dy` must match (a mismatch throws, naming `kernelName`).
 */
export function forwardConv(
  kernelName: string,
  x: Shape4,
  filter: Shape4,
  a: ConvGradAttrs,
  dy: TensorInfo,
): tf.backend_util.Conv2DInfo {
  const info = tf.backend_util.computeConv2DInfo(
    x,
    filter,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  if (info.outHeight !== dy.shape[1] || info.outWidth !== dy.shape[2]) {
    throw new Error(
      `${kernelName}: dy [${dy.shape}] does not match the forward output ${info.outHeight}×${info.outWidth}`,
    );
  }
  return info;
}
