// Training steps on ONNX Runtime: one session per (architecture, image size, batch) running the
// graph of src/model/onnx/train (forward, backward and Adam in one run). Parameters and Adam
// moments live here as plain arrays in the tfjs (checkpoint) layout and are fed in and read
// back every step, so checkpoints, exact resume and the tfjs fallback see the same state.
// Passing them each step costs nothing measurable: onnxruntime-node has no IO binding, but it
// writes outputs into preallocated tensors (run's fetches), and feeding one set of buffers while
// it wrote the next into a second set (swapped each step) gave the same losses and the same
// CPU time (128² batch 1: 0.85 against 0.83 CPU-s; 256² batch 4: 11.3 against 11.4 CPU-s,
// medians of 10 and 6 interleaved steps on the 2-core machine): ≈ 20 MB of parameters and
// moments move per step, against 1–10 CPU-s of convolutions.
import os from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { loadOnnxRuntime, providerSkipReason, type OnnxProvider } from '../onnx/onnxRunner';
import { buildTrainStepGraph, TRAIN_IO, type TrainGraphSpec } from '../../model/onnx/train/trainStep';
import { adamStepSize } from '../../model/onnx/train/adam';
import { paramSpecs, sizeOfShape, validateWeights, type WeightMap } from '../../model/architecture';
import { DEFAULT_ADAM, type AdamConfig, type AdamState } from '../../model/adam';
import type { LossWeights } from '../../model/losses';
import type { LossTerms, TrainingStepper } from '../../model/train';
import type { TransformNet } from '../../model/transformNet';
import type { Adam } from '../../model/adam';
import { tf, type Tensor4D } from '../../model/tf';
import { StyleTransferError } from '../../protocol/errors';

/** The graph's shape and losses as trainStep.ts takes them (targetGrams: PerceptualLoss.targetGrams()), and the trainer's own settings. */
export interface OnnxTrainerOptions extends Pick<
  TrainGraphSpec,
  'arch' | 'batch' | 'height' | 'width' | 'vgg' | 'layers' | 'targetGrams'
> {
  readonly lossWeights: LossWeights;
  /** Starting weights (tfjs layout, validated). */
  readonly weights: WeightMap;
  readonly adam?: AdamConfig;
  /** Saved optimizer state to resume from; fresh moments otherwise. */
  readonly state?: AdamState;
  /**
   * intraOpNumThreads; 0 or absent: one per logical CPU. (ONNX Runtime's own default ran one
   * thread on the 2-core development machine: 0.43 s per 128² step against 0.30 s with 2.)
   */
  readonly threads?: number;
  /** Let idle intra-op threads spin (ONNX Runtime's default); false: they sleep at once. */
  readonly spinning?: boolean;
  /** The execution provider that runs the graph (default 'cpu'); a GPU one that is missing is one 'backend' error. */
  readonly provider?: OnnxProvider;
  readonly loadRuntime?: () => unknown;
}

/**
 * ONNX Runtime, when `provider` can start here. The stylizer's checks (CUDA provider library,
 * Vulkan loader, a hardware GPU) say why a GPU provider cannot before ONNX Runtime tries (for
 * CUDA it only logs and fails): one 'backend' error.
 */
export function checkTrainingProvider(provider: OnnxProvider, loadRuntime?: () => unknown): typeof Ort {
  const ort = loadOnnxRuntime(loadRuntime);
  const missing = providerSkipReason(ort, provider);
  if (missing)
    throw new StyleTransferError('backend', `ONNX Runtime's ${provider} provider cannot train here: ${missing}`);
  return ort;
}

export class OnnxTrainer {
  private step = 0;
  private released = false;
  private readonly params = new Map<string, Float32Array>();
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();

  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    private readonly opts: OnnxTrainerOptions,
    readonly adam: AdamConfig,
  ) {}

  /** Builds the graph and starts its session. Errors: 'bad-input' (options), 'bad-checkpoint' (weights), 'backend'. */
  static async create(opts: OnnxTrainerOptions): Promise<OnnxTrainer> {
    try {
      validateWeights(opts.weights, opts.arch, 'ONNX trainer');
    } catch (e) {
      throw new StyleTransferError('bad-checkpoint', (e as Error).message);
    }
    const adam = opts.adam ?? DEFAULT_ADAM;
    let model: Uint8Array;
    try {
      model = buildTrainStepGraph({
        arch: opts.arch,
        batch: opts.batch,
        height: opts.height,
        width: opts.width,
        vgg: opts.vgg,
        layers: opts.layers,
        weights: opts.lossWeights,
        targetGrams: opts.targetGrams,
        adam,
      });
    } catch (e) {
      throw new StyleTransferError('bad-input', (e as Error).message);
    }
    const provider = opts.provider ?? 'cpu';
    const ort = checkTrainingProvider(provider, opts.loadRuntime);
    let session: Ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(model, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        intraOpNumThreads: opts.threads || os.availableParallelism(),
        ...(opts.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
      });
    } catch (e) {
      throw new StyleTransferError(
        'backend',
        `ONNX Runtime (${provider}) could not load the training graph: ${String((e as Error).message ?? e).split('\n')[0]}`,
      );
    }
    const t = new OnnxTrainer(ort, session, opts, adam);
    for (const p of paramSpecs(opts.arch)) {
      const n = sizeOfShape(p.shape);
      t.params.set(p.name, Float32Array.from(opts.weights.get(p.name)!));
      for (const [mine, saved] of [
        [t.m, opts.state?.m],
        [t.v, opts.state?.v],
      ] as const) {
        const s = saved?.get(p.name);
        if (saved && (!s || s.length !== n)) {
          await session.release();
          throw new StyleTransferError(
            'bad-checkpoint',
            `optimizer state for ${p.name} has ${s?.length ?? 0} values, expected ${n}`,
          );
        }
        mine.set(p.name, s ? Float32Array.from(s) : new Float32Array(n));
      }
    }
    t.step = opts.state?.step ?? 0;
    return t;
  }

  /** Adam updates done so far (including those of a resumed state). */
  get iterations(): number {
    return this.step;
  }

  /**
   * One training step on `batch` ([B, H, W, 3] RGB 0..255, NHWC as the data loader gives it):
   * returns the weighted loss terms before the update, and keeps the updated parameters.
   */
  async trainStep(batch: Float32Array): Promise<LossTerms> {
    if (this.released) throw new StyleTransferError('internal', 'ONNX trainer was released');
    const { batch: b, height: h, width: w } = this.opts;
    if (batch.length !== b * h * w * 3) {
      throw new StyleTransferError(
        'bad-input',
        `ONNX trainer: a batch must hold ${b}×${h}×${w}×3 = ${b * h * w * 3} values, got ${batch.length}`,
      );
    }
    const T = this.ort.Tensor;
    const feeds: Record<string, Ort.Tensor> = {
      [TRAIN_IO.content]: new T('float32', nhwcToNchw(batch, b, h, w, 3), [b, 3, h, w]),
      [TRAIN_IO.lr]: new T('float32', Float32Array.of(adamStepSize(this.adam, this.step + 1)), []),
    };
    for (const p of paramSpecs(this.opts.arch)) {
      feeds[TRAIN_IO.param(p.name)] = new T('float32', this.params.get(p.name)!, [...p.shape]);
      feeds[TRAIN_IO.m(p.name)] = new T('float32', this.m.get(p.name)!, [...p.shape]);
      feeds[TRAIN_IO.v(p.name)] = new T('float32', this.v.get(p.name)!, [...p.shape]);
    }
    const out = await this.session.run(feeds);
    const scalar = (name: string) => (out[name].data as Float32Array)[0];
    const losses = {
      total: scalar(TRAIN_IO.loss.total),
      content: scalar(TRAIN_IO.loss.content),
      style: scalar(TRAIN_IO.loss.style),
      tv: scalar(TRAIN_IO.loss.tv),
      ...((this.opts.lossWeights.range ?? 0) > 0 ? { range: scalar(TRAIN_IO.loss.range) } : {}),
    };
    // A diverged step leaves the state as it was, like the tfjs loop that throws before saving.
    if (!Number.isFinite(losses.total)) return losses;
    for (const p of paramSpecs(this.opts.arch)) {
      this.params.set(p.name, out[TRAIN_IO.newParam(p.name)].data as Float32Array);
      this.m.set(p.name, out[TRAIN_IO.newM(p.name)].data as Float32Array);
      this.v.set(p.name, out[TRAIN_IO.newV(p.name)].data as Float32Array);
    }
    this.step += 1;
    return losses;
  }

  /** The current weights (copies). */
  weights(): WeightMap {
    return new Map([...this.params].map(([k, a]) => [k, Float32Array.from(a)]));
  }

  /** The optimizer state (copies), in adam.ts's form. */
  adamState(): AdamState {
    const copy = (m: Map<string, Float32Array>) => new Map([...m].map(([k, a]) => [k, Float32Array.from(a)]));
    return { step: this.step, m: copy(this.m), v: copy(this.v) };
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

/**
 * The training loop's stepper for `trainer`: after each step the new weights and Adam state are
 * copied into `net` and `adam` (≈3 copies of the parameters, small next to a step), so previews,
 * checkpoints, cancel and resume work exactly as with tfjs steps.
 */
export function onnxStepper(trainer: OnnxTrainer, net: TransformNet, adam: Adam): TrainingStepper {
  return {
    async step(content: Tensor4D) {
      const losses = await trainer.trainStep((await content.data()) as Float32Array);
      if (!Number.isFinite(losses.total)) return losses;
      for (const [name, w] of trainer.weights()) {
        const v = net.params.get(name)!;
        const t = tf.tensor(w, v.shape);
        v.assign(t);
        t.dispose();
      }
      adam.setState(trainer.adamState());
      return losses;
    },
  };
}

export function nhwcToNchw(d: Float32Array, b: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(d.length);
  const hw = h * w;
  for (let n = 0; n < b; n++) {
    const base = n * hw * c;
    for (let i = 0; i < hw; i++) for (let k = 0; k < c; k++) out[base + k * hw + i] = d[base + i * c + k];
  }
  return out;
}
