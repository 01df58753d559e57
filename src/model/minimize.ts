// Two minimisers over flat arrays for the optimisation-based style transfer of Gatys et al.
// (2016): L-BFGS (Nocedal & Wright, "Numerical Optimization", 2nd ed., Alg. 7.4/7.5) and Adam
// (Kingma & Ba 2015). The objective is a callback returning the value and the gradient, so the
// minimisers know nothing of tfjs; both run as async generators that yield after every
// iteration (progress, previews, cancel between steps) and return a summary.
//
// Optional box bounds (the same for every component: 0..255 for pixels) are kept by projection:
// Adam clips after each update; L-BFGS is a "projected L-BFGS": components sitting on a bound
// whose gradient pushes outwards are held fixed (active set), the two-loop direction is built
// from the remaining ("free") gradient, the line search follows the projected path
// P(x + αd) with an Armijo test on the actual change, and curvature pairs ignore components
// that stayed on a bound. This is a light form of L-BFGS-B's idea (Byrd et al. 1995) without
// its Cauchy point; it is exact L-BFGS when no bound is touched.

export type Vector = Float32Array | Float64Array;

export interface Evaluation {
  readonly value: number;
  /** ∂value/∂x, the same length as x. The minimiser copies what it keeps. */
  readonly gradient: ArrayLike<number>;
}

/** The function to minimise; may be asynchronous (tfjs reads tensors asynchronously). */
export type Objective<E extends Evaluation = Evaluation> = (x: Vector) => E | Promise<E>;

export interface Bounds {
  readonly lower: number;
  readonly upper: number;
}

export interface MinimizerStep<E extends Evaluation = Evaluation> {
  /** 0 for the starting point, then 1, 2, … after each update. */
  readonly iteration: number;
  /** The current point; valid until the generator is resumed (copy it to keep it). */
  readonly x: Vector;
  /** The objective's answer at `x`. */
  readonly evaluation: E;
  /** Objective evaluations so far (L-BFGS line searches may use more than one per iteration). */
  readonly evaluations: number;
}

export type StopReason = 'iterations' | 'converged' | 'no-progress';

export interface MinimizerResult {
  readonly reason: StopReason;
  readonly iterations: number;
  readonly evaluations: number;
  readonly value: number;
  /** The final point (the minimiser's own buffer, no longer used by it). */
  readonly x: Vector;
}

export interface CommonOptions {
  readonly maxIterations: number;
  readonly bounds?: Bounds;
  /** Stop when the largest free gradient component is at most this (default 0: never). */
  readonly gradientTolerance?: number;
}

export interface LbfgsOptions extends CommonOptions {
  /** Curvature pairs kept (default 10). */
  readonly memory?: number;
  /**
   * Largest change of any component in the first step (and after a reset), when there is
   * no curvature information yet to size the step (default 1, in units of x).
   */
  readonly initialStep?: number;
  /** Stop when one iteration lowers the value by less than this fraction of it (default 0: never). */
  readonly valueTolerance?: number;
  /** Armijo sufficient-decrease constant c1 (default 1e-4). */
  readonly armijo?: number;
  /** Trial points per line search before giving up on a direction (default 20). */
  readonly maxLineSearch?: number;
}

export interface AdamOptions extends CommonOptions {
  /** Step size in units of x (default 1). */
  readonly learningRate?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
}

function like(x: Vector, n = x.length): Vector {
  return x instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m || v !== v) m = v; // NaN propagates
  }
  return m;
}

function clamp(v: number, b: Bounds | undefined): number {
  if (!b) return v;
  return v < b.lower ? b.lower : v > b.upper ? b.upper : v;
}

function checkStart(x0: Vector, opts: CommonOptions): void {
  if (!Number.isInteger(opts.maxIterations) || opts.maxIterations < 0)
    throw new RangeError(`maxIterations must be an integer ≥ 0, got ${opts.maxIterations}`);
  if (x0.length === 0) throw new RangeError('nothing to minimise: x0 is empty');
  const b = opts.bounds;
  if (b && !(b.lower < b.upper)) throw new RangeError(`bounds must satisfy lower < upper, got ${b.lower}..${b.upper}`);
}

function checkEvaluation(e: Evaluation, n: number): void {
  if (e.gradient.length !== n)
    throw new RangeError(`objective returned a gradient of ${e.gradient.length} values for ${n} variables`);
}

/**
 * The gradient with the components that cannot move zeroed: on the lower bound with a
 * positive gradient (descent would go below it) or on the upper bound with a negative one.
 */
function freeGradient(x: Vector, g: ArrayLike<number>, b: Bounds | undefined, out: Vector): Vector {
  for (let i = 0; i < x.length; i++) {
    const gi = g[i];
    out[i] = b && ((x[i] <= b.lower && gi > 0) || (x[i] >= b.upper && gi < 0)) ? 0 : gi;
  }
  return out;
}

/**
 * L-BFGS with an Armijo backtracking line search (quadratic interpolation, safeguarded) and
 * optional box bounds (see the file comment). A direction that is not a descent direction, or
 * a line search that finds no decrease, resets the memory and retries along the steepest
 * descent; if that fails too the run stops with 'no-progress' (the point stays the best found).
 * Pairs with sᵀy ≤ 0 (possible with Armijo-only searches) are skipped, keeping H positive definite.
 */
export async function* lbfgs<E extends Evaluation>(
  x0: Vector,
  objective: Objective<E>,
  opts: LbfgsOptions,
): AsyncGenerator<MinimizerStep<E>, MinimizerResult, void> {
  checkStart(x0, opts);
  const n = x0.length;
  const b = opts.bounds;
  const m = opts.memory ?? 10;
  const c1 = opts.armijo ?? 1e-4;
  const maxLs = opts.maxLineSearch ?? 20;
  const initialStep = opts.initialStep ?? 1;
  const gtol = opts.gradientTolerance ?? 0;
  const ftol = opts.valueTolerance ?? 0;
  if (!(m >= 1 && Number.isInteger(m))) throw new RangeError(`memory must be an integer ≥ 1, got ${m}`);
  if (!(initialStep > 0)) throw new RangeError(`initialStep must be > 0, got ${initialStep}`);

  let x = like(x0);
  for (let i = 0; i < n; i++) x[i] = clamp(x0[i], b);
  let evaluations = 0;
  const evaluate = async (p: Vector): Promise<E> => {
    const e = await objective(p);
    evaluations++;
    checkEvaluation(e, n);
    return e;
  };
  let ev = await evaluate(x);
  let f = ev.value;
  if (!Number.isFinite(f)) throw new RangeError(`the objective is ${f} at the starting point`);
  const g = like(x);
  g.set(ev.gradient);
  yield { iteration: 0, x, evaluation: ev, evaluations };

  // History, oldest first.
  const S: Vector[] = [];
  const Y: Vector[] = [];
  const rho: number[] = [];
  let gamma = 1;
  const pg = like(x);
  const d = like(x);
  let xt = like(x);
  const alphas = new Float64Array(m);

  for (let k = 1; k <= opts.maxIterations; k++) {
    freeGradient(x, g, b, pg);
    if (maxAbs(pg) <= gtol) return { reason: 'converged', iterations: k - 1, evaluations, value: f, x };

    let accepted: E | undefined;
    let ft = f;
    for (let attempt = 0; attempt < 2 && !accepted; attempt++) {
      let steepest = S.length === 0;
      // Two-loop recursion: d = −H·pg with H₀ = γI.
      d.set(pg);
      for (let j = S.length - 1; j >= 0; j--) {
        alphas[j] = rho[j] * dot(S[j], d);
        const y = Y[j];
        const a = alphas[j];
        for (let i = 0; i < n; i++) d[i] -= a * y[i];
      }
      const scale = steepest ? 1 : gamma;
      for (let i = 0; i < n; i++) d[i] *= scale;
      for (let j = 0; j < S.length; j++) {
        const beta = rho[j] * dot(Y[j], d);
        const s = S[j];
        const c = alphas[j] - beta;
        for (let i = 0; i < n; i++) d[i] += c * s[i];
      }
      for (let i = 0; i < n; i++) d[i] = pg[i] === 0 && b && (x[i] <= b.lower || x[i] >= b.upper) ? 0 : -d[i];
      let slope = dot(pg, d);
      const dNorm = maxAbs(d);
      if (!(slope < 0) || !Number.isFinite(dNorm) || dNorm === 0) {
        // Not a descent direction (round-off, or bounds cutting it): fall back to −pg.
        S.length = 0;
        Y.length = 0;
        rho.length = 0;
        steepest = true;
        for (let i = 0; i < n; i++) d[i] = -pg[i];
        slope = -dot(pg, pg);
      }
      let alpha = S.length === 0 ? initialStep / maxAbs(d) : 1;
      for (let ls = 0; ls < maxLs; ls++) {
        for (let i = 0; i < n; i++) xt[i] = clamp(x[i] + alpha * d[i], b);
        const e = await evaluate(xt);
        ft = e.value;
        // Armijo on the projected path: the predicted decrease is gᵀ(xt − x).
        let predicted = 0;
        for (let i = 0; i < n; i++) predicted += g[i] * (xt[i] - x[i]);
        if (Number.isFinite(ft) && ft <= f + c1 * Math.min(predicted, 0) && ft < f) {
          accepted = e;
          break;
        }
        // Minimiser of the quadratic through f, the slope and ft, kept within [0.1α, 0.5α].
        const q = Number.isFinite(ft) ? (-slope * alpha * alpha) / (2 * (ft - f - slope * alpha)) : 0;
        alpha = Math.min(0.5 * alpha, Math.max(0.1 * alpha, Number.isFinite(q) ? q : 0));
      }
      if (!accepted) {
        if (steepest) return { reason: 'no-progress', iterations: k - 1, evaluations, value: f, x };
        S.length = 0;
        Y.length = 0;
        rho.length = 0; // retry once along the steepest descent
      }
    }
    if (!accepted) return { reason: 'no-progress', iterations: k - 1, evaluations, value: f, x };

    // Curvature pair; components that stayed on a bound carry no curvature information.
    const s = S.length === m ? S.shift()! : like(x);
    const y = Y.length === m ? Y.shift()! : like(x);
    if (rho.length === m) rho.shift();
    const gt = accepted.gradient;
    for (let i = 0; i < n; i++) {
      const si = xt[i] - x[i];
      s[i] = si;
      y[i] = si === 0 && b && (xt[i] <= b.lower || xt[i] >= b.upper) ? 0 : gt[i] - g[i];
    }
    const sy = dot(s, y);
    const yy = dot(y, y);
    if (sy > 1e-10 * Math.sqrt(dot(s, s) * yy)) {
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
      gamma = sy / yy;
    }
    const fPrev = f;
    [x, xt] = [xt, x];
    f = ft;
    g.set(gt);
    ev = accepted;
    yield { iteration: k, x, evaluation: ev, evaluations };
    if (ftol > 0 && fPrev - f <= ftol * Math.max(Math.abs(fPrev), Math.abs(f), 1e-300)) {
      return { reason: 'converged', iterations: k, evaluations, value: f, x };
    }
  }
  return { reason: 'iterations', iterations: opts.maxIterations, evaluations, value: f, x };
}

/** Adam with bias correction; with bounds the point is clipped after each update (projected Adam). */
export async function* adam<E extends Evaluation>(
  x0: Vector,
  objective: Objective<E>,
  opts: AdamOptions,
): AsyncGenerator<MinimizerStep<E>, MinimizerResult, void> {
  checkStart(x0, opts);
  const n = x0.length;
  const b = opts.bounds;
  const lr = opts.learningRate ?? 1;
  const beta1 = opts.beta1 ?? 0.9;
  const beta2 = opts.beta2 ?? 0.999;
  const eps = opts.epsilon ?? 1e-8;
  const gtol = opts.gradientTolerance ?? 0;
  if (!(lr > 0)) throw new RangeError(`learningRate must be > 0, got ${lr}`);
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1))
    throw new RangeError(`beta1 and beta2 must be in [0, 1), got ${beta1}, ${beta2}`);

  const x = like(x0);
  for (let i = 0; i < n; i++) x[i] = clamp(x0[i], b);
  const mom = new Float32Array(n);
  const vel = new Float32Array(n);
  const pg = like(x);
  let evaluations = 0;
  let ev = await objective(x);
  evaluations++;
  checkEvaluation(ev, n);
  if (!Number.isFinite(ev.value)) throw new RangeError(`the objective is ${ev.value} at the starting point`);
  yield { iteration: 0, x, evaluation: ev, evaluations };
  for (let k = 1; k <= opts.maxIterations; k++) {
    freeGradient(x, ev.gradient, b, pg);
    if (maxAbs(pg) <= gtol) return { reason: 'converged', iterations: k - 1, evaluations, value: ev.value, x };
    const step = (lr * Math.sqrt(1 - beta2 ** k)) / (1 - beta1 ** k);
    for (let i = 0; i < n; i++) {
      const gi = pg[i];
      mom[i] = beta1 * mom[i] + (1 - beta1) * gi;
      vel[i] = beta2 * vel[i] + (1 - beta2) * gi * gi;
      x[i] = clamp(x[i] - (step * mom[i]) / (Math.sqrt(vel[i]) + eps), b);
    }
    ev = await objective(x);
    evaluations++;
    checkEvaluation(ev, n);
    if (!Number.isFinite(ev.value))
      throw new RangeError(`the objective became ${ev.value} at iteration ${k}; try a smaller learning rate`);
    yield { iteration: k, x, evaluation: ev, evaluations };
  }
  return { reason: 'iterations', iterations: opts.maxIterations, evaluations, value: ev.value, x };
}
