// Post-training int8 quantization of the transform network: activation statistics, exact
// per-channel equalization, and the per-layer ranges the fast graph (onnxFast.ts) needs.
//
// Measured on the udnie network and Kodak photos (PSNR of the int8 output against fp32): the
// weights alone cost little (per-channel int8: 55–59 dB); what costs is the per-tensor 8-bit
// activations at each conv's input and output. Two exact rewrites recover most of it:
// - equalization: an activation channel c produced by instance norms (γ, β) and read only by
//   convs can be scaled by s_c > 0 (γ·s, β·s; ReLU and residual adds commute with it) if every
//   reading conv divides its input-channel-c weights by s_c. Choosing s_c so that every channel
//   reaches the same amplitude makes a per-tensor 8-bit scale fit all channels (+3.5 dB).
// - output folding (in onnxFast.ts): a conv followed by instance norm may get any per-channel
//   affine, so each channel's range is mapped onto the full 8-bit range.
// Ranges are chosen to minimise the quantization MSE on calibration samples (clipping rare
// outliers), not min/max (+0.6 dB).
import { layerSpecs, type LayerSpec, type TransformNetArchitecture, type WeightMap } from '../architecture';
import type { LayerQuantization } from './onnxFast';
import type { Range } from './onnxFastWeights';

/** Per-channel min/max and a bounded, evenly strided sample of values, over several images. */
export class ChannelStats {
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly samples: number[][];

  constructor(
    readonly channels: number,
    readonly samplesPerChannelPerImage = 2048,
  ) {
    this.min = new Float64Array(channels).fill(Infinity);
    this.max = new Float64Array(channels).fill(-Infinity);
    this.samples = Array.from({ length: channels }, () => []);
  }

  /** Adds one NCHW activation (batch 1): `data` holds `channels` planes of `plane` values. */
  add(data: Float32Array, plane: number): void {
    if (data.length !== this.channels * plane)
      throw new Error(`ChannelStats: ${data.length} values for ${this.channels}×${plane}`);
    const step = Math.max(1, Math.floor(plane / this.samplesPerChannelPerImage));
    for (let c = 0; c < this.channels; c++) {
      let lo = this.min[c],
        hi = this.max[c];
      const end = (c + 1) * plane;
      for (let i = c * plane; i < end; i++) {
        const v = data[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      this.min[c] = lo;
      this.max[c] = hi;
      const s = this.samples[c];
      for (let i = c * plane; i < end; i += step) s.push(data[i]);
    }
  }

  /** The same statistics with channel c multiplied by scale[c] > 0. */
  scaled(scale: ArrayLike<number>): ChannelStats {
    const out = new ChannelStats(this.channels, this.samplesPerChannelPerImage);
    for (let c = 0; c < this.channels; c++) {
      out.min[c] = this.min[c] * scale[c];
      out.max[c] = this.max[c] * scale[c];
      out.samples[c] = this.samples[c].map((v) => v * scale[c]);
    }
    return out;
  }
}

const HISTOGRAM_BINS = 4096;

/**
 * The range within [lo, hi] (shrunk toward `centre` in 2 % steps, down to 20 %) whose 8-bit
 * quantization of `values` has the least squared error. Values are binned first (4096 bins
 * over [lo, hi]), so the search costs O(bins) per candidate whatever the sample count.
 */
export function mseRange(values: ArrayLike<number>, lo: number, hi: number, centre = 0): Range {
  if (!(hi > lo)) return { min: lo, max: hi };
  const width = (hi - lo) / HISTOGRAM_BINS;
  const counts = new Float64Array(HISTOGRAM_BINS);
  for (let i = 0; i < values.length; i++) {
    counts[Math.min(HISTOGRAM_BINS - 1, Math.max(0, Math.floor((values[i] - lo) / width)))]++;
  }
  let best: Range = { min: lo, max: hi };
  let bestErr = Infinity;
  for (let k = 0; k <= 40; k++) {
    const f = 1 - k * 0.02;
    const a = centre + (lo - centre) * f,
      b = centre + (hi - centre) * f;
    const s = (b - a) / 255 || 1;
    let err = 0;
    for (let j = 0; j < HISTOGRAM_BINS; j++) {
      if (counts[j] === 0) continue;
      const v = lo + (j + 0.5) * width;
      const q = Math.min(255, Math.max(0, Math.round((v - a) / s)));
      const d = v - (a + q * s);
      err += counts[j] * d * d;
    }
    if (err < bestErr) {
      bestErr = err;
      best = { min: a, max: b };
    }
  }
  return best;
}

/** Calibration statistics per layer: of its input activation and of its conv result (before the norm). */
export interface CalibrationStats {
  readonly inputs: ReadonlyMap<string, ChannelStats>;
  readonly outputs: ReadonlyMap<string, ChannelStats>;
}

/** Names of the calibration tensors in onnxExport.ts's core graph, per layer. */
export function calibrationTensors(arch: TransformNetArchitecture): { layer: string; input: string; conv: string }[] {
  const layers = layerSpecs(arch);
  return layers.map((l, i) => {
    const prev = layers[i - 1];
    const input = !prev
      ? 'input'
      : prev.activation === 'relu'
        ? `${prev.name}/relu`
        : prev.residualFrom
          ? `${prev.name}/residual`
          : `${prev.name}/norm`;
    return { layer: l.name, input, conv: `${l.name}/conv` };
  });
}

/** A group of activations that must share one per-channel scale, and the layers involved. */
interface EqualizationGroup {
  /** Layers whose norm (γ, β) produces the group's values. */
  readonly producers: LayerSpec[];
  /** Layers whose conv reads a group value as input. */
  readonly consumers: LayerSpec[];
}

/** Activation groups that equalization may scale (produced by norms, read only by convs and adds). */
export function equalizationGroups(arch: TransformNetArchitecture): EqualizationGroup[] {
  const layers = layerSpecs(arch);
  const groupOf = new Map<string, number>();
  const groups: { producers: LayerSpec[]; consumers: LayerSpec[] }[] = [];
  layers.forEach((l, i) => {
    // A residual layer's output joins the group of the activation it adds.
    let g = l.residualFrom !== undefined ? groupOf.get(l.residualFrom) : undefined;
    if (g === undefined) {
      g = groups.length;
      groups.push({ producers: [], consumers: [] });
    }
    groupOf.set(l.name, g);
    groups[g].producers.push(l);
    const next = layers[i + 1];
    if (next) groups[g].consumers.push(next);
  });
  // The output layer (tanh) is not scalable; neither is anything feeding the graph output.
  return groups.filter((g) => g.consumers.length > 0 && g.producers.every((p) => p.activation !== 'tanh'));
}

/**
 * Equalized weights: in each group, channel c is scaled by s_c = A / max(a_c, A / maxBoost),
 * where a_c is the channel's largest |value| over the group's conv inputs and A the largest
 * a_c: small channels are raised toward the largest (at most `maxBoost`×). Returns the new
 * weights and, per consumer layer, the scale its input activation got.
 */
export function equalizeWeights(
  arch: TransformNetArchitecture,
  weights: WeightMap,
  inputs: ReadonlyMap<string, ChannelStats>,
  maxBoost = 100,
): { weights: WeightMap; inputScales: Map<string, Float32Array> } {
  const out: WeightMap = new Map([...weights].map(([k, v]) => [k, Float32Array.from(v)]));
  const inputScales = new Map<string, Float32Array>();
  for (const g of equalizationGroups(arch)) {
    const C = g.producers[0].outChannels;
    const amp = new Float64Array(C);
    for (const c of g.consumers) {
      const st = inputs.get(c.name);
      if (!st) throw new Error(`equalization: no statistics for the input of ${c.name}`);
      for (let ch = 0; ch < C; ch++) amp[ch] = Math.max(amp[ch], Math.abs(st.min[ch]), Math.abs(st.max[ch]));
    }
    const top = Math.max(...amp);
    if (!(top > 0)) continue;
    const s = Float32Array.from(amp, (a) => top / Math.max(a, top / maxBoost));
    for (const p of g.producers) {
      for (const role of ['scale', 'shift']) {
        const v = out.get(`${p.name}/${role}`)!;
        for (let ch = 0; ch < C; ch++) v[ch] *= s[ch];
      }
    }
    for (const c of g.consumers) {
      const w = out.get(`${c.name}/weight`)!;
      // tfjs layouts: conv [kh, kw, in, out]; transposed conv [kh, kw, out, in].
      const inner = c.kind === 'deconv' ? 1 : c.outChannels;
      for (let i = 0; i < w.length; i++) w[i] /= s[Math.floor(i / inner) % C];
      inputScales.set(c.name, s);
    }
  }
  return { weights: out, inputScales };
}

/**
 * Int8 ranges for `layers`, from statistics of the original network and the equalization
 * scales (conv results are unchanged by equalization; inputs scale per channel).
 */
export function planInt8(
  layers: readonly string[],
  stats: CalibrationStats,
  inputScales: ReadonlyMap<string, Float32Array>,
): Record<string, LayerQuantization> {
  const plan: Record<string, LayerQuantization> = {};
  for (const name of layers) {
    let input = stats.inputs.get(name);
    const conv = stats.outputs.get(name);
    if (!input || !conv) throw new Error(`int8: no calibration statistics for layer ${name}`);
    const s = inputScales.get(name);
    if (s) input = input.scaled(s);
    const lo = Math.min(0, ...input.min),
      hi = Math.max(0, ...input.max);
    const all = input.samples.flat();
    const output: Range[] = [];
    for (let c = 0; c < conv.channels; c++) {
      const mid = (conv.min[c] + conv.max[c]) / 2;
      output.push(
        Number.isFinite(mid) ? mseRange(conv.samples[c], conv.min[c], conv.max[c], mid) : { min: -1, max: 1 },
      );
    }
    plan[name] = { input: mseRange(all, lo, hi, 0), output };
  }
  return plan;
}
