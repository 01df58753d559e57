// Training presets. `paper` is the reference implementation's defaults (DESIGN §4); `quick`
// is sized to finish on a 2-core CPU in well under an hour with a visible style (lighter
// network, smaller images, fewer steps); `standard` sits between. Every field can be
// overridden, and the resolved values are stored in the checkpoint's style.json.
//
// quick and standard follow the blob finding (issue 12; README "Training recipe"): the output
// range exactly 0..255 (outputScale 127.5: the reference's 150 let the loss reward pixels
// whiter than white, which display as clipped blobs in flat areas), photos cropped near their
// own scale (cropScale: the network meets flat areas as large as those it will stylize), and
// content weight 30 (with the blocks 1–3 layers, 7.5 let the style repaint flat areas freely),
// and the range loss (rangeWeight 1e6), which keeps dark and bright areas from freezing into
// flat black or white holes where tanh has no slope left.
import {
  EXACT_OUTPUT_SCALE,
  PAPER_ARCHITECTURE,
  validateArchitecture,
  type TransformNetArchitecture,
} from './architecture';
import {
  HYPERPARAMETER_RANGES,
  VGG_LAYER_NAME,
  type HyperparameterRange,
  type NumericHyperparameter,
} from '../shared/hyperparameters';

export interface TrainingHyperparameters {
  readonly architecture: TransformNetArchitecture;
  /** Training images are resized to cover and centre-cropped to this square size. */
  readonly imageSize: number;
  readonly batchSize: number;
  /** Passes over the training images; used when `iterations` is 0. */
  readonly epochs: number;
  /** Total steps; 0 = derive from `epochs`. */
  readonly iterations: number;
  readonly learningRate: number;
  readonly contentWeight: number;
  readonly styleWeight: number;
  readonly tvWeight: number;
  /**
   * Weight of the range loss (losses.ts): keeps the output layer out of tanh's flat tails, where
   * flat dark or bright areas freeze into textureless black or white holes. 0 in the paper preset.
   */
  readonly rangeWeight: number;
  /** VGG layers; empty = the defaults for the loaded weights. */
  readonly contentLayers: readonly string[];
  readonly styleLayers: readonly string[];
  /** The style image's longer side is scaled to this (0 = as is). */
  readonly styleSize: number;
  /**
   * Random crops (from images scaled to 1.25× the training size) and horizontal flips, seeded
   * per epoch and image: more variety from small photo sets. Off in the paper preset, which
   * trains on centre crops as the reference does.
   */
  readonly augment: boolean;
  /**
   * With augment: photos are scaled to cover cropScale × imageSize (square) and a random
   * imageSize crop is taken. 1.25 shows whole photos shrunk; 3–4 shows them near their own
   * scale, so the network meets flat areas as large as those it will stylize (blobs otherwise).
   */
  readonly cropScale: number;
  readonly seed: number;
  readonly checkpointEvery: number;
  readonly previewEvery: number;
}

/**
 * The range loss's weight in the quick and standard presets: at 1e6 its gradient outweighs the
 * others wherever a value before tanh passes ±2 and is nil elsewhere (README "Training recipe").
 */
export const RANGE_WEIGHT = 1e6;

const base: Omit<
  TrainingHyperparameters,
  | 'architecture'
  | 'imageSize'
  | 'batchSize'
  | 'epochs'
  | 'iterations'
  | 'checkpointEvery'
  | 'previewEvery'
  | 'styleSize'
  | 'augment'
> = {
  learningRate: 1e-3,
  contentWeight: 7.5,
  styleWeight: 100,
  tvWeight: 200,
  rangeWeight: 0,
  contentLayers: [],
  styleLayers: [],
  cropScale: 1.25,
  seed: 1,
};

export const PRESETS: Readonly<Record<'quick' | 'standard' | 'paper', TrainingHyperparameters>> = {
  quick: {
    ...base,
    // Resize-convolution upsampling: no checkerboard pattern, which a short run cannot train away.
    architecture: {
      type: 'johnson2016',
      filters: [16, 32, 64],
      residualBlocks: 3,
      upsample: 'nearest',
      outputScale: EXACT_OUTPUT_SCALE,
    },
    imageSize: 128,
    batchSize: 1,
    epochs: 0,
    iterations: 2000,
    learningRate: 2e-3,
    contentWeight: 30,
    rangeWeight: RANGE_WEIGHT,
    styleSize: 512,
    augment: true,
    cropScale: 4,
    checkpointEvery: 100,
    previewEvery: 25,
  },
  standard: {
    ...base,
    architecture: { ...PAPER_ARCHITECTURE, upsample: 'nearest', outputScale: EXACT_OUTPUT_SCALE },
    imageSize: 256,
    batchSize: 1,
    epochs: 0,
    iterations: 4000,
    contentWeight: 30,
    rangeWeight: RANGE_WEIGHT,
    styleSize: 512,
    augment: true,
    cropScale: 2,
    checkpointEvery: 250,
    previewEvery: 50,
  },
  paper: {
    ...base,
    architecture: PAPER_ARCHITECTURE,
    imageSize: 256,
    batchSize: 4,
    epochs: 2,
    iterations: 0,
    styleSize: 0,
    augment: false,
    checkpointEvery: 2000,
    previewEvery: 500,
  },
};

function num(v: unknown, name: NumericHyperparameter): number {
  const { min, max, integer } = HYPERPARAMETER_RANGES[name] as HyperparameterRange;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new Error(
      `training option ${name} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function bool(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean')
    throw new Error(`training option ${name} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function layers(v: unknown, name: string): readonly string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && VGG_LAYER_NAME.test(s))) {
    throw new Error(`training option ${name} must be a list of VGG layer names like relu2_2, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * A preset with overrides applied and every value checked (one clear error per bad value):
 * the overrides of a train request were checked at the worker boundary, but the CLI's and the
 * settings saved in a checkpoint (a resume) arrive here unchecked.
 */
export function resolveHyperparameters(
  preset: keyof typeof PRESETS,
  overrides: Readonly<Record<string, unknown>> = {},
): TrainingHyperparameters {
  const p = PRESETS[preset];
  if (!p) throw new Error(`unknown preset "${String(preset)}" (quick, standard or paper)`);
  const known = new Set(Object.keys(p));
  for (const k of Object.keys(overrides)) if (!known.has(k)) throw new Error(`unknown training option "${k}"`);
  const o = { ...p, ...overrides } as Record<string, unknown>;
  return {
    architecture: validateArchitecture(o.architecture),
    imageSize: num(o.imageSize, 'imageSize'),
    batchSize: num(o.batchSize, 'batchSize'),
    epochs: num(o.epochs, 'epochs'),
    iterations: num(o.iterations, 'iterations'),
    learningRate: num(o.learningRate, 'learningRate'),
    contentWeight: num(o.contentWeight, 'contentWeight'),
    styleWeight: num(o.styleWeight, 'styleWeight'),
    tvWeight: num(o.tvWeight, 'tvWeight'),
    // Absent in checkpoints trained before the option existed: they had no range loss.
    rangeWeight: num(o.rangeWeight ?? 0, 'rangeWeight'),
    contentLayers: layers(o.contentLayers, 'contentLayers'),
    styleLayers: layers(o.styleLayers, 'styleLayers'),
    styleSize: num(o.styleSize, 'styleSize'),
    augment: bool(o.augment ?? false, 'augment'),
    // Absent in checkpoints trained before the option existed: what they were trained with.
    cropScale: num(o.cropScale ?? 1.25, 'cropScale'),
    seed: num(o.seed, 'seed'),
    checkpointEvery: num(o.checkpointEvery, 'checkpointEvery'),
    previewEvery: num(o.previewEvery, 'previewEvery'),
  };
}

/** Steps to run: `iterations`, or `epochs` passes over `datasetSize` images. */
export function totalIterations(hp: TrainingHyperparameters, datasetSize: number): number {
  if (hp.iterations > 0) return hp.iterations;
  if (hp.epochs <= 0) throw new Error('set iterations or epochs above 0');
  return hp.epochs * Math.max(1, Math.floor(datasetSize / hp.batchSize));
}
