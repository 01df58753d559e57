// Floating-point operations of one training step, for the benchmarks' GFLOP/s (the same count
// whatever runs the step). Counted: 2 per multiply-accumulate of the convolutions and the Gram
// matrices. Left out: elementwise work (instance norm, ReLU, pooling, the losses, Adam), O(1)
// per value against O(k²·C) per value for a convolution.
//
//   T = transform net forward        B·H·W · 2·macsPerPixel(arch)  (transposed convs: one kernel
//                                    scatter per input pixel, as for the stylize figures)
//   transform net backward           2·T − T₁: each conv's weight gradient and input gradient cost
//                                    one forward pass of it; the first conv (T₁) needs no input
//                                    gradient, its input is the image
//   V(l) = VGG forward up to layer l  Σ over its convs 2·B·h·w·9·Cin·Cout (2×2 pools halve h, w)
//   VGG on the stylized output       V(deepest loss layer), and the same again backward to its
//                                    input (input gradients only: VGG's weights are constants)
//   VGG on the content batch         V(content layer), forward only
//   Gram matrices                    2·B·h·w·C² per style layer forward, the same backward
//
//   step = 3·T − T₁ + 2·V(deepest) + V(content) + 2·G
// The paper's network at 256², batch 4, VGG19 to relu5_1: ≈ 738 GFLOP.
import { layerSpecs, macsPerPixel, type TransformNetArchitecture } from './architecture';
import { VGG19_LAYERS, vggLayerIndex } from './vggSpec';

export interface TrainFlopSpec {
  readonly arch: TransformNetArchitecture;
  readonly batch: number;
  readonly height: number;
  readonly width: number;
  readonly layers: { readonly content: string; readonly style: readonly string[] };
}

export interface TrainFlops {
  readonly transformForward: number;
  readonly transformBackward: number;
  readonly vggOutputForward: number;
  readonly vggOutputBackward: number;
  readonly vggContentForward: number;
  readonly gram: number;
  readonly total: number;
}

/** VGG19 forward FLOPs up to `layer` for a b×h×w batch, and the shape at each named layer. */
function vggForward(
  b: number,
  h: number,
  w: number,
  layer: string,
): { flops: number; at: Map<string, { hw: number; c: number }> } {
  const last = vggLayerIndex(layer);
  let flops = 0;
  let c = 3;
  const at = new Map<string, { hw: number; c: number }>();
  for (const l of VGG19_LAYERS.slice(0, last + 1)) {
    if (l.kind === 'conv') {
      flops += 2 * b * h * w * 9 * c * l.channels;
      c = l.channels;
    } else if (l.kind === 'pool') {
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
    }
    at.set(l.name, { hw: h * w, c });
  }
  return { flops, at };
}

export function trainStepFlops(spec: TrainFlopSpec): TrainFlops {
  const { arch, batch: b, height: h, width: w } = spec;
  const transformForward = 2 * macsPerPixel(arch) * b * h * w;
  const first = layerSpecs(arch)[0];
  const firstConv =
    (2 * b * h * w * first.kernel * first.kernel * first.inChannels * first.outChannels) /
    (first.stride * first.stride);
  const transformBackward = 2 * transformForward - firstConv;
  const wanted = [spec.layers.content, ...spec.layers.style];
  const deepest = wanted.reduce((a, l) => (vggLayerIndex(l) > vggLayerIndex(a) ? l : a));
  const out = vggForward(b, h, w, deepest);
  const vggContentForward = vggForward(b, h, w, spec.layers.content).flops;
  let gram = 0;
  for (const l of spec.layers.style) {
    const s = out.at.get(l)!;
    gram += 2 * (2 * b * s.hw * s.c * s.c);
  }
  const total = transformForward + transformBackward + 2 * out.flops + vggContentForward + gram;
  return {
    transformForward,
    transformBackward,
    vggOutputForward: out.flops,
    vggOutputBackward: out.flops,
    vggContentForward,
    gram,
    total,
  };
}
