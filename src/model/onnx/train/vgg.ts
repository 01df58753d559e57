// The VGG19 loss network forward (to the deepest layer asked for) and backward to its input,
// in NCHW, with the weights as constants: channel order and mean as the weights say, 3×3 SAME
// convs with bias and ReLU, 2×2 stride-2 max pooling (even sizes only, where SAME = VALID).
//   ReLU backward: dy·[y > 0];  conv backward: a conv with the kernel flipped and in/out
//   swapped (the adjoint, precomputed: ONNX Runtime's Conv is much faster than its
//   ConvTranspose);  pool backward: the
//   gradient goes to the positions equal to their window's maximum (Equal with the upsampled
//   maximum). A tie can only be between zeros of a ReLU output (measure zero otherwise), and
//   the ReLU below gives those no gradient, so this equals tfjs's first-maximum rule; that
//   ReLU's mask is folded into the pool's (maxima of 0 compared as −1).
import type { GraphBuilder } from './graph';
import { ints, int } from '../onnxOps';
import { upsampleNearest, type Shape4 } from './conv';
import { reluBackward } from './norm';
import { convWeightToOnnx } from '../onnxExport';
import { VGG19_LAYERS, vggLayerIndex, type VggWeights } from '../../vggSpec';

interface Step {
  readonly kind: 'conv' | 'pool';
  readonly name: string;
  /** conv: the constant adjoint weight; pool: unused */
  readonly w: string;
  /** the step's input and output (for conv the ReLU output) and their shapes */
  readonly x: string;
  readonly y: string;
  readonly xShape: Shape4;
  readonly yShape: Shape4;
  /** for conv: the value before the ReLU */
  readonly pre?: string;
}

export interface VggForward {
  /** Activations by layer name (conv…, relu…, pool…) for the layers asked for. */
  readonly features: Record<string, { value: string; shape: Shape4 }>;
  readonly steps: readonly Step[];
  readonly bgr: boolean;
}

/** The shared constant names of these weights' kernels, biases and mean in graph `g`. */
export class VggConstants {
  private readonly names = new Map<string, { w: string; b: string; adjoint: string }>();
  readonly mean: string;
  constructor(
    private readonly g: GraphBuilder,
    readonly weights: VggWeights,
  ) {
    const m = weights.mean;
    this.mean = g.floats([m[0], m[1], m[2]], [1, 3, 1, 1], 'vgg/mean');
  }

  conv(name: string): { w: string; b: string; adjoint: string; outChannels: number } {
    const l = this.weights.layers.find((c) => c.name === name);
    if (!l) throw new Error(`the VGG weights have no ${name}`);
    let n = this.names.get(name);
    if (!n) {
      n = {
        w: this.g.floats(
          convWeightToOnnx(l.kernel, 3, 3, l.inChannels, l.outChannels),
          [l.outChannels, l.inChannels, 3, 3],
          `vgg/${name}/w`,
        ),
        b: this.g.floats(l.bias, [l.outChannels], `vgg/${name}/b`),
        adjoint: this.g.floats(
          adjointKernel(l.kernel, l.inChannels, l.outChannels),
          [l.inChannels, l.outChannels, 3, 3],
          `vgg/${name}/adjoint`,
        ),
      };
      this.names.set(name, n);
    }
    return { ...n, outChannels: l.outChannels };
  }
}

/** tfjs 3×3 kernel [3, 3, in, out] → the Conv weight [in, out, 3, 3] of its adjoint (spatially flipped). */
function adjointKernel(k: Float32Array, cin: number, cout: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < 3; y++)
    for (let x = 0; x < 3; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) {
          out[((i * cout + o) * 3 + (2 - y)) * 3 + (2 - x)] = k[((y * 3 + x) * cin + i) * cout + o];
        }
  return out;
}

/** Forward of `rgb` ([B, 3, H, W], RGB 0..255) up to the deepest of `layers`. */
export function vggForward(
  g: GraphBuilder,
  k: VggConstants,
  rgb: string,
  shape: Shape4,
  layers: readonly string[],
  prefix: string,
): VggForward {
  const wanted = new Set(layers);
  const last = Math.max(...layers.map(vggLayerIndex));
  const bgr = k.weights.channelOrder === 'bgr';
  const ordered = bgr ? g.op('Gather', [rgb, g.int64s([2, 1, 0])], [int('axis', 1)], `${prefix}/bgr`) : rgb;
  let x = g.sub(ordered, k.mean, `${prefix}/centred`);
  let xs: Shape4 = shape;
  const features: VggForward['features'] = {};
  const steps: Step[] = [];
  for (let i = 0; i <= last; i++) {
    const spec = VGG19_LAYERS[i];
    if (spec.kind === 'conv') {
      const c = k.conv(spec.name);
      const pre = g.op(
        'Conv',
        [x, c.w, c.b],
        [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1]), ints('strides', [1, 1])],
        `${prefix}/${spec.name}`,
      );
      const y = g.op('Relu', [pre], [], `${prefix}/relu${spec.name.slice(4)}`);
      const ys: Shape4 = [xs[0], c.outChannels, xs[2], xs[3]];
      steps.push({ kind: 'conv', name: spec.name, w: c.adjoint, x, y, xShape: xs, yShape: ys, pre });
      if (wanted.has(spec.name)) features[spec.name] = { value: pre, shape: ys };
      i++; // the ReLU is done
      if (wanted.has(VGG19_LAYERS[i].name)) features[VGG19_LAYERS[i].name] = { value: y, shape: ys };
      x = y;
      xs = ys;
    } else if (spec.kind === 'pool') {
      if (xs[2] % 2 !== 0 || xs[3] % 2 !== 0)
        throw new Error(`VGG ${spec.name}: the ONNX training graph needs even sizes, got ${xs[2]}×${xs[3]}`);
      const y = g.op('MaxPool', [x], [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])], `${prefix}/${spec.name}`);
      const ys: Shape4 = [xs[0], xs[1], xs[2] / 2, xs[3] / 2];
      steps.push({ kind: 'pool', name: spec.name, w: '', x, y, xShape: xs, yShape: ys });
      if (wanted.has(spec.name)) features[spec.name] = { value: y, shape: ys };
      x = y;
      xs = ys;
    }
  }
  return { features, steps, bgr };
}

/**
 * The gradient of the RGB input from gradients of some of the forward's features (by layer
 * name; each must be one the forward computed).
 */
export function vggBackward(
  g: GraphBuilder,
  f: VggForward,
  seeds: Readonly<Record<string, string>>,
  prefix: string,
): string {
  for (const name of Object.keys(seeds))
    if (!f.features[name]) throw new Error(`VGG backward: ${name} was not computed`);
  const seedAt = (name: string, d: string | undefined): string | undefined => {
    const s = seeds[name];
    return s === undefined ? d : d === undefined ? s : g.add(d, s);
  };
  let d: string | undefined;
  /** The pool backward below already applied the ReLU mask of the conv under it. */
  let reluMasked = false;
  for (let i = f.steps.length - 1; i >= 0; i--) {
    const s = f.steps[i];
    if (s.kind === 'pool') {
      d = seedAt(s.name, d);
      if (d === undefined) continue;
      // The pool's input is a ReLU output (≥ 0): with the window maxima that are 0 replaced by
      // −1, "equals its window's maximum" also says "> 0", so one full-size Where does the
      // pool's and the ReLU's backward (unless a seed enters between them).
      const below = f.steps[i - 1];
      reluMasked = below?.kind === 'conv' && below.y === s.x && seeds[`relu${below.name.slice(4)}`] === undefined;
      const maxima = reluMasked ? g.op('Where', [g.op('Greater', [s.y, g.scalar(0)]), s.y, g.scalar(-1)]) : s.y;
      const isMax = g.op('Equal', [s.x, upsampleNearest(g, maxima, s.yShape, 2)]);
      d = g.op('Where', [isMax, upsampleNearest(g, d, s.yShape, 2), g.scalar(0)], [], `${prefix}/d_${s.name}`);
    } else {
      d = seedAt(`relu${s.name.slice(4)}`, d);
      if (d !== undefined && !reluMasked) d = reluBackward(g, s.y, d);
      reluMasked = false;
      d = seedAt(s.name, d);
      if (d === undefined) continue;
      d = g.op(
        'Conv',
        [d, s.w],
        [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1]), ints('strides', [1, 1])],
        `${prefix}/d_${s.name}`,
      );
    }
  }
  if (d === undefined) throw new Error('VGG backward: no gradient seeds');
  return f.bgr ? g.op('Gather', [d, g.int64s([2, 1, 0])], [int('axis', 1)], `${prefix}/d_rgb`) : d;
}
