// Quality figures of a stylized image (issue 12), independent of any training loss weights:
//   style distance   = mean over relu1_1, relu2_1, relu3_1 of ‖G_out − G_paint‖_F / ‖G_paint‖_F,
//                      Grams FᵀF / (C·H·W) as in the losses, the painting at 512 px on its long side;
//   content distance = ‖F_out − F_photo‖² / ‖F_photo‖² at relu2_2.
// Relative distances make the figures comparable across image sizes and VGG weight files; all
// layers are in VGG blocks 1–3, so they run with the weights available here.
import { tf, type Tensor, type Tensor3D, type Tensor4D } from './tf';
import { gram } from './losses';
import type { Vgg19 } from './vgg';
import { StyleTransferError } from '../protocol/errors';

export interface MetricLayers {
  readonly style: readonly string[];
  readonly content: string;
}

export const METRIC_LAYERS: MetricLayers = Object.freeze({
  style: Object.freeze(['relu1_1', 'relu2_1', 'relu3_1']),
  content: 'relu2_2',
});

/** The painting's long side when its Grams are measured. */
export const METRIC_PAINTING_SIDE = 512;

export interface ImageMetrics {
  readonly styleDistance: number;
  /** Relative Gram distance of each style layer, in METRIC_LAYERS order. */
  readonly styleDistanceByLayer: Readonly<Record<string, number>>;
  readonly contentDistance: number;
}

function checkImage(t: Tensor4D, what: string): void {
  if (t.rank !== 4 || t.shape[0] !== 1 || t.shape[3] !== 3) {
    throw new StyleTransferError('bad-input', `${what} must be [1, height, width, 3], got [${t.shape.join(', ')}]`);
  }
}

/** ‖num‖² / ‖den‖² as a number; 0 when both are zero, Infinity when only the denominator is. */
async function ratioOfSquares(num: Tensor, den: Tensor): Promise<number> {
  const [n, d] = tf.tidy(() => [tf.sum(tf.square(num)), tf.sum(tf.square(den))]);
  try {
    const [a, b] = [(await n.data())[0], (await d.data())[0]];
    return b === 0 ? (a === 0 ? 0 : Infinity) : a / b;
  } finally {
    n.dispose();
    d.dispose();
  }
}

/** Relative Frobenius distance ‖a − b‖ / ‖b‖ of two tensors of one shape (b the reference). */
export async function relativeDistance(a: Tensor, b: Tensor): Promise<number> {
  if (a.shape.join() !== b.shape.join())
    throw new StyleTransferError('bad-input', `shapes differ: [${a.shape}] vs [${b.shape}]`);
  const diff = tf.sub(a, b);
  try {
    return Math.sqrt(await ratioOfSquares(diff, b));
  } finally {
    diff.dispose();
  }
}

/** ‖a − b‖² / ‖b‖² (b the reference). */
export async function relativeSquaredDistance(a: Tensor, b: Tensor): Promise<number> {
  if (a.shape.join() !== b.shape.join())
    throw new StyleTransferError('bad-input', `shapes differ: [${a.shape}] vs [${b.shape}]`);
  const diff = tf.sub(a, b);
  try {
    return await ratioOfSquares(diff, b);
  } finally {
    diff.dispose();
  }
}

/** Grams [1, C, C] of `image` ([1, H, W, 3] RGB 0..255) at `layers`; the caller owns them. */
export function gramsOf(
  vgg: Vgg19,
  image: Tensor4D,
  layers: readonly string[] = METRIC_LAYERS.style,
): Record<string, Tensor3D> {
  checkImage(image, 'image');
  return tf.tidy(() => {
    const feats = vgg.features(image, layers);
    const out: Record<string, Tensor3D> = {};
    for (const l of layers) out[l] = gram(feats[l]);
    return out;
  });
}

/**
 * The figures of one stylized image against its photo (same size) and the painting's Grams
 * (from gramsOf). One VGG pass over each image; every intermediate tensor is freed.
 */
export async function imageMetrics(
  vgg: Vgg19,
  output: Tensor4D,
  photo: Tensor4D,
  paintingGrams: Readonly<Record<string, Tensor3D>>,
  layers: MetricLayers = METRIC_LAYERS,
): Promise<ImageMetrics> {
  checkImage(output, 'stylized image');
  checkImage(photo, 'photo');
  if (output.shape.join() !== photo.shape.join()) {
    throw new StyleTransferError(
      'bad-input',
      `stylized image [${output.shape}] and photo [${photo.shape}] differ in size`,
    );
  }
  for (const l of layers.style)
    if (!paintingGrams[l]) throw new StyleTransferError('bad-input', `no painting Gram for ${l}`);
  const wanted = [...new Set([...layers.style, layers.content])];
  const feats = vgg.features(output, wanted);
  const photoFeats = vgg.features(photo, [layers.content]);
  const grams = tf.tidy(() => layers.style.map((l) => gram(feats[l])));
  try {
    const byLayer: Record<string, number> = {};
    for (const [i, l] of layers.style.entries()) byLayer[l] = await relativeDistance(grams[i], paintingGrams[l]);
    const styleDistance = layers.style.reduce((s, l) => s + byLayer[l], 0) / layers.style.length;
    const contentDistance = await relativeSquaredDistance(feats[layers.content], photoFeats[layers.content]);
    return { styleDistance, styleDistanceByLayer: byLayer, contentDistance };
  } finally {
    tf.dispose([...Object.values(feats), ...Object.values(photoFeats), ...grams]);
  }
}
