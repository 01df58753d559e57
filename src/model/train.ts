// The training loop of Johnson et al. 2016 as an async generator: each step yields its
// losses, and every so often a preview or a "checkpoint due" event, so the worker can stream
// progress, save checkpoints between steps and stop cleanly on cancel. Pure tfjs: images
// arrive through a callback, checkpoints are written by the caller.
import { tf, type Scalar, type Tensor, type Tensor4D } from './tf';
import { Adam } from './adam';
import type { FloatImage } from './pixels';
import { stylizeWithTfjs } from './stylize';
import type { TransformNet } from './transformNet';

export interface LossTerms<T = number> {
  readonly total: T;
  readonly content: T;
  readonly style: T;
  readonly tv: T;
  /** The range loss (absent where it is not part of the loss: its weight is 0, or older records). */
  readonly range?: T;
}

/** The perceptual loss as the loop needs it (implemented by losses.ts). */
export interface TrainingLoss {
  /**
   * `stylized` and `content`: [B, S, S, 3] RGB 0..255; `outputPre`: the output layer's value
   * before tanh, for the range loss. Scalars, usable under a gradient tape.
   */
  compute(stylized: Tensor4D, content: Tensor4D, options?: { outputPre?: Tensor4D }): LossTerms<Scalar>;
}

/** Content images by index: [indices.length, S, S, 3] RGB 0..255. The caller owns decoding. */
export interface TrainingData {
  readonly size: number;
  /** `epoch` lets augmentation vary per pass while staying a pure function of the step (exact resume). */
  batch(indices: readonly number[], epoch: number): Promise<Tensor4D>;
}

export interface TrainingSchedule {
  readonly batchSize: number;
  /** Total number of steps (the caller converts epochs into steps). */
  readonly iterations: number;
  readonly seed: number;
  readonly checkpointEvery: number;
  readonly previewEvery: number;
}

export type TrainEvent =
  | {
      readonly type: 'step';
      readonly iteration: number;
      readonly epoch: number;
      readonly losses: LossTerms;
      readonly imagesPerSecond: number;
      readonly seconds: number;
    }
  | { readonly type: 'preview'; readonly iteration: number; readonly image: FloatImage }
  | { readonly type: 'checkpoint'; readonly iteration: number; readonly epoch: number; readonly final: boolean };

/** Deterministic PRNG (mulberry32): the data order depends on the seed only. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The shuffled order of `n` images in `epoch` (Fisher–Yates, seeded by seed and epoch). */
export function epochOrder(n: number, epoch: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const rnd = mulberry32((seed * 7919 + epoch * 104729) >>> 0);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

export function batchesPerEpoch(n: number, batchSize: number): number {
  // The reference drops the incomplete last batch; a set smaller than a batch still makes one.
  return Math.max(1, Math.floor(n / batchSize));
}

/** Epoch and image indices of step `iteration` (0-based); a pure function, so resume is exact. */
export function batchAt(
  iteration: number,
  n: number,
  batchSize: number,
  seed: number,
): { epoch: number; indices: number[] } {
  const per = batchesPerEpoch(n, batchSize);
  const epoch = Math.floor(iteration / per);
  const j = iteration % per;
  const order = epochOrder(n, epoch, seed);
  return { epoch, indices: Array.from({ length: batchSize }, (_, k) => order[(j * batchSize + k) % n]) };
}

/**
 * Runs one optimisation step somewhere other than tfjs's autodiff (e.g. an ONNX Runtime graph).
 * It must leave the net's variables and the optimizer holding the updated state, so previews,
 * checkpoints and a later tfjs step see it.
 */
export interface TrainingStepper {
  /** `content`: [B, S, S, 3] RGB 0..255 (owned by the caller). Returns the weighted losses before the update. */
  step(content: Tensor4D): Promise<LossTerms>;
}

export interface TrainArgs {
  readonly net: TransformNet;
  readonly loss: TrainingLoss;
  readonly data: TrainingData;
  readonly optimizer: Adam;
  readonly schedule: TrainingSchedule;
  /** Steps already done (0 for a fresh run; the saved iteration when resuming). */
  readonly startIteration?: number;
  /** A fixed photo shown stylized every `previewEvery` steps. */
  readonly previewImage?: FloatImage;
  readonly now?: () => number;
  /** Runs the steps instead of tf.variableGrads + optimizer.apply. */
  readonly stepper?: TrainingStepper;
}

/** Runs training steps from `startIteration` to `schedule.iterations`, yielding progress. */
export async function* trainTransformNet(args: TrainArgs): AsyncGenerator<TrainEvent, void, void> {
  const { net, loss, data, optimizer, schedule } = args;
  const now = args.now ?? (() => performance.now());
  if (data.size < 1) throw new Error('no training images');
  const nameOf = new Map(net.variables().map((v) => [v.name, [...net.params].find(([, p]) => p === v)![0]]));
  /** One step by tfjs autodiff and the Adam of adam.ts. */
  const tfjsStep = async (content: Tensor4D): Promise<LossTerms> => {
    let parts: Scalar[] = [];
    let hasRange = false;
    try {
      const { value, grads } = tf.variableGrads(() => {
        let pre: Tensor4D | undefined;
        const stylized = net.apply(content, false, { onOutputPre: (p) => (pre = p) });
        const t = loss.compute(stylized, content, { outputPre: pre });
        hasRange = t.range !== undefined;
        // Keep the parts past the tape's tidy so they can be reported.
        parts = [t.content, t.style, t.tv, ...(t.range ? [t.range] : [])].map((p) => tf.keep(p));
        return t.total;
      }, net.variables());
      const byParam: Record<string, Tensor> = {};
      for (const [varName, g] of Object.entries(grads)) byParam[nameOf.get(varName)!] = g;
      optimizer.apply(byParam);
      const [total, c, s, tv, range] = (await Promise.all([value, ...parts].map((p) => p.data()))).map((d) => d[0]);
      tf.dispose([value, ...Object.values(grads)]);
      return { total, content: c, style: s, tv, ...(hasRange ? { range } : {}) };
    } finally {
      tf.dispose(parts);
    }
  };
  for (let it = args.startIteration ?? 0; it < schedule.iterations; it++) {
    // Let the event loop run between steps (cancel messages, timers) even when every batch
    // comes from memory and no I/O would otherwise yield.
    await tf.nextFrame();
    const t0 = now();
    const { epoch, indices } = batchAt(it, data.size, schedule.batchSize, schedule.seed);
    const content = await data.batch(indices, epoch);
    let losses: LossTerms;
    try {
      losses = args.stepper ? await args.stepper.step(content) : await tfjsStep(content);
    } finally {
      content.dispose();
    }
    if (!Number.isFinite(losses.total))
      throw new Error(`training diverged at iteration ${it + 1} (loss ${losses.total}); try a lower learning rate`);
    const seconds = (now() - t0) / 1000;
    yield {
      type: 'step',
      iteration: it + 1,
      epoch,
      losses,
      imagesPerSecond: schedule.batchSize / Math.max(seconds, 1e-9),
      seconds,
    };
    const done = it + 1;
    if (
      args.previewImage &&
      schedule.previewEvery > 0 &&
      (done % schedule.previewEvery === 0 || done === schedule.iterations)
    ) {
      yield { type: 'preview', iteration: done, image: await stylizePreview(net, args.previewImage) };
    }
    const final = done === schedule.iterations;
    if (final || (schedule.checkpointEvery > 0 && done % schedule.checkpointEvery === 0)) {
      yield { type: 'checkpoint', iteration: done, epoch, final };
    }
  }
}

/** As stylize does it, with the network's own border padding (a fine-tuned import keeps 'zero'). */
function stylizePreview(net: TransformNet, img: FloatImage): Promise<FloatImage> {
  return stylizeWithTfjs(net, img);
}
