// The instance norms of the fast graph (onnxFast.ts) in the two forms onnxNormStats.ts gives
// the core export, built at export time (the fast graph's blocked layers hide the plain
// InstanceNormalization pattern that file rewrites):
// - 'outputs': each norm computed step by step from the per-channel mean and biased variance
//   of its input, which are also graph outputs (the image output is the plain graph's);
// - 'inputs': the mean and variance are graph inputs of a BatchNormalization (the affine map
//   an instance norm is with fixed statistics) in place of each InstanceNormalization.
// A blocked conv's output channels are CRD ordered (logical channel c owns channels
// c·k … c·k + k − 1, k = b²), so a [1, C, k·h·w] view has the per-channel statistics.
import { onnx } from 'onnx-proto';
import { INSTANCE_NORM_EPSILON } from '../architecture';
import { addEpsilon, normStatsValueName, statsValueInfo } from './onnxNormStats';
import { int, int64Tensor, ints, node } from './onnxOps';

export type FastNormStats = 'outputs' | 'inputs';

const A = onnx.AttributeProto.AttributeType;

export interface NormGraph {
  readonly nodes: onnx.INodeProto[];
  readonly initializer: onnx.ITensorProto[];
  /** Graph inputs (folded form) or outputs (measured form) of the statistics. */
  readonly statsValues: onnx.IValueInfoProto[];
}

function statsValues(layer: string, channels: number): onnx.IValueInfoProto[] {
  return (['mean', 'variance'] as const).map((w) => statsValueInfo(normStatsValueName(layer, w), channels));
}

/**
 * Layer `layer`'s norm of `x` ([1, C·k, h, w]) with the statistics inputs, written to `out`:
 * one BatchNormalization (inference form: a per-channel affine from given statistics) on a
 * [1, C, k·h·w] view. Not folded into the conv's filters: filters computed at run time keep
 * ONNX Runtime from its blocked (NCHWc) conv kernels, which made the graph 2× slower.
 */
export function givenNorm(g: NormGraph, layer: string, channels: number, x: string, out: string): void {
  const p = `norm_stats/${layer}`;
  g.initializer.push(int64Tensor(`${p}/view_shape`, [1, channels, -1]));
  g.nodes.push(
    node('Reshape', `${p}/view`, [x, `${p}/view_shape`], [`${p}/view`]),
    node(
      'BatchNormalization',
      `${p}/normalized`,
      [
        `${p}/view`,
        `${layer}/scale`,
        `${layer}/shift`,
        normStatsValueName(layer, 'mean'),
        normStatsValueName(layer, 'variance'),
      ],
      [`${p}/normalized`],
      [{ name: 'epsilon', type: A.FLOAT, f: INSTANCE_NORM_EPSILON }],
    ),
    node('Shape', `${p}/x_shape`, [x], [`${p}/x_shape`]),
    node('Reshape', `${p}/out`, [`${p}/normalized`, `${p}/x_shape`], [out]),
  );
  g.statsValues.push(...statsValues(layer, channels));
}

/**
 * Layer `layer`'s norm of `x` ([1, C·k, h, w], k channels per logical one) written to `out`,
 * step by step from the statistics it also outputs. Centred before squaring (E[x²] − E[x]²
 * cancels badly in float32), on a [1, C, k·h·w] view that has the per-channel statistics.
 */
export function measuredNorm(g: NormGraph, layer: string, channels: number, x: string, out: string): void {
  const p = `norm_stats/${layer}`;
  const eps = addEpsilon(g.initializer);
  const reduce = (op: string, name: string, input: string, output: string, axes: number[], keep: 0 | 1) =>
    node(op, name, [input], [output], [ints('axes', axes), int('keepdims', keep)]);
  g.initializer.push(
    int64Tensor(`${p}/view_shape`, [1, channels, -1]),
    int64Tensor(`${p}/channel_shape`, [1, channels, 1]),
    int64Tensor(`${p}/flat_shape`, [-1]),
    int64Tensor(`${p}/count_axis`, [2]),
  );
  const mean = normStatsValueName(layer, 'mean');
  const variance = normStatsValueName(layer, 'variance');
  g.nodes.push(
    node('Reshape', `${p}/view`, [x, `${p}/view_shape`], [`${p}/view`]),
    reduce('ReduceMean', `${p}/mean_op`, `${p}/view`, `${p}/mean_kept`, [2], 1),
    node('Sub', `${p}/centred`, [`${p}/view`, `${p}/mean_kept`], [`${p}/centred`]),
    reduce('ReduceSumSquare', `${p}/sum_squares`, `${p}/centred`, `${p}/sum_squares`, [0, 2], 0),
    node('Shape', `${p}/shape`, [`${p}/view`], [`${p}/shape`]),
    node('Gather', `${p}/count_int`, [`${p}/shape`, `${p}/count_axis`], [`${p}/count_int`], [int('axis', 0)]),
    node('Cast', `${p}/count`, [`${p}/count_int`], [`${p}/count`], [int('to', onnx.TensorProto.DataType.FLOAT)]),
    node('Div', `${p}/variance_op`, [`${p}/sum_squares`, `${p}/count`], [variance]),
    node('Reshape', `${p}/mean_flat`, [`${p}/mean_kept`, `${p}/flat_shape`], [mean]),
    node('Add', `${p}/variance_eps`, [variance, eps], [`${p}/variance_eps`]),
    node('Sqrt', `${p}/std`, [`${p}/variance_eps`], [`${p}/std`]),
    node('Div', `${p}/gain`, [`${layer}/scale`, `${p}/std`], [`${p}/gain`]),
    node('Reshape', `${p}/gain_view`, [`${p}/gain`, `${p}/channel_shape`], [`${p}/gain_view`]),
    node('Reshape', `${p}/shift_view`, [`${layer}/shift`, `${p}/channel_shape`], [`${p}/shift_view`]),
    node('Mul', `${p}/scaled`, [`${p}/centred`, `${p}/gain_view`], [`${p}/scaled`]),
    node('Add', `${p}/normalized`, [`${p}/scaled`, `${p}/shift_view`], [`${p}/normalized`]),
    node('Shape', `${p}/x_shape`, [x], [`${p}/x_shape`]),
    node('Reshape', `${p}/out`, [`${p}/normalized`, `${p}/x_shape`], [out]),
  );
  g.statsValues.push(...statsValues(layer, channels));
}
