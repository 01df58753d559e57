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
import { getOnnxSession, releaseOnnxSessions, stylizeWithOnnx, type OnnxSessionOptions, type OnnxStyleSession } from './onnxRunner';
import { ensureFastOnnxModel, INT8_SESSION_CONFIG, type StylizePrecision } from './onnxQuantized';

export type StylizeRuntime = 'auto' | 'onnx' | 'tfjs';

export interface StylizerRequest extends Omit<OnnxCacheRequest, 'force'> {
  /** 'auto' (default): ONNX Runtime, else tfjs. 'onnx': ONNX Runtime or an error. 'tfjs': tfjs only. */
  runtime?: StylizeRuntime;
  onnx?: OnnxSessionOptions;
  /**
   * ONNX graph: 'auto' (default) and 'fp32': the fast fp32 graph; 'int8': the int8 graph when
   * it reproduces fp32 to ≥ 40 dB on the sample photos, else an error; 'reference': the core export.
   */
  precision?: StylizePrecision;
  /** Photos for int8 calibration (default: the extension's sample photos). */
  calibrationDir?: string;
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

/** The fast graph (fp32 or int8) of onnxQuantized.ts; undefined when it cannot be built (then the core export runs). */
async function openFastOnnx(req: StylizerRequest): Promise<{ session: OnnxStyleSession; modelPath: string; precision: string } | undefined> {
  const precision = req.precision ?? 'auto';
  if (precision === 'reference') return undefined;
  try {
    const fast = await ensureFastOnnxModel({ ...req, precision, loadRuntime: req.onnx?.loadRuntime });
    const opts: OnnxSessionOptions = fast.precision === 'int8' ? { ...req.onnx, sessionConfig: { ...INT8_SESSION_CONFIG, ...req.onnx?.sessionConfig } } : { ...req.onnx };
    return { session: await getOnnxSession(fast.path, opts), modelPath: fast.path, precision: fast.precision };
  } catch (e) {
    // A forced int8 that fails its check, or a missing runtime, is the caller's to see.
    if (precision === 'int8' || (e instanceof StyleTransferError && e.code === 'backend')) throw e;
    return undefined;
  }
}

async function openOnnx(req: StylizerRequest): Promise<{ session: OnnxStyleSession; modelPath: string; precision?: string }> {
  const fast = await openFastOnnx(req);
  if (fast) return fast;
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
    const { session, precision } = await openOnnx(req);
    return {
      runtime: 'onnx',
      description: `onnxruntime ${session.provider}${precision ? ` ${precision}` : ''}`,
      stylize: (img) => stylizeWithOnnx(session, img),
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
