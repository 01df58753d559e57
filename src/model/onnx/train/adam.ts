// One Adam update as elementwise ops, the same float32 operations in the same order as
// adam.ts (bias correction folded into the step size, which the caller computes per step in
// double precision exactly as Adam.apply does and feeds as the scalar `lr`):
//   m' = m·β1 + g·(1 − β1),  v' = v·β2 + g²·(1 − β2),  p' = p − (m'·lr) / (√v' + ε)
import type { GraphBuilder } from './graph';
import type { AdamConfig } from '../../adam';

/** The step size of update number `step` (1-based), as Adam.apply computes it. */
export function adamStepSize(config: AdamConfig, step: number): number {
  return (config.learningRate * Math.sqrt(1 - config.beta2 ** step)) / (1 - config.beta1 ** step);
}

export function adamUpdate(
  g: GraphBuilder,
  name: string,
  p: string,
  grad: string,
  m: string,
  v: string,
  lr: string,
  config: AdamConfig,
): { p: string; m: string; v: string } {
  const { beta1, beta2, epsilon } = config;
  const m2 = g.add(g.scale(m, beta1), g.scale(grad, 1 - beta1), `${name}/m_new`);
  const v2 = g.add(g.scale(v, beta2), g.scale(g.mul(grad, grad), 1 - beta2), `${name}/v_new`);
  const step = g.div(g.mul(m2, lr), g.add(g.op('Sqrt', [v2]), g.scalar(epsilon)));
  return { p: g.sub(p, step, `${name}/p_new`), m: m2, v: v2 };
}
