// Perceptual losses of Johnson et al. 2016 on the VGG19 features of vgg.ts.
//
// Normalisation (DESIGN §4, and what the reference implementation computes): the reference
// writes content = w_c·2·l2_loss(F−P)/(size·batch), style = w_s·Σ_l 2·l2_loss(G_l−A_l)/size(A_l)
// / batch, tv = w_tv·2·(l2_loss(dx)/size(dx) + l2_loss(dy)/size(dy)) / batch, with l2_loss(t) =
// Σt²/2 and sizes per image. Every one of those is a plain mean of squares over all elements
// of the batch, which is how they are written here:
//   content = w_c · mean((F − P)²)                 over [B, H, W, C] of the content layer
//   style   = w_s · Σ_l mean((G_l − A_l)²)          over [B, C, C], A_l broadcast over the batch
//   tv      = w_tv · (mean(dx²) + mean(dy²))         neighbour differences of the output image
//   range   = w_r · mean(relu(|z| − 2)²)              z: the output layer's value before tanh
// with G = FᵀF / (H·W·C) per image. Means keep the weights 7.5 / 100 / 200 meaningful for
// any image size and batch, exactly as in the reference, so its published settings carry over.
// The range loss is ours (weight 0 = the reference's loss): it keeps the output layer out of
// tanh's flat tails, where a pixel stuck at black or white gets no gradient back (issue 12).
import { tf, type Scalar, type Tensor3D, type Tensor4D } from './tf';
import { StyleTransferError } from '../protocol/errors';
import type { Vgg19 } from './vgg';
import { OUTPUT_PRE_LIMIT } from './architecture';

export interface LossLayers {
  readonly content: string;
  readonly style: readonly string[];
}

export interface LossWeights {
  readonly content: number;
  readonly style: number;
  readonly tv: number;
  /** The range loss; absent or 0: not part of the loss (the reference's). */
  readonly range?: number;
}

/** The reference implementation's defaults (DESIGN §4; Johnson et al.'s paper itself used relu2_2 for content). */
export const REFERENCE_LOSS_LAYERS: LossLayers = Object.freeze({
  content: 'relu4_2',
  style: Object.freeze(['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1']),
});

/**
 * With only blocks 1–3 (the Keras weights available here): relu2_2 for content, as in Johnson
 * et al.'s own paper (it keeps spatial detail, and relu3_x would be the deepest style layer
 * too), and the paper's style layers that exist, relu1_1, relu2_1 and relu3_1.
 */
export const BLOCK1_3_LOSS_LAYERS: LossLayers = Object.freeze({
  content: 'relu2_2',
  style: Object.freeze(['relu1_1', 'relu2_1', 'relu3_1']),
});

export const DEFAULT_LOSS_WEIGHTS: LossWeights = Object.freeze({ content: 7.5, style: 100, tv: 200 });

/** The paper's layers when the weights reach them, else the blocks 1–3 choice; a clear error below that. */
export function defaultLayersFor(availableLayers: readonly string[]): LossLayers {
  const has = (l: LossLayers) => [l.content, ...l.style].every((n) => availableLayers.includes(n));
  if (has(REFERENCE_LOSS_LAYERS)) return REFERENCE_LOSS_LAYERS;
  if (has(BLOCK1_3_LOSS_LAYERS)) return BLOCK1_3_LOSS_LAYERS;
  const relus = availableLayers.filter((n) => n.startsWith('relu'));
  throw new StyleTransferError(
    'bad-weights',
    `the loaded VGG weights reach only ${relus.length ? relus[relus.length - 1] : 'no ReLU layer'}; ` +
      'style transfer needs at least relu3_1 (blocks 1–3: content relu2_2, style relu1_1, relu2_1, relu3_1)',
  );
}

/** Gram matrices [B, C, C] = FᵀF / (H·W·C) of features [B, H, W, C]. */
export function gram(features: Tensor4D): Tensor3D {
  const [b, h, w, c] = features.shape;
  return tf.tidy(() => {
    const f = tf.reshape(features, [b, h * w, c]) as Tensor3D;
    return tf.div(tf.matMul(f, f, true, false), h * w * c) as Tensor3D;
  });
}

/** Mean squared difference of two feature maps of the same shape (unweighted). */
export function contentLoss(features: Tensor4D, target: Tensor4D): Scalar {
  if (!sameShape(features.shape, target.shape)) {
    throw new StyleTransferError(
      'bad-input',
      `content features [${features.shape}] and target [${target.shape}] differ in shape`,
    );
  }
  return tf.tidy(() => tf.mean(tf.squaredDifference(features, target)) as Scalar);
}

/**
 * Σ over layers of mean((gram(F_l) − A_l)²) (unweighted). `targetGrams[l]` is [1, C, C] (one
 * style image, broadcast over the batch) or [B, C, C].
 */
export function styleLoss(
  featuresOfOutput: Readonly<Record<string, Tensor4D>>,
  targetGrams: Readonly<Record<string, Tensor3D>>,
  layers: readonly string[] = Object.keys(targetGrams),
): Scalar {
  if (layers.length === 0) throw new StyleTransferError('bad-input', 'style loss needs at least one layer');
  return tf.tidy(() => {
    const perLayer = layers.map((name) => {
      const f = featuresOfOutput[name];
      const a = targetGrams[name];
      if (!f || !a)
        throw new StyleTransferError('bad-input', `style loss: no ${!f ? 'features' : 'target Gram'} for ${name}`);
      const c = f.shape[3];
      if (a.shape[1] !== c || a.shape[2] !== c) {
        throw new StyleTransferError(
          'bad-input',
          `style loss: ${name} has ${c} channels but its target Gram is [${a.shape}]`,
        );
      }
      return tf.mean(tf.squaredDifference(gram(f), a)) as Scalar;
    });
    return tf.addN(perLayer) as Scalar;
  });
}

/** mean(dx²) + mean(dy²) of horizontal and vertical neighbour differences of [B, H, W, C] (unweighted). */
export function totalVariationLoss(images: Tensor4D): Scalar {
  const [b, h, w, c] = images.shape;
  return tf.tidy(() => {
    // A 1-pixel-wide image has no differences along that axis; that term is 0, not NaN.
    const dy =
      h > 1
        ? tf.mean(
            tf.squaredDifference(
              tf.slice(images, [0, 1, 0, 0], [b, h - 1, w, c]),
              tf.slice(images, [0, 0, 0, 0], [b, h - 1, w, c]),
            ),
          )
        : tf.scalar(0);
    const dx =
      w > 1
        ? tf.mean(
            tf.squaredDifference(
              tf.slice(images, [0, 0, 1, 0], [b, h, w - 1, c]),
              tf.slice(images, [0, 0, 0, 0], [b, h, w - 1, c]),
            ),
          )
        : tf.scalar(0);
    return tf.add(dx, dy) as Scalar;
  });
}

/**
 * mean(relu(|z| − OUTPUT_PRE_LIMIT)²) of the output layer's value before tanh (unweighted): 0
 * while tanh still has a slope, growing as a pixel is pushed into its flat tails.
 */
export function rangeLoss(outputPre: Tensor4D): Scalar {
  return tf.tidy(() => {
    const excess = tf.relu(tf.sub(tf.abs(outputPre), OUTPUT_PRE_LIMIT));
    return tf.mean(tf.square(excess)) as Scalar;
  });
}

export interface LossParts {
  /** weighted content + style + tv */
  readonly total: Scalar;
  /** each part already multiplied by its weight */
  readonly content: Scalar;
  readonly style: Scalar;
  readonly tv: Scalar;
  /** Present when the range weight is above 0. */
  readonly range?: Scalar;
}

export interface PerceptualLossOptions {
  /** Default: `defaultLayersFor(vgg.availableLayers())`. */
  readonly layers?: LossLayers;
  /** Default: 7.5 / 100 / 200. */
  readonly weights?: Partial<LossWeights>;
}

/**
 * The training loss for one style: holds the VGG network (not owned) and the style image's
 * Gram matrices (owned, freed by dispose()).
 */
export class PerceptualLoss {
  readonly layers: LossLayers;
  readonly weights: LossWeights;
  private readonly vgg: Vgg19;
  private readonly targets: Record<string, Tensor3D>;
  private disposed = false;

  private constructor(vgg: Vgg19, layers: LossLayers, weights: LossWeights, targets: Record<string, Tensor3D>) {
    this.vgg = vgg;
    this.layers = layers;
    this.weights = weights;
    this.targets = targets;
  }

  /** Precomputes the style Grams of `styleImage` ([1, H, W, 3] RGB 0..255, any size). */
  static create(vgg: Vgg19, styleImage: Tensor4D, options: PerceptualLossOptions = {}): PerceptualLoss {
    const layers = options.layers ?? defaultLayersFor(vgg.availableLayers());
    if (layers.style.length === 0) throw new StyleTransferError('bad-input', 'at least one style layer is needed');
    if (new Set(layers.style).size !== layers.style.length) {
      throw new StyleTransferError('bad-input', `style layers repeat a layer: ${layers.style.join(', ')}`);
    }
    vgg.checkLayers([layers.content, ...layers.style]);
    const weights = { ...DEFAULT_LOSS_WEIGHTS, ...options.weights };
    for (const [k, v] of Object.entries(weights)) {
      if (!Number.isFinite(v) || v < 0)
        throw new StyleTransferError('bad-input', `${k} weight must be a finite number ≥ 0, got ${v}`);
    }
    if (styleImage.rank !== 4 || styleImage.shape[0] !== 1 || styleImage.shape[3] !== 3) {
      throw new StyleTransferError('bad-input', `style image must be [1, height, width, 3], got [${styleImage.shape}]`);
    }
    const targets = tf.tidy(() => {
      const feats = vgg.features(styleImage, layers.style);
      const grams: Record<string, Tensor3D> = {};
      for (const name of layers.style) grams[name] = gram(feats[name]);
      return grams;
    });
    return new PerceptualLoss(vgg, { content: layers.content, style: [...layers.style] }, weights, targets);
  }

  /** The style targets (owned by this object), e.g. for tests. */
  targetGrams(): Readonly<Record<string, Tensor3D>> {
    return this.targets;
  }

  /**
   * Losses of the transform net's output `stylized` for the content images `contentBatch`
   * (both [B, H, W, 3] RGB 0..255). Use `total` as the value of tf.variableGrads; tfjs frees
   * the other parts when the gradient scope ends unless `keepParts` marks them kept (then
   * dispose them yourself). With a range weight above 0, `outputPre` (the output layer's value
   * before tanh, TransformNet.apply's onOutputPre) is required.
   */
  compute(
    stylized: Tensor4D,
    contentBatch: Tensor4D,
    options: { keepParts?: boolean; outputPre?: Tensor4D } = {},
  ): LossParts {
    if (this.disposed) throw new StyleTransferError('internal', 'perceptual loss was disposed');
    if (!sameShape(stylized.shape, contentBatch.shape)) {
      throw new StyleTransferError(
        'bad-input',
        `stylized [${stylized.shape}] and content [${contentBatch.shape}] batches differ in shape`,
      );
    }
    const rangeWeight = this.weights.range ?? 0;
    if (rangeWeight > 0 && !options.outputPre) {
      throw new StyleTransferError('internal', 'the range loss needs the output layer before tanh (outputPre)');
    }
    const parts = tf.tidy(() => {
      const wanted = [...new Set([this.layers.content, ...this.layers.style])];
      const out = this.vgg.features(stylized, wanted);
      // The content target needs no gradient; under a tape it is pruned since it does not
      // depend on the trained variables.
      const target = this.vgg.features(contentBatch, [this.layers.content])[this.layers.content];
      const content = tf.mul(contentLoss(out[this.layers.content], target), this.weights.content) as Scalar;
      const style = tf.mul(styleLoss(out, this.targets, this.layers.style), this.weights.style) as Scalar;
      const tv = tf.mul(totalVariationLoss(stylized), this.weights.tv) as Scalar;
      const range = rangeWeight > 0 ? (tf.mul(rangeLoss(options.outputPre!), rangeWeight) as Scalar) : undefined;
      const total = tf.addN([content, style, tv, ...(range ? [range] : [])]) as Scalar;
      return { total, content, style, tv, ...(range ? { range } : {}) };
    });
    if (options.keepParts) {
      tf.keep(parts.content);
      tf.keep(parts.style);
      tf.keep(parts.tv);
      if (parts.range) tf.keep(parts.range);
    }
    return parts;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of Object.values(this.targets)) t.dispose();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
