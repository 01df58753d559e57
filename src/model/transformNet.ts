// The transform network (Johnson et al. 2016) on TensorFlow.js. Layout and sizes come from
// architecture.ts; this file only turns them into tensors and the forward pass.
import { tf, type Tensor4D, type Tensor, type Variable } from './tf';
import { instanceNorm } from './instanceNorm';
import {
  INSTANCE_NORM_EPSILON,
  OUTPUT_OFFSET,
  outputScale,
  PAPER_ARCHITECTURE,
  SIZE_MULTIPLE,
  borderPadding,
  layerSpecs,
  paramSpecs,
  validateWeights,
  type LayerSpec,
  type TransformNetArchitecture,
  type WeightMap,
} from './architecture';
import { validateNormStats, type ChannelStats, type NormStats } from './normStats';

/** Options of TransformNet.apply: the instance norms' statistics, and what the range loss reads. */
export interface NormOptions {
  /**
   * Statistics for every layer, used instead of each image's own: tiles of one large image
   * all use the whole image's statistics, so they agree in colour and contrast.
   */
  readonly statsOverride?: NormStats;
  /** Called with each layer's own moments ([1, 1, 1, C] tensors, valid during the call). */
  readonly onStats?: (layer: string, mean: Tensor, variance: Tensor) => void;
  /** Called with the output layer's value before tanh (for the range loss; same scope as the output). */
  readonly onOutputPre?: (pre: Tensor4D) => void;
}

/** Init of the reference implementation: truncated normal filters (σ = 0.1), shift 0, scale 1. */
const INIT_STDDEV = 0.1;

export class TransformNet {
  readonly arch: TransformNetArchitecture;
  readonly layers: readonly LayerSpec[];
  /** Parameter name → variable, in `paramSpecs` order. */
  readonly params: ReadonlyMap<string, Variable>;
  private disposed = false;

  private constructor(arch: TransformNetArchitecture, params: Map<string, Variable>) {
    this.arch = arch;
    this.layers = layerSpecs(arch);
    this.params = params;
  }

  /** A freshly initialised network; the same seed gives the same weights. */
  static init(arch: TransformNetArchitecture = PAPER_ARCHITECTURE, seed = 1): TransformNet {
    const params = new Map<string, Variable>();
    paramSpecs(arch).forEach((p, i) => {
      const init = tf.tidy(() =>
        p.role === 'weight'
          ? tf.truncatedNormal(p.shape as number[], 0, INIT_STDDEV, 'float32', seed * 1000 + i)
          : p.role === 'shift'
            ? tf.zeros(p.shape as number[])
            : tf.ones(p.shape as number[]),
      );
      params.set(p.name, tf.variable(init, true));
      init.dispose();
    });
    return new TransformNet(arch, params);
  }

  /** A network holding `weights` (validated: names, sizes, finite values). */
  static fromWeights(arch: TransformNetArchitecture, weights: WeightMap): TransformNet {
    validateWeights(weights, arch);
    const params = new Map<string, Variable>();
    for (const p of paramSpecs(arch)) {
      const t = tf.tensor(weights.get(p.name)!, p.shape as number[], 'float32');
      params.set(p.name, tf.variable(t, true));
      t.dispose();
    }
    return new TransformNet(arch, params);
  }

  /** Copies the current weights out as plain arrays. */
  async toWeights(): Promise<WeightMap> {
    const out: WeightMap = new Map();
    for (const [name, v] of this.params) out.set(name, (await v.data()) as Float32Array);
    return out;
  }

  variables(): Variable[] {
    return [...this.params.values()];
  }

  private param(name: string): Variable {
    const p = this.params.get(name);
    if (!p) throw new Error(`transform net has no parameter ${name}`);
    return p;
  }

  /**
   * Forward pass. `x`: [batch, H, W, 3] RGB in 0..255 with H and W multiples of 4 (any size
   * with 'zero' border padding). Returns [batch, 4·⌈H/4⌉, 4·⌈W/4⌉, 3] in about −22.5..277.5 (unclamped, so losses see the true output).
   * With `releaseIntermediates` each layer runs in its own tidy scope and earlier
   * activations are freed as soon as possible, which keeps inference memory near two
   * activations; leave it off under a gradient tape.
   */
  apply(x: Tensor4D, releaseIntermediates = false, norm: NormOptions = {}): Tensor4D {
    if (this.disposed) throw new Error('transform net was disposed');
    const [, H, W, C] = x.shape;
    if (C !== 3) throw new Error(`transform net expects 3 channels, got ${C}`);
    // 'zero' border padding runs any size as TensorFlow's SAME convs do (architecture.ts).
    if (borderPadding(this.arch) === 'reflect' && (H % SIZE_MULTIPLE !== 0 || W % SIZE_MULTIPLE !== 0)) {
      throw new Error(`transform net input must be a multiple of ${SIZE_MULTIPLE} in size, got ${H}×${W}`);
    }
    if (norm.statsOverride) validateNormStats(norm.statsOverride, this.arch);
    const outputs = new Map<string, Tensor4D>();
    // The last layer that reads each activation, so it can be released after that point.
    const lastUse = new Map<string, number>();
    this.layers.forEach((l, i) => {
      lastUse.set(i === 0 ? 'input' : this.layers[i - 1].name, i);
      if (l.residualFrom) lastUse.set(l.residualFrom, i);
    });
    let prev: Tensor4D = x; // the caller owns x: it is never in `outputs`, so never released here
    for (let i = 0; i < this.layers.length; i++) {
      const l = this.layers[i];
      const run = () => this.layer(l, prev, l.residualFrom ? outputs.get(l.residualFrom) : undefined, norm);
      const y = releaseIntermediates ? tf.tidy(run) : run();
      outputs.set(l.name, y);
      if (releaseIntermediates) {
        for (const [name, t] of outputs) {
          if (name !== l.name && (lastUse.get(name) ?? -1) <= i) {
            t.dispose();
            outputs.delete(name);
          }
        }
      }
      prev = y;
    }
    return prev;
  }

  private layer(l: LayerSpec, x: Tensor4D, residual: Tensor4D | undefined, norm: NormOptions): Tensor4D {
    const w = this.param(`${l.name}/weight`);
    let y: Tensor4D;
    if (l.kind === 'conv') {
      y = tf.conv2d(x, w as Tensor as tf.Tensor4D, l.stride, 'same');
    } else if (l.kind === 'upconv') {
      y = tf.conv2d(upsampleNearest(x, l.stride), w as Tensor as tf.Tensor4D, 1, 'same');
    } else {
      const [b, h, wd] = x.shape;
      y = tf.conv2dTranspose(
        x,
        w as Tensor as tf.Tensor4D,
        [b, h * l.stride, wd * l.stride, l.outChannels],
        l.stride,
        'same',
      );
    }
    const fixed = norm.statsOverride?.get(l.name);
    // On the ordinary path ReLU runs inside the norm op (one fewer activation on the gradient tape).
    const fuseRelu = l.activation === 'relu' && !residual && !fixed && !norm.onStats;
    if (fixed) {
      y = instanceNormWithStats(y, fixed, this.param(`${l.name}/shift`), this.param(`${l.name}/scale`));
    } else if (norm.onStats) {
      const { mean, variance } = tf.moments(y, [1, 2], true);
      norm.onStats(l.name, mean, variance);
      y = normalize(y, mean, variance, this.param(`${l.name}/shift`), this.param(`${l.name}/scale`));
    } else {
      y = instanceNorm(y, this.param(`${l.name}/shift`), this.param(`${l.name}/scale`), fuseRelu ? 'relu' : 'none');
    }
    if (residual) y = tf.add(y, residual);
    if (l.activation === 'relu' && !fuseRelu) y = tf.relu(y);
    else if (l.activation === 'tanh') {
      norm.onOutputPre?.(y);
      y = tf.add(tf.mul(tf.tanh(y), outputScale(this.arch)), OUTPUT_OFFSET);
    }
    return y;
  }

  /**
   * The instance-norm statistics of every layer for one image ([1, H, W, 3], H and W multiples
   * of 4): what `apply` computes internally, recorded so that tiles of a larger version of
   * the image can be normalised with them (`statsOverride`).
   */
  async normStats(x: Tensor4D): Promise<NormStats> {
    if (x.shape[0] !== 1) throw new Error(`normStats takes one image, got a batch of ${x.shape[0]}`);
    const kept: { layer: string; mean: Tensor; variance: Tensor }[] = [];
    try {
      const y = this.apply(x, true, {
        onStats: (layer, mean, variance) => kept.push({ layer, mean: tf.keep(mean), variance: tf.keep(variance) }),
      });
      y.dispose();
      const stats = new Map<string, ChannelStats>();
      for (const k of kept) {
        stats.set(k.layer, {
          mean: (await k.mean.data()) as Float32Array,
          variance: (await k.variance.data()) as Float32Array,
        });
      }
      return stats;
    } finally {
      for (const k of kept) {
        k.mean.dispose();
        k.variance.dispose();
      }
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.params.values()) v.dispose();
  }
}

/**
 * Nearest-neighbour upsampling by an integer factor, written as a broadcast multiply so its
 * gradient is a plain sum on every backend (wasm has no ResizeNearestNeighborGrad).
 */
export function upsampleNearest(x: Tensor4D, factor: number): Tensor4D {
  const [b, h, w, c] = x.shape;
  const spread = tf.mul(tf.reshape(x, [b, h, 1, w, 1, c]), tf.ones([1, 1, factor, 1, factor, 1]));
  return tf.reshape(spread, [b, h * factor, w * factor, c]);
}

/**
 * Instance norm with given statistics instead of the image's own: the same formula, with
 * `stats.mean` and `stats.variance` ([C] each) in place of the moments over H×W.
 */
export function instanceNormWithStats(x: Tensor4D, stats: ChannelStats, shift: Tensor, scale: Tensor): Tensor4D {
  const C = x.shape[3];
  if (stats.mean.length !== C || stats.variance.length !== C)
    throw new Error(`norm statistics have ${stats.mean.length} channels, the layer ${C}`);
  return normalize(x, tf.tensor1d(stats.mean), tf.tensor1d(stats.variance), shift, scale);
}

function normalize(x: Tensor4D, mean: Tensor, variance: Tensor, shift: Tensor, scale: Tensor): Tensor4D {
  const normalized = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, INSTANCE_NORM_EPSILON)));
  return tf.add(tf.mul(normalized, scale), shift) as Tensor4D;
}

/** Instance norm: per image and channel over H×W, biased variance, learned shift and scale. */
export { instanceNorm } from './instanceNorm';
