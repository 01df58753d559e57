// Messages between the extension host and the engine worker (DESIGN §2). One union per
// direction, string `type` fields; every request gets exactly one `result` or `error`,
// progress arrives as events in between. Image bytes travel as Uint8Array (transferable).
import type { ErrorInfo } from './errors';

export type OutputFormat = 'same' | 'png' | 'jpeg' | 'webp' | 'avif' | 'tiff' | 'gif';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['same', 'png', 'jpeg', 'webp', 'avif', 'tiff', 'gif'];
export type StylizeRuntime = 'auto' | 'onnx' | 'tfjs';
export type StylizePrecision = 'auto' | 'fp32' | 'int8' | 'reference';
export type ColorMode = 'none' | 'luminance' | 'histogram';
export type TrainingPresetName = 'quick' | 'standard' | 'paper';
export const TRAINING_PRESETS: readonly TrainingPresetName[] = ['quick', 'standard', 'paper'];

export interface StylizeOptions {
  /** Folder for results; default: beside each input. */
  readonly outDir?: string;
  readonly format?: OutputFormat;
  readonly quality?: number;
  /** 0 = the input, 1 = the full stylization. */
  readonly strength?: number;
  /** Keep the input's colours and take only the style's luminance pattern. */
  readonly colorMode?: ColorMode;
  /** Scale the input before stylizing (brush strokes look larger on smaller inputs). */
  readonly scale?: number;
  /** Other styles mixed in: style path → weight (the main style gets the rest). */
  readonly blend?: readonly { readonly style: string; readonly weight: number }[];
  readonly runtime?: StylizeRuntime;
  /** Tile size for large images (pixels per side); 0 = automatic. */
  readonly tileSize?: number;
}

export interface TrainOptions {
  readonly styleImage: string;
  readonly dataDir: string;
  /** Checkpoint folder to create (or resume). */
  readonly output: string;
  readonly name: string;
  readonly preset: TrainingPresetName;
  readonly resume?: boolean;
  /** VGG19 weights: a tfjs layers-model folder or a MatConvNet .mat file. */
  readonly vggPath: string;
  /** Any hyperparameter of the preset, overridden. */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

export type JobRequest =
  | { readonly type: 'stylize'; readonly inputs: readonly string[]; readonly style: string; readonly options: StylizeOptions }
  | { readonly type: 'preview'; readonly image: ImageSource; readonly style: string; readonly maxSide: number; readonly options: StylizeOptions }
  | { readonly type: 'train'; readonly options: TrainOptions }
  | { readonly type: 'import'; readonly source: string; readonly target: string; readonly name?: string }
  | { readonly type: 'exportOnnx'; readonly style: string; readonly target: string }
  | { readonly type: 'downloadVgg'; readonly cacheDir: string }
  | { readonly type: 'downloadPretrained'; readonly id: string; readonly target: string; readonly baseUrl?: string }
  | { readonly type: 'listPretrained' }
  | { readonly type: 'info' }
  | { readonly type: 'checkGpu'; readonly target: GpuTarget }
  | { readonly type: 'setUpGpu'; readonly options: GpuSetupRequest }
  | { readonly type: 'initBackend'; readonly preference: EngineSettings['trainingBackend'] }
  | { readonly type: 'checkOnnxProvider'; readonly provider: 'cuda' | 'webgpu' | 'cpu' };

/** What "Set Up GPU Acceleration…" can install. */
export type GpuTarget = 'tfjs-node-gpu' | 'tfjs-node' | 'onnx-cuda';

export interface GpuSetupRequest {
  readonly target: GpuTarget;
  /** The extension's global storage folder (packages go to <storage>/gpu). */
  readonly storageDir: string;
  /** Mirror host for TensorFlow's downloads (TFJS_NODE_CDN_STORAGE). */
  readonly tfjsMirror?: string;
  /** HTTPS URL of a libtensorflow archive (custom-binary.json "tf-lib"). */
  readonly customLibtensorflow?: string;
  /** A Node.js binary to run npm with (default: node on PATH). */
  readonly node?: string;
  /** Install even though a prerequisite check failed. */
  readonly force?: boolean;
}

export interface PrerequisiteCheckInfo {
  readonly id: string;
  readonly ok: boolean;
  readonly message: string;
}

export type ImageSource = { readonly path: string } | { readonly bytes: Uint8Array; readonly name?: string };

export interface EncodedImage {
  readonly bytes: Uint8Array;
  readonly mime: string;
  readonly width: number;
  readonly height: number;
}

export interface StylizeResult {
  readonly outputs: readonly { readonly input: string; readonly output: string }[];
  readonly failures: readonly { readonly input: string; readonly error: ErrorInfo }[];
  readonly runtime: string;
  /** The job was cancelled after these results; later inputs were not touched. */
  readonly cancelled?: boolean;
}

export interface TrainResult {
  readonly checkpoint: string;
  readonly iterations: number;
  readonly cancelled: boolean;
}

export interface EngineInfo {
  readonly tfjsBackend?: string;
  readonly stylizeRuntime?: string;
  readonly versions: Readonly<Record<string, string>>;
}

export interface JobResults {
  stylize: StylizeResult;
  preview: { readonly original: EncodedImage; readonly stylized: EncodedImage; readonly runtime: string };
  train: TrainResult;
  import: { readonly checkpoint: string; readonly name: string };
  exportOnnx: { readonly path: string };
  downloadVgg: { readonly path: string; readonly cached: boolean };
  downloadPretrained: { readonly checkpoint: string; readonly name: string };
  listPretrained: readonly PretrainedStyleInfo[];
  info: EngineInfo;
  checkGpu: { readonly checks: readonly PrerequisiteCheckInfo[] };
  setUpGpu: { readonly target: GpuTarget; readonly checks: readonly PrerequisiteCheckInfo[]; readonly moduleRoot?: string };
  initBackend: { readonly name: string; readonly label: string; readonly skipped: readonly { readonly name: string; readonly reason: string }[] };
  checkOnnxProvider: { readonly provider: string; readonly ok: boolean; readonly reason?: string };
}
export type JobResult<T extends JobRequest['type']> = JobResults[T];

export interface PretrainedStyleInfo {
  readonly id: string;
  readonly title: string;
  readonly license: string;
  readonly description: string;
  readonly url: string;
}

export interface LossValues {
  readonly total: number;
  readonly content: number;
  readonly style: number;
  readonly tv: number;
}

export type JobProgress =
  | { readonly type: 'stylize'; readonly done: number; readonly total: number; readonly file?: string; readonly output?: string }
  | {
      readonly type: 'train';
      readonly iteration: number;
      readonly totalIterations: number;
      readonly epoch: number;
      readonly losses: LossValues;
      readonly imagesPerSecond: number;
      readonly etaSeconds: number;
    }
  | { readonly type: 'trainPreview'; readonly iteration: number; readonly image: EncodedImage }
  | { readonly type: 'checkpoint'; readonly iteration: number; readonly path: string }
  | { readonly type: 'download'; readonly bytes: number; readonly total?: number }
  | { readonly type: 'phase'; readonly message: string };

export type HostToWorker =
  | { readonly type: 'run'; readonly id: number; readonly job: JobRequest; readonly settings: EngineSettings }
  | { readonly type: 'cancel'; readonly id: number };

export type WorkerToHost =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'progress'; readonly id: number; readonly progress: JobProgress }
  | { readonly type: 'result'; readonly id: number; readonly result: unknown }
  | { readonly type: 'error'; readonly id: number; readonly error: ErrorInfo }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly message: string };

/** Settings the host passes with each job (from VS Code's configuration). */
export interface EngineSettings {
  readonly trainingBackend: 'auto' | 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';
  readonly stylizeRuntime: StylizeRuntime;
  /** ONNX graph for stylizing: 'auto' (int8 when it passes a 40 dB check, else fast fp32), 'fp32', 'int8', 'reference'. */
  readonly stylizePrecision?: StylizePrecision;
  readonly threads: number;
  /** Where the engine may cache things (exported ONNX models of read-only styles…). */
  readonly cacheDir: string;
  /** Extra folders with node_modules (optional GPU packages). */
  readonly extraModuleRoots: readonly string[];
  readonly maxInputPixels: number;
}

export const DEFAULT_MAX_INPUT_PIXELS = 100_000_000;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Guard for messages arriving from the worker (the host trusts its worker, but not blindly). */
export function isWorkerToHost(m: unknown): m is WorkerToHost {
  if (!isObject(m) || typeof m.type !== 'string') return false;
  switch (m.type) {
    case 'ready': return typeof m.pid === 'number';
    case 'progress': return typeof m.id === 'number' && isObject(m.progress);
    case 'result': return typeof m.id === 'number';
    case 'error': return typeof m.id === 'number' && isObject(m.error) && typeof m.error.message === 'string';
    case 'log': return typeof m.message === 'string';
    default: return false;
  }
}

export function isHostToWorker(m: unknown): m is HostToWorker {
  if (!isObject(m) || typeof m.id !== 'number') return false;
  if (m.type === 'cancel') return true;
  return m.type === 'run' && isObject(m.job) && typeof m.job.type === 'string' && isObject(m.settings);
}
