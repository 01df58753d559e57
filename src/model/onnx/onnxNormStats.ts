// Two variants of an exported transform network for tiled stylize (normStats.ts), made by
// rewriting the core ONNX graph of onnxExport.ts (so that file stays as it is):
// - statistics outputs: every InstanceNormalization is computed step by step from the
//   per-channel mean and biased variance of its input (over the batch and the image), which
//   are also graph outputs; the image output is the plain model's;
// - external statistics: the mean and variance are graph inputs. With fixed statistics an
//   instance norm is an affine map per channel, y = x·a + b, a = scale / √(variance + ε),
//   b = shift − mean·a, and the convolution before it is linear, so the two fold into one
//   convolution with filters scaled by a and bias b: no full-size tensor beyond the conv's
//   own output (a separate Mul and Add cost ONNX Runtime ~50 % more memory at 1024²).
// The output names of the first are the input names of the second, [C] float each.
import { onnx } from 'onnx-proto';
import { INSTANCE_NORM_EPSILON } from '../architecture';
import { StyleTransferError } from '../../protocol/errors';
import { int, int64Tensor, ints, node, valueInfo } from './onnxOps';

/** metadata_props keys listing the layers (comma-separated) whose statistics are outputs / inputs. */
export const NORM_STATS_METADATA_KEYS = Object.freeze({
  outputs: 'fst.norm_stats_outputs',
  inputs: 'fst.norm_stats_inputs',
});

export interface NormVariantOptions {
  /** Only these layers (default: every instance norm). */
  readonly layers?: readonly string[];
}

/** Graph value name of one layer's statistic (an output of one variant, an input of the other). */
export function normStatsValueName(layer: string, which: 'mean' | 'variance'): string {
  return `norm_stats/${layer}/${which}`;
}
const STATS_VALUE = /^norm_stats\/(.+)\/(mean|variance)$/;

export interface NormLayer {
  /** The layer's name in architecture.ts (its InstanceNormalization node is "<layer>/norm"). */
  readonly layer: string;
  readonly channels: number;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;

export function statsValueInfo(name: string, channels: number): onnx.IValueInfoProto {
  return valueInfo(name, [channels]);
}

function bad(msg: string): StyleTransferError {
  return new StyleTransferError('bad-checkpoint', `ONNX norm-statistics variant: ${msg}`);
}

function opsetOf(model: onnx.IModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain);
  if (!entry) throw bad('the model declares no default-domain opset');
  return Number(entry.version);
}

/** The InstanceNormalization layers of an exported transform network, in graph order. */
export function normLayersOf(model: onnx.IModelProto): NormLayer[] {
  const graph = model.graph;
  if (!graph) throw bad('the model has no graph');
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  return (graph.node ?? [])
    .filter((n) => n.opType === 'InstanceNormalization')
    .map((n) => {
      const m = /^(.+)\/norm$/.exec(n.name ?? '');
      if (!m) throw bad(`unexpected InstanceNormalization node "${n.name}" (not exported by this project)`);
      const scale = inits.get(n.input?.[1] ?? '');
      if (!scale || scale.dims?.length !== 1) throw bad(`the scale of ${n.name} is not a 1-D initializer`);
      return { layer: m[1], channels: Number(scale.dims[0]) };
    });
}

interface Parts {
  model: onnx.ModelProto;
  graph: onnx.IGraphProto;
  nodes: onnx.INodeProto[];
  initializer: onnx.ITensorProto[];
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
}

/** The layer of an InstanceNormalization node "<layer>/norm" (normLayersOf checked the names). */
const layerOf = (n: onnx.INodeProto) => /^(.+)\/norm$/.exec(n.name ?? '')![1];

function decode(bytes: Uint8Array): Parts {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw bad(`not an ONNX model (${(e as Error).message})`);
  }
  const graph = model.graph!;
  graph.node ??= [];
  graph.initializer ??= [];
  graph.input ??= [];
  graph.output ??= [];
  return {
    model,
    graph,
    nodes: graph.node,
    initializer: graph.initializer,
    inputs: graph.input,
    outputs: graph.output,
  };
}

/** The layers to transform: all instance norms still in the graph, or the requested ones (which must be among them). */
function selectLayers(model: onnx.IModelProto, opts: NormVariantOptions, what: string): Set<string> {
  const present = normLayersOf(model).map((l) => l.layer);
  if (present.length === 0) throw bad(`cannot ${what}: the model has no InstanceNormalization left`);
  if (!opts.layers) return new Set(present);
  for (const l of opts.layers)
    if (!present.includes(l)) throw bad(`cannot ${what} of layer "${l}": the model has no instance norm of that name`);
  return new Set(opts.layers);
}

function encode(model: onnx.ModelProto, kind: 'outputs' | 'inputs', layers: Set<string>): Uint8Array {
  const key = NORM_STATS_METADATA_KEYS[kind];
  const props = model.metadataProps ?? [];
  const old = props.find((p) => p.key === key);
  const all = [...(old?.value ? old.value.split(',') : []), ...layers];
  model.metadataProps = [
    ...props.filter((p) => p.key !== key),
    onnx.StringStringEntryProto.create({ key, value: all.join(',') }),
  ];
  return onnx.ModelProto.encode(model).finish();
}

/** The initializer holding the norms' epsilon (added once). */
export function addEpsilon(initializer: onnx.ITensorProto[]): string {
  const name = 'norm_stats/epsilon';
  if (!initializer.some((t) => t.name === name)) {
    const eps = new Uint8Array(4);
    new DataView(eps.buffer).setFloat32(0, INSTANCE_NORM_EPSILON, true);
    initializer.push(onnx.TensorProto.create({ name, dims: [], dataType: FLOAT, rawData: eps }));
  }
  return name;
}

/**
 * The exported network (bytes of onnxExport's model) with extra outputs
 * `norm_stats/<layer>/mean` and `…/variance`, [C] each, for every instance norm: the
 * statistics that layer normalised with. Its image output is the plain model's.
 */
export function withNormStatsOutputs(coreModel: Uint8Array, opts: NormVariantOptions = {}): Uint8Array {
  const { model, graph, nodes: oldNodes, initializer, outputs } = decode(coreModel);
  if (outputs.some((o) => STATS_VALUE.test(o.name ?? ''))) throw bad('the model already outputs norm statistics');
  const selected = selectLayers(model, opts, 'output the statistics');
  const opset = opsetOf(model);
  const layers = new Map(normLayersOf(model).map((l) => [l.layer, l]));
  // Reductions take their axes as an attribute before opset 18 and as an input from 18 on.
  const axesName = 'norm_stats/axes';
  const axes = [0, 2, 3];
  initializer.push(int64Tensor(axesName, axes));
  const reduce = (op: string, name: string, input: string, output: string, keep: 0 | 1) =>
    opset >= 18
      ? node(op, name, [input, axesName], [output], [int('keepdims', keep)])
      : node(op, name, [input], [output], [ints('axes', axes), int('keepdims', keep)]);
  const nodes: onnx.INodeProto[] = [];
  const epsName = addEpsilon(initializer);
  const channelShape = 'norm_stats/channel_shape';
  initializer.push(int64Tensor(channelShape, [1, -1, 1, 1]));
  for (const n of oldNodes) {
    if (n.opType !== 'InstanceNormalization' || !selected.has(layerOf(n))) {
      nodes.push(n);
      continue;
    }
    const layer = layerOf(n);
    const [x, scaleName, shiftName] = n.input ?? [];
    const mean = normStatsValueName(layer, 'mean');
    const variance = normStatsValueName(layer, 'variance');
    const p = `norm_stats/${layer}`;
    // The norm is computed here from the statistics it outputs (not by InstanceNormalization
    // beside them): ONNX Runtime then runs the statistics before the next layer and frees
    // the conv output early; with a separate branch it kept every layer's activations alive
    // (+0.6 GB at 1024²). Centred before squaring (E[x²] − E[x]² cancels badly in float32),
    // squared inside ReduceSumSquare.
    nodes.push(
      reduce('ReduceMean', `${p}/mean_op`, x, `${p}/mean_kept`, 1),
      node('Sub', `${p}/centred`, [x, `${p}/mean_kept`], [`${p}/centred`]),
      reduce('ReduceSumSquare', `${p}/sum_squares`, `${p}/centred`, `${p}/sum_squares`, 0),
      node('Shape', `${p}/shape`, [x], [`${p}/shape`]),
      node('Gather', `${p}/reduced_dims`, [`${p}/shape`, axesName], [`${p}/reduced_dims`], [int('axis', 0)]),
      node('ReduceProd', `${p}/count_int`, [`${p}/reduced_dims`], [`${p}/count_int`], [int('keepdims', 0)]),
      node('Cast', `${p}/count`, [`${p}/count_int`], [`${p}/count`], [int('to', FLOAT)]),
      node('Div', `${p}/variance_op`, [`${p}/sum_squares`, `${p}/count`], [variance]),
      reduce('ReduceMean', `${p}/mean_flat`, `${p}/mean_kept`, mean, 0),
      node('Add', `${p}/variance_eps`, [variance, epsName], [`${p}/variance_eps`]),
      node('Sqrt', `${p}/std`, [`${p}/variance_eps`], [`${p}/std`]),
      node('Div', `${p}/gain`, [scaleName, `${p}/std`], [`${p}/gain`]),
      node('Reshape', `${p}/gain_nchw`, [`${p}/gain`, channelShape], [`${p}/gain_nchw`]),
      node('Reshape', `${p}/shift_nchw`, [shiftName, channelShape], [`${p}/shift_nchw`]),
      node('Mul', `${p}/scaled`, [`${p}/centred`, `${p}/gain_nchw`], [`${p}/scaled`]),
      node('Add', `${p}/normalized`, [`${p}/scaled`, `${p}/shift_nchw`], [n.output![0]]),
    );
    const c = layers.get(layer)!.channels;
    outputs.push(
      onnx.ValueInfoProto.create(statsValueInfo(mean, c)),
      onnx.ValueInfoProto.create(statsValueInfo(variance, c)),
    );
  }
  graph.node = nodes;
  return encode(model, 'outputs', selected);
}

/**
 * The exported network with every instance norm's statistics taken from graph inputs
 * `norm_stats/<layer>/mean` and `…/variance` ([C] each, the same for every image of a batch)
 * instead of computed over the image; each norm is folded into the convolution before it.
 */
export function withExternalNormStats(coreModel: Uint8Array, opts: NormVariantOptions = {}): Uint8Array {
  const { model, graph, nodes: oldNodes, initializer, inputs } = decode(coreModel);
  const selected = selectLayers(model, opts, 'take the statistics');
  const epsName = addEpsilon(initializer);
  const inits = new Map(initializer.map((t) => [t.name ?? '', t]));
  const shapes = { Conv: 'norm_stats/gain_shape_conv', ConvTranspose: 'norm_stats/gain_shape_deconv' } as const;
  // Conv filters are [out, in, kh, kw], ConvTranspose filters [in, out, kh, kw]: the gain scales the output channels.
  if (!inits.has(shapes.Conv))
    initializer.push(int64Tensor(shapes.Conv, [-1, 1, 1, 1]), int64Tensor(shapes.ConvTranspose, [1, -1, 1, 1]));
  const producer = new Map(oldNodes.map((n) => [n.output?.[0] ?? '', n]));
  const consumers = (value: string) =>
    oldNodes.filter((n) => (n.input ?? []).includes(value)).length +
    ((graph.output ?? []).some((o) => o.name === value) ? 1 : 0);
  const folded = new Map<onnx.INodeProto, onnx.INodeProto[]>(); // conv node → its replacement
  const dropped = new Set<onnx.INodeProto>();
  for (const n of oldNodes) {
    if (n.opType !== 'InstanceNormalization' || !selected.has(layerOf(n))) continue;
    const layer = layerOf(n);
    const [x, scaleName, shiftName] = n.input ?? [];
    const conv = producer.get(x);
    if (
      !conv ||
      (conv.opType !== 'Conv' && conv.opType !== 'ConvTranspose') ||
      (conv.input ?? []).length !== 2 ||
      consumers(x) !== 1
    ) {
      throw bad(`${n.name} does not follow a bias-free convolution of its own`);
    }
    const weight = conv.input![1];
    const w = inits.get(weight);
    const c = Number(inits.get(scaleName)?.dims?.[0]);
    if (!w || !inits.has(shiftName) || !(c > 0))
      throw bad(`the weights, scale or shift of ${layer} are not initializers`);
    const mean = normStatsValueName(layer, 'mean');
    const variance = normStatsValueName(layer, 'variance');
    const p = `norm_stats/${layer}`;
    const kind = conv.opType as 'Conv' | 'ConvTranspose';
    folded.set(conv, [
      node('Add', `${p}/variance_eps`, [variance, epsName], [`${p}/variance_eps`]),
      node('Sqrt', `${p}/std`, [`${p}/variance_eps`], [`${p}/std`]),
      node('Div', `${p}/gain`, [scaleName, `${p}/std`], [`${p}/gain`]),
      node('Mul', `${p}/mean_gain`, [mean, `${p}/gain`], [`${p}/mean_gain`]),
      node('Sub', `${p}/bias`, [shiftName, `${p}/mean_gain`], [`${p}/bias`]),
      node('Reshape', `${p}/gain_filter`, [`${p}/gain`, shapes[kind]], [`${p}/gain_filter`]),
      node('Mul', `${p}/weight`, [weight, `${p}/gain_filter`], [`${p}/weight`]),
      // The folded convolution writes the norm's output, so the rest of the graph is untouched.
      onnx.NodeProto.create({ ...conv, input: [conv.input![0], `${p}/weight`, `${p}/bias`], output: [n.output![0]] }),
    ]);
    dropped.add(n);
    inputs.push(
      onnx.ValueInfoProto.create(statsValueInfo(mean, c)),
      onnx.ValueInfoProto.create(statsValueInfo(variance, c)),
    );
  }
  graph.node = oldNodes.flatMap((n) => (dropped.has(n) ? [] : (folded.get(n) ?? [n])));
  return encode(model, 'inputs', selected);
}
