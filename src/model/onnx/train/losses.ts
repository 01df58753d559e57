// The perceptual losses of losses.ts, forward and backward, in NCHW:
//   content = w_c · mean((F − P)²)                 dF = 2·w_c·(F − P) / N
//   style   = w_s · Σ_l mean((G_l − A_l)²),  G = F·Fᵀ / (H·W·C) per image ([B, C, H·W] F)
//             dG = 2·w_s·(G − A) / (B·C²),  dF = (dG + dGᵀ)·F / (H·W·C)
//   tv      = w_tv · (mean(dx²) + mean(dy²)) of neighbour differences of the output image;
//             each difference d = a − b with gradient g = 2·w_tv·d / N gives +g to a, −g to b.
//   range   = w_r · mean(e²), e = relu(|z| − L) of the output layer's value z before tanh
//             dz = 2·w_r·e·sign(z) / N
import type { GraphBuilder } from './graph';
import { int } from '../onnxOps';
import type { Shape4 } from './conv';

/** Mean of all elements as a scalar (shape []). */
function meanAll(g: GraphBuilder, x: string): string {
  return g.op('ReduceMean', [x], [int('keepdims', 0)]);
}

/** Weighted content loss (scalar) and the gradient of the features. */
export function contentLossGrad(
  g: GraphBuilder,
  f: string,
  target: string,
  shape: Shape4,
  weight: number,
): { loss: string; df: string } {
  const n = shape.reduce((a, b) => a * b, 1);
  const diff = g.sub(f, target, 'content/diff');
  const loss = g.scale(meanAll(g, g.mul(diff, diff)), weight, 'content/loss');
  return { loss, df: g.scale(diff, (2 * weight) / n, 'content/df') };
}

/**
 * Style loss of one layer, weighted: `targetGram` is [1, C, C] (broadcast over the batch) or
 * [B, C, C]. Returns the loss (scalar) and the gradient of the features.
 */
export function styleLayerLossGrad(
  g: GraphBuilder,
  name: string,
  f: string,
  [b, c, h, w]: Shape4,
  targetGram: string,
  weight: number,
): { loss: string; df: string } {
  const norm = 1 / (h * w * c);
  const flat = g.reshape(f, [b, c, h * w], `style/${name}/flat`);
  const gram = g.scale(g.op('MatMul', [flat, g.transpose(flat, [0, 2, 1])]), norm, `style/${name}/gram`);
  const diff = g.sub(gram, targetGram, `style/${name}/diff`);
  const loss = g.scale(meanAll(g, g.mul(diff, diff)), weight, `style/${name}/loss`);
  const dGram = g.scale(diff, (2 * weight) / (b * c * c));
  const sym = g.add(dGram, g.transpose(dGram, [0, 2, 1]));
  const df = g.reshape(g.scale(g.op('MatMul', [sym, flat]), norm), [b, c, h, w], `style/${name}/df`);
  return { loss, df };
}

/** Weighted total-variation loss of the image [B, C, H, W] and its gradient. */
export function tvLossGrad(
  g: GraphBuilder,
  img: string,
  [b, c, h, w]: Shape4,
  weight: number,
): { loss: string; dimg: string } {
  const terms: string[] = [];
  const grads: string[] = [];
  // axis 2: rows (needs h > 1), axis 3: columns (needs w > 1); a 1-pixel axis has no term.
  for (const [axis, len] of [
    [2, h],
    [3, w],
  ] as const) {
    if (len < 2) continue;
    const tail = g.op('Slice', [img, g.int64s([1]), g.int64s([len]), g.int64s([axis])]);
    const head = g.op('Slice', [img, g.int64s([0]), g.int64s([len - 1]), g.int64s([axis])]);
    const d = g.sub(tail, head, `tv/d${axis}`);
    const n = ((b * c * h * w) / len) * (len - 1);
    terms.push(meanAll(g, g.mul(d, d)));
    const gd = g.scale(d, (2 * weight) / n);
    // + gd on rows/columns 1.., − gd on 0..len−2: pad by one before / after along the axis.
    const padBefore = [0, 0, 0, 0, 0, 0, 0, 0];
    const padAfter = [0, 0, 0, 0, 0, 0, 0, 0];
    padBefore[axis] = 1;
    padAfter[4 + axis] = 1;
    grads.push(g.sub(g.op('Pad', [gd, g.int64s(padBefore)]), g.op('Pad', [gd, g.int64s(padAfter)])));
  }
  if (terms.length === 0) return { loss: g.scalar(0), dimg: g.scale(img, 0) };
  const sum = terms.length === 2 ? g.add(terms[0], terms[1]) : terms[0];
  const dimg = grads.length === 2 ? g.add(grads[0], grads[1], 'tv/dimg') : grads[0];
  return { loss: g.scale(sum, weight, 'tv/loss'), dimg };
}

/** Weighted range loss of the output layer's pre-activation `pre` (losses.ts rangeLoss) and its gradient. */
export function rangeLossGrad(
  g: GraphBuilder,
  pre: string,
  shape: Shape4,
  weight: number,
  limit: number,
): { loss: string; dpre: string } {
  const n = shape.reduce((a, b) => a * b, 1);
  const excess = g.op('Relu', [g.sub(g.op('Abs', [pre]), g.scalar(limit))], [], 'range/excess');
  const loss = g.scale(meanAll(g, g.mul(excess, excess)), weight, 'range/loss');
  const dpre = g.mul(g.scale(excess, (2 * weight) / n), g.op('Sign', [pre]), 'range/dpre');
  return { loss, dpre };
}
