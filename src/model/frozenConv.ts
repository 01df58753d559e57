// relu(conv2d(x, filter) + bias) for a loss network whose weights are constants.
//
// Under a gradient tape tfjs runs tf.fused.conv2d unfused — conv2d, add, relu — and keeps
// all three full-size outputs for the backward pass, although only the gradient with
// respect to x is ever needed. This op runs the fused kernel (one output) and keeps only
// that output: dx = conv2dTranspose(dy · [y > 0], filter). For VGG19 to relu5_1 that is a
// third of the loss network's tape memory, and one kernel instead of three forward.
import { tf, type Tensor, type Tensor1D, type Tensor4D } from './tf';

export function frozenConv2dRelu(
  x: Tensor4D,
  filter: Tensor4D,
  bias: Tensor1D,
  pad: 'same' | 'valid' = 'same',
): Tensor4D {
  const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    // The kernel directly: the tf.fused.conv2d op would unfuse itself under a tape.
    const value = tf.engine().runKernel('FusedConv2D', { x: input, filter, bias }, {
      strides: [1, 1],
      pad,
      dataFormat: 'NHWC',
      dilations: [1, 1],
      activation: 'relu',
    } as unknown as tf.NamedAttrMap) as Tensor4D;
    save([value]);
    return {
      value,
      // In a tidy: tfjs keeps a custom gradient's intermediates until the backward pass ends.
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => tf.conv2dTranspose(tf.mul(dy, tf.step(saved[0])) as Tensor4D, filter, input.shape, 1, pad)),
    };
  });
  return op(x) as Tensor4D;
}
