// Stylize one image with the tfjs transform network: pad to the size multiple (or not, for
// 'zero' border padding), run, crop back.
import { tf, type Tensor4D } from './tf';
import { SIZE_MULTIPLE, borderPadding, type TransformNetArchitecture } from './architecture';
import type { NormStats } from './normStats';
import { crop, padToMultiple, roundUpTo, type FloatImage } from './pixels';
import type { TransformNet } from './transformNet';

/**
 * The network's input for `img` and where the image lies in its output. Both border modes
 * give an output of 4·⌈H/4⌉ × 4·⌈W/4⌉ with the image's pixels starting at (left, top) (the
 * rows before the image first); 'reflect' feeds that size padded by reflection, 'zero' feeds
 * the image itself (architecture.ts BorderPadding).
 */
export function networkInput(
  arch: TransformNetArchitecture,
  img: FloatImage,
): { input: FloatImage; outWidth: number; outHeight: number; top: number; left: number } {
  const outHeight = roundUpTo(img.height, SIZE_MULTIPLE);
  const outWidth = roundUpTo(img.width, SIZE_MULTIPLE);
  const input = borderPadding(arch) === 'zero' ? img : padToMultiple(img, SIZE_MULTIPLE);
  return { input, outWidth, outHeight, top: outHeight - img.height, left: outWidth - img.width };
}

/**
 * Stylizes an RGB float image (0..255); the result has exactly the input's size, unclamped.
 * With `stats`, every instance norm uses them instead of the image's own statistics.
 */
export async function stylizeWithTfjs(net: TransformNet, img: FloatImage, stats?: NormStats): Promise<FloatImage> {
  if (img.channels !== 3) throw new Error(`stylize expects RGB input, got ${img.channels} channels`);
  const { input: x, outWidth, outHeight, top, left } = networkInput(net.arch, img);
  const input = tf.tensor4d(x.data, [1, x.height, x.width, 3]);
  let output: Tensor4D | undefined;
  try {
    output = net.apply(input, true, stats ? { statsOverride: stats } : {});
    if (output.shape[1] !== outHeight || output.shape[2] !== outWidth)
      throw new Error(
        `transform net returned ${output.shape[2]}×${output.shape[1]} for a ${x.width}×${x.height} input`,
      );
    const data = (await output.data()) as Float32Array;
    return crop({ width: outWidth, height: outHeight, channels: 3, data }, left, top, img.width, img.height);
  } finally {
    input.dispose();
    output?.dispose();
  }
}

/** The instance-norm statistics of `img` (fed as stylizeWithTfjs feeds it). */
export async function normStatsWithTfjs(net: TransformNet, img: FloatImage): Promise<NormStats> {
  if (img.channels !== 3) throw new Error(`stylize expects RGB input, got ${img.channels} channels`);
  const { input: x } = networkInput(net.arch, img);
  const input = tf.tensor4d(x.data, [1, x.height, x.width, 3]);
  try {
    return await net.normStats(input);
  } finally {
    input.dispose();
  }
}
