// The whole training step as one ONNX graph: transform net forward, perceptual loss (VGG19 on
// the output and on the content batch), the backward pass written out layer by layer, and
// optionally one Adam update. Everything is NCHW inside; parameters, gradients and Adam
// moments are fed and returned in the tfjs (checkpoint) layout, so the caller can move them
// between this graph, Adam state files and TransformNet without conversion.
import { GraphBuilder } from './graph';
import { convBackward, convForward, type ConvSaved, type Shape4 } from './conv';
import { normBackward, normForward, type NormSaved } from './norm';
import { VggConstants, vggBackward, vggForward } from './vgg';
import { contentLossGrad, rangeLossGrad, styleLayerLossGrad, tvLossGrad } from './losses';
import { adamUpdate } from './adam';
import {
  OUTPUT_PRE_LIMIT,
  layerSpecs,
  outputScale,
  paramSpecs,
  validateArchitecture,
  type TransformNetArchitecture,
} from '../../architecture';
import type { AdamConfig } from '../../adam';
import type { LossLayers, LossWeights } from '../../losses';
import type { VggWeights } from '../../vggSpec';

/** Names of the graph's inputs and outputs. */
export const TRAIN_IO = Object.freeze({
  /** [B, 3, H, W] RGB 0..255 */
  content: 'content',
  /** scalar: this step's Adam step size (adamStepSize) */
  lr: 'lr',
  param: (name: string) => `param:${name}`,
  m: (name: string) => `m:${name}`,
  v: (name: string) => `v:${name}`,
  grad: (name: string) => `grad:${name}`,
  newParam: (name: string) => `new_param:${name}`,
  newM: (name: string) => `new_m:${name}`,
  newV: (name: string) => `new_v:${name}`,
  /** scalars, each already weighted */
  loss: { total: 'loss_total', content: 'loss_content', style: 'loss_style', tv: 'loss_tv', range: 'loss_range' },
});

export interface TrainGraphSpec {
  readonly arch: TransformNetArchitecture;
  readonly batch: number;
  readonly height: number;
  readonly width: number;
  readonly vgg: VggWeights;
  readonly layers: LossLayers;
  readonly weights: LossWeights;
  /** The style image's Gram matrix [1, C, C] per style layer (row-major). */
  readonly targetGrams: Readonly<Record<string, Float32Array>>;
  /** With Adam: inputs m:*, v:*, lr and outputs new_param:*, new_m:*, new_v:*. */
  readonly adam?: AdamConfig;
  /** Also (or, without Adam, only) output the gradients grad:*. */
  readonly outputGradients?: boolean;
}

export function buildTrainStepGraph(spec: TrainGraphSpec): Uint8Array {
  const arch = validateArchitecture(spec.arch);
  const { batch: b, height: h, width: w } = spec;
  for (const [what, v] of [
    ['batch', b],
    ['height', h],
    ['width', w],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`training graph: ${what} must be a positive integer, got ${v}`);
  }
  if (h % 4 !== 0 || w % 4 !== 0)
    throw new Error(`training graph: the image size must be a multiple of 4, got ${h}×${w}`);
  if (!spec.adam && !spec.outputGradients)
    throw new Error('training graph: asks for neither an Adam update nor the gradients');
  const g = new GraphBuilder();
  const imgShape: Shape4 = [b, 3, h, w];
  const content = g.input(TRAIN_IO.content, imgShape);
  const params = paramSpecs(arch);
  const pv = new Map(params.map((p) => [p.name, g.input(TRAIN_IO.param(p.name), p.shape)]));

  // Transform net forward.
  const layers = layerSpecs(arch);
  const outs = new Map<string, { value: string; shape: Shape4 }>();
  const saved: { conv: ConvSaved; norm: NormSaved }[] = [];
  let x = content;
  let xs: Shape4 = imgShape;
  for (const l of layers) {
    const c = convForward(g, l, x, pv.get(`${l.name}/weight`)!, xs);
    const res = l.residualFrom ? outs.get(l.residualFrom)!.value : undefined;
    const n = normForward(
      g,
      l.name,
      c.y,
      c.saved.outShape,
      pv.get(`${l.name}/shift`)!,
      pv.get(`${l.name}/scale`)!,
      l.activation,
      res,
      outputScale(arch),
    );
    saved.push({ conv: c.saved, norm: n.saved });
    outs.set(l.name, { value: n.y, shape: c.saved.outShape });
    x = n.y;
    xs = c.saved.outShape;
  }
  const stylized = x;

  // Losses and their gradient with respect to the stylized image.
  const k = new VggConstants(g, spec.vgg);
  const wanted = [...new Set([spec.layers.content, ...spec.layers.style])];
  const fOut = vggForward(g, k, stylized, imgShape, wanted, 'vgg_out');
  const fContent = vggForward(g, k, content, imgShape, [spec.layers.content], 'vgg_content');
  const cf = fOut.features[spec.layers.content];
  const contentPart = contentLossGrad(
    g,
    cf.value,
    fContent.features[spec.layers.content].value,
    cf.shape,
    spec.weights.content,
  );
  const seeds: Record<string, string> = { [spec.layers.content]: contentPart.df };
  const styleLosses: string[] = [];
  for (const name of spec.layers.style) {
    const f = fOut.features[name];
    const c = f.shape[1];
    const target = spec.targetGrams[name];
    if (!target || target.length !== c * c)
      throw new Error(`training graph: the style target for ${name} must hold ${c}×${c} values`);
    const s = styleLayerLossGrad(
      g,
      name,
      f.value,
      f.shape,
      g.floats(target, [1, c, c], `style/${name}/target`),
      spec.weights.style,
    );
    styleLosses.push(s.loss);
    seeds[name] = seeds[name] ? g.add(seeds[name], s.df) : s.df;
  }
  const style = styleLosses.reduce((a, s) => g.add(a, s));
  const tv = tvLossGrad(g, stylized, imgShape, spec.weights.tv);
  const dStylized = g.add(vggBackward(g, fOut, seeds, 'vgg_back'), tv.dimg, 'd_stylized');
  // The range loss reads the output layer's value before tanh (the last layer's pre-activation).
  const range =
    (spec.weights.range ?? 0) > 0
      ? rangeLossGrad(g, saved[saved.length - 1].norm.pre, imgShape, spec.weights.range!, OUTPUT_PRE_LIMIT)
      : undefined;

  // Transform net backward: gradients of layer outputs accumulate (next layer + residual use).
  const pending = new Map<string, string[]>([[layers[layers.length - 1].name, [dStylized]]]);
  const grads = new Map<string, string>();
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i];
    const parts = pending.get(l.name);
    if (!parts) throw new Error(`training graph: no gradient reaches ${l.name}`);
    const d = parts.reduce((a, p) => g.add(a, p));
    const nb = normBackward(g, saved[i].norm, d, i === layers.length - 1 ? range?.dpre : undefined);
    if (l.residualFrom) pending.set(l.residualFrom, [...(pending.get(l.residualFrom) ?? []), nb.dpre]);
    const cb = convBackward(g, saved[i].conv, nb.dx, i > 0);
    if (i > 0) {
      const prev = layers[i - 1].name;
      pending.set(prev, [...(pending.get(prev) ?? []), cb.dx!]);
    }
    grads.set(`${l.name}/weight`, cb.dw);
    grads.set(`${l.name}/shift`, nb.dshift);
    grads.set(`${l.name}/scale`, nb.dscale);
  }

  const rangeLoss = range?.loss ?? g.op('Identity', [g.scalar(0)]);
  const total = g.add(g.add(g.add(contentPart.loss, style), tv.loss), rangeLoss);
  g.output(total, TRAIN_IO.loss.total, []);
  g.output(contentPart.loss, TRAIN_IO.loss.content, []);
  g.output(style, TRAIN_IO.loss.style, []);
  g.output(tv.loss, TRAIN_IO.loss.tv, []);
  g.output(rangeLoss, TRAIN_IO.loss.range, []);
  const lr = spec.adam ? g.input(TRAIN_IO.lr, []) : '';
  for (const p of params) {
    const grad = grads.get(p.name)!;
    if (spec.outputGradients) g.output(grad, TRAIN_IO.grad(p.name), p.shape);
    if (spec.adam) {
      const u = adamUpdate(
        g,
        p.name,
        pv.get(p.name)!,
        grad,
        g.input(TRAIN_IO.m(p.name), p.shape),
        g.input(TRAIN_IO.v(p.name), p.shape),
        lr,
        spec.adam,
      );
      g.output(u.p, TRAIN_IO.newParam(p.name), p.shape);
      g.output(u.m, TRAIN_IO.newM(p.name), p.shape);
      g.output(u.v, TRAIN_IO.newV(p.name), p.shape);
    }
  }
  return g.encode(
    'fst_train_step',
    `Training step of the transform net ${JSON.stringify(arch)}, ${b}×${h}×${w}, loss layers ${JSON.stringify(spec.layers)}`,
  );
}
