// Conv2DBackpropFilter for the wasm backend (the backend has none): the gradient of conv2d
// with respect to its filter, which training needs for every transform-net layer.
//
//   dW[kh, kw, ci, co] = Σ_{b, oh, ow} x[b, oh·sh + kh − padTop, ow·sw + kw − padLeft, ci] · dy[b, oh, ow, co]
//
// Two strategies, both on XNNPACK and both processing one image at a time in bands of
// output rows (bounded memory; XNNPACK does not split a product's inner dimension, so a
// short one also keeps it in cache):
//  * Co ≥ 16: one GEMM per band on x's stride-phase planes (see accumulateByGemm).
//  * fewer output channels (the last transform-net layer, Co = 3), where a GEMM would
//    waste most of XNNPACK's 8-wide output tiles: ordinary convolutions, one per stride
//    phase (ph, pw) = (kh mod sh, kw mod sw), in which the roles are swapped:
//   - the "batch" is ci, the "image" is a plane of x, and its "channels" are a whole
//     output row ow = 0 … OW−1 (so each XNNPACK input pointer covers OW floats),
//   - the "filter" is dy of that image, [OH, 1, OW, Co] — a zero-copy view of dy,
//   - the output [Ci, KHq, KWq, Co] is dW at kh = khq·sh + ph, kw = kwq·sw + pw.
// Only the shift by kw is materialised: input[ci, y, kwq, ow] = x at row y·sh + ph −
// padTop, column (ow + kwq)·sw + pw − padLeft, a KW/sw-fold copy of x built from
// memmoves of rows, instead of the KH·KW-fold copy an im2col would need.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { heapF32, heapOffset, withScope, type KernelScope } from './heap';
import { forwardConv, NHWC, wasmKernelConfig, type ConvGradAttrs, type Shape4 } from './kernelConfig';
import { conv2dInto, gemm, transpose2d } from './wasmOps';

/** Upper bound on the shifted copy of x held at once, in floats (64 MiB). */
export const SHIFTED_INPUT_MAX_FLOATS = 1 << 24;
/**
 * Output pixels per band. XNNPACK does not split a product's inner dimension, and here it
 * is the band's pixel count: ~2048 keeps the packed dy panel in L1/L2 (measured 10–30 %
 * faster than whole images, and slower again below ~1024).
 */
const BAND_PIXELS = 2048;

interface BackpropFilterAttrs extends ConvGradAttrs {
  filterShape: Shape4;
}

/**
 * dW [KH, KW, Ci, Co] of a convolution of x [B, IH, IW, Ci] whose output gradient is
 * dy [B, OH, OW, Co]. Returns a new tensor owned by the caller.
 */
export function backpropFilterNHWC(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  filterShape: readonly number[],
  strideH: number,
  strideW: number,
  padTop: number,
  padLeft: number,
  maxFloats = SHIFTED_INPUT_MAX_FLOATS,
  strategy: 'auto' | 'conv' | 'gemm' = 'auto',
): TensorInfo {
  const [B, IH, IW, Ci] = x.shape;
  const [KH, KW, fCi, Co] = filterShape;
  const [dB, OH, OW, dCo] = dy.shape;
  if (fCi !== Ci || dCo !== Co || dB !== B)
    throw new Error(
      `Conv2DBackpropFilter: shapes x [${x.shape}], dy [${dy.shape}], filter [${filterShape}] do not match`,
    );

  return withScope(backend, (s) => {
    const dW = s.alloc([KH, KW, Ci, Co], true);
    if (B * OH * OW === 0) return s.keep(dW);
    for (let b = 0; b < B; b++) {
      // x of this image, channel-major: planes[ci] is IH×IW.
      const xImage = s.view(x, b * IH * IW * Ci, [IH * IW, Ci]);
      const planes = s.alloc([Ci, IH * IW]);
      transpose2d(backend, xImage, planes, IH * IW, Ci);
      s.free(xImage);
      if (strategy === 'gemm' || (strategy === 'auto' && Co >= GEMM_MIN_OUT_CHANNELS)) {
        accumulateByGemm(s, planes, dy, dW, b, IH, IW, Ci, OH, OW, KH, KW, Co, strideH, strideW, padTop, padLeft);
        s.free(planes);
        continue;
      }
      for (let ph = 0; ph < Math.min(strideH, KH); ph++) {
        for (let pw = 0; pw < Math.min(strideW, KW); pw++) {
          const phase: Phase = {
            ph,
            pw,
            sh: strideH,
            sw: strideW,
            padTop,
            padLeft,
            tapsH: Math.ceil((KH - ph) / strideH),
            tapsW: Math.ceil((KW - pw) / strideW),
          };
          const perRow = Ci * phase.tapsW * OW;
          const band = Math.max(
            1,
            Math.min(OH, Math.ceil(BAND_PIXELS / OW), Math.floor(maxFloats / perRow) - (phase.tapsH - 1)),
          );
          for (let oh0 = 0; oh0 < OH; oh0 += band) {
            const rows = Math.min(band, OH - oh0);
            accumulatePhase(s, planes, dy, dW, b, oh0, rows, phase, IH, IW, Ci, OH, OW, KW, Co);
          }
        }
      }
      s.free(planes);
    }
    return s.keep(dW);
  });
}

/**
 * Many output channels: one plain GEMM per band of output rows instead of convolutions.
 * x is split into its stride phases — plane (ci, ph, pw) holds x[u·sh + ph − padTop,
 * v·sw + pw − padLeft, ci], zero outside x — each Wq = OW + ⌈KW/sw⌉ − 1 wide. Tap (kh, kw)
 * = (qh·sh + ph, qw·sw + pw) of output pixel (oh, ow) reads plane (ci, ph, pw) at
 * (oh + qh, ow + qw), so over a band of output rows, taken row by row at width Wq, the
 * values of one tap and channel are one contiguous run of a plane. Rows of
 * A = [KH·KW·Ci, rows·Wq] are therefore single memmoves, and dW [KH·KW·Ci, Co] += A · D
 * where D is dy's band with each row padded to Wq pixels by zeros (the extra columns'
 * products vanish). No indirection and no transpose of the result, at the cost of
 * KH·KW/(sh·sw) copies of x: worth it when Co fills XNNPACK's 8-wide tiles.
 */
const GEMM_MIN_OUT_CHANNELS = 16;
const GEMM_BAND_PIXELS = 4096;

function accumulateByGemm(
  s: KernelScope,
  planes: TensorInfo,
  dy: TensorInfo,
  dW: TensorInfo,
  b: number,
  IH: number,
  IW: number,
  Ci: number,
  OH: number,
  OW: number,
  KH: number,
  KW: number,
  Co: number,
  sh: number,
  sw: number,
  padTop: number,
  padLeft: number,
): void {
  const backend = s.backend;
  const Wq = OW + Math.ceil(KW / sw) - 1,
    Hq = OH + Math.ceil(KH / sh) - 1;
  // One spare row per plane: the last run of a band goes up to ⌈KW/sw⌉ − 1 floats past its last row.
  const planeSize = (Hq + 1) * Wq;
  const phased = s.alloc([Ci, sh, sw, Hq + 1, Wq], true);
  {
    const heap = heapF32(backend);
    const src = heapOffset(backend, planes) >>> 2,
      dst = heapOffset(backend, phased) >>> 2;
    for (let ci = 0; ci < Ci; ci++) {
      for (let ph = 0; ph < sh; ph++) {
        for (let pw = 0; pw < sw; pw++) {
          const plane = dst + ((ci * sh + ph) * sw + pw) * planeSize;
          // columns v with 0 ≤ ix = v·sw + pw − padLeft < IW
          const v0 = Math.max(0, Math.ceil((padLeft - pw) / sw)),
            v1 = Math.min(Wq, Math.floor((IW - 1 + padLeft - pw) / sw) + 1);
          if (v1 <= v0) continue;
          for (let u = 0; u < Hq; u++) {
            const iy = u * sh + ph - padTop;
            if (iy < 0 || iy >= IH) continue;
            const from = src + (ci * IH + iy) * IW + v0 * sw + pw - padLeft,
              to = plane + u * Wq + v0;
            if (sw === 1) heap.copyWithin(to, from, from + v1 - v0);
            else for (let v = 0, n = v1 - v0; v < n; v++) heap[to + v] = heap[from + v * sw];
          }
        }
      }
    }
  }
  const window = KH * KW * Ci;
  const band = Math.max(1, Math.min(OH, Math.ceil(GEMM_BAND_PIXELS / Wq)));
  for (let oh0 = 0; oh0 < OH; oh0 += band) {
    const rows = Math.min(band, OH - oh0),
      K = rows * Wq;
    const A = s.alloc([window, K]);
    const D = s.alloc([K, Co], true);
    const product = s.alloc([window, Co]);
    {
      const heap = heapF32(backend);
      const src = heapOffset(backend, phased) >>> 2,
        a = heapOffset(backend, A) >>> 2;
      for (let kh = 0; kh < KH; kh++) {
        const ph = kh % sh,
          qh = Math.floor(kh / sh);
        for (let kw = 0; kw < KW; kw++) {
          const pw = kw % sw,
            qw = Math.floor(kw / sw);
          for (let ci = 0; ci < Ci; ci++) {
            const from = src + ((ci * sh + ph) * sw + pw) * planeSize + (oh0 + qh) * Wq + qw;
            heap.copyWithin(a + ((kh * KW + kw) * Ci + ci) * K, from, from + K);
          }
        }
      }
      const g = heapOffset(backend, dy) >>> 2,
        d = heapOffset(backend, D) >>> 2;
      for (let r = 0; r < rows; r++) {
        const from = g + (b * OH + oh0 + r) * OW * Co;
        heap.copyWithin(d + r * Wq * Co, from, from + OW * Co);
      }
    }
    gemm(backend, A, D, product, window, K, Co);
    s.free(A);
    s.free(D);
    const heap = heapF32(backend);
    const p = heapOffset(backend, product) >>> 2,
      w = heapOffset(backend, dW) >>> 2;
    for (let i = 0, n = window * Co; i < n; i++) heap[w + i] += heap[p + i];
    s.free(product);
  }
  s.free(phased);
}

interface Phase {
  ph: number;
  pw: number;
  sh: number;
  sw: number;
  padTop: number;
  padLeft: number;
  tapsH: number;
  tapsW: number;
}

/** Adds the contribution of output rows oh0 … oh0+rows−1 of image b to the phase's taps of dW. */
function accumulatePhase(
  s: KernelScope,
  planes: TensorInfo,
  dy: TensorInfo,
  dW: TensorInfo,
  b: number,
  oh0: number,
  rows: number,
  p: Phase,
  IH: number,
  IW: number,
  Ci: number,
  OH: number,
  OW: number,
  KW: number,
  Co: number,
): void {
  const backend = s.backend;
  const height = rows + p.tapsH - 1;
  const shifted = s.alloc([Ci, height, p.tapsW, OW], true);
  {
    const heap = heapF32(backend);
    const src = heapOffset(backend, planes) >>> 2,
      dst = heapOffset(backend, shifted) >>> 2;
    for (let y = 0; y < height; y++) {
      const iy = (oh0 + y) * p.sh + p.ph - p.padTop;
      if (iy < 0 || iy >= IH) continue; // zero padding
      for (let q = 0; q < p.tapsW; q++) {
        // Column of output ow: ix = (ow + q)·sw + pw − padLeft; keep 0 ≤ ix < IW.
        const base = q * p.sw + p.pw - p.padLeft;
        const ow0 = Math.max(0, Math.ceil(-base / p.sw));
        const ow1 = Math.min(OW, Math.floor((IW - 1 - base) / p.sw) + 1);
        if (ow1 <= ow0) continue;
        for (let ci = 0; ci < Ci; ci++) {
          const from = src + (ci * IH + iy) * IW + base + ow0 * p.sw;
          const to = dst + ((ci * height + y) * p.tapsW + q) * OW + ow0;
          if (p.sw === 1) heap.copyWithin(to, from, from + (ow1 - ow0));
          else for (let i = 0, n = ow1 - ow0; i < n; i++) heap[to + i] = heap[from + i * p.sw];
        }
      }
    }
  }
  const filter = s.view(dy, (b * OH + oh0) * OW * Co, [rows, 1, OW, Co]);
  const out = s.alloc([Ci, p.tapsH, p.tapsW, Co]);
  conv2dInto(backend, shifted, filter, out, {
    batch: Ci,
    inHeight: height,
    inWidth: p.tapsW,
    inChannels: OW,
    filterHeight: rows,
    filterWidth: 1,
    outChannels: Co,
    padTop: 0,
    padBottom: 0,
    padLeft: 0,
    padRight: 0,
    strideHeight: 1,
    strideWidth: 1,
    dilationHeight: 1,
    dilationWidth: 1,
  });
  s.free(filter);
  s.free(shifted);
  // dW[khq·sh + ph, kwq·sw + pw, ci, :] += out[ci, khq, kwq, :]
  const heap = heapF32(backend);
  const from = heapOffset(backend, out) >>> 2,
    to = heapOffset(backend, dW) >>> 2;
  for (let ci = 0; ci < Ci; ci++) {
    for (let qh = 0; qh < p.tapsH; qh++) {
      for (let qw = 0; qw < p.tapsW; qw++) {
        const o = from + ((ci * p.tapsH + qh) * p.tapsW + qw) * Co;
        const w = to + (((qh * p.sh + p.ph) * KW + qw * p.sw + p.pw) * Ci + ci) * Co;
        for (let co = 0; co < Co; co++) heap[w + co] += heap[o + co];
      }
    }
  }
  s.free(out);
}

/** The config registered for 'wasm'; `fallback` (if any) handles NCHW and non-float inputs. */
export function conv2dBackpropFilterConfig(fallback: KernelFunc | undefined): KernelConfig {
  return wasmKernelConfig<BackpropFilterAttrs>('Conv2DBackpropFilter', fallback, NHWC, (backend, { x, dy }, a) => {
    const info = forwardConv('Conv2DBackpropFilter', x.shape as Shape4, a.filterShape, a, dy);
    return backpropFilterNHWC(
      backend,
      x,
      dy,
      a.filterShape,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.left,
    );
  });
}
