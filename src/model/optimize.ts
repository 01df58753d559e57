// "Stylize with Any Image": the optimisation method of Gatys, Ecker & Bethge (2016, "Image Style
// Transfer Using Convolutional Neural Networks"), Johnson et al.'s optimisation baseline. No
// network is trained: the pixels of one image are moved to minimise the same perceptual loss
// (VGG content + Gram style + total variation, losses.ts) as training uses, starting from the
// content photo (or noise). Each loss evaluation is one VGG forward and backward pass.
//
// Pixels stay in 0..255 by projection (clipping) rather than through a squashing function
// (x = 127.5·(1 + tanh u)): photos have many pixels at or near 0 and 255 (sky, shadows), where
// a squashing function's slope is ~0 and those pixels would barely move, and it distorts the
// curvature L-BFGS estimates. With clipping the loss and its gradient stay in pixel units, free
// pixels see the exact gradient, and minimize.ts's projected L-BFGS / projected Adam keep the
// bounds (a pixel on a bound whose gradient pushes outwards is simply held there).
import { tf, type Scalar, type Tensor3D, type Tensor4D } from './tf';
import { StyleTransferError, cancelledError } from '../protocol/errors';
import {
  contentLoss,
  defaultLayersFor,
  gram,
  styleLoss,
  totalVariationLoss,
  type LossLayers,
  type LossWeights,
} from './losses';
import { adam, lbfgs, type Evaluation, type MinimizerResult, type MinimizerStep, type StopReason } from './minimize';
import type { FloatImage } from './pixels';
import { mulberry32, type LossTerms } from './train';
import type { Vgg19 } from './vgg';

export type OptimizeMethod = 'lbfgs' | 'adam';
export const OPTIMIZE_METHODS: readonly OptimizeMethod[] = ['lbfgs', 'adam'];
export type OptimizeInit = 'content' | 'noise';

/**
 * Loss weights for pixel optimisation (the same loss normalisation as training, losses.ts).
 * The training weights (7.5 / 100 / 200) are tuned for a network that must stylize every
 * photo; on one image they leave the photo barely touched: the style term falls ~90 % within a
 * few dozen steps, then the content term holds the image near the photo, and TV at 200 smooths
 * away the strokes the style term paints. Style 1000 and TV 10 give a clearly stylized image
 * (the painting's palette and strokes, the photo's layout) in 100–200 L-BFGS steps. Chosen by
 * looking at chicago.jpg at 256 px with Starry Night, The Great Wave and Udnie on the blocks 1–3
 * VGG (content relu2_2; style relu1_1, relu2_1, relu3_1); the total loss falls 97–99 %.
 */
export const OPTIMIZE_LOSS_WEIGHTS: LossWeights = Object.freeze({ content: 7.5, style: 1000, tv: 10 });

/**
 * Defaults per method. L-BFGS is the default: each step costs one VGG forward + backward pass
 * for both methods (L-BFGS's line search rarely needs a second), and L-BFGS gets further per
 * step. Measured on chicago.jpg + Starry Night: at 256 px with the training weights, total loss
 * 3.83e5 after 100 L-BFGS steps vs 4.48e5 for Adam (rate 4; 4.09e5 after 200); at 128 px with
 * these defaults, 60 steps: L-BFGS 9.7e5, Adam 2.8e6 / 1.9e6 / 1.4e6 / 1.3e6 at rates 2 / 4 / 8
 * / 16 (from 5.5e7). Adam's default rate, 10 pixel values per step, sits between the last two.
 */
export const OPTIMIZE_DEFAULTS = Object.freeze({
  method: 'lbfgs' as OptimizeMethod,
  steps: 200,
  /** Adam: step size in pixel values. L-BFGS: the largest pixel change of its first step. */
  learningRate: { lbfgs: 10, adam: 10 } as Readonly<Record<OptimizeMethod, number>>,
  memory: 10,
});

export interface OptimizeImageArgs {
  readonly vgg: Vgg19;
  /** [1, H, W, 3] RGB 0..255: the photo whose content is kept (and the start, by default). */
  readonly content: Tensor4D;
  /** [1, h, w, 3] RGB 0..255, any size: the painting whose Gram statistics are matched. */
  readonly style: Tensor4D;
  /** Default: defaultLayersFor(vgg.availableLayers()). */
  readonly layers?: LossLayers;
  /** Default: OPTIMIZE_LOSS_WEIGHTS. */
  readonly weights?: Partial<LossWeights>;
  readonly steps: number;
  readonly method?: OptimizeMethod;
  /** See OPTIMIZE_DEFAULTS.learningRate. */
  readonly learningRate?: number;
  /** L-BFGS history length (default 10). */
  readonly memory?: number;
  /** Yield a preview every this many steps (0: never). */
  readonly previewEvery?: number;
  readonly init?: OptimizeInit;
  /** For init 'noise'. */
  readonly seed?: number;
  /**
   * Checked before every loss evaluation: once aborted the run stops within one evaluation
   * and returns the best image so far with stopReason 'cancelled' (it throws a 'cancelled'
   * error only if no evaluation had finished).
   */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

export type OptimizeEvent =
  | {
      readonly type: 'step';
      /** 0 is the starting image, then 1 … steps. */
      readonly step: number;
      /** Weighted losses of the current image. */
      readonly losses: LossTerms;
      /** Loss evaluations (VGG forward + backward passes) so far. */
      readonly evaluations: number;
      /** Seconds this step took. */
      readonly seconds: number;
    }
  | { readonly type: 'preview'; readonly step: number; readonly image: FloatImage };

export interface OptimizeImageResult {
  /** The image with the lowest total loss seen (for L-BFGS always the last one). */
  readonly image: FloatImage;
  readonly steps: number;
  readonly evaluations: number;
  readonly initialLosses: LossTerms;
  readonly finalLosses: LossTerms;
  readonly stopReason: StopReason | 'cancelled';
  readonly method: OptimizeMethod;
  readonly weights: LossWeights;
  readonly layers: LossLayers;
}

interface ImageEvaluation extends Evaluation {
  readonly losses: LossTerms;
}

/**
 * The Gatys loss of one image as a function of its pixels: content target and style Grams
 * precomputed once; each call is one VGG forward and backward pass.
 */
export class ImageLoss {
  readonly layers: LossLayers;
  readonly weights: LossWeights;
  private readonly contentTarget?: Tensor4D;
  private readonly styleTargets: Record<string, Tensor3D>;
  private readonly shape: [number, number, number, number];
  private disposed = false;

  constructor(
    private readonly vgg: Vgg19,
    content: Tensor4D,
    style: Tensor4D,
    layers: LossLayers,
    weights: LossWeights,
  ) {
    if (content.rank !== 4 || content.shape[0] !== 1 || content.shape[3] !== 3) {
      throw new StyleTransferError('bad-input', `content image must be [1, height, width, 3], got [${content.shape}]`);
    }
    if (style.rank !== 4 || style.shape[0] !== 1 || style.shape[3] !== 3) {
      throw new StyleTransferError('bad-input', `style image must be [1, height, width, 3], got [${style.shape}]`);
    }
    if (layers.style.length === 0) throw new StyleTransferError('bad-input', 'at least one style layer is needed');
    if (new Set(layers.style).size !== layers.style.length)
      throw new StyleTransferError('bad-input', `style layers repeat a layer: ${layers.style.join(', ')}`);
    vgg.checkLayers([layers.content, ...layers.style]);
    for (const [k, v] of Object.entries(weights)) {
      if (!Number.isFinite(v) || v < 0)
        throw new StyleTransferError('bad-input', `${k} weight must be a finite number ≥ 0, got ${v}`);
    }
    this.layers = { content: layers.content, style: [...layers.style] };
    this.weights = { ...weights };
    this.shape = [1, content.shape[1], content.shape[2], 3];
    this.contentTarget =
      weights.content > 0 ? tf.keep(vgg.features(content, [layers.content])[layers.content]) : undefined;
    this.styleTargets = tf.tidy(() => {
      const feats = vgg.features(style, layers.style);
      const grams: Record<string, Tensor3D> = {};
      for (const name of layers.style) grams[name] = gram(feats[name]);
      return grams;
    });
  }

  /** Weighted losses (as plain numbers) and the gradient of the total w.r.t. the pixels `x` (HWC, 0..255). */
  async evaluate(x: ArrayLike<number>): Promise<ImageEvaluation> {
    if (this.disposed) throw new StyleTransferError('internal', 'image loss was disposed');
    const image = tf.tensor4d(x as Float32Array, this.shape, 'float32');
    let parts: Scalar[] = [];
    try {
      const { value, grad } = tf.valueAndGrad((img: Tensor4D) => {
        const { content, style, tv } = this.terms(img);
        parts = [tf.keep(content), tf.keep(style), tf.keep(tv)];
        return tf.addN([content, style, tv]) as Scalar;
      })(image);
      try {
        const [total, c, s, tv, g] = await Promise.all([value.data(), ...parts.map((p) => p.data()), grad.data()]);
        return {
          value: total[0],
          gradient: g as Float32Array,
          losses: { total: total[0], content: c[0], style: s[0], tv: tv[0] },
        };
      } finally {
        tf.dispose([value, grad]);
      }
    } finally {
      tf.dispose([image, ...parts]);
    }
  }

  private terms(img: Tensor4D): { content: Scalar; style: Scalar; tv: Scalar } {
    const w = this.weights;
    const wanted = [...(this.contentTarget ? [this.layers.content] : []), ...(w.style > 0 ? this.layers.style : [])];
    const feats = this.vgg.features(img, [...new Set(wanted)]);
    const content = this.contentTarget
      ? (tf.mul(contentLoss(feats[this.layers.content], this.contentTarget), w.content) as Scalar)
      : tf.scalar(0);
    const style =
      w.style > 0 ? (tf.mul(styleLoss(feats, this.styleTargets, this.layers.style), w.style) as Scalar) : tf.scalar(0);
    const tv = w.tv > 0 ? (tf.mul(totalVariationLoss(img), w.tv) as Scalar) : tf.scalar(0);
    return { content, style, tv };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.contentTarget?.dispose();
    for (const t of Object.values(this.styleTargets)) t.dispose();
  }
}

function checkArgs(a: OptimizeImageArgs): void {
  if (!Number.isInteger(a.steps) || a.steps < 0)
    throw new StyleTransferError('bad-input', `steps must be a whole number ≥ 0, got ${a.steps}`);
  if (a.method !== undefined && !OPTIMIZE_METHODS.includes(a.method))
    throw new StyleTransferError(
      'bad-input',
      `method must be one of ${OPTIMIZE_METHODS.join(', ')}, got ${String(a.method)}`,
    );
  if (a.learningRate !== undefined && !(a.learningRate > 0 && Number.isFinite(a.learningRate))) {
    throw new StyleTransferError('bad-input', `learning rate must be a positive number, got ${a.learningRate}`);
  }
  if (a.previewEvery !== undefined && !(Number.isInteger(a.previewEvery) && a.previewEvery >= 0)) {
    throw new StyleTransferError('bad-input', `previewEvery must be a whole number ≥ 0, got ${a.previewEvery}`);
  }
  if (a.memory !== undefined && !(Number.isInteger(a.memory) && a.memory >= 1 && a.memory <= 1000)) {
    throw new StyleTransferError('bad-input', `L-BFGS memory must be a whole number from 1 to 1000, got ${a.memory}`);
  }
  if (a.init !== undefined && a.init !== 'content' && a.init !== 'noise')
    throw new StyleTransferError('bad-input', `init must be content or noise, got ${String(a.init)}`);
}

/**
 * Optimises the pixels of one image. Yields a 'step' event after every step (and for the
 * starting image as step 0) and a 'preview' every `previewEvery` steps; returns the result.
 * Stop early with `return()` on the generator (a `break` in for-await): everything it holds
 * is freed. Tensors it creates are freed every step.
 */
export async function* optimizeImage(
  args: OptimizeImageArgs,
): AsyncGenerator<OptimizeEvent, OptimizeImageResult, void> {
  checkArgs(args);
  const method = args.method ?? OPTIMIZE_DEFAULTS.method;
  const layers = args.layers ?? defaultLayersFor(args.vgg.availableLayers());
  const weights: LossWeights = { ...OPTIMIZE_LOSS_WEIGHTS, ...args.weights };
  const now = args.now ?? (() => performance.now());
  const [, height, width] = args.content.shape;
  const loss = new ImageLoss(args.vgg, args.content, args.style, layers, weights);
  try {
    const x0 = new Float32Array(await args.content.data());
    if (args.init === 'noise') {
      const rnd = mulberry32(args.seed ?? 1);
      for (let i = 0; i < x0.length; i++) x0[i] = rnd() * 255;
    }
    const stop = Symbol('cancelled');
    let evaluations = 0;
    const objective = async (x: Float32Array | Float64Array) => {
      // No I/O happens between evaluations, so without this the event loop would starve:
      // a cancel message, Ctrl+C or a pending file write would wait for the whole run.
      await tf.nextFrame();
      if (args.signal?.aborted) throw stop;
      const e = await loss.evaluate(x);
      evaluations++;
      return e;
    };
    const bounds = { lower: 0, upper: 255 };
    const learningRate = args.learningRate ?? OPTIMIZE_DEFAULTS.learningRate[method];
    const gen: AsyncGenerator<MinimizerStep<ImageEvaluation>, MinimizerResult, void> = method === 'lbfgs'
      ? lbfgs(x0, objective, {
          maxIterations: args.steps,
          bounds,
          initialStep: learningRate,
          memory: args.memory ?? OPTIMIZE_DEFAULTS.memory,
        })
      : adam(x0, objective, { maxIterations: args.steps, bounds, learningRate });
    const snapshot = (x: ArrayLike<number>): FloatImage => ({ width, height, channels: 3, data: Float32Array.from(x) });

    let initialLosses: LossTerms | undefined;
    let best: { losses: LossTerms; x: Float32Array } | undefined;
    let t0 = now();
    const next = async (): Promise<IteratorResult<MinimizerStep<ImageEvaluation>, MinimizerResult> | undefined> => {
      try {
        return await gen.next();
      } catch (e) {
        if (e === stop) return undefined;
        throw e;
      }
    };
    let r = await next();
    let lastStep: MinimizerStep<ImageEvaluation> | undefined;
    while (r && !r.done) {
      const st = r.value;
      lastStep = st;
      const losses = st.evaluation.losses;
      initialLosses ??= losses;
      if (!best || losses.total < best.losses.total) {
        best ??= { losses, x: new Float32Array(st.x.length) };
        best.losses = losses;
        best.x.set(st.x);
      }
      const t1 = now();
      yield { type: 'step', step: st.iteration, losses, evaluations: st.evaluations, seconds: (t1 - t0) / 1000 };
      const every = args.previewEvery ?? 0;
      if (every > 0 && st.iteration > 0 && st.iteration % every === 0)
        yield { type: 'preview', step: st.iteration, image: snapshot(st.x) };
      t0 = now();
      r = await next();
    }
    if (!best || !lastStep) throw cancelledError('optimisation');
    const end = r?.done ? r.value : undefined;
    return {
      image: { width, height, channels: 3, data: best.x },
      steps: end ? end.iterations : lastStep.iteration,
      evaluations,
      initialLosses: initialLosses!,
      finalLosses: best.losses,
      stopReason: end ? end.reason : 'cancelled',
      method,
      weights,
      layers: loss.layers,
    };
  } finally {
    loss.dispose();
  }
}
