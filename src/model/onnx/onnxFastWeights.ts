// The fast graph's weight rewrites (onnxFast.ts builds the graph from them): convolutions on
// space-to-depth block grids (which input phase and offset each output phase reads, and the
// rewritten filters) and int8 weight quantization (per-channel scales, uint8 activation ranges).
import { layerSpecs, type LayerSpec, type TransformNetArchitecture } from '../architecture';

export interface Range {
  readonly min: number;
  readonly max: number;
}

/** 1 everywhere except the full-resolution activations after the upsampling layers (2). */
export function defaultBlocks(arch: TransformNetArchitecture): Record<string, number> {
  const out: Record<string, number> = {};
  let level = 0; // 0 = full resolution, 1 = half…
  let upsampled = false;
  for (const l of layerSpecs(arch)) {
    if (l.kind === 'conv') level += Math.log2(l.stride);
    else {
      level -= Math.log2(l.stride);
      upsampled = true;
    }
    out[l.name] = upsampled && level === 0 ? 2 : 1;
  }
  return out;
}

// ---- Block (space-to-depth) convolution weights ----

interface Tap {
  r: number;
  i: number;
  su: number;
  d: number;
}

/**
 * Which input phase `su` and block offset `d` each (output phase r, kernel tap i) reads, in one
 * dimension, for a layer computed on block grids: input pixel X = bIn·U + su, output pixel
 * Y = bOut·V + r, U = S·V + d. Also returns S (the block conv's stride).
 */
export function blockTaps(
  l: Pick<LayerSpec, 'kind' | 'kernel' | 'stride'>,
  bIn: number,
  bOut: number,
): { taps: Tap[]; stride: number } {
  const { kernel: k, stride: s } = l;
  const taps: Tap[] = [];
  const floorDiv = (a: number, b: number) => Math.floor(a / b);
  if (l.kind === 'conv' || l.kind === 'upconv') {
    // conv: X = s·Y + i − p with p the SAME padding before (k − s split, the odd pixel after).
    // upconv: nearest ×s then a stride-1 SAME conv: X = ⌊(Y + i − p)/s⌋.
    const p = l.kind === 'conv' ? Math.floor(Math.max(k - s, 0) / 2) : (k - 1) / 2;
    const S = l.kind === 'conv' ? (s * bOut) / bIn : bOut / (s * bIn);
    if (!Number.isInteger(S) || S < 1)
      throw new Error(`block sizes ${bIn} → ${bOut} do not fit a stride-${s} ${l.kind}`);
    for (let r = 0; r < bOut; r++)
      for (let i = 0; i < k; i++) {
        const t = l.kind === 'conv' ? s * r + i - p : floorDiv(r + i - p, s);
        const d = floorDiv(t, bIn);
        taps.push({ r, i, su: t - d * bIn, d });
      }
    return { taps, stride: S };
  }
  // Transposed conv: Y = s·X + i − p; on grids of the same size (bOut = s·bIn):
  // bOut·V + r = bOut·U + s·su + i − p, so V − U = (s·su + i − p − r)/bOut when that is whole.
  const p = Math.floor(Math.max(k - s, 0) / 2);
  if (bOut !== s * bIn) throw new Error(`a stride-${s} transposed conv needs output block ${s * bIn}, got ${bOut}`);
  for (let r = 0; r < bOut; r++)
    for (let i = 0; i < k; i++)
      for (let su = 0; su < bIn; su++) {
        const e = s * su + i - p - r;
        if (e % bOut === 0) taps.push({ r, i, su, d: e === 0 ? 0 : -e / bOut });
      }
  return { taps, stride: 1 };
}

export interface BlockConv {
  /** ONNX Conv weight [O·bOut², C·bIn², K, K]. */
  readonly weight: Float32Array;
  readonly dims: [number, number, number, number];
  readonly stride: number;
  /** ONNX pads [top, left, bottom, right]. */
  readonly pads: [number, number, number, number];
}

/**
 * The layer as an ordinary conv from a block-`bIn` input to a block-`bOut` output (channel order
 * CRD, or DCR for an input made by ONNX SpaceToDepth). `w` is in tfjs layout.
 */
export function blockConvWeights(
  l: LayerSpec,
  w: Float32Array,
  bIn: number,
  bOut: number,
  inOrder: 'crd' | 'dcr' = 'crd',
): BlockConv {
  const { taps, stride } = blockTaps(l, bIn, bOut);
  const dMin = Math.min(...taps.map((t) => t.d)),
    dMax = Math.max(...taps.map((t) => t.d));
  const K = dMax - dMin + 1;
  const k = l.kernel,
    C = l.inChannels,
    O = l.outChannels;
  const Ci = C * bIn * bIn,
    Oo = O * bOut * bOut;
  const weight = new Float32Array(Oo * Ci * K * K);
  const inChannel =
    inOrder === 'crd'
      ? (c: number, sy: number, sx: number) => (c * bIn + sy) * bIn + sx
      : (c: number, sy: number, sx: number) => (sy * bIn + sx) * C + c;
  const src =
    l.kind === 'deconv'
      ? (iy: number, ix: number, c: number, o: number) => w[((iy * k + ix) * O + o) * C + c]
      : (iy: number, ix: number, c: number, o: number) => w[((iy * k + ix) * C + c) * O + o];
  for (const ty of taps)
    for (const tx of taps) {
      for (let o = 0; o < O; o++) {
        const oc = (o * bOut + ty.r) * bOut + tx.r;
        for (let c = 0; c < C; c++) {
          // += : nearest upsampling maps several taps onto one input pixel.
          weight[((oc * Ci + inChannel(c, ty.su, tx.su)) * K + (ty.d - dMin)) * K + (tx.d - dMin)] += src(
            ty.i,
            tx.i,
            c,
            o,
          );
        }
      }
    }
  const before = -dMin,
    after = Math.max(0, dMax + 1 - stride);
  return { weight, dims: [Oo, Ci, K, K], stride, pads: [before, before, after, after] };
}

// ---- int8 ----

/** uint8 quantization of a range that contains 0: scale and zero point. */
export function uint8Params(r: Range): { scale: number; zeroPoint: number } {
  const lo = Math.min(0, r.min),
    hi = Math.max(0, r.max);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-lo / scale))) };
}

/** Symmetric per-output-channel int8 (axis 0 of an ONNX Conv weight). */
export function quantizeWeightsPerChannel(
  w: Float32Array,
  outChannels: number,
): { q: Int8Array; scales: Float32Array } {
  const inner = w.length / outChannels;
  const scales = new Float32Array(outChannels);
  const q = new Int8Array(w.length);
  for (let o = 0; o < outChannels; o++) {
    let m = 0;
    for (let i = o * inner; i < (o + 1) * inner; i++) m = Math.max(m, Math.abs(w[i]));
    const s = m > 0 ? m / 127 : 1;
    scales[o] = s;
    for (let i = o * inner; i < (o + 1) * inner; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i] / s)));
  }
  return { q, scales };
}
