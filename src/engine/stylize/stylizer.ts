// One entry point for stylizing with a checkpoint: ONNX Runtime by default (the cached
// export, DESIGN §5), TensorFlow.js when ONNX Runtime cannot load or start. The tfjs path runs
// on whatever tfjs backend the engine selected beforehand.
import { borderPadding, type WeightMap } from '../../model/architecture';
import type { NormStats } from '../../model/normStats';
import { exportFastTransformNet } from '../../model/onnx/onnxFast';
import { withExternalNormStats, withNormStatsOutputs } from '../../model/onnx/onnxNormStats';
import type { FloatImage } from '../../model/pixels';
import { tf } from '../../model/tf';
import { normStatsWithTfjs, stylizeWithTfjs } from '../../model/stylize';
import { TransformNet } from '../../model/transformNet';
import { StyleTransferError } from '../../protocol/errors';
import { ensureOnnxModel, type OnnxCacheRequest } from '../onnx/onnxCache';
import { onnxNormStats, stylizeWithOnnxStats } from '../onnx/onnxNormRunner';
import type { LoadedStyle } from '../styles';
import {
  createOnnxSession,
  getOnnxSession,
  isSessionReleased,
  readVerifiedModel,
  releaseOnnxSessions,
  type OnnxSessionOptions,
  type OnnxStyleSession,
} from '../onnx/onnxRunner';
import { stylizeWithOnnx } from '../onnx/onnxStylize';
import {
  ensureFastOnnxModel,
  fastGraphLayout,
  INT8_SESSION_CONFIG,
  type StylizePrecision,
} from '../onnx/onnxQuantized';

/**
 * Tile sides (pixels) that keep one tile's pass within about 1 GB: ONNX Runtime's CPU provider
 * needs ≈ 700 bytes per pixel for this network (measured: 0.75 GB at 1024², 1.7 GB at 1536²);
 * tfjs on WebAssembly about twice that and is ~10× slower, so its tiles are smaller.
 */
export const DEFAULT_TILE_SIZE: Readonly<Record<'onnx' | 'tfjs', number>> = Object.freeze({ onnx: 1024, tfjs: 512 });

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
  /**
   * Chooses the tfjs backend; called only when tfjs runs, so an ONNX Runtime stylize never
   * starts tfjs's WebAssembly threads (start-up time, a worker script in the temp folder).
   */
  prepareTfjs?: () => Promise<void>;
}

export interface Stylizer {
  readonly runtime: 'onnx' | 'tfjs';
  /** e.g. "onnxruntime cpu", "tfjs wasm". */
  readonly description: string;
  /** Why ONNX Runtime is not used, when runtime is 'tfjs' under 'auto'. */
  readonly fallbackReason?: string;
  /** Same size as the input, unclamped 0..255-ish floats. */
  stylize(img: FloatImage): Promise<FloatImage>;
  /** Starts measuring instance-norm statistics (tiled stylize); close the pass to free its memory. */
  openStatsPass(): Promise<StatsPass>;
  /** Starts stylizing tiles normalised with `stats`; close the pass to free its memory. */
  openTilePass(stats: NormStats): Promise<TilePass>;
  dispose(): Promise<void>;
}

/** Measures the statistics `stylize` would normalise each image with. */
export interface StatsPass {
  measure(img: FloatImage): Promise<NormStats>;
  close(): Promise<void>;
}

/**
 * Stylizes images (tiles of one large image) normalised with fixed statistics; `stats` given
 * to one call replace the pass's for that image (the frames of a video, each with the running
 * statistics of its shot).
 */
export interface TilePass {
  stylize(img: FloatImage, stats?: NormStats): Promise<FloatImage>;
  close(): Promise<void>;
}

interface OpenedOnnx {
  session: OnnxStyleSession;
  modelPath: string;
  /** The options the session was opened with (to reopen it from the cache), with the graph's verified hash. */
  options: OnnxSessionOptions & { expectSha256: string };
  precision?: string;
}

/** The fast graph (fp32 or int8) of onnxQuantized.ts; undefined when it cannot be built (then the core export runs). */
async function openFastOnnx(req: StylizerRequest): Promise<OpenedOnnx | undefined> {
  const precision = req.precision ?? 'auto';
  if (precision === 'reference') return undefined;
  try {
    const fast = await ensureFastOnnxModel({ ...req, precision, loadRuntime: req.onnx?.loadRuntime });
    const base = { ...req.onnx, expectSha256: fast.sha256 };
    const options =
      fast.precision === 'int8'
        ? { ...base, sessionConfig: { ...INT8_SESSION_CONFIG, ...req.onnx?.sessionConfig } }
        : base;
    return {
      session: await getOnnxSession(fast.path, options),
      modelPath: fast.path,
      options,
      precision: fast.precision,
    };
  } catch (e) {
    // A forced int8 that fails its check, or a missing runtime, is the caller's to see.
    if (precision === 'int8' || (e instanceof StyleTransferError && e.code === 'backend')) throw e;
    return undefined;
  }
}

async function openOnnx(req: StylizerRequest): Promise<OpenedOnnx> {
  const fast = await openFastOnnx(req);
  if (fast) return fast;
  return openCoreOnnx(req);
}

/** The core export (the reference graph; the tiled passes are derived from it). */
async function openCoreOnnx(req: StylizerRequest): Promise<OpenedOnnx> {
  let cached = await ensureOnnxModel(req);
  // Loaded from the bytes the cache verified (expectSha256), never from a file swapped meanwhile.
  const open = async () => {
    const options = { ...req.onnx, expectSha256: cached.sha256 };
    return { session: await getOnnxSession(cached.path, options), modelPath: cached.path, options };
  };
  try {
    return await open();
  } catch (e) {
    // A cached file ONNX Runtime rejects (damaged after its sidecar was written): export afresh once.
    if (!(e instanceof StyleTransferError && e.code === 'bad-checkpoint') || cached.exported) throw e;
    await releaseOnnxSessions(cached.path);
    cached = await ensureOnnxModel({ ...req, force: true });
    return await open();
  }
}

async function openTfjs(req: StylizerRequest, fallbackReason?: string): Promise<Stylizer> {
  const { arch, weights } = req;
  await req.prepareTfjs?.();
  const w: WeightMap = typeof weights === 'function' ? await weights() : weights;
  const net = TransformNet.fromWeights(arch, w);
  return {
    runtime: 'tfjs',
    description: `tfjs ${tf.getBackend()}`,
    ...(fallbackReason ? { fallbackReason } : {}),
    stylize: (img) => stylizeWithTfjs(net, img),
    openStatsPass: async () => ({ measure: (img) => normStatsWithTfjs(net, img), close: async () => undefined }),
    openTilePass: async (stats) => ({
      stylize: (img, own) => stylizeWithTfjs(net, img, own ?? stats),
      close: async () => undefined,
    }),
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
  if (runtime === 'tfjs') return openTfjs(req);
  // The graphs are exported for the architecture's border padding; the runner feeds them to match.
  const padding = borderPadding(req.arch);
  try {
    const { session, modelPath, options, precision } = await openOnnx(req);
    // The two norm-statistics variants (tiled stylize, steady video frames), made on first use:
    // from the fast fp32 graph when a fast graph runs (measured at 1280×720: fixed statistics
    // 1.07× and measuring 1.13× the plain fast graph's time, where the core export's variants
    // took 1.9× and 1.7×), else from the core export. Their sessions live for one pass each: a
    // CPU session keeps its memory arena (about a gigabyte for a 1024² tile) until released.
    let variantBytes: Promise<{ stats: Uint8Array; fixed: Uint8Array }> | undefined;
    const fastVariants = async () => {
      const w: WeightMap = typeof req.weights === 'function' ? await req.weights() : req.weights;
      const layout = fastGraphLayout(req.arch);
      return {
        stats: exportFastTransformNet(req.arch, w, { ...layout, normStats: 'outputs' }),
        fixed: exportFastTransformNet(req.arch, w, { ...layout, normStats: 'inputs' }),
      };
    };
    const variants = () =>
      (variantBytes ??=
        precision !== undefined
          ? fastVariants()
          : readVerifiedModel(modelPath, options.expectSha256).then((core) => ({
              stats: withNormStatsOutputs(core),
              fixed: withExternalNormStats(core),
            })));
    // Memory patterns off: with them ONNX Runtime allocates each run's whole plan as one block
    // and the arena grew to 1.5 GB over three 1024² runs instead of staying at 1.0 GB.
    const passOptions: OnnxSessionOptions = { ...req.onnx, providers: [session.provider], enableMemPattern: false };
    const openPass = async (which: 'stats' | 'fixed') => {
      try {
        return await createOnnxSession((await variants())[which], passOptions);
      } catch (e) {
        variantBytes = undefined;
        throw e;
      }
    };
    return {
      runtime: 'onnx',
      description: `onnxruntime ${session.provider}${precision ? ` ${precision}` : ''}`,
      // The session cache keeps only a few sessions and releases the oldest when another style
      // loads: take the session from the cache for each image (it reopens an evicted one), and
      // once more if it was released between taking it and running.
      stylize: async (img) => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await stylizeWithOnnx(await getOnnxSession(modelPath, options), img, padding);
          } catch (e) {
            if (!isSessionReleased(e) || attempt >= 4) throw e;
          }
        }
      },
      openStatsPass: async () => {
        const s = await openPass('stats');
        return { measure: (img) => onnxNormStats(s, img, undefined, padding), close: () => s.release() };
      },
      openTilePass: async (stats) => {
        const s = await openPass('fixed');
        return { stylize: (img, own) => stylizeWithOnnxStats(s, img, own ?? stats, padding), close: () => s.release() };
      },
      // Cached sessions are shared: leave them to the cache (releaseOnnxSessions on shutdown).
      dispose: async () => undefined,
    };
  } catch (e) {
    if (runtime === 'onnx' || !(e instanceof StyleTransferError && e.code === 'backend')) throw e;
    return openTfjs(req, e.message);
  }
}

/** What the jobs use: stylize any style's image, with sessions/networks cached per style. */
export interface StylizeEngine {
  /** e.g. "onnxruntime cpu" or "tfjs wasm" (of the last image stylized). */
  readonly label: string;
  stylize(style: LoadedStyle, img: FloatImage): Promise<FloatImage>;
  /** Measures instance-norm statistics under `style`'s network (tiled stylize). */
  openStatsPass(style: LoadedStyle): Promise<StatsPass>;
  /** Stylizes tiles of one large image, normalised with that image's statistics. */
  openTilePass(style: LoadedStyle, stats: NormStats): Promise<TilePass>;
  /** The runtime that stylizes with `style` (opened on first use), for its default tile size. */
  runtimeFor(style: LoadedStyle): Promise<'onnx' | 'tfjs'>;
  dispose(): void;
}

/** Out-of-memory failures of any runtime become one clear 'image-too-large' error. */
export function memoryError(e: unknown, img: FloatImage): StyleTransferError | undefined {
  const msg = e instanceof Error ? e.message : String(e);
  if (
    /out of memory|memory access out of bounds|Cannot allocate|bad_alloc|Array buffer allocation failed|Invalid typed array length|Aborted\(OOM\)|Failed to allocate/i.test(
      msg,
    )
  ) {
    return new StyleTransferError(
      'image-too-large',
      `not enough memory to stylize a ${img.width}×${img.height} image in one piece; reduce the scale or the image size`,
      msg,
    );
  }
  return undefined;
}
