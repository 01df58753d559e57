// Instance norm (+ optional ReLU) as one op with a hand-written gradient.
//
// Written with tf.moments and broadcasting ops, instance norm leaves nine full-size
// tensors per layer on the gradient tape (a cast copy, the centred input, its square, the
// normalised input, the scaled one, the shifted one, the ReLU output…) and its backward
// pass is some twenty broadcasting ops and reductions. This op keeps two full-size tensors
// (the normalised input and the output) and computes the standard closed form:
//   x̂ = (x − μ)·r,  r = 1/√(σ² + ε),  y = act(γ·x̂ + β)
//   dβ = Σ dpre,  dγ = Σ dpre·x̂  (over batch, H, W),  dx̂ = dpre·γ
//   dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))  (means per image and channel over H×W)
// where dpre = dy·[y > 0] for ReLU. Same values as the composite form, on every backend.
import { tf, type Tensor, type Tensor4D } from './tf';
import { INSTANCE_NORM_EPSILON } from './architecture';

export type NormActivation = 'none' | 'relu';

/**
 * act(scale · (x − mean) / √(var + ε) + shift) with mean and (biased) variance per image
 * and channel over H×W. `x` is NHWC; `shift` and `scale` have one value per channel.
 */
export function instanceNorm(
  x: Tensor4D,
  shift: Tensor,
  scale: Tensor,
  activation: NormActivation = 'none',
  epsilon = INSTANCE_NORM_EPSILON,
): Tensor4D {
  const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const [input, beta, gamma] = args as Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const mean = tf.mean(input, [1, 2], true);
    const centred = tf.sub(input, mean);
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), [1, 2], true), epsilon));
    const xhat = tf.mul(centred, rstd);
    const pre = tf.add(tf.mul(xhat, gamma), beta);
    const value = activation === 'relu' ? tf.relu(pre) : pre;
    save([xhat, rstd, gamma, value]);
    return {
      value,
      // tfjs runs a custom gradient outside any tidy scope of its own and keeps what it
      // creates until the whole backward pass ends: free the intermediates here.
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => {
          const [sxhat, srstd, sgamma, sy] = saved;
          const dpre = activation === 'relu' ? tf.mul(dy, tf.step(sy)) : dy;
          const dbeta = tf.reshape(tf.sum(dpre, [0, 1, 2]), beta.shape);
          const dgamma = tf.reshape(tf.sum(tf.mul(dpre, sxhat), [0, 1, 2]), gamma.shape);
          const dxhat = tf.mul(dpre, sgamma);
          const meanD = tf.mean(dxhat, [1, 2], true);
          const meanDX = tf.mean(tf.mul(dxhat, sxhat), [1, 2], true);
          const dx = tf.mul(tf.sub(tf.sub(dxhat, meanD), tf.mul(sxhat, meanDX)), srstd);
          return [dx, dbeta, dgamma];
        }),
    };
  });
  return op(x, shift, scale) as Tensor4D;
}
