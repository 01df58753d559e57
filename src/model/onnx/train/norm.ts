// Instance norm with learned shift and scale, its activation and (for the second conv of a
// residual block) the residual sum, forward and backward in NCHW — the closed form of
// instanceNorm.ts:
//   x̂ = (x − μ)·r,  r = 1/√(σ² + ε),  pre = γ·x̂ + β (+ residual),  y = act(pre)
//   dβ = Σ dpre,  dγ = Σ dpre·x̂  (over batch, H, W),  dx̂ = dpre·γ
//   dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))  (means per image and channel over H×W)
// act: ReLU (dpre = dy·[y > 0]), none, or the output layer's tanh(pre)·outputScale + 127.5.
import type { GraphBuilder } from './graph';
import type { Shape4 } from './conv';
import { INSTANCE_NORM_EPSILON, OUTPUT_OFFSET, OUTPUT_SCALE, type LayerActivation } from '../../architecture';

export interface NormSaved {
  readonly name: string;
  readonly channels: number;
  readonly activation: LayerActivation;
  readonly xhat: string;
  readonly rstd: string;
  readonly gamma4: string;
  /** The activation's output (ReLU mask) or tanh value (its derivative). */
  readonly act: string;
  /** tanh's multiplier (architecture.ts outputScale). */
  readonly outputScale: number;
  /** The value before the activation (the range loss reads the output layer's). */
  readonly pre: string;
}

/** dy · [y > 0] */
export function reluBackward(g: GraphBuilder, y: string, dy: string, hint?: string): string {
  return g.op('Where', [g.op('Greater', [y, g.scalar(0)]), dy, g.scalar(0)], [], hint);
}

export function normForward(
  g: GraphBuilder,
  name: string,
  x: string,
  [, c]: Shape4,
  shift: string,
  scale: string,
  activation: LayerActivation,
  residual?: string,
  outputScale = OUTPUT_SCALE,
): { y: string; saved: NormSaved } {
  const mean = g.reduceMean(x, [2, 3], true, `${name}/mean`);
  const centred = g.sub(x, mean, `${name}/centred`);
  const variance = g.reduceMean(g.mul(centred, centred), [2, 3], true, `${name}/var`);
  const rstd = g.op(
    'Reciprocal',
    [g.op('Sqrt', [g.add(variance, g.scalar(INSTANCE_NORM_EPSILON))])],
    [],
    `${name}/rstd`,
  );
  const xhat = g.mul(centred, rstd, `${name}/xhat`);
  const gamma4 = g.reshape(scale, [1, c, 1, 1], `${name}/gamma4`);
  let pre = g.add(g.mul(xhat, gamma4), g.reshape(shift, [1, c, 1, 1]), `${name}/pre`);
  if (residual) pre = g.add(pre, residual, `${name}/residual`);
  let y = pre;
  let act = pre;
  if (activation === 'relu') {
    y = act = g.op('Relu', [pre], [], `${name}/relu`);
  } else if (activation === 'tanh') {
    act = g.op('Tanh', [pre], [], `${name}/tanh`);
    y = g.add(g.scale(act, outputScale), g.scalar(OUTPUT_OFFSET), `${name}/out`);
  }
  return { y, saved: { name, channels: c, activation, xhat, rstd, gamma4, act, outputScale, pre } };
}

/**
 * From the gradient of the layer output: the gradient of the norm's input, of shift and scale
 * ([C]), and of the residual input (the gradient after the activation) when there is one.
 */
export function normBackward(
  g: GraphBuilder,
  s: NormSaved,
  dy: string,
  /** A gradient of the pre-activation value from a loss that reads it directly (the range loss). */
  dpreExtra?: string,
): { dx: string; dshift: string; dscale: string; dpre: string } {
  const n = s.name;
  let dpre = dy;
  if (s.activation === 'relu') dpre = reluBackward(g, s.act, dy, `${n}/drelu`);
  else if (s.activation === 'tanh') {
    // d/dpre (tanh·s + 127.5) = s·(1 − tanh²)
    const oneMinus = g.sub(g.scalar(1), g.mul(s.act, s.act));
    dpre = g.mul(g.scale(dy, s.outputScale), oneMinus, `${n}/dtanh`);
  }
  if (dpreExtra) dpre = g.add(dpre, dpreExtra, `${n}/dpre_total`);
  const dshift = g.reduceSum(dpre, [0, 2, 3], false, `${n}/dshift`);
  const dscale = g.reduceSum(g.mul(dpre, s.xhat), [0, 2, 3], false, `${n}/dscale`);
  const dxhat = g.mul(dpre, s.gamma4, `${n}/dxhat`);
  const meanD = g.reduceMean(dxhat, [2, 3], true);
  const meanDX = g.reduceMean(g.mul(dxhat, s.xhat), [2, 3], true);
  const dx = g.mul(g.sub(g.sub(dxhat, meanD), g.mul(s.xhat, meanDX)), s.rstd, `${n}/dnorm`);
  return { dx, dshift, dscale, dpre };
}
