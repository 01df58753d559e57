// Conv2DBackpropInput for the wasm backend: the gradient of conv2d with respect to its
// input, and the forward pass of conv2dTranspose. The backend's own kernel is a scalar
// loop (~3 GFLOPS here); this one runs on XNNPACK's convolution (~33 GFLOPS).
//
// With stride s, input row i receives dy[o]·W[k] for every i = o·s + k − padTop. Split
// the input rows by phase r = i mod s: within one phase only the taps k ≡ (r + padTop)
// (mod s) contribute, and row q of the phase (i = s·q + r) is an ordinary stride-1
// correlation of dy with those taps, reversed. So dx is s_h·s_w small stride-1
// convolutions of the un-dilated dy (no multiplications by inserted zeros), whose outputs
// are interleaved into dx. With stride 1 it is a single convolution with the filter
// rotated by 180° and its channel axes swapped.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { heapF32, heapOffset, withScope, type KernelScope } from './heap';
import { forwardConv, NHWC, wasmKernelConfig, type ConvGradAttrs, type Shape4 } from './kernelConfig';
import { conv2dInto, transposeInto } from './wasmOps';

/** One phase along one spatial axis (see the file comment). */
export interface AxisPhase {
  /** Output rows i = stride·q + phase, for q in [0, count). */
  phase: number;
  count: number;
  /** Contributing taps k = firstTap + stride·m, for m in [0, taps). */
  firstTap: number;
  taps: number;
  /** Padding of dy for the stride-1 correlation; negative means cropping dy. */
  padBefore: number;
  padAfter: number;
}

/**
 * The phases of one axis: `inSize` rows of dx, `outSize` rows of dy, a filter of `filterSize`
 * taps, `stride`, and the forward convolution's padding before the first row.
 */
export function axisPhases(
  inSize: number,
  outSize: number,
  filterSize: number,
  stride: number,
  padBefore: number,
): AxisPhase[] {
  const phases: AxisPhase[] = [];
  for (let r = 0; r < stride; r++) {
    const count = r < inSize ? Math.ceil((inSize - r) / stride) : 0;
    const firstTap = (r + padBefore) % stride;
    const taps = firstTap < filterSize ? Math.ceil((filterSize - firstTap) / stride) : 0;
    const shift = Math.floor((r + padBefore) / stride); // dy row of tap m = 0 is q + shift
    const before = taps - 1 - shift;
    const after = count + taps - 1 - outSize - before;
    phases.push({ phase: r, count, firstTap, taps, padBefore: before, padAfter: after });
  }
  return phases;
}

interface BackpropInputAttrs extends ConvGradAttrs {
  inputShape: Shape4;
}

/**
 * dx of a stride-(sh, sw) convolution of `inputShape` NHWC with `filter` [KH, KW, Ci, Co],
 * given dy [B, OH, OW, Co] and the forward padding. Returns a new tensor owned by the caller.
 */
export function backpropInputNHWC(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  inputShape: readonly number[],
  strideH: number,
  strideW: number,
  padTop: number,
  padLeft: number,
): TensorInfo {
  const [B, IH, IW, Ci] = inputShape;
  const [KH, KW, fCi, Co] = filter.shape;
  const [dB, OH, OW, dCo] = dy.shape;
  if (fCi !== Ci || dCo !== Co || dB !== B)
    throw new Error(
      `Conv2DBackpropInput: shapes dy [${dy.shape}], filter [${filter.shape}], input [${inputShape}] do not match`,
    );

  const rows = axisPhases(IH, OH, KH, strideH, padTop);
  const cols = axisPhases(IW, OW, KW, strideW, padLeft);
  const subFilters = phaseFilters(backend, filter, rows, cols, strideH, strideW);
  return withScope(backend, (s) => {
    const single = strideH === 1 && strideW === 1;
    // Phases without taps (stride larger than the filter) leave their rows at zero.
    const dx = s.alloc([B, IH, IW, Ci], rows.some((r) => r.taps === 0) || cols.some((c) => c.taps === 0));
    for (const rp of rows) {
      for (const cp of cols) {
        if (rp.count === 0 || cp.count === 0 || rp.taps === 0 || cp.taps === 0) continue;
        const sub = subFilters.get(phaseKey(filter, rp, cp))!;
        const src = cropForPadding(s, dy, rp, cp);
        const target = single ? dx : s.alloc([B, rp.count, cp.count, Ci]);
        conv2dInto(backend, src.t, sub, target, {
          batch: B,
          inHeight: src.h,
          inWidth: src.w,
          inChannels: Co,
          filterHeight: rp.taps,
          filterWidth: cp.taps,
          outChannels: Ci,
          padTop: Math.max(rp.padBefore, 0),
          padBottom: Math.max(rp.padAfter, 0),
          padLeft: Math.max(cp.padBefore, 0),
          padRight: Math.max(cp.padAfter, 0),
          strideHeight: 1,
          strideWidth: 1,
          dilationHeight: 1,
          dilationWidth: 1,
        });
        if (src.t !== dy) s.free(src.t);
        if (!single) {
          scatterPhase(backend, target, dx, B, IH, IW, Ci, rp, cp, strideH, strideW);
          s.free(target);
        }
      }
    }
    return s.keep(dx);
  });
}

// Includes the filter's shape: reshapes of one tensor share its dataId.
const phaseKey = (f: TensorInfo, rp: AxisPhase, cp: AxisPhase) =>
  `${f.shape}|${rp.firstTap},${rp.taps};${cp.firstTap},${cp.taps}`;

/**
 * Sub-filters derived from each filter, kept while the filter lives. The loss network's
 * filters are constants, so this saves re-deriving them — and, because the sub-filter
 * keeps its tensor id, XNNPACK re-packing them — at every step. tfjs never changes the
 * data behind a dataId, so a live dataId always has up-to-date entries.
 */
const filterCaches = new WeakMap<BackendWasm, Map<object, Map<string, TensorInfo>>>();

function phaseFilters(
  backend: BackendWasm,
  filter: TensorInfo,
  rows: AxisPhase[],
  cols: AxisPhase[],
  sh: number,
  sw: number,
): Map<string, TensorInfo> {
  let cache = filterCaches.get(backend);
  if (cache == null) filterCaches.set(backend, (cache = new Map()));
  // Drop entries of filters that have been disposed since the last call.
  for (const [dataId, subs] of cache) {
    if (!backend.dataIdMap.has(dataId)) {
      for (const t of subs.values()) backend.disposeData(t.dataId);
      cache.delete(dataId);
    }
  }
  let subs = cache.get(filter.dataId);
  if (subs == null) cache.set(filter.dataId, (subs = new Map()));
  const missing = rows
    .flatMap((rp) => cols.map((cp) => [rp, cp] as const))
    .filter(([rp, cp]) => rp.taps > 0 && cp.taps > 0 && !subs.has(phaseKey(filter, rp, cp)));
  if (missing.length > 0) {
    withScope(backend, (s) => {
      const [KH, KW, Ci, Co] = filter.shape;
      // The filter with its channel axes swapped, [KH, KW, Co, Ci]: each phase's sub-filter
      // is a set of its tap blocks in reverse order.
      const swapped = s.alloc([KH, KW, Co, Ci]);
      transposeInto(backend, filter, [KH * KW, Ci, Co], [0, 2, 1], swapped);
      for (const [rp, cp] of missing)
        subs.set(phaseKey(filter, rp, cp), s.keep(subFilter(s, swapped, KW, Co * Ci, rp, cp, sh, sw)));
    });
  }
  return subs;
}

/** Frees every cached sub-filter (they are otherwise freed after their filter is disposed). */
export function clearBackpropInputCache(backend: BackendWasm): void {
  const cache = filterCaches.get(backend);
  if (cache == null) return;
  for (const subs of cache.values()) for (const t of subs.values()) backend.disposeData(t.dataId);
  cache.clear();
}

/** The phase's taps of `swapped` [KH, KW, Co, Ci], reversed in both axes: [Mh, Mw, Co, Ci]. */
function subFilter(
  s: KernelScope,
  swapped: TensorInfo,
  KW: number,
  block: number,
  rp: AxisPhase,
  cp: AxisPhase,
  sh: number,
  sw: number,
): TensorInfo {
  const sub = s.alloc([rp.taps, cp.taps, swapped.shape[2], swapped.shape[3]]);
  const heap = heapF32(s.backend);
  const from = heapOffset(s.backend, swapped) >>> 2,
    to = heapOffset(s.backend, sub) >>> 2;
  for (let mh = 0; mh < rp.taps; mh++) {
    const kh = rp.firstTap + sh * (rp.taps - 1 - mh);
    for (let mw = 0; mw < cp.taps; mw++) {
      const kw = cp.firstTap + sw * (cp.taps - 1 - mw);
      const at = from + (kh * KW + kw) * block;
      heap.copyWithin(to + (mh * cp.taps + mw) * block, at, at + block);
    }
  }
  return sub;
}

/** dy itself, or a copy with rows/columns cropped where the correlation's padding is negative. */
function cropForPadding(
  s: KernelScope,
  dy: TensorInfo,
  rp: AxisPhase,
  cp: AxisPhase,
): { t: TensorInfo; h: number; w: number } {
  const [B, OH, OW, C] = dy.shape;
  const top = Math.max(-rp.padBefore, 0),
    bottom = Math.max(-rp.padAfter, 0);
  const left = Math.max(-cp.padBefore, 0),
    right = Math.max(-cp.padAfter, 0);
  if (top + bottom + left + right === 0) return { t: dy, h: OH, w: OW };
  const h = Math.max(OH - top - bottom, 0),
    w = Math.max(OW - left - right, 0);
  if (h === 0 || w === 0) throw new Error('Conv2DBackpropInput: padding larger than the filter is not supported');
  const out = s.alloc([B, h, w, C]);
  const heap = heapF32(s.backend);
  const from = heapOffset(s.backend, dy) >>> 2,
    to = heapOffset(s.backend, out) >>> 2;
  for (let b = 0; b < B; b++) {
    for (let y = 0; y < h; y++) {
      const at = from + ((b * OH + y + top) * OW + left) * C;
      heap.copyWithin(to + (b * h + y) * w * C, at, at + w * C);
    }
  }
  return { t: out, h, w };
}

/** Writes phase output [B, Qh, Qw, C] into dx rows s_h·q + r_h, columns s_w·q' + r_w. */
function scatterPhase(
  backend: BackendWasm,
  phase: TensorInfo,
  dx: TensorInfo,
  B: number,
  IH: number,
  IW: number,
  C: number,
  rp: AxisPhase,
  cp: AxisPhase,
  sh: number,
  sw: number,
): void {
  const heap = heapF32(backend);
  const from = heapOffset(backend, phase) >>> 2,
    to = heapOffset(backend, dx) >>> 2;
  const Qh = rp.count,
    Qw = cp.count;
  for (let b = 0; b < B; b++) {
    for (let q = 0; q < Qh; q++) {
      const srcRow = from + (b * Qh + q) * Qw * C;
      const dstRow = to + ((b * IH + sh * q + rp.phase) * IW + cp.phase) * C;
      if (sw === 1) {
        heap.copyWithin(dstRow, srcRow, srcRow + Qw * C);
      } else if (C === 1) {
        for (let x = 0; x < Qw; x++) heap[dstRow + x * sw] = heap[srcRow + x];
      } else {
        for (let x = 0; x < Qw; x++) heap.copyWithin(dstRow + x * sw * C, srcRow + x * C, srcRow + (x + 1) * C);
      }
    }
  }
}

/** The config registered for 'wasm'; `fallback` handles what this one does not (NCHW, non-float). */
export function conv2dBackpropInputConfig(fallback: KernelFunc | undefined): KernelConfig {
  return wasmKernelConfig<BackpropInputAttrs>('Conv2DBackpropInput', fallback, NHWC, (backend, { dy, filter }, a) => {
    const info = forwardConv('Conv2DBackpropInput', a.inputShape, filter.shape as Shape4, a, dy);
    return backpropInputNHWC(
      backend,
      dy,
      filter,
      a.inputShape,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.left,
    );
  });
}
