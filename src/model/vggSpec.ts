// VGG19 (Simonyan & Zisserman 2014, configuration E) as plain data, and the weights type that
// the loaders in src/io produce and the tfjs model in vgg.ts consumes. No tfjs here, so io may
// import it (DESIGN §3).
import { StyleTransferError } from '../protocol/errors';

/** The five conv blocks: number of 3×3 convs and their output channels; each block ends in a 2×2 max pool. */
export const VGG19_BLOCKS: readonly { readonly convs: number; readonly channels: number }[] = Object.freeze([
  { convs: 2, channels: 64 },
  { convs: 2, channels: 128 },
  { convs: 4, channels: 256 },
  { convs: 4, channels: 512 },
  { convs: 4, channels: 512 },
]);

export type VggLayerKind = 'conv' | 'relu' | 'pool';

export interface VggLayerSpec {
  /** conv1_1, relu1_1, …, pool5 (the names used by MatConvNet and the reference implementation). */
  readonly name: string;
  readonly kind: VggLayerKind;
  /** 1-based block number. */
  readonly block: number;
  /** For conv/relu: 1-based position inside the block. */
  readonly index?: number;
  /** Channels of this layer's output in the standard network. */
  readonly channels: number;
  /** For relu/pool: the conv whose weights it needs last (the conv itself for a conv). */
  readonly needsConv: string;
}

function buildLayers(): VggLayerSpec[] {
  const out: VggLayerSpec[] = [];
  VGG19_BLOCKS.forEach((b, bi) => {
    const block = bi + 1;
    let lastConv = '';
    for (let i = 1; i <= b.convs; i++) {
      lastConv = `conv${block}_${i}`;
      out.push({ name: lastConv, kind: 'conv', block, index: i, channels: b.channels, needsConv: lastConv });
      out.push({ name: `relu${block}_${i}`, kind: 'relu', block, index: i, channels: b.channels, needsConv: lastConv });
    }
    out.push({ name: `pool${block}`, kind: 'pool', block, channels: b.channels, needsConv: lastConv });
  });
  return out;
}

/** Every named activation of VGG19's convolutional part, in forward order (37 layers). */
export const VGG19_LAYERS: readonly VggLayerSpec[] = Object.freeze(buildLayers());
/** conv1_1 … conv5_4 in order (16 convs). */
export const VGG19_CONV_NAMES: readonly string[] = Object.freeze(
  VGG19_LAYERS.filter((l) => l.kind === 'conv').map((l) => l.name),
);

const layerIndex = new Map(VGG19_LAYERS.map((l, i) => [l.name, i]));

/** Position of a layer in forward order; throws for a name that is not a VGG19 layer. */
export function vggLayerIndex(name: string): number {
  const i = layerIndex.get(name);
  if (i === undefined) {
    throw new StyleTransferError(
      'bad-input',
      `"${name}" is not a VGG19 layer; VGG19 layers are conv1_1 … conv5_4, relu1_1 … relu5_4 and pool1 … pool5`,
    );
  }
  return i;
}

export type VggWeightSource = 'keras' | 'matconvnet' | 'synthetic';

export interface VggConvWeights {
  /** conv1_1 … conv5_4 */
  readonly name: string;
  /** [3, 3, inChannels, outChannels], row-major (the tfjs conv2d filter layout). */
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
  readonly inChannels: number;
  readonly outChannels: number;
}

/**
 * A VGG19 prefix's conv weights plus the input convention they were trained with. The network
 * subtracts `mean` from its input after putting the channels in `channelOrder`; `mean` is
 * therefore listed in that order (Keras: BGR [103.939, 116.779, 123.68]).
 */
export interface VggWeights {
  readonly source: VggWeightSource;
  /** Where they came from (a path), for messages. */
  readonly origin?: string;
  readonly channelOrder: 'rgb' | 'bgr';
  readonly mean: readonly [number, number, number];
  /** A prefix of conv1_1 … conv5_4, in order. */
  readonly layers: readonly VggConvWeights[];
}

/** The input convention of the Keras/Caffe VGG19 weights. */
export const KERAS_VGG_INPUT = Object.freeze({
  channelOrder: 'bgr' as const,
  mean: Object.freeze([103.939, 116.779, 123.68]) as readonly [number, number, number],
});

function describeSource(w: Pick<VggWeights, 'source' | 'origin'>): string {
  return w.origin ? `${w.source} (${w.origin})` : w.source;
}

/** Checks names, order, channel chaining, sizes and finiteness; throws one precise 'bad-weights' error. */
export function validateVggWeights(w: VggWeights): void {
  const where = `VGG weights from ${describeSource(w)}`;
  const fail = (msg: string): never => {
    throw new StyleTransferError('bad-weights', `${where}: ${msg}`);
  };
  if (w.channelOrder !== 'rgb' && w.channelOrder !== 'bgr')
    fail(`channel order must be rgb or bgr, got ${String(w.channelOrder)}`);
  if (!Array.isArray(w.mean) || w.mean.length !== 3 || !w.mean.every((m) => Number.isFinite(m)))
    fail(`mean must be three finite numbers, got ${JSON.stringify(w.mean)}`);
  if (w.layers.length === 0) fail('no conv layers (expected conv1_1 … conv5_4 or a prefix of them)');
  if (w.layers.length > VGG19_CONV_NAMES.length)
    fail(`${w.layers.length} conv layers, VGG19 has ${VGG19_CONV_NAMES.length}`);
  let prevOut = 3;
  w.layers.forEach((l, i) => {
    const expected = VGG19_CONV_NAMES[i];
    if (l.name !== expected)
      fail(
        `layer ${i + 1} is ${l.name}, expected ${expected} (conv layers must be a prefix of conv1_1 … conv5_4, in order)`,
      );
    if (!Number.isInteger(l.inChannels) || !Number.isInteger(l.outChannels) || l.inChannels < 1 || l.outChannels < 1) {
      fail(`${l.name} has invalid channel counts ${l.inChannels} → ${l.outChannels}`);
    }
    if (l.inChannels !== prevOut)
      fail(`${l.name} takes ${l.inChannels} input channels but the previous layer gives ${prevOut}`);
    if (l.kernel.length !== 9 * l.inChannels * l.outChannels) {
      fail(
        `${l.name} kernel has ${l.kernel.length} values, expected 3×3×${l.inChannels}×${l.outChannels} = ${9 * l.inChannels * l.outChannels}`,
      );
    }
    if (l.bias.length !== l.outChannels) fail(`${l.name} bias has ${l.bias.length} values, expected ${l.outChannels}`);
    for (const [what, a] of [
      ['kernel', l.kernel],
      ['bias', l.bias],
    ] as const) {
      for (let k = 0; k < a.length; k++)
        if (!Number.isFinite(a[k])) fail(`${l.name} ${what} holds a non-finite value at index ${k}`);
    }
    prevOut = l.outChannels;
  });
}

/** Names of every activation the weights can compute, in forward order (a pool needs only its block's last conv). */
export function availableVggLayers(w: { readonly layers: readonly { readonly name: string }[] }): string[] {
  const convs = new Set(w.layers.map((l) => l.name));
  return VGG19_LAYERS.filter((l) => convs.has(l.needsConv)).map((l) => l.name);
}

function range(names: readonly string[]): string {
  if (names.length === 0) return 'nothing';
  return names.length === 1 ? names[0] : `${names[0]} … ${names[names.length - 1]}`;
}

/** One line for logs and the UI: what the weights are and which layers they provide. */
export function describeVggWeights(w: VggWeights): string {
  const relus = availableVggLayers(w).filter((n) => n.startsWith('relu'));
  const mean = w.mean.map((m) => m.toFixed(3)).join(', ');
  return `VGG19 weights from ${describeSource(w)}: ${range(w.layers.map((l) => l.name))} (${relus.length} of 16 ReLU layers: ${range(relus)}), input ${w.channelOrder.toUpperCase()} minus [${mean}]`;
}

/** The error for asking `layer` of weights that stop earlier. */
export function missingLayerError(
  w: Pick<VggWeights, 'source' | 'origin'> & { readonly layers: readonly { readonly name: string }[] },
  layer: string,
): StyleTransferError {
  const available = availableVggLayers(w);
  const relus = available.filter((n) => n.startsWith('relu'));
  return new StyleTransferError(
    'bad-weights',
    `VGG weights from ${describeSource(w)} provide ${range(relus)}` +
      `${available.length ? ` (all layers: ${range(available)})` : ''}; ${layer} is not available. ` +
      `Use one of ${relus.join(', ')}, or load the full VGG19 weights (imagenet-vgg-verydeep-19.mat) to reach deeper layers.`,
  );
}
