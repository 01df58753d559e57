// Exports the transform network to ONNX (an ONNX ModelProto encoded with onnx-proto), so
// ONNX Runtime can stylize with it. The graph mirrors TransformNet.apply layer by layer,
// from the same `layerSpecs`; only the weight layouts change (tfjs is NHWC, ONNX NCHW).
//
// Two graph flavours:
// - the core graph (default, what the engine caches): input H and W must be multiples of
//   SIZE_MULTIPLE; the caller pads (pixels.ts padToMultiple) and crops. It uses only Conv,
//   ConvTranspose, InstanceNormalization, Relu, Add, Tanh and Mul, which every execution
//   provider implements without shape arithmetic on the host.
// - `selfContained: true` (for users who take the .onnx elsewhere): the graph also pads
//   top/left by reflection to the multiple and crops the result back, so it accepts any
//   size ≥ 3×3 (ONNX reflect padding cannot pad more than size − 1). Input that is already
//   a multiple is padded by 0 and sliced to itself.
// With 'zero' border padding (architecture.ts; imported ml5 networks) the core graph takes any
// size as it is (strided convs use SAME_UPPER) and returns the 4·⌈H/4⌉ × 4·⌈W/4⌉ output the
// reference computes; the caller crops the rows/columns before the image, and a
// self-contained graph crops them itself.
import { onnx } from 'onnx-proto';
import {
  INSTANCE_NORM_EPSILON,
  OUTPUT_OFFSET,
  outputScale,
  SIZE_MULTIPLE,
  borderPadding,
  layerSpecs,
  validateArchitecture,
  validateWeights,
  weightShape,
  type BorderPadding,
  type LayerSpec,
  type TransformNetArchitecture,
  type WeightMap,
} from '../architecture';
import { StyleTransferError } from '../../protocol/errors';
import { float, floatTensor, int, int64Tensor, ints, node, str } from './onnxOps';

/** Bump when the exported graph changes, so cached .onnx files are re-exported. */
export const ONNX_EXPORTER_VERSION = 2; // 2: 'zero' border padding (imported ml5 networks)
export const DEFAULT_OPSET = 17;
/** Opsets whose Pad/Slice/Conv/ConvTranspose/InstanceNormalization signatures this exporter writes. */
export const MIN_OPSET = 13;
export const MAX_OPSET = 21;
/** IR version 8 (ONNX 1.10–1.13): the newest the onnx-proto schema describes, valid for opsets 13–21 in ONNX Runtime. */
const IR_VERSION = 8;

export const ONNX_INPUT_NAME = 'input';
export const ONNX_OUTPUT_NAME = 'output';

/** Op types the core (engine) graph may contain. */
export const CORE_OP_TYPES: readonly string[] = Object.freeze([
  'Conv',
  'ConvTranspose',
  'Resize',
  'InstanceNormalization',
  'Relu',
  'Add',
  'Tanh',
  'Mul',
]);
/** Extra op types of a self-contained graph (dynamic pad and crop). */
export const PADDING_OP_TYPES: readonly string[] = Object.freeze(['Shape', 'Slice', 'Sub', 'Mod', 'Concat', 'Pad']);

/** Metadata keys written into every exported model. */
export const ONNX_METADATA_KEYS = Object.freeze({
  format: 'fst.format',
  architecture: 'fst.architecture',
  exporterVersion: 'fst.exporter_version',
  sizeMultiple: 'fst.size_multiple',
  selfContained: 'fst.self_contained',
  weightsSha256: 'fst.weights_sha256',
});

export interface OnnxExportOptions {
  /** ONNX opset, MIN_OPSET…MAX_OPSET; default 17. */
  opset?: number;
  producerVersion?: string;
  /** Extra metadata_props; keys must not collide with ONNX_METADATA_KEYS. */
  metadata?: Record<string, string>;
  /** SHA-256 (hex) of the weights, recorded in metadata so a file can be traced to its checkpoint. */
  weightsSha256?: string;
  /** Pad and crop inside the graph so it accepts any H×W (see the file comment). Default false. */
  selfContained?: boolean;
  /** Graph name; default "fast_style_transfer". */
  graphName?: string;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** tfjs conv filter [kh, kw, in, out] → ONNX Conv weight [out, in, kh, kw]. */
export function convWeightToOnnx(w: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) {
          out[((o * cin + i) * kh + y) * kw + x] = w[((y * kw + x) * cin + i) * cout + o];
        }
  return out;
}

/** tfjs transposed-conv filter [kh, kw, out, in] → ONNX ConvTranspose weight [in, out, kh, kw]. */
export function deconvWeightToOnnx(w: Float32Array, kh: number, kw: number, cout: number, cin: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let o = 0; o < cout; o++)
        for (let i = 0; i < cin; i++) {
          out[((i * cout + o) * kh + y) * kw + x] = w[((y * kw + x) * cout + o) * cin + i];
        }
  return out;
}

/**
 * TensorFlow SAME padding as explicit ONNX pads [top, left, bottom, right] for an input whose
 * size is divisible by the stride (always true here: the input is a multiple of 4):
 * total = k − stride, the odd pixel after the image.
 */
function samePads(kernel: number, stride: number): number[] {
  const total = Math.max(kernel - stride, 0);
  const before = Math.floor(total / 2);
  const after = total - before;
  return [before, before, after, after];
}

/**
 * A strided conv's padding: explicit pads for sizes divisible by the stride ('reflect' border
 * padding feeds only those), else SAME_UPPER, which is TensorFlow's SAME for every size (the
 * odd pixel after the image, output ⌈n/stride⌉) — 'zero' border padding feeds any size.
 */
export function stridedConvPadding(padding: BorderPadding, kernel: number, stride: number): onnx.IAttributeProto {
  return padding === 'zero' && stride > 1 ? str('auto_pad', 'SAME_UPPER') : ints('pads', samePads(kernel, stride));
}

function layerNodes(
  l: LayerSpec,
  input: string,
  residual: string | undefined,
  padding: BorderPadding,
): { nodes: onnx.INodeProto[]; output: string } {
  const nodes: onnx.INodeProto[] = [];
  const conv = `${l.name}/conv`;
  const attrs = [
    ints('kernel_shape', [l.kernel, l.kernel]),
    ints('strides', [l.stride, l.stride]),
    ints('dilations', [1, 1]),
    int('group', 1),
  ];
  if (l.kind === 'conv') {
    nodes.push(
      node(
        'Conv',
        conv,
        [input, `${l.name}/weight`],
        [conv],
        [...attrs, stridedConvPadding(padding, l.kernel, l.stride)],
      ),
    );
  } else if (l.kind === 'upconv') {
    // Nearest ×stride (asymmetric + floor: output pixel o copies input pixel ⌊o/stride⌋, as the
    // tfjs broadcast does), then a stride-1 SAME conv.
    const up = `${l.name}/upsample`;
    nodes.push(
      node(
        'Resize',
        up,
        [input, '', `upsample_scales_${l.stride}`],
        [up],
        [str('mode', 'nearest'), str('coordinate_transformation_mode', 'asymmetric'), str('nearest_mode', 'floor')],
      ),
    );
    nodes.push(
      node(
        'Conv',
        conv,
        [up, `${l.name}/weight`],
        [conv],
        [
          ints('kernel_shape', [l.kernel, l.kernel]),
          ints('strides', [1, 1]),
          ints('dilations', [1, 1]),
          int('group', 1),
          ints('pads', samePads(l.kernel, 1)),
        ],
      ),
    );
  } else {
    // conv2dTranspose with TF SAME and output = stride × input is the gradient of a SAME
    // conv that pads (k − stride) split before/after; ONNX output size is then
    // stride·(n − 1) + k − pads = stride·n with output_padding 0, for every n.
    nodes.push(
      node(
        'ConvTranspose',
        conv,
        [input, `${l.name}/weight`],
        [conv],
        [...attrs, ints('pads', samePads(l.kernel, l.stride)), ints('output_padding', [0, 0])],
      ),
    );
  }
  const norm = `${l.name}/norm`;
  nodes.push(
    node(
      'InstanceNormalization',
      norm,
      [conv, `${l.name}/scale`, `${l.name}/shift`],
      [norm],
      [float('epsilon', INSTANCE_NORM_EPSILON)],
    ),
  );
  let out = norm;
  if (residual) {
    const add = `${l.name}/residual`;
    nodes.push(node('Add', add, [out, residual], [add]));
    out = add;
  }
  if (l.activation === 'relu') {
    const relu = `${l.name}/relu`;
    nodes.push(node('Relu', relu, [out], [relu]));
    out = relu;
  } else if (l.activation === 'tanh') {
    nodes.push(node('Tanh', `${l.name}/tanh`, [out], [`${l.name}/tanh`]));
    nodes.push(node('Mul', `${l.name}/scale_output`, [`${l.name}/tanh`, 'output_scale'], [`${l.name}/scaled`]));
    nodes.push(node('Add', `${l.name}/offset_output`, [`${l.name}/scaled`, 'output_offset'], [`${l.name}/offset`]));
    out = `${l.name}/offset`;
  }
  return { nodes, output: out };
}

function imageValueInfo(name: string, doc: string): onnx.IValueInfoProto {
  return {
    name,
    docString: doc,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: [{ dimParam: 'batch' }, { dimValue: 3 }, { dimParam: 'height' }, { dimParam: 'width' }] },
      },
    },
  };
}

/**
 * Encodes the transform network as an ONNX model. Input "input" float32 [batch, 3, height,
 * width] RGB 0..255; output "output" of the same shape, tanh·150 + 127.5, unclamped (as
 * TransformNet.apply). Throws StyleTransferError('bad-input') for an unsupported opset,
 * ('bad-checkpoint') for weights that do not fit the architecture.
 */
/** The architecture, checked together with its weights (a mismatch is a 'bad-checkpoint' error). */
export function checkedForExport(arch: TransformNetArchitecture, weights: WeightMap): TransformNetArchitecture {
  try {
    const checked = validateArchitecture(arch);
    validateWeights(weights, checked, 'ONNX export');
    return checked;
  } catch (e) {
    throw new StyleTransferError('bad-checkpoint', (e as Error).message);
  }
}

/** The output layer's scalars 'output_scale' and 'output_offset' (tanh · scale + offset), broadcast against [N, 3, H, W]. */
export function outputScalars(arch: TransformNetArchitecture): onnx.ITensorProto[] {
  return [floatTensor('output_scale', [], [outputScale(arch)]), floatTensor('output_offset', [], [OUTPUT_OFFSET])];
}

export function exportTransformNetToOnnx(
  arch: TransformNetArchitecture,
  weights: WeightMap,
  opts: OnnxExportOptions = {},
): Uint8Array {
  const opset = opts.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new StyleTransferError('bad-input', `ONNX export supports opsets ${MIN_OPSET}–${MAX_OPSET}, not ${opset}`);
  }
  arch = checkedForExport(arch, weights);
  const selfContained = opts.selfContained ?? false;
  const padding = borderPadding(arch);
  const layers = layerSpecs(arch);

  const initializer: onnx.ITensorProto[] = [];
  for (const l of layers) {
    const [kh, kw, a, b] = weightShape(l);
    const w = weights.get(`${l.name}/weight`)!;
    initializer.push(
      l.kind !== 'deconv'
        ? floatTensor(`${l.name}/weight`, [b, a, kh, kw], convWeightToOnnx(w, kh, kw, a, b))
        : floatTensor(`${l.name}/weight`, [b, a, kh, kw], deconvWeightToOnnx(w, kh, kw, a, b)),
    );
    initializer.push(floatTensor(`${l.name}/scale`, [l.outChannels], weights.get(`${l.name}/scale`)!));
    initializer.push(floatTensor(`${l.name}/shift`, [l.outChannels], weights.get(`${l.name}/shift`)!));
  }
  for (const stride of new Set(layers.filter((l) => l.kind === 'upconv').map((l) => l.stride))) {
    initializer.push(floatTensor(`upsample_scales_${stride}`, [4], [1, 1, stride, stride]));
  }
  initializer.push(...outputScalars(arch));

  const nodes: onnx.INodeProto[] = [];
  let current = ONNX_INPUT_NAME;
  let padHW = '';
  if (selfContained) {
    // pad = (m − H mod m) mod m before the image, for H and W; later crop those rows/columns.
    initializer.push(
      int64Tensor('pad/hw_start', [2n]),
      int64Tensor('pad/hw_end', [4n]),
      int64Tensor('pad/axis0', [0n]),
      int64Tensor('pad/multiple', [BigInt(SIZE_MULTIPLE)]),
      int64Tensor('pad/zeros2', [0n, 0n]),
      int64Tensor('pad/zeros4', [0n, 0n, 0n, 0n]),
      int64Tensor('crop/ends', [BigInt('9223372036854775807'), BigInt('9223372036854775807')]),
      int64Tensor('crop/axes', [2n, 3n]),
    );
    padHW = 'pad/amount';
    nodes.push(
      node('Shape', 'pad/shape', [ONNX_INPUT_NAME], ['pad/shape']),
      node('Slice', 'pad/hw', ['pad/shape', 'pad/hw_start', 'pad/hw_end', 'pad/axis0'], ['pad/hw']),
      node('Mod', 'pad/remainder', ['pad/hw', 'pad/multiple'], ['pad/remainder']),
      node('Sub', 'pad/missing', ['pad/multiple', 'pad/remainder'], ['pad/missing']),
      node('Mod', 'pad/amount', ['pad/missing', 'pad/multiple'], [padHW]),
      // ONNX pads: [x1_begin, x2_begin, x3_begin, x4_begin, x1_end, …] = [0, 0, top, left, 0, 0, 0, 0]
    );
    if (padding === 'reflect') {
      nodes.push(
        node('Concat', 'pad/pads', ['pad/zeros2', padHW, 'pad/zeros4'], ['pad/pads'], [int('axis', 0)]),
        node('Pad', 'pad/reflect', [ONNX_INPUT_NAME, 'pad/pads'], ['pad/padded'], [str('mode', 'reflect')]),
      );
      current = 'pad/padded';
    } else {
      // 'zero': the net takes any size itself; its output starts with as many extra rows/columns.
      initializer.splice(
        initializer.findIndex((t) => t.name === 'pad/zeros2'),
        1,
      );
      initializer.splice(
        initializer.findIndex((t) => t.name === 'pad/zeros4'),
        1,
      );
    }
  }
  const outputs = new Map<string, string>();
  for (const l of layers) {
    const { nodes: n, output } = layerNodes(
      l,
      current,
      l.residualFrom ? outputs.get(l.residualFrom) : undefined,
      padding,
    );
    nodes.push(...n);
    outputs.set(l.name, output);
    current = output;
  }
  if (selfContained) {
    nodes.push(node('Slice', 'crop', [current, padHW, 'crop/ends', 'crop/axes'], [ONNX_OUTPUT_NAME]));
  } else {
    // Name the last value "output" by renaming the final node's output.
    const last = nodes[nodes.length - 1];
    const finalName = last.output![0];
    last.output = [ONNX_OUTPUT_NAME];
    for (const n of nodes) n.input = n.input!.map((v) => (v === finalName ? ONNX_OUTPUT_NAME : v));
  }

  const sizeNote =
    padding === 'zero'
      ? selfContained
        ? 'any height and width (TensorFlow SAME zero padding in every conv; the extra rows/columns the network outputs before the image are cropped inside the graph)'
        : `any height and width; the output is ${SIZE_MULTIPLE}·⌈H/${SIZE_MULTIPLE}⌉ × ${SIZE_MULTIPLE}·⌈W/${SIZE_MULTIPLE}⌉, crop the (${SIZE_MULTIPLE} − H mod ${SIZE_MULTIPLE}) mod ${SIZE_MULTIPLE} rows (likewise columns) before the image`
      : selfContained
        ? 'any height and width of at least 3 (padded inside the graph by reflection at the top/left to a multiple of 4 and cropped back)'
        : `height and width multiples of ${SIZE_MULTIPLE} (pad other sizes at the top/left by reflection and crop the output)`;
  const graph: onnx.IGraphProto = {
    name: opts.graphName ?? 'fast_style_transfer',
    docString: `Fast style transfer transform network (Johnson et al. 2016), filters ${arch.filters.join('/')}, ${arch.residualBlocks} residual blocks.`,
    input: [imageValueInfo(ONNX_INPUT_NAME, `RGB image, float32 0..255, NCHW; ${sizeNote}`)],
    output: [
      imageValueInfo(
        ONNX_OUTPUT_NAME,
        `stylized RGB image, float32, NCHW, ${padding === 'zero' && !selfContained ? 'the size above' : 'same size as the input'}, about −22.5..277.5 (unclamped: clamp to 0..255 and round)`,
      ),
    ],
    initializer,
    node: nodes,
  };

  const metadata: Record<string, string> = {
    [ONNX_METADATA_KEYS.format]: 'fast-style-transfer/johnson2016',
    [ONNX_METADATA_KEYS.architecture]: JSON.stringify(arch),
    [ONNX_METADATA_KEYS.exporterVersion]: String(ONNX_EXPORTER_VERSION),
    [ONNX_METADATA_KEYS.sizeMultiple]: String(selfContained ? 1 : SIZE_MULTIPLE),
    [ONNX_METADATA_KEYS.selfContained]: String(selfContained),
  };
  if (opts.weightsSha256) metadata[ONNX_METADATA_KEYS.weightsSha256] = opts.weightsSha256;
  for (const [k, v] of Object.entries(opts.metadata ?? {})) {
    if (k in metadata) throw new StyleTransferError('bad-input', `ONNX export: metadata key "${k}" is reserved`);
    metadata[k] = v;
  }

  const model: onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'fast-style-transfer',
    producerVersion: opts.producerVersion ?? '',
    domain: 'fast-style-transfer',
    modelVersion: ONNX_EXPORTER_VERSION,
    docString: "Fast neural style transfer: a feed-forward network that repaints a photo in one painting's style.",
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Decodes ONNX bytes (for tests and for reading the metadata of a cached or user-supplied model). */
export function decodeOnnxModel(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/** A model's metadata_props as a plain object. */
export function onnxMetadata(model: onnx.IModelProto): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) if (p.key) out[p.key] = p.value ?? '';
  return out;
}
