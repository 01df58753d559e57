// The transform network of Johnson et al. 2016 as data: layer list and parameter list.
// Everything that needs to know the layout (forward pass, checkpoint validation, the
// ml5 importer, the ONNX exporter) derives it from `layerSpecs`, so they cannot drift apart.
import { ARCHITECTURE_LIMITS } from '../shared/hyperparameters';

/** Size knobs of the network. The paper's network is `PAPER_ARCHITECTURE`. */
export interface TransformNetArchitecture {
  readonly type: 'johnson2016';
  /** Channels of the three downsampling convs (the upsampling convs mirror them). */
  readonly filters: readonly [number, number, number];
  readonly residualBlocks: number;
  /**
   * How the two upsampling layers work: 'transpose' (the paper's fractionally-strided convs,
   * the default) or 'nearest' (nearest-neighbour ×2 then a 3×3 conv — "resize-convolution",
   * Odena et al. 2016 — which avoids the checkerboard pattern transposed convs leave).
   */
  readonly upsample?: 'transpose' | 'nearest';
  /**
   * How the image's borders are handled (see BorderPadding); absent = 'reflect', what every
   * checkpoint trained here before this field existed was trained and run with.
   */
  readonly padding?: BorderPadding;
  /**
   * Output = tanh(x)·outputScale + 127.5; absent = OUTPUT_SCALE (150, the reference's), whose
   * range −22.5..277.5 lets the loss see "whiter than white" pixels that display as clipped
   * blobs. 127.5 makes the range exactly 0..255: what the loss sees is what is shown.
   */
  readonly outputScale?: number;
}

/**
 * - 'reflect': the input is padded at the top/left by reflection to a multiple of
 *   SIZE_MULTIPLE, the network runs on that, and the output is cropped back (pixels.ts).
 * - 'zero': the reference implementation's computation (ml5 / deeplearn.js / the TensorFlow
 *   original): no input padding; every conv pads with zeros as TensorFlow's SAME does for any
 *   size (the odd pixel after), so a stride-2 conv of n rows gives ⌈n/2⌉ and the two
 *   transposed convs give 4·⌈n/4⌉ rows, the first (4 − n mod 4) mod 4 of which lie before the
 *   image and are cropped (the published chicago_udnie.jpg holds the last 474 of 476 rows).
 *   Instance norms see only what the network computes, never padded pixels. Imported ml5
 *   networks use it; for sizes that are multiples of 4 the two modes are the same function.
 */
export type BorderPadding = 'reflect' | 'zero';

export function borderPadding(arch: TransformNetArchitecture): BorderPadding {
  return arch.padding ?? 'reflect';
}

export const PAPER_ARCHITECTURE: TransformNetArchitecture = Object.freeze({
  type: 'johnson2016',
  filters: Object.freeze([32, 64, 128]) as readonly [number, number, number],
  residualBlocks: 5,
});

export const INSTANCE_NORM_EPSILON = 1e-3;
/** Output = tanh(x) · OUTPUT_SCALE + OUTPUT_OFFSET, so pixels land in about 0..255. */
export const OUTPUT_SCALE = 150;
export const OUTPUT_OFFSET = 127.5;
/**
 * The range loss (losses.ts rangeLoss) acts where the output layer's value before tanh leaves
 * ±OUTPUT_PRE_LIMIT. tanh′(2) = 0.07; past 3 it is under 0.01 and the pixel is stuck: no
 * loss can move it back, and flat areas freeze as black or white holes without texture.
 */
export const OUTPUT_PRE_LIMIT = 2;
/** The output range of styles trained here since the blob finding (see outputScale). */
export const EXACT_OUTPUT_SCALE = 127.5;

export function outputScale(arch: TransformNetArchitecture): number {
  return arch.outputScale ?? OUTPUT_SCALE;
}
/** Two stride-2 convs: inputs are padded up to a multiple of this. */
export const SIZE_MULTIPLE = 4;

/** conv; deconv = transposed conv (×stride); upconv = nearest ×stride, then a stride-1 conv. */
export type LayerKind = 'conv' | 'deconv' | 'upconv';
/** What follows the layer's instance norm. */
export type LayerActivation = 'relu' | 'none' | 'tanh';

export interface LayerSpec {
  readonly name: string;
  readonly kind: LayerKind;
  readonly kernel: number;
  readonly stride: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly activation: LayerActivation;
  /** Set on the second conv of a residual block: add the block's input after the norm. */
  readonly residualFrom?: string;
}

export interface ParamSpec {
  readonly name: string;
  readonly layer: string;
  readonly role: 'weight' | 'shift' | 'scale';
  /**
   * tfjs layouts: conv filters [kh, kw, in, out]; transposed-conv filters [kh, kw, out, in]
   * (the layout of tf.conv2dTranspose and of the ml5/deeplearn.js files).
   */
  readonly shape: readonly number[];
}

export function validateArchitecture(a: unknown): TransformNetArchitecture {
  const o = a as Partial<TransformNetArchitecture> | null;
  if (
    o !== null &&
    typeof o === 'object' &&
    o.padding !== undefined &&
    o.padding !== 'reflect' &&
    o.padding !== 'zero'
  ) {
    throw new Error(
      `unsupported border padding ${JSON.stringify(o.padding)} in the network architecture (use "reflect" or "zero")`,
    );
  }
  const ok =
    o !== null &&
    typeof o === 'object' &&
    o.type === 'johnson2016' &&
    Array.isArray(o.filters) &&
    o.filters.length === 3 &&
    o.filters.every((f) => Number.isInteger(f) && f > 0 && f <= ARCHITECTURE_LIMITS.maxFilters) &&
    Number.isInteger(o.residualBlocks) &&
    (o.residualBlocks as number) >= 0 &&
    (o.residualBlocks as number) <= ARCHITECTURE_LIMITS.maxResidualBlocks &&
    (o.upsample === undefined || o.upsample === 'transpose' || o.upsample === 'nearest') &&
    (o.padding === undefined || o.padding === 'reflect' || o.padding === 'zero') &&
    (o.outputScale === undefined || (typeof o.outputScale === 'number' && o.outputScale > 0 && o.outputScale <= 1000));
  if (!ok) throw new Error(`unsupported network architecture: ${JSON.stringify(a)}`);
  return {
    type: 'johnson2016',
    filters: [o!.filters![0], o!.filters![1], o!.filters![2]],
    residualBlocks: o!.residualBlocks!,
    ...(o!.upsample === 'nearest' ? { upsample: 'nearest' as const } : {}),
    // 'reflect' is the default and stays implicit, so existing checkpoints' JSON (and the
    // hashes and cache keys made from it) do not change.
    ...(o!.padding === 'zero' ? { padding: 'zero' as const } : {}),
    ...(o!.outputScale !== undefined && o!.outputScale !== OUTPUT_SCALE ? { outputScale: o!.outputScale } : {}),
  };
}

export function layerSpecs(arch: TransformNetArchitecture = PAPER_ARCHITECTURE): LayerSpec[] {
  const [f1, f2, f3] = arch.filters;
  const layers: LayerSpec[] = [
    { name: 'conv1', kind: 'conv', kernel: 9, stride: 1, inChannels: 3, outChannels: f1, activation: 'relu' },
    { name: 'conv2', kind: 'conv', kernel: 3, stride: 2, inChannels: f1, outChannels: f2, activation: 'relu' },
    { name: 'conv3', kind: 'conv', kernel: 3, stride: 2, inChannels: f2, outChannels: f3, activation: 'relu' },
  ];
  for (let i = 1; i <= arch.residualBlocks; i++) {
    const a = `res${i}a`;
    const blockInput = layers[layers.length - 1].name;
    layers.push({ name: a, kind: 'conv', kernel: 3, stride: 1, inChannels: f3, outChannels: f3, activation: 'relu' });
    layers.push({
      name: `res${i}b`,
      kind: 'conv',
      kernel: 3,
      stride: 1,
      inChannels: f3,
      outChannels: f3,
      activation: 'none',
      residualFrom: blockInput,
    });
  }
  const up: LayerKind = arch.upsample === 'nearest' ? 'upconv' : 'deconv';
  layers.push(
    { name: 'deconv1', kind: up, kernel: 3, stride: 2, inChannels: f3, outChannels: f2, activation: 'relu' },
    { name: 'deconv2', kind: up, kernel: 3, stride: 2, inChannels: f2, outChannels: f1, activation: 'relu' },
    { name: 'conv4', kind: 'conv', kernel: 9, stride: 1, inChannels: f1, outChannels: 3, activation: 'tanh' },
  );
  return layers;
}

export function weightShape(l: LayerSpec): number[] {
  return l.kind !== 'deconv'
    ? [l.kernel, l.kernel, l.inChannels, l.outChannels]
    : [l.kernel, l.kernel, l.outChannels, l.inChannels];
}

/** Parameters in the canonical order: per layer the filter, then the norm's shift, then its scale. */
export function paramSpecs(arch: TransformNetArchitecture = PAPER_ARCHITECTURE): ParamSpec[] {
  return layerSpecs(arch).flatMap((l) => [
    { name: `${l.name}/weight`, layer: l.name, role: 'weight' as const, shape: weightShape(l) },
    { name: `${l.name}/shift`, layer: l.name, role: 'shift' as const, shape: [l.outChannels] },
    { name: `${l.name}/scale`, layer: l.name, role: 'scale' as const, shape: [l.outChannels] },
  ]);
}

export function sizeOfShape(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function parameterCount(arch: TransformNetArchitecture = PAPER_ARCHITECTURE): number {
  return paramSpecs(arch).reduce((n, p) => n + sizeOfShape(p.shape), 0);
}

/** Multiply-accumulates per input pixel, for GFLOP/s figures in the benchmarks. */
export function macsPerPixel(arch: TransformNetArchitecture = PAPER_ARCHITECTURE): number {
  let macs = 0;
  let area = 1; // this layer's input area relative to the image
  for (const l of layerSpecs(arch)) {
    const k = l.kernel * l.kernel * l.inChannels * l.outChannels;
    if (l.kind === 'conv') {
      area /= l.stride * l.stride;
      macs += area * k; // one kernel application per output pixel
    } else if (l.kind === 'upconv') {
      area *= l.stride * l.stride;
      macs += area * k; // a stride-1 conv on the upsampled map
    } else {
      macs += area * k; // one kernel scatter per input pixel
      area *= l.stride * l.stride;
    }
  }
  return macs;
}

/** Weights as plain arrays keyed by parameter name: the form io/ reads and writes. */
export type WeightMap = Map<string, Float32Array>;

/** Checks that `weights` holds exactly the parameters of `arch` with the right sizes and finite values. */
export function validateWeights(weights: WeightMap, arch: TransformNetArchitecture, where = 'checkpoint'): void {
  const specs = paramSpecs(arch);
  const known = new Set(specs.map((s) => s.name));
  for (const s of specs) {
    const w = weights.get(s.name);
    if (!w) throw new Error(`${where}: missing weight "${s.name}" (shape [${s.shape.join(', ')}])`);
    if (w.length !== sizeOfShape(s.shape)) {
      throw new Error(
        `${where}: weight "${s.name}" has ${w.length} values, expected shape [${s.shape.join(', ')}] = ${sizeOfShape(s.shape)} values`,
      );
    }
    for (let i = 0; i < w.length; i++) {
      if (!Number.isFinite(w[i]))
        throw new Error(`${where}: weight "${s.name}" contains a non-finite value (${w[i]}) at index ${i}`);
    }
  }
  for (const name of weights.keys()) {
    if (!known.has(name)) throw new Error(`${where}: unexpected weight "${name}" for this architecture`);
  }
}
