// ONNX Runtime with the two norm-statistics variants of the network (model/onnx/onnxNormStats.ts):
// record the instance-norm statistics of one image, and stylize with given statistics.
import type * as Ort from 'onnxruntime-node';
import { SIZE_MULTIPLE, type BorderPadding } from '../../model/architecture';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from '../../model/onnx/onnxExport';
import type { ChannelStats, NormStats } from '../../model/normStats';
import type { FloatImage } from '../../model/pixels';
import { StyleTransferError } from '../../protocol/errors';
import type { OnnxStyleSession } from './onnxRunner';
import { checkImage, imageFromOutput, padToChw } from './onnxStylize';

const STATS_NAME = /^norm_stats\/(.+)\/(mean|variance)$/;

function runtimeError(s: OnnxStyleSession, img: FloatImage, e: unknown): StyleTransferError {
  if (e instanceof StyleTransferError) return e;
  const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  return new StyleTransferError(
    'backend',
    `ONNX Runtime (${s.provider}) failed on a ${img.width}×${img.height} image: ${msg}`,
  );
}

/** Feeds for the statistics inputs of a session, from `stats`. */
function statsFeeds(s: OnnxStyleSession, stats: NormStats | undefined): Record<string, Ort.Tensor> {
  const feeds: Record<string, Ort.Tensor> = {};
  for (const name of s.session.inputNames) {
    const m = STATS_NAME.exec(name);
    if (!m) continue;
    const st = stats?.get(m[1]);
    if (!st) throw new StyleTransferError('bad-input', `no norm statistics for layer ${m[1]}`);
    const v = m[2] === 'mean' ? st.mean : st.variance;
    feeds[name] = new s.runtime.Tensor('float32', v, [v.length]);
  }
  return feeds;
}

/**
 * One run of a norm-statistics variant: pads `img` to the size multiple as stylizeWithOnnx
 * does (`padding`: the architecture's border padding), feeds `given` to the statistics inputs, and returns the stylized image (when
 * `withImage`) and the statistics the model outputs.
 */
async function runVariant(
  s: OnnxStyleSession,
  img: FloatImage,
  given: NormStats | undefined,
  withImage: boolean,
  padding: BorderPadding,
): Promise<{ image?: FloatImage; stats: Map<string, ChannelStats> }> {
  checkImage(img);
  const statNames = s.session.outputNames.filter((n) => STATS_NAME.test(n));
  const fetches = withImage ? [ONNX_OUTPUT_NAME, ...statNames] : statNames;
  return s._use(async () => {
    const padded = padToChw(img, SIZE_MULTIPLE, padding);
    const feeds = statsFeeds(s, given);
    feeds[ONNX_INPUT_NAME] = new s.runtime.Tensor('float32', padded.data, [1, 3, padded.height, padded.width]);
    let result: Ort.InferenceSession.OnnxValueMapType | undefined;
    try {
      result = await s.session.run(feeds, fetches);
      const partial = new Map<string, { mean?: Float32Array; variance?: Float32Array }>();
      for (const name of statNames) {
        const [, layer, which] = STATS_NAME.exec(name)!;
        const entry = partial.get(layer) ?? {};
        // Copied out: the tensor's buffer belongs to ONNX Runtime.
        entry[which as 'mean' | 'variance'] = Float32Array.from((result[name] as Ort.Tensor).data as Float32Array);
        partial.set(layer, entry);
      }
      const stats = new Map<string, ChannelStats>();
      for (const [layer, e] of partial) {
        if (!e.mean || !e.variance)
          throw new StyleTransferError('bad-checkpoint', `the ONNX model outputs an incomplete statistic for ${layer}`);
        stats.set(layer, { mean: e.mean, variance: e.variance });
      }
      if (!withImage) return { stats };
      const image = imageFromOutput(result[ONNX_OUTPUT_NAME] as Ort.Tensor, padded, img);
      return { image, stats };
    } catch (e) {
      throw runtimeError(s, img, e);
    } finally {
      for (const t of Object.values(feeds)) t.dispose();
      for (const v of Object.values(result ?? {})) (v as Ort.Tensor).dispose();
    }
  });
}

/**
 * The instance-norm statistics of `img`, from a session of withNormStatsOutputs' model: the
 * numbers the plain model normalises with when it stylizes `img` in one piece. Layers whose
 * statistics are inputs of the model (withExternalNormStats on some layers) take them from
 * `given`.
 */
export async function onnxNormStats(
  s: OnnxStyleSession,
  img: FloatImage,
  given?: NormStats,
  padding: BorderPadding = 'reflect',
): Promise<NormStats> {
  if (!s.session.outputNames.some((n) => STATS_NAME.test(n)))
    throw new StyleTransferError('bad-checkpoint', 'this ONNX model has no norm-statistics outputs');
  return (await runVariant(s, img, given, false, padding)).stats;
}

/**
 * Stylizes `img` with a session of withExternalNormStats' model, normalising with `stats`
 * instead of the image's own statistics. Pads and crops like stylizeWithOnnx.
 */
export async function stylizeWithOnnxStats(
  s: OnnxStyleSession,
  img: FloatImage,
  stats: NormStats,
  padding: BorderPadding = 'reflect',
): Promise<FloatImage> {
  if (!s.session.inputNames.some((n) => STATS_NAME.test(n)))
    throw new StyleTransferError('bad-checkpoint', 'this ONNX model takes no norm statistics');
  return (await runVariant(s, img, stats, true, padding)).image!;
}
