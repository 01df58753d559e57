// Forward and backward of the transform net's convolutions in NCHW, weights fed in tfjs
// layout (so parameters, gradients and Adam moments keep the checkpoint layout):
// - conv (TF SAME): dx = ConvTranspose(dy, w) with the forward pads; dw = Conv of the input
//   with dy, batch and channels swapped (each treated as the other), dy dilated by the stride.
// - deconv (conv2dTranspose, TF SAME, output = stride × input): the adjoint of the above, so
//   dx = Conv(dy, w) with the forward pads; dw = Conv of dy with x as the (dilated) kernel.
// - upconv: nearest ×stride (Reshape + Expand), then a stride-1 conv; its backward sums each
//   stride×stride block of the gradient.
import type { GraphBuilder } from './graph';
import { ints, int, str } from '../onnxOps';
import type { LayerSpec } from '../../architecture';

/** What the conv builders need of a layer (architecture.ts's LayerSpec has it, and more). */
export type ConvLayer = Pick<LayerSpec, 'name' | 'kind' | 'kernel' | 'stride' | 'inChannels' | 'outChannels'>;

/** [batch, channels, height, width] */
export type Shape4 = readonly [number, number, number, number];

/** What the backward pass needs from the forward pass. */
export interface ConvSaved {
  readonly layer: ConvLayer;
  /** The conv's input (the upsampled map for upconv). */
  readonly x: string;
  readonly xShape: Shape4;
  /** The original layer input's shape (differs from xShape for upconv). */
  readonly inShape: Shape4;
  readonly w: string;
  readonly outShape: Shape4;
}

/** tfjs filter [kh, kw, a, b] → ONNX [b, a, kh, kw]: Conv [out, in] for conv, ConvTranspose [in, out] for deconv. */
const TFJS_TO_ONNX = [3, 2, 0, 1];
/** A weight gradient computed as [a', b', kh, kw] by the swapped conv → tfjs [kh, kw, a', b']. */
const GRAD_TO_TFJS = [2, 3, 0, 1];

/** TF SAME pads [top, left, bottom, right] for an input divisible by the stride: k − stride, the odd pixel after. */
export function samePads(kernel: number, stride: number): number[] {
  const total = Math.max(kernel - stride, 0);
  const before = Math.floor(total / 2);
  return [before, before, total - before, total - before];
}

function convAttrs(kernel: number, stride: number, pads: number[], dilation = 1) {
  return [
    ints('kernel_shape', [kernel, kernel]),
    ints('strides', [stride, stride]),
    ints('pads', pads),
    ints('dilations', [dilation, dilation]),
    int('group', 1),
  ];
}

/**
 * Nearest-neighbour ×f of [B, C, H, W] (output pixel o copies input ⌊o/f⌋). Resize, not
 * Reshape + Expand of a [B, C, H, 1, W, 1] view: ONNX Runtime's Expand copies that view a pixel
 * at a time (the VGG pool backward's upsampling took 10 % of a 256² batch-4 step).
 */
export function upsampleNearest(g: GraphBuilder, x: string, _shape: Shape4, f: number, hint = 'up'): string {
  return g.op(
    'Resize',
    [x, '', g.floats([1, 1, f, f], [4], `scales_${f}`)],
    [str('mode', 'nearest'), str('coordinate_transformation_mode', 'asymmetric'), str('nearest_mode', 'floor')],
    hint,
  );
}

/** Sum of each f×f block: the adjoint of upsampleNearest. */
export function sumBlocks(g: GraphBuilder, d: string, [b, c, h, w]: Shape4, f: number, hint = 'down'): string {
  return g.reduceSum(g.reshape(d, [b, c, h / f, f, w / f, f]), [3, 5], false, hint);
}

export function convForward(
  g: GraphBuilder,
  l: ConvLayer,
  x: string,
  wTfjs: string,
  inShape: Shape4,
): { y: string; saved: ConvSaved } {
  const [b, c, h, w] = inShape;
  if (c !== l.inChannels) throw new Error(`${l.name}: input has ${c} channels, the layer takes ${l.inChannels}`);
  if (h % l.stride !== 0 || w % l.stride !== 0)
    throw new Error(`${l.name}: ${h}×${w} is not divisible by the stride ${l.stride}`);
  const wOnnx = g.transpose(wTfjs, TFJS_TO_ONNX, `${l.name}/w_onnx`);
  const pads = samePads(l.kernel, l.stride);
  let convIn = x;
  let xShape: Shape4 = inShape;
  let y: string;
  let outShape: Shape4;
  if (l.kind === 'conv') {
    y = g.op('Conv', [x, wOnnx], convAttrs(l.kernel, l.stride, pads), `${l.name}/conv`);
    outShape = [b, l.outChannels, h / l.stride, w / l.stride];
  } else if (l.kind === 'upconv') {
    xShape = [b, c, h * l.stride, w * l.stride];
    convIn = upsampleNearest(g, x, inShape, l.stride, `${l.name}/up`);
    y = g.op('Conv', [convIn, wOnnx], convAttrs(l.kernel, 1, samePads(l.kernel, 1)), `${l.name}/conv`);
    outShape = [b, l.outChannels, xShape[2], xShape[3]];
  } else {
    y = g.op(
      'ConvTranspose',
      [x, wOnnx],
      [...convAttrs(l.kernel, l.stride, pads), ints('output_padding', [0, 0])],
      `${l.name}/deconv`,
    );
    outShape = [b, l.outChannels, h * l.stride, w * l.stride];
  }
  return { y, saved: { layer: l, x: convIn, xShape, inShape, w: wOnnx, outShape } };
}

/**
 * Gradients of the layer input and of the weight (tfjs layout) from the gradient of its output;
 * `needInput` false skips the input gradient (the first layer's input is the data).
 */
export function convBackward(g: GraphBuilder, s: ConvSaved, dy: string, needInput = true): { dx?: string; dw: string } {
  const l = s.layer;
  const stride = l.kind === 'upconv' ? 1 : l.stride;
  const pads = samePads(l.kernel, stride);
  const swap = [1, 0, 2, 3];
  let dx: string | undefined;
  let dwRaw: string;
  if (l.kind === 'deconv') {
    if (needInput) dx = g.op('Conv', [dy, s.w], convAttrs(l.kernel, stride, pads), `${l.name}/dx`);
    // out[co, ci, ky, kx] = Σ dy_pad[n, co, ky + s·a, kx + s·b] · x[n, ci, a, b]
    dwRaw = g.op(
      'Conv',
      [g.transpose(dy, swap), g.transpose(s.x, swap)],
      convAttrs(s.xShape[2], 1, pads, stride).map((a) =>
        a.name === 'kernel_shape' ? ints('kernel_shape', [s.xShape[2], s.xShape[3]]) : a,
      ),
      `${l.name}/dw_raw`,
    );
  } else {
    const [, , h, w] = s.xShape;
    const [, , ho, wo] = s.outShape;
    // ConvTranspose output = stride·(n − 1) + k − pads + output_padding; pick the padding that gives the input size.
    const op = [
      h - (stride * (ho - 1) + l.kernel - pads[0] - pads[2]),
      w - (stride * (wo - 1) + l.kernel - pads[1] - pads[3]),
    ];
    if (op.some((v) => v < 0 || v >= stride))
      throw new Error(`${l.name}: no output padding maps ${ho}×${wo} back to ${h}×${w}`);
    if (needInput && stride === 1) {
      // A stride-1 conv's adjoint is a plain conv with the kernel flipped and in/out swapped:
      // ONNX Runtime's ConvTranspose runs a single-threaded col2im with a k²·C_out-row buffer
      // (measured: the 9×9 output layer's dx took 44 % of a step), its Conv the blocked kernels.
      const flipped = g.op(
        'Slice',
        [
          g.transpose(s.w, [1, 0, 2, 3]),
          g.int64s([-1, -1]),
          g.int64s([-(2 ** 62), -(2 ** 62)]),
          g.int64s([2, 3]),
          g.int64s([-1, -1]),
        ],
        [],
        `${l.name}/w_adjoint`,
      );
      const k1 = l.kernel - 1;
      dx = g.op(
        'Conv',
        [dy, flipped],
        convAttrs(l.kernel, 1, [k1 - pads[0], k1 - pads[1], k1 - pads[2], k1 - pads[3]]),
        `${l.name}/dx`,
      );
    } else if (needInput) {
      dx = g.op(
        'ConvTranspose',
        [dy, s.w],
        [...convAttrs(l.kernel, stride, pads), ints('output_padding', op)],
        `${l.name}/dx`,
      );
    }
    if (stride === 1 && l.kernel === 3) {
      // 3×3: an explicit im2col (9 shifted views of the padded input) and one batched MatMul
      // with dy, summed over the batch. As a conv with a whole dy map as the kernel, ONNX
      // Runtime spent ≈ 0.1 s per res-block layer at 256² (a fifth of a step).
      const [b, c] = s.xShape;
      const padded = g.op('Pad', [s.x, g.int64s([0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]])]);
      const taps: string[] = [];
      for (let ky = 0; ky < 3; ky++)
        for (let kx = 0; kx < 3; kx++) {
          const view = g.op('Slice', [padded, g.int64s([ky, kx]), g.int64s([ky + h, kx + w]), g.int64s([2, 3])]);
          taps.push(g.reshape(view, [b, c, 1, h * w]));
        }
      const cols = g.reshape(g.op('Concat', taps, [int('axis', 2)]), [b, c * 9, h * w], `${l.name}/im2col`);
      const perImage = g.op('MatMul', [g.reshape(dy, [b, l.outChannels, h * w]), g.transpose(cols, [0, 2, 1])]);
      const summed = g.reshape(g.reduceSum(perImage, [0], false), [l.outChannels, c, 3, 3]);
      return {
        dx: l.kind === 'upconv' && dx ? sumBlocks(g, dx, s.xShape, l.stride, `${l.name}/dx_down`) : dx,
        dw: g.transpose(summed, [2, 3, 1, 0], `${l.name}/dw`),
      };
    }
    if (stride === 1 && l.outChannels < l.inChannels) {
      // The same sums with dy as the image and x as the kernel: ONNX Runtime expands the image
      // k² times (im2col) per image, and here the images are the channels, so the side with
      // fewer channels goes there (the 9×9 output layer: 3 instead of 32; 2.7 GB of im2col per
      // 256² batch-4 step otherwise). out[co, ci, u, v] = dW[co, ci, k−1−u, k−1−v].
      const k1 = l.kernel - 1;
      const corr = g.op(
        'Conv',
        [g.transpose(dy, swap), g.transpose(s.x, swap)],
        [
          ints('kernel_shape', [h, w]),
          ints('strides', [1, 1]),
          ints('dilations', [1, 1]),
          int('group', 1),
          ints('pads', [k1 - pads[0], k1 - pads[1], pads[0], pads[1]]),
        ],
        `${l.name}/dw_corr`,
      );
      const flipped = g.op('Slice', [
        corr,
        g.int64s([-1, -1]),
        g.int64s([-(2 ** 62), -(2 ** 62)]),
        g.int64s([2, 3]),
        g.int64s([-1, -1]),
      ]);
      return {
        dx: l.kind === 'upconv' && dx ? sumBlocks(g, dx, s.xShape, l.stride, `${l.name}/dx_down`) : dx,
        dw: g.transpose(flipped, [2, 3, 1, 0], `${l.name}/dw`),
      };
    }
    // out[ci, co, ky, kx] = Σ x_pad[n, ci, ky + s·a, kx + s·b] · dy[n, co, a, b]
    dwRaw = g.op(
      'Conv',
      [g.transpose(s.x, swap), g.transpose(dy, swap)],
      convAttrs(ho, 1, pads, stride).map((a) => (a.name === 'kernel_shape' ? ints('kernel_shape', [ho, wo]) : a)),
      `${l.name}/dw_raw`,
    );
  }
  const dw = g.transpose(dwRaw, GRAD_TO_TFJS, `${l.name}/dw`);
  if (l.kind === 'upconv' && dx) dx = sumBlocks(g, dx, s.xShape, l.stride, `${l.name}/dx_down`);
  return { dx, dw };
}
