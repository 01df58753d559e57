// Stylize one image with the tfjs transform network: pad to the size multiple, run, crop back.
import { tf, type Tensor4D } from './tf';
import { SIZE_MULTIPLE } from './architecture';
import type { NormStats } from './normStats';
import { crop, padToMultiple, type FloatImage } from './pixels';
import type { TransformNet } from './transformNet';

/**
 * Stylizes an RGB float image (0..255); the result has exactly the input's size, unclamped.
 * With `stats`, every instance norm uses them instead of the image's own statistics.
 */
export async function stylizeWithTfjs(net: TransformNet, img: FloatImage, stats?: NormStats): Promise<FloatImage> {
  if (img.channels !== 3) throw new Error(`stylize expects RGB input, got ${img.channels} channels`);
  const padded = padToMultiple(img, SIZE_MULTIPLE);
  const input = tf.tensor4d(padded.data, [1, padded.height, padded.width, 3]);
  let output: Tensor4D | undefined;
  try {
    output = net.apply(input, true, stats ? { statsOverride: stats } : {});
    const data = (await output.data()) as Float32Array;
    const { top, left } = padded.padding;
    return crop({ width: padded.width, height: padded.height, channels: 3, data }, left, top, img.width, img.height);
  } finally {
    input.dispose();
    output?.dispose();
  }
}

/** The instance-norm statistics of `img` (padded as stylizeWithTfjs pads it). */
export async function normStatsWithTfjs(net: TransformNet, img: FloatImage): Promise<NormStats> {
  if (img.channels !== 3) throw new Error(`stylize expects RGB input, got ${img.channels} channels`);
  const padded = padToMultiple(img, SIZE_MULTIPLE);
  const input = tf.tensor4d(padded.data, [1, padded.height, padded.width, 3]);
  try {
    return await net.normStats(input);
  } finally {
    input.dispose();
  }
}
