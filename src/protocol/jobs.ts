// Messages between the extension host and the engine worker (DESIGN §2). One union per
// direction, string `type` fields; every request gets exactly one `result` or `error`,
// progress arrives as events in between. Image bytes travel as Uint8Array (transferable).
import type { ClipInfo, ClipPlayback, ClipToolsOptions } from './clips';
import type { ErrorInfo } from './errors';
import { BORDER_PADDINGS, UPSAMPLE_MODES, type NumericHyperparameter } from '../shared/hyperparameters';

export type OutputFormat = 'same' | 'png' | 'jpeg' | 'webp' | 'avif' | 'tiff' | 'gif';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['same', 'png', 'jpeg', 'webp', 'avif', 'tiff', 'gif'];
export type StylizeRuntime = 'auto' | 'onnx' | 'tfjs';
export const STYLIZE_RUNTIMES: readonly StylizeRuntime[] = ['auto', 'onnx', 'tfjs'];
export type StylizePrecision = 'auto' | 'fp32' | 'int8' | 'reference';
export const STYLIZE_PRECISIONS: readonly StylizePrecision[] = ['auto', 'fp32', 'int8', 'reference'];
export type ColorMode = 'none' | 'luminance' | 'histogram';
export const COLOR_MODES: readonly ColorMode[] = ['none', 'luminance', 'histogram'];
export type TrainingPresetName = 'quick' | 'standard' | 'paper';
export const TRAINING_PRESETS: readonly TrainingPresetName[] = ['quick', 'standard', 'paper'];
export const BLEND_MODES = ['outputs', 'norm'] as const;
export const TILE_STATS = ['auto', 'sampled', 'downscaled'] as const;

/** The ranges of the stylize options, checked where a request arrives (worker, CLI), nowhere inside the engine. */
export const STYLIZE_LIMITS = {
  /** 0 = the input, 1 = the full stylization. */
  strength: { min: 0, max: 1 },
  /** Larger scales make huge images and no stronger strokes; below 0.01 nothing is left to stylize. */
  scale: { min: 0.01, max: 4 },
  quality: { min: 1, max: 100, integer: true },
  /** 0 = automatic. */
  tileSize: { min: 0, max: 65_536, integer: true },
} as const;

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
  /** Other styles mixed in: style path → weight (the main style gets the rest, 1 − Σ weights). */
  readonly blend?: readonly { readonly style: string; readonly weight: number }[];
  /**
   * 'outputs' (default): mix the styles' results in linear light; 'norm': mix the instance-norm
   * parameters of styles that share their convolution weights (one network in between).
   */
  readonly blendMode?: (typeof BLEND_MODES)[number];
  readonly runtime?: StylizeRuntime;
  /** Tile size for large images (pixels per side); 0 = automatic. */
  readonly tileSize?: number;
  /**
   * Instance-norm statistics of tiled images: 'auto' (default: exact for images up to about
   * a megapixel, else 'sampled'), 'sampled' (pooled over half the image in full-resolution
   * tiles: +50 % time, close to a one-piece stylize) or 'downscaled' (one pass over a
   * one-megapixel copy: fast, flatter and hazier on large images).
   */
  readonly tileStats?: (typeof TILE_STATS)[number];
  /**
   * Videos and animated images: share instance-norm statistics across the frames of a shot
   * and steady the still parts (default true); false stylizes every frame on its own.
   */
  readonly steady?: boolean;
  /** Videos: the ffmpeg executable (ffprobe beside it); default the PATH's. */
  readonly ffmpegPath?: string;
  /** Videos: the extension's global storage, whose copy of ffmpeg (Set Up Video Support…) is used when the PATH has none. */
  readonly videoToolsDir?: string;
}

export interface TrainOptions {
  readonly styleImage: string;
  readonly dataDir: string;
  /** Checkpoint folder to create (never an existing one: a resume is its own request). */
  readonly output: string;
  readonly name: string;
  readonly preset: TrainingPresetName;
  /** VGG19 weights: a tfjs layers-model folder or a MatConvNet .mat file. */
  readonly vggPath: string;
  /** Hyperparameters of the preset, overridden (their ranges: src/shared/hyperparameters.ts). */
  readonly overrides?: TrainingOverrides;
  /**
   * A new style starts from this trained style's weights (its network size is used) instead of
   * random ones: a fine-tune that needs a fraction of the steps.
   */
  readonly initFrom?: string;
}

/** What a train request may set over its preset (the resolved set is model/presets.ts TrainingHyperparameters). */
export type TrainingOverrides = { readonly [K in NumericHyperparameter]?: number } & {
  readonly architecture?: {
    readonly type: 'johnson2016';
    readonly filters: readonly [number, number, number];
    readonly residualBlocks: number;
    readonly upsample?: (typeof UPSAMPLE_MODES)[number];
    readonly padding?: (typeof BORDER_PADDINGS)[number];
    /** tanh·outputScale + 127.5 (model/architecture.ts). */
    readonly outputScale?: number;
  };
  /** VGG layers (relu2_2…); empty = the defaults for the loaded weights. */
  readonly contentLayers?: readonly string[];
  readonly styleLayers?: readonly string[];
  readonly augment?: boolean;
};

/** Continue training a checkpoint exactly where it stopped, with the settings saved in it. */
export interface ResumeOptions {
  /** The checkpoint folder (it holds the training state). */
  readonly checkpoint: string;
  /** VGG19 weights, as for training. */
  readonly vggPath: string;
  /** Train until this many steps in all (to extend a run); default: the saved length. */
  readonly iterations?: number;
}

/** "Stylize with Any Image (slow)": Gatys et al.'s pixel optimisation, no training. */
export type OptimizeMethodName = 'lbfgs' | 'adam';
export const OPTIMIZE_METHOD_NAMES: readonly OptimizeMethodName[] = ['lbfgs', 'adam'];

export interface OptimizeOptions {
  /** The photo (content image). */
  readonly image: string;
  /** Any painting or picture whose style is copied. */
  readonly styleImage: string;
  /** VGG19 weights: a tfjs layers-model folder or a MatConvNet .mat file. */
  readonly vggPath: string;
  /** Folder for the result; default: beside the photo. */
  readonly outDir?: string;
  /** Default 'png' (the result is a new, smaller image; lossless keeps its fine texture). */
  readonly format?: OutputFormat;
  readonly quality?: number;
  /** Longer side of the working image in pixels (default 256; never enlarged). */
  readonly size?: number;
  /** Refuse `size` above this (default 512: minutes per hundred steps on a CPU). */
  readonly maxSize?: number;
  /** Longer side of the style image (default: `size`). */
  readonly styleSize?: number;
  /** Optimisation steps (default 200). */
  readonly steps?: number;
  readonly method?: OptimizeMethodName;
  /** Adam: step in pixel values; L-BFGS: largest pixel change of the first step. */
  readonly learningRate?: number;
  readonly contentWeight?: number;
  readonly styleWeight?: number;
  readonly tvWeight?: number;
  readonly contentLayer?: string;
  readonly styleLayers?: readonly string[];
  /** Start from the photo (default) or from seeded noise. */
  readonly init?: 'content' | 'noise';
  readonly seed?: number;
  /** Send an 'optimizePreview' every this many steps (default 10; 0 = none). */
  readonly previewEvery?: number;
  /** On cancel, write the best image so far (default false: a cancel writes nothing). */
  readonly saveOnCancel?: boolean;
}

export interface OptimizeResult {
  /** The written image; absent when cancelled without `saveOnCancel`. */
  readonly output?: string;
  readonly cancelled: boolean;
  readonly steps: number;
  /** Loss evaluations (VGG forward + backward passes). */
  readonly evaluations: number;
  readonly initialLosses: LossValues;
  readonly finalLosses: LossValues;
  readonly seconds: number;
  readonly method: OptimizeMethodName;
  readonly width: number;
  readonly height: number;
  /** The tfjs backend that ran it. */
  readonly backend: string;
}

/** `fst evaluate` and the gallery's Evaluate action: quality figures of styles on held-out photos. */
export interface EvaluateOptions {
  /** The style to evaluate, then any to compare with it (checkpoint or ml5 folders; 1–4). */
  readonly styles: readonly string[];
  /** The painting the styles were trained on. */
  readonly painting: string;
  /** Photos and folders of photos (default: the sample photos shipped in media/samples/photos). */
  readonly photos?: readonly string[];
  /** VGG19 weights: a tfjs layers-model folder or imagenet-vgg-verydeep-19.mat. */
  readonly vggPath: string;
  /** Write a contact sheet here (never overwritten); none when absent. */
  readonly sheet?: string;
  /** Photos larger than this on their long side are shrunk first (default 1024). */
  readonly maxSide?: number;
}

export interface EvaluateFigures {
  /** Mean relative Gram distance to the painting at relu1_1, relu2_1, relu3_1. */
  readonly styleDistance: number;
  /** Relative squared relu2_2 feature distance to the photo. */
  readonly contentDistance: number;
  /** Share (0–1) of pixels in large clipped blobs where the photo is not clipped. */
  readonly blobShare: number;
}

export interface EvaluateResult {
  readonly painting: string;
  /** The VGG weights used (one line). */
  readonly vgg: string;
  readonly models: readonly {
    readonly style: string;
    readonly name: string;
    readonly runtime: string;
    readonly photos: readonly ({
      readonly photo: string;
      readonly width: number;
      readonly height: number;
      /** The style distance of each layer (relu1_1, relu2_1, relu3_1), which the mean hides. */
      readonly styleDistanceByLayer: Readonly<Record<string, number>>;
    } & EvaluateFigures)[];
    readonly mean: EvaluateFigures;
  }[];
  readonly sheet?: { readonly path: string; readonly width: number; readonly height: number };
  readonly seconds: number;
}

export type JobRequest =
  | {
      readonly type: 'stylize';
      readonly inputs: readonly string[];
      readonly style: string;
      readonly options: StylizeOptions;
    }
  | {
      readonly type: 'preview';
      readonly image: ImageSource;
      readonly style: string;
      readonly maxSide: number;
      readonly options: StylizeOptions;
      /** A clip (video, animated GIF/WebP/PNG) at `image.path`: preview its frame at this many seconds. */
      readonly frameAt?: number;
    }
  /** What the gallery's frame picker needs of a clip (a still image answers kind 'still'). */
  | { readonly type: 'clipInfo'; readonly file: string; readonly options: ClipToolsOptions }
  /**
   * A stylized clip made playable in a webview: a small WebM in `targetDir` for videos (VP9 or
   * VP8), the file's bytes for animated images, or frames where ffmpeg has no VP8/VP9 encoder.
   */
  | {
      readonly type: 'clipPlayback';
      readonly file: string;
      readonly targetDir: string;
      readonly options: ClipToolsOptions;
    }
  | { readonly type: 'train'; readonly options: TrainOptions }
  | { readonly type: 'resume'; readonly options: ResumeOptions }
  | { readonly type: 'import'; readonly source: string; readonly target: string; readonly name?: string }
  | { readonly type: 'exportOnnx'; readonly style: string; readonly target: string }
  | { readonly type: 'downloadVgg'; readonly cacheDir: string }
  | { readonly type: 'downloadPretrained'; readonly id: string; readonly target: string; readonly baseUrl?: string }
  | { readonly type: 'listPretrained' }
  | { readonly type: 'optimize'; readonly options: OptimizeOptions }
  | { readonly type: 'evaluate'; readonly options: EvaluateOptions }
  | { readonly type: 'info' }
  | { readonly type: 'checkGpu'; readonly target: GpuTarget }
  | { readonly type: 'setUpGpu'; readonly options: GpuSetupRequest }
  | { readonly type: 'setUpVideo'; readonly options: VideoSetupRequest }
  | { readonly type: 'initBackend'; readonly preference: EngineSettings['trainingBackend'] }
  | { readonly type: 'checkOnnxProvider'; readonly provider: 'cuda' | 'webgpu' | 'cpu' };

/** What "Set Up GPU Acceleration…" can install. */
export const GPU_TARGETS = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'onnx-cuda'] as const;
export type GpuTarget = (typeof GPU_TARGETS)[number];

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

export type { ClipInfo, ClipPlayback, ClipToolsOptions };

export interface VideoSetupRequest {
  /** The extension's global storage folder (ffmpeg goes to <storage>/video). */
  readonly storageDir: string;
  /** The user's ffmpeg setting: when it (or the PATH's ffmpeg) works, nothing is installed. */
  readonly ffmpegPath?: string;
  /** A Node.js binary to run npm with (default: node on PATH). */
  readonly node?: string;
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
  preview: {
    readonly original: EncodedImage;
    readonly stylized: EncodedImage;
    readonly runtime: string;
    /** The source image's upright size before any preview downscaling. */
    readonly sourceWidth?: number;
    readonly sourceHeight?: number;
  };
  clipInfo: ClipInfo;
  clipPlayback: ClipPlayback;
  train: TrainResult;
  resume: TrainResult;
  import: { readonly checkpoint: string; readonly name: string };
  exportOnnx: { readonly path: string };
  downloadVgg: { readonly path: string; readonly cached: boolean };
  downloadPretrained: { readonly checkpoint: string; readonly name: string };
  listPretrained: readonly PretrainedStyleInfo[];
  optimize: OptimizeResult;
  evaluate: EvaluateResult;
  info: EngineInfo;
  checkGpu: { readonly checks: readonly PrerequisiteCheckInfo[] };
  setUpGpu: {
    readonly target: GpuTarget;
    readonly checks: readonly PrerequisiteCheckInfo[];
    readonly moduleRoot?: string;
  };
  /** `installed` false: a working ffmpeg was already there (`ffmpeg`). */
  setUpVideo: { readonly installed: boolean; readonly ffmpeg: string; readonly version: string };
  initBackend: {
    readonly name: string;
    readonly label: string;
    readonly skipped: readonly { readonly name: string; readonly reason: string }[];
  };
  checkOnnxProvider: { readonly provider: string; readonly ok: boolean; readonly reason?: string };
}

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
  /** The range loss, where training has one (rangeWeight above 0). */
  readonly range?: number;
}

export type JobProgress =
  | {
      readonly type: 'stylize';
      readonly done: number;
      readonly total: number;
      readonly file?: string;
      readonly output?: string;
      /** Within a large image stylized in tiles: the statistics pass, then the tiles. */
      readonly tile?: { readonly phase: 'stats' | 'stylize'; readonly done: number; readonly total: number };
      /** Within a video or animated image: frames written, frames per second, seconds left. */
      readonly frames?: {
        readonly done: number;
        readonly total: number;
        readonly fps: number;
        readonly etaSeconds: number;
      };
    }
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
  | {
      readonly type: 'optimize';
      readonly step: number;
      readonly totalSteps: number;
      readonly losses: LossValues;
      readonly etaSeconds: number;
    }
  | { readonly type: 'optimizePreview'; readonly step: number; readonly image: EncodedImage }
  | { readonly type: 'evaluate'; readonly done: number; readonly total: number; readonly photo?: string }
  | { readonly type: 'phase'; readonly message: string };

export type HostToWorker =
  | { readonly type: 'run'; readonly id: number; readonly job: JobRequest; readonly settings: EngineSettings }
  | { readonly type: 'cancel'; readonly id: number }
  /** Ends the worker thread at its next message, i.e. between two native calls (see EngineClient.stopWorker). */
  | { readonly type: 'exit' };

export type WorkerToHost =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'progress'; readonly id: number; readonly progress: JobProgress }
  | { readonly type: 'result'; readonly id: number; readonly result: unknown }
  | { readonly type: 'error'; readonly id: number; readonly error: ErrorInfo }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly message: string };

/**
 * Training backends: TensorFlow.js backends (tfjs-node-gpu, tfjs-node, webgpu, wasm, cpu) and
 * the training step as one ONNX Runtime graph on its CPU ('onnx'), CUDA ('onnx-cuda') or WebGPU
 * ('onnx-webgpu') provider (tfjs, chosen as by 'auto', still computes the style targets and
 * previews). 'auto': the first tfjs backend that loads of tfjs-node-gpu, tfjs-node, wasm, cpu,
 * and the ONNX Runtime step where it is faster (engine/train/trainingBackend.ts).
 */
export const TRAINING_BACKENDS = [
  'auto',
  'tfjs-node-gpu',
  'tfjs-node',
  'webgpu',
  'wasm',
  'cpu',
  'onnx',
  'onnx-cuda',
  'onnx-webgpu',
] as const;
export type TrainingBackend = (typeof TRAINING_BACKENDS)[number];
/** The backends that run the step on ONNX Runtime. */
export type OnnxTrainingBackend = Extract<TrainingBackend, `onnx${string}`>;
export const isOnnxTrainingBackend = (b: TrainingBackend): b is OnnxTrainingBackend => b.startsWith('onnx');
/** The TensorFlow.js backends among them (what `fst stylize --backend` can name). */
export const TFJS_BACKENDS = TRAINING_BACKENDS.filter(
  (b): b is Exclude<TrainingBackend, OnnxTrainingBackend> => !isOnnxTrainingBackend(b),
);

/** Settings the host passes with each job (from VS Code's configuration). */
export interface EngineSettings {
  readonly trainingBackend: TrainingBackend;
  readonly stylizeRuntime: StylizeRuntime;
  /** ONNX graph for stylizing: 'auto' (= 'fp32', the fast graph), 'fp32', 'int8' (refused below 40 dB against fp32), 'reference'. */
  readonly stylizePrecision?: StylizePrecision;
  readonly threads: number;
  /** Where the engine may cache things (exported ONNX models of read-only styles…). */
  readonly cacheDir: string;
  /** Extra folders with node_modules (optional GPU packages). */
  readonly extraModuleRoots: readonly string[];
  readonly maxInputPixels: number;
  /** Style folders that must not be written to (the extension's bundled styles): caches go to cacheDir. */
  readonly readOnlyRoots?: readonly string[];
}

export const DEFAULT_MAX_INPUT_PIXELS = 100_000_000;
