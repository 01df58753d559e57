// Adam (Kingma & Ba 2015) with its whole state exposed as plain arrays, so a checkpoint can
// save it and training can resume exactly where it stopped (tfjs's optimizer keeps its
// moments keyed by global variable names, which do not survive a reload).
import { tf, type Variable, type Tensor } from './tf';

export interface AdamConfig {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

export const DEFAULT_ADAM: AdamConfig = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/** Step count plus first and second moments per parameter name. */
export interface AdamState {
  readonly step: number;
  readonly m: Map<string, Float32Array>;
  readonly v: Map<string, Float32Array>;
}

export class Adam {
  private step = 0;
  private readonly m = new Map<string, Variable>();
  private readonly v = new Map<string, Variable>();

  constructor(
    private readonly params: ReadonlyMap<string, Variable>,
    readonly config: AdamConfig = DEFAULT_ADAM,
    state?: AdamState,
  ) {
    for (const [name, p] of params) {
      const init = (saved?: Float32Array) => {
        if (saved && saved.length !== p.size)
          throw new Error(`optimizer state for ${name} has ${saved.length} values, expected ${p.size}`);
        const value = saved ? tf.tensor(saved, p.shape) : tf.zerosLike(p);
        const v = tf.variable(value, false);
        value.dispose(); // the variable keeps the data; the initial tensor would count as a leak
        return v;
      };
      this.m.set(name, init(state?.m.get(name)));
      this.v.set(name, init(state?.v.get(name)));
    }
    this.step = state?.step ?? 0;
  }

  get iterations(): number {
    return this.step;
  }

  /** One update with the given gradients (by parameter name); frees nothing it does not own. */
  apply(grads: Record<string, Tensor>): void {
    this.step += 1;
    const { learningRate, beta1, beta2, epsilon } = this.config;
    // Bias correction folded into the step size, as in the Adam paper's efficient form.
    const lr = (learningRate * Math.sqrt(1 - beta2 ** this.step)) / (1 - beta1 ** this.step);
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g = grads[name];
        if (!g) continue;
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        p.assign(tf.sub(p, tf.div(tf.mul(m, lr), tf.add(tf.sqrt(v), epsilon))));
      }
    });
  }

  /** Replaces the step count and moments (e.g. with those of a step that ran elsewhere). */
  setState(state: AdamState): void {
    for (const [name, p] of this.params) {
      for (const [mine, saved] of [
        [this.m, state.m],
        [this.v, state.v],
      ] as const) {
        const a = saved.get(name);
        if (!a || a.length !== p.size)
          throw new Error(`optimizer state for ${name} has ${a?.length ?? 0} values, expected ${p.size}`);
        const t = tf.tensor(a, p.shape);
        mine.get(name)!.assign(t);
        t.dispose();
      }
    }
    this.step = state.step;
  }

  async getState(): Promise<AdamState> {
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const name of this.params.keys()) {
      m.set(name, (await this.m.get(name)!.data()) as Float32Array);
      v.set(name, (await this.v.get(name)!.data()) as Float32Array);
    }
    return { step: this.step, m, v };
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
