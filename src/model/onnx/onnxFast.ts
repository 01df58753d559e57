// A faster ONNX graph of the transform network for ONNX Runtime's CPU provider, and its int8
// variant. Same function as onnxExport.ts's core graph (same input/output names, shapes and
// size multiple), different structure:
//
// - Full-resolution activations after the upsampling layers are kept "space-to-depth" (a
//   block of b×b pixels as b² channels, CRD order: channel c·b² + y·b + x), so the last 9×9
//   conv with 3 output channels becomes a 5×5 conv with 12 — MLAS's blocked (NCHWc) kernels
//   waste most of their work on 3 output channels (measured: 17 % of a 1024² run for 6 % of
//   the multiply-adds). Every conv is rewritten for its input/output block sizes
//   (blockConvWeights); instance norm runs on a reshaped view ([1, C, b²·h·w]), which has the
//   same per-channel statistics.
// - Transposed convs whose input is quantized, and nearest-upsampling convs, become ordinary
//   convs on the input grid that compute all output phases at once (sub-pixel convolution).
// - Optionally (`int8`), chosen layers run as QDQ-wrapped convs that ONNX Runtime fuses into
//   QLinearConv (u8 activations, per-channel s8 weights, VNNI kernels). Two exact rewrites
//   keep the error down (see int8Plan.ts): per-channel equalization of activations and a
//   per-channel affine folded into each quantized conv so that its output uses the full
//   8-bit range before the instance norm (which removes any per-channel affine again).
import { onnx } from 'onnx-proto';
import {
  INSTANCE_NORM_EPSILON,
  SIZE_MULTIPLE,
  borderPadding,
  layerSpecs,
  type TransformNetArchitecture,
  type WeightMap,
} from '../architecture';
import {
  ONNX_INPUT_NAME,
  ONNX_OUTPUT_NAME,
  ONNX_METADATA_KEYS,
  DEFAULT_OPSET,
  checkedForExport,
  deconvWeightToOnnx,
  outputScalars,
  stridedConvPadding,
} from './onnxExport';
import { StyleTransferError } from '../../protocol/errors';
import { givenNorm, measuredNorm, type FastNormStats, type NormGraph } from './onnxFastNorm';
import { NORM_STATS_METADATA_KEYS } from './onnxNormStats';
import { byteTensor, float, floatTensor, int, int32Tensor, int64Tensor, ints, node, str } from './onnxOps';
import { blockConvWeights, defaultBlocks, quantizeWeightsPerChannel, uint8Params, type Range } from './onnxFastWeights';

/** Bump when the fast graph changes, so cached files are rebuilt (2: sub-pixel transposed convs in fp32). */
export const FAST_GRAPH_VERSION = 3; // 3: 'zero' border padding

const T = onnx.TensorProto.DataType;

/** How one layer runs in int8 (ranges after equalization). */
export interface LayerQuantization {
  /** Per-tensor uint8 range of the layer's input activation. */
  readonly input: Range;
  /** Per output channel range of the conv result (before the norm), mapped onto the 8-bit range. */
  readonly output: readonly Range[];
}

export interface FastGraphOptions {
  /**
   * Space-to-depth block of each layer's output activation, by layer name; missing layers get
   * defaultBlocks(arch). The input image's block is the first layer's input block, `inputBlock`.
   */
  readonly blocks?: Readonly<Record<string, number>>;
  readonly inputBlock?: number;
  /** Run transposed convs as sub-pixel convs (+ DepthToSpace) even in fp32. Default false. */
  readonly deconvAsConv?: boolean;
  /** Layers to run in int8, with their ranges; weights must be the equalized ones. */
  readonly int8?: Readonly<Record<string, LayerQuantization>>;
  readonly opset?: number;
  /**
   * The norm-statistics variants of onnxNormStats.ts for this graph (fp32 only): statistics as
   * extra outputs, or as inputs folded into the convolutions (onnxFastNorm.ts).
   */
  readonly normStats?: FastNormStats;
  readonly weightsSha256?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

// ---- Graph building ----

/** The conv result of a quantized layer spans ±FOLD_HALF_RANGE: uint8 with scale 1 and zero point 128. */
const FOLD_HALF_RANGE = 127.5;

/**
 * Encodes the fast graph. Input "input" float32 [1, 3, H, W] RGB 0..255 with H and W multiples
 * of SIZE_MULTIPLE; output "output" of the same shape (tanh·150 + 127.5, unclamped) — the
 * contract of the core export, including its 'zero' border padding form (any H and W in,
 * 4·⌈H/4⌉ × 4·⌈W/4⌉ out). Batch 1 only (the engine runs one image at a time).
 */
export function exportFastTransformNet(
  arch: TransformNetArchitecture,
  weights: WeightMap,
  opts: FastGraphOptions = {},
): Uint8Array {
  arch = checkedForExport(arch, weights);
  const layers = layerSpecs(arch);
  const blocks = { ...defaultBlocks(arch), ...(opts.blocks ?? {}) };
  const inputBlock = opts.inputBlock ?? 1;
  const padding = borderPadding(arch);
  if (padding === 'zero') {
    // Any input size: the layers down to the first upsampling must run on plain grids (a
    // block grid needs sizes divisible by its block), with TensorFlow SAME (SAME_UPPER) strides.
    const firstUp = layers.findIndex((l) => l.kind !== 'conv');
    const blocked = layers
      .slice(0, firstUp)
      .filter((l) => (blocks[l.name] ?? 1) !== 1)
      .map((l) => l.name);
    if (inputBlock !== 1 || blocked.length) {
      throw new StyleTransferError(
        'bad-input',
        `'zero' border padding needs block 1 for the input and ${layers
          .slice(0, firstUp)
          .map((l) => l.name)
          .join(', ')} (got input ${inputBlock}${blocked.length ? `, ${blocked.join(', ')} blocked` : ''})`,
      );
    }
  }
  const int8 = opts.int8 ?? {};
  for (const name of Object.keys(int8)) {
    if (!layers.some((l) => l.name === name))
      throw new StyleTransferError('bad-input', `int8: no layer "${name}" in this architecture`);
  }
  if (opts.normStats && Object.keys(int8).length)
    throw new StyleTransferError('bad-input', 'norm-statistics variants of the fast graph are fp32 only');
  const initializer: onnx.ITensorProto[] = [];
  const nodes: onnx.INodeProto[] = [];
  const normGraph: NormGraph = { nodes, initializer, statsValues: [] };
  const outputs = new Map<string, { name: string; block: number }>();

  let cur = ONNX_INPUT_NAME;
  let curBlock = 1;
  if (inputBlock > 1) {
    nodes.push(node('SpaceToDepth', 'input/space_to_depth', [cur], ['input/blocks'], [int('blocksize', inputBlock)]));
    cur = 'input/blocks';
    curBlock = inputBlock;
  }
  let inOrder: 'crd' | 'dcr' = inputBlock > 1 ? 'dcr' : 'crd';
  initializer.push(int64Tensor('norm/shape', [0, 0, -1]));

  for (const [index, l] of layers.entries()) {
    const p = l.name;
    const q = int8[p];
    const bOut = blocks[p] ?? 1;
    const w = weights.get(`${p}/weight`)!;
    const scale = weights.get(`${p}/scale`)!,
      shift = weights.get(`${p}/shift`)!;

    // The conv's input: quantize-dequantize when the layer runs in int8.
    let convInput = cur;
    let xq: { scale: number; zeroPoint: number } | undefined;
    if (q) {
      xq = uint8Params(q.input);
      initializer.push(
        floatTensor(`${p}/x_scale`, [], [xq.scale]),
        byteTensor(`${p}/x_zero`, [], T.UINT8, [xq.zeroPoint]),
      );
      nodes.push(node('QuantizeLinear', `${p}/x_quantize`, [cur, `${p}/x_scale`, `${p}/x_zero`], [`${p}/xq`]));
      nodes.push(
        node('DequantizeLinear', `${p}/x_dequantize`, [`${p}/xq`, `${p}/x_scale`, `${p}/x_zero`], [`${p}/xdq`]),
      );
      convInput = `${p}/xdq`;
    }

    const conv = `${p}/conv`;
    // A transposed conv runs natively when nothing forces the block form (no int8, same blocks).
    const nativeDeconv = l.kind === 'deconv' && !q && !opts.deconvAsConv && curBlock === 1 && bOut === 1;
    // Otherwise it computes all s² phases at once; back to block 1 with DepthToSpace after.
    const convBlock = l.kind === 'conv' ? bOut : nativeDeconv ? 1 : l.stride * curBlock;
    if (l.kind !== 'conv' && !nativeDeconv && bOut !== convBlock && bOut !== 1) {
      throw new StyleTransferError(
        'bad-input',
        `layer ${p}: output block ${bOut} is not supported (use ${convBlock} or 1)`,
      );
    }
    let convOut = conv;
    let convChannels: number;
    if (nativeDeconv) {
      const [kh, kw] = [l.kernel, l.kernel];
      initializer.push(
        floatTensor(
          `${p}/weight`,
          [l.inChannels, l.outChannels, kh, kw],
          deconvWeightToOnnx(w, kh, kw, l.outChannels, l.inChannels),
        ),
      );
      const before = Math.floor(Math.max(l.kernel - l.stride, 0) / 2),
        after = Math.max(l.kernel - l.stride, 0) - before;
      nodes.push(
        node(
          'ConvTranspose',
          conv,
          [convInput, `${p}/weight`],
          [conv],
          [
            ints('kernel_shape', [kh, kw]),
            ints('strides', [l.stride, l.stride]),
            ints('dilations', [1, 1]),
            int('group', 1),
            ints('pads', [before, before, after, after]),
            ints('output_padding', [0, 0]),
          ],
        ),
      );
      convChannels = l.outChannels;
    } else {
      const bc = blockConvWeights(l, w, curBlock, convBlock, inOrder);
      const perLogical = convBlock * convBlock;
      // A strided conv on plain grids is the layer itself: 'zero' padding runs it as TF SAME for any size.
      const pads =
        l.kind === 'conv' && curBlock === 1 && convBlock === 1
          ? stridedConvPadding(padding, l.kernel, l.stride)
          : ints('pads', bc.pads);
      const attrs = [
        ints('kernel_shape', [bc.dims[2], bc.dims[3]]),
        ints('strides', [bc.stride, bc.stride]),
        ints('dilations', [1, 1]),
        int('group', 1),
        pads,
      ];
      convChannels = bc.dims[0];
      if (q) {
        if (q.output.length !== l.outChannels)
          throw new StyleTransferError(
            'bad-input',
            `int8 ${p}: ${q.output.length} output ranges for ${l.outChannels} channels`,
          );
        // Fold a per-channel affine so each channel spans ±FOLD_HALF_RANGE (the norm undoes it).
        const wf = Float32Array.from(bc.weight);
        const inner = wf.length / convChannels;
        const bias = new Float32Array(convChannels);
        for (let oc = 0; oc < convChannels; oc++) {
          const r = q.output[Math.floor(oc / perLogical)];
          const a = FOLD_HALF_RANGE / Math.max((r.max - r.min) / 2, 1e-6);
          bias[oc] = (-a * (r.max + r.min)) / 2;
          for (let i = oc * inner; i < (oc + 1) * inner; i++) wf[i] *= a;
        }
        const { q: wq, scales } = quantizeWeightsPerChannel(wf, convChannels);
        initializer.push(
          byteTensor(`${p}/weight_q`, bc.dims, T.INT8, wq),
          floatTensor(`${p}/weight_scale`, [convChannels], scales),
          byteTensor(`${p}/weight_zero`, [convChannels], T.INT8, new Int8Array(convChannels)),
          int32Tensor(
            `${p}/bias_q`,
            [convChannels],
            Array.from(bias, (b, oc) => Math.round(b / (xq!.scale * scales[oc]))),
          ),
          floatTensor(
            `${p}/bias_scale`,
            [convChannels],
            scales.map((s) => s * xq!.scale),
          ),
          floatTensor(`${p}/y_scale`, [], [1]),
          byteTensor(`${p}/y_zero`, [], T.UINT8, [128]),
        );
        nodes.push(
          node(
            'DequantizeLinear',
            `${p}/weight_dequantize`,
            [`${p}/weight_q`, `${p}/weight_scale`, `${p}/weight_zero`],
            [`${p}/weight`],
            [int('axis', 0)],
          ),
          node(
            'DequantizeLinear',
            `${p}/bias_dequantize`,
            [`${p}/bias_q`, `${p}/bias_scale`],
            [`${p}/bias`],
            [int('axis', 0)],
          ),
          node('Conv', conv, [convInput, `${p}/weight`, `${p}/bias`], [`${p}/conv_float`], attrs),
          node('QuantizeLinear', `${p}/y_quantize`, [`${p}/conv_float`, `${p}/y_scale`, `${p}/y_zero`], [`${p}/yq`]),
        );
        let yq = `${p}/yq`;
        if (convBlock !== bOut) {
          // Reorder phases while they are one byte each.
          nodes.push(
            node(
              'DepthToSpace',
              `${p}/phases_to_space`,
              [yq],
              [`${p}/yq_space`],
              [int('blocksize', convBlock), str('mode', 'CRD')],
            ),
          );
          yq = `${p}/yq_space`;
          convChannels = l.outChannels;
        }
        nodes.push(
          node('DequantizeLinear', `${p}/y_dequantize`, [yq, `${p}/y_scale`, `${p}/y_zero`], [`${p}/conv_dq`]),
        );
        convOut = `${p}/conv_dq`;
      } else {
        initializer.push(floatTensor(`${p}/weight`, bc.dims, bc.weight));
        nodes.push(node('Conv', conv, [convInput, `${p}/weight`], [conv], attrs));
        if (convBlock !== bOut) {
          nodes.push(
            node(
              'DepthToSpace',
              `${p}/phases_to_space`,
              [conv],
              [`${p}/conv_space`],
              [int('blocksize', convBlock), str('mode', 'CRD')],
            ),
          );
          convOut = `${p}/conv_space`;
          convChannels = l.outChannels;
        }
      }
    }

    // Instance norm per logical channel: on a [1, C, b²·h·w] view when the layout is blocked.
    initializer.push(
      floatTensor(`${p}/scale`, [l.outChannels], scale),
      floatTensor(`${p}/shift`, [l.outChannels], shift),
    );
    const norm = `${p}/norm`;
    let normIn = convOut;
    if (opts.normStats === 'inputs') {
      givenNorm(normGraph, p, l.outChannels, convOut, norm);
    } else if (opts.normStats === 'outputs') {
      measuredNorm(normGraph, p, l.outChannels, convOut, norm);
    } else if (bOut > 1) {
      initializer.push(int64Tensor(`${p}/norm_shape`, [1, l.outChannels, -1]));
      nodes.push(node('Reshape', `${p}/to_channels`, [convOut, `${p}/norm_shape`], [`${p}/channels`]));
      normIn = `${p}/channels`;
    }
    const normed = bOut > 1 ? `${p}/normed` : norm;
    if (!opts.normStats)
      nodes.push(
        node(
          'InstanceNormalization',
          `${p}/norm_channels`,
          [normIn, `${p}/scale`, `${p}/shift`],
          [normed],
          [float('epsilon', INSTANCE_NORM_EPSILON)],
        ),
      );
    if (bOut > 1 && !opts.normStats) {
      nodes.push(
        node('Shape', `${p}/block_shape`, [convOut], [`${p}/block_shape`]),
        node('Reshape', `${p}/to_blocks`, [normed, `${p}/block_shape`], [norm]),
      );
    }
    let out = norm;
    if (l.residualFrom) {
      const from = outputs.get(l.residualFrom)!;
      if (from.block !== bOut)
        throw new StyleTransferError('bad-input', `layer ${p}: residual input block ${from.block} ≠ ${bOut}`);
      nodes.push(node('Add', `${p}/residual`, [out, from.name], [`${p}/residual`]));
      out = `${p}/residual`;
    }
    if (l.activation === 'relu') {
      nodes.push(node('Relu', `${p}/relu`, [out], [`${p}/relu`]));
      out = `${p}/relu`;
    } else if (l.activation === 'tanh') {
      if (!initializer.some((t) => t.name === 'output_scale')) initializer.push(...outputScalars(arch));
      nodes.push(
        node('Tanh', `${p}/tanh`, [out], [`${p}/tanh`]),
        node('Mul', `${p}/scale_output`, [`${p}/tanh`, 'output_scale'], [`${p}/scaled`]),
        node('Add', `${p}/offset_output`, [`${p}/scaled`, 'output_offset'], [`${p}/offset`]),
      );
      out = `${p}/offset`;
    }
    if (index === layers.length - 1 && bOut > 1) {
      nodes.push(
        node(
          'DepthToSpace',
          'output/blocks_to_space',
          [out],
          ['output/space'],
          [int('blocksize', bOut), str('mode', 'CRD')],
        ),
      );
      out = 'output/space';
    }
    outputs.set(p, { name: out, block: bOut });
    cur = out;
    curBlock = bOut;
    inOrder = 'crd';
  }
  // Name the last value "output".
  const last = nodes[nodes.length - 1];
  const finalName = last.output![0];
  last.output = [ONNX_OUTPUT_NAME];
  for (const n of nodes) n.input = n.input!.map((v) => (v === finalName ? ONNX_OUTPUT_NAME : v));
  // The shared reshape constant is unused when no layer is blocked.
  const used = new Set(nodes.flatMap((n) => n.input!));
  const inits = initializer.filter((t) => used.has(t.name!));

  const image = (name: string, doc: string): onnx.IValueInfoProto => ({
    name,
    docString: doc,
    type: {
      tensorType: {
        elemType: T.FLOAT,
        shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }, { dimParam: 'height' }, { dimParam: 'width' }] },
      },
    },
  });
  const quantized = Object.keys(int8);
  const metadata: Record<string, string> = {
    [ONNX_METADATA_KEYS.format]: 'fast-style-transfer/johnson2016',
    [ONNX_METADATA_KEYS.architecture]: JSON.stringify(arch),
    [ONNX_METADATA_KEYS.exporterVersion]: `fast-${FAST_GRAPH_VERSION}`,
    [ONNX_METADATA_KEYS.sizeMultiple]: String(SIZE_MULTIPLE),
    [ONNX_METADATA_KEYS.selfContained]: 'false',
    'fst.precision': quantized.length ? 'int8' : 'fp32',
    'fst.int8_layers': quantized.join(','),
    ...(opts.weightsSha256 ? { [ONNX_METADATA_KEYS.weightsSha256]: opts.weightsSha256 } : {}),
    ...(opts.normStats ? { [NORM_STATS_METADATA_KEYS[opts.normStats]]: layers.map((l) => l.name).join(',') } : {}),
    ...(opts.metadata ?? {}),
  };
  const model: onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: opts.opset ?? DEFAULT_OPSET }],
    producerName: 'fast-style-transfer',
    domain: 'fast-style-transfer',
    modelVersion: FAST_GRAPH_VERSION,
    docString:
      'Fast neural style transfer, restructured for ONNX Runtime CPU (blocked full-resolution layers' +
      (quantized.length ? `; int8 layers ${quantized.join(', ')}` : '') +
      ').',
    graph: {
      name: 'fast_style_transfer_fast',
      input: [
        ...(opts.normStats === 'inputs' ? normGraph.statsValues : []),
        image(
          ONNX_INPUT_NAME,
          `RGB image, float32 0..255, NCHW, batch 1; ${padding === 'zero' ? `any height and width (output ${SIZE_MULTIPLE}·⌈H/${SIZE_MULTIPLE}⌉ × ${SIZE_MULTIPLE}·⌈W/${SIZE_MULTIPLE}⌉: crop the rows/columns before the image)` : `height and width multiples of ${SIZE_MULTIPLE}`}`,
        ),
      ],
      output: [
        image(ONNX_OUTPUT_NAME, 'stylized RGB image, float32, NCHW, unclamped'),
        ...(opts.normStats === 'outputs' ? normGraph.statsValues : []),
      ],
      initializer: inits,
      node: nodes,
    },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** `model` with extra graph outputs (float tensors by name), e.g. for calibration. */
export function withExtraOutputs(model: Uint8Array, names: readonly string[]): Uint8Array {
  const m = onnx.ModelProto.decode(model);
  const known = new Set(m.graph!.node!.flatMap((n) => n.output ?? []));
  for (const name of names) {
    if (!known.has(name)) throw new StyleTransferError('bad-input', `the ONNX graph has no tensor "${name}"`);
    if (!m.graph!.output!.some((o) => o.name === name))
      m.graph!.output!.push({ name, type: { tensorType: { elemType: T.FLOAT } } });
  }
  return onnx.ModelProto.encode(m).finish();
}
