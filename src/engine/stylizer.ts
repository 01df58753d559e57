// One entry point for stylizing with a checkpoint: ONNX Runtime by default (the cached
// export, DESIGN §5), TensorFlow.js when ONNX Runtime cannot load or start. The tfjs path runs
// on whatever tfjs backend the engine selected beforehand.
import type { TransformNetArchitecture, WeightMap } from '../model/architecture';
import type { FloatImage } from '../model/pixels';
import { tf } from '../model/tf';
import { stylizeWithTfjs } from '../model/stylize';
import { TransformNet } from '../model/transformNet';
import { StyleTransferError } from '../protocol/errors';
import { ensureOnnxModel, type OnnxCacheRequest } from './onnxCache';
import type { LoadedStyle } from './styles';
import { getOnnxSession, isSessionReleased, releaseOnnxSessions, stylizeWithOnnx, type OnnxSessionOptions, type OnnxStyleSession } from './onnxRunner';

export type StylizeRuntime = 'auto' | 'onnx' | 'tfjs';

export interface StylizerRequest extends Omit<OnnxCacheRequest, 'force'> {
  /** 'auto' (default): ONNX Runtime, else tfjs. 'onnx': ONNX Runtime or an error. 'tfjs': tfjs only. */
  runtime?: StylizeRuntime;
  onnx?: OnnxSessionOptions;
}

export interface Stylizer {
  readonly runtime: 'onnx' | 'tfjs';
  /** e.g. "onnxruntime cpu", "tfjs wasm". */
  readonly description: string;
  /** Why ONNX Runtime is not used, when runtime is 'tfjs' under 'auto'. */
  readonly fallbackReason?: string;
  /** Same size as the input, unclamped 0..255-ish floats. */
  stylize(img: FloatImage): Promise<FloatImage>;
  dispose(): Promise<void>;
}

async function openOnnx(req: StylizerRequest): Promise<{ session: OnnxStyleSession; modelPath: string }> {
  let cached = await ensureOnnxModel(req);
  try {
    return { session: await getOnnxSession(cached.path, req.onnx), modelPath: cached.path };
  } catch (e) {
    // A cached file ONNX Runtime rejects (damaged after its sidecar was written): export afresh once.
    if (!(e instanceof StyleTransferError && e.code === 'bad-checkpoint') || cached.exported) throw e;
    await releaseOnnxSessions(cached.path);
    cached = await ensureOnnxModel({ ...req, force: true });
    return { session: await getOnnxSession(cached.path, req.onnx), modelPath: cached.path };
  }
}

async function openTfjs(arch: TransformNetArchitecture, weights: StylizerRequest['weights'], fallbackReason?: string): Promise<Stylizer> {
  const w: WeightMap = typeof weights === 'function' ? await weights() : weights;
  const net = TransformNet.fromWeights(arch, w);
  return {
    runtime: 'tfjs',
    description: `tfjs ${tf.getBackend()}`,
    ...(fallbackReason ? { fallbackReason } : {}),
    stylize: (img) => stylizeWithTfjs(net, img),
    dispose: async () => net.dispose(),
  };
}

/**
 * A stylizer for one checkpoint. Under 'auto', ONNX Runtime problems of kind 'backend' (runtime
 * missing, no provider starts) fall back to tfjs; a bad model or an unwritable cache is an
 * error, since tfjs would not fix it.
 */
export async function openStylizer(req: StylizerRequest): Promise<Stylizer> {
  const runtime = req.runtime ?? 'auto';
  if (runtime === 'tfjs') return openTfjs(req.arch, req.weights);
  try {
    const { session, modelPath } = await openOnnx(req);
    return {
      runtime: 'onnx',
      description: `onnxruntime ${session.provider}`,
      // The session cache keeps only a few sessions and releases the oldest when another style
      // loads: take the session from the cache for each image (it reopens an evicted one), and
      // once more if it was released between taking it and running.
      stylize: async (img) => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await stylizeWithOnnx(await getOnnxSession(modelPath, req.onnx), img);
          } catch (e) {
            if (!isSessionReleased(e) || attempt >= 4) throw e;
          }
        }
      },
      // Cached sessions are shared: leave them to the cache (releaseOnnxSessions on shutdown).
      dispose: async () => undefined,
    };
  } catch (e) {
    if (runtime === 'onnx' || !(e instanceof StyleTransferError && e.code === 'backend')) throw e;
    return openTfjs(req.arch, req.weights, e.message);
  }
}

/** What the jobs use: stylize any style's image, with sessions/networks cached per style. */
export interface StylizeEngine {
  /** e.g. "onnxruntime cpu" or "tfjs wasm" (of the last image stylized). */
  readonly label: string;
  stylize(style: LoadedStyle, img: FloatImage): Promise<FloatImage>;
  dispose(): void;
}

/** Out-of-memory failures of any runtime become one clear 'image-too-large' error. */
export function memoryError(e: unknown, img: FloatImage): StyleTransferError | undefined {
  const msg = e instanceof Error ? e.message : String(e);
  if (/out of memory|memory access out of bounds|Cannot allocate|bad_alloc|Array buffer allocation failed|Invalid typed array length|Aborted\(OOM\)|Failed to allocate/i.test(msg)) {
    return new StyleTransferError('image-too-large', `not enough memory to stylize a ${img.width}×${img.height} image in one piece; reduce the scale or the image size`, msg);
  }
  return undefined;
}
