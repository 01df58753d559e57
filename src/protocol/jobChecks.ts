// What the engine worker checks on arrival (DESIGN §2): the guards of the messages between host
// and worker, and the schema every job and the settings must pass before a job runs (one
// 'bad-input' line naming the field). The types they check are in jobs.ts.
import {
  Invalid,
  absolutePath,
  arrayOf,
  boolean,
  bytes,
  isPlainObject,
  matching,
  number,
  object,
  oneOf,
  problemOf,
  string,
  type Rule,
} from './validate';
import {
  ARCHITECTURE_LIMITS,
  BORDER_PADDINGS,
  HYPERPARAMETER_RANGES,
  UPSAMPLE_MODES,
  VGG_LAYER_NAME,
  type NumericHyperparameter,
} from '../shared/hyperparameters';
import {
  BLEND_MODES,
  COLOR_MODES,
  GPU_TARGETS,
  OPTIMIZE_METHOD_NAMES,
  OUTPUT_FORMATS,
  STYLIZE_LIMITS,
  STYLIZE_PRECISIONS,
  STYLIZE_RUNTIMES,
  TILE_STATS,
  TRAINING_BACKENDS,
  TRAINING_PRESETS,
  type HostToWorker,
  type JobRequest,
  type TrainingOverrides,
  type WorkerToHost,
} from './jobs';

/** Guard for messages arriving from the worker (the host trusts its worker, but not blindly). */
export function isWorkerToHost(m: unknown): m is WorkerToHost {
  if (!isPlainObject(m) || typeof m.type !== 'string') return false;
  switch (m.type) {
    case 'ready':
      return typeof m.pid === 'number';
    case 'progress':
      return typeof m.id === 'number' && isPlainObject(m.progress);
    case 'result':
      return typeof m.id === 'number';
    case 'error':
      return typeof m.id === 'number' && isPlainObject(m.error) && typeof m.error.message === 'string';
    case 'log':
      return typeof m.message === 'string';
    default:
      return false;
  }
}

export function isHostToWorker(m: unknown): m is HostToWorker {
  if (isPlainObject(m) && m.type === 'exit') return true;
  if (!isPlainObject(m) || typeof m.id !== 'number') return false;
  if (m.type === 'cancel') return true;
  return m.type === 'run' && isPlainObject(m.job) && typeof m.job.type === 'string' && isPlainObject(m.settings);
}

// ---- schema of jobs and settings (checked by the worker before a job runs) -----------------
// The host builds jobs from typed code, but the worker is a boundary (future callers, a host
// bug): a job whose fields have the wrong types or values out of range is refused with one
// 'bad-input' line naming the field, and the engine trusts what passes. Unknown fields are
// ignored. Paths must be absolute: a relative one would be resolved against whatever folder
// the extension host started in. The CLI checks its options against the same limits.

const path = absolutePath();
const text = string({ allowEmpty: true });
const count = number({ min: 0, integer: true });

const STYLIZE_OPTIONS = object(
  {},
  {
    outDir: path,
    format: oneOf(OUTPUT_FORMATS),
    quality: number(STYLIZE_LIMITS.quality),
    strength: number(STYLIZE_LIMITS.strength),
    colorMode: oneOf(COLOR_MODES),
    scale: number(STYLIZE_LIMITS.scale),
    blend: arrayOf(object({ style: path, weight: number({ min: 0, max: 1 }) })),
    blendMode: oneOf(BLEND_MODES),
    runtime: oneOf(STYLIZE_RUNTIMES),
    tileSize: number(STYLIZE_LIMITS.tileSize),
    tileStats: oneOf(TILE_STATS),
    steady: boolean,
    ffmpegPath: path,
    videoToolsDir: path,
  },
);

const vggLayers = arrayOf(matching(VGG_LAYER_NAME, 'a VGG layer name like relu2_2'));
const numericOverrides = Object.fromEntries(
  Object.entries(HYPERPARAMETER_RANGES).map(([k, range]) => [k, number(range)]),
) as Record<NumericHyperparameter, Rule<number>>;

/** Training overrides: known hyperparameters only, each of its type and in its range. */
export const TRAINING_OVERRIDES: Rule<TrainingOverrides> = object(
  {},
  {
    ...numericOverrides,
    architecture: object(
      {
        type: oneOf(['johnson2016']),
        filters: (v, at) => {
          const f = arrayOf(number({ min: 1, max: ARCHITECTURE_LIMITS.maxFilters, integer: true }))(v, at);
          if (f.length !== 3) throw new Invalid(`"${at}" must hold 3 channel counts, got ${f.length}`);
          return [f[0], f[1], f[2]] as const;
        },
        residualBlocks: number({ min: 0, max: ARCHITECTURE_LIMITS.maxResidualBlocks, integer: true }),
      },
      { upsample: oneOf(UPSAMPLE_MODES), padding: oneOf(BORDER_PADDINGS), outputScale: number({ min: 1, max: 1000 }) },
      { exact: true },
    ),
    contentLayers: vggLayers,
    styleLayers: vggLayers,
    augment: boolean,
  },
  { exact: true },
);

const CLIP_TOOLS = object({}, { ffmpegPath: path, videoToolsDir: path }, { exact: true });

const JOB_SCHEMAS: Readonly<Record<JobRequest['type'], Rule<unknown>>> = {
  stylize: object({ inputs: arrayOf(path), style: path, options: STYLIZE_OPTIONS }),
  preview: object(
    {
      image: (v, at) =>
        isPlainObject(v) && 'bytes' in v
          ? object({ bytes: bytes({ allowEmpty: true }) }, { name: text })(v, at)
          : object({ path })(v, at),
      style: path,
      maxSide: count,
      options: STYLIZE_OPTIONS,
    },
    { frameAt: number({ min: 0 }) },
  ),
  clipInfo: object({ file: path, options: CLIP_TOOLS }),
  clipPlayback: object({ file: path, targetDir: path, options: CLIP_TOOLS }),
  train: object({
    options: object(
      { styleImage: path, dataDir: path, output: path, name: text, preset: oneOf(TRAINING_PRESETS), vggPath: path },
      { overrides: TRAINING_OVERRIDES, initFrom: path },
    ),
  }),
  resume: object({
    options: object({ checkpoint: path, vggPath: path }, { iterations: number(HYPERPARAMETER_RANGES.iterations) }),
  }),
  import: object({ source: path, target: path }, { name: text }),
  exportOnnx: object({ style: path, target: path }),
  downloadVgg: object({ cacheDir: path }),
  downloadPretrained: object({ id: text, target: path }, { baseUrl: text }),
  listPretrained: object({}),
  optimize: object({
    options: object(
      { image: path, styleImage: path, vggPath: path },
      {
        outDir: path,
        format: oneOf(OUTPUT_FORMATS),
        quality: number(),
        size: number(),
        maxSize: number(),
        styleSize: number(),
        steps: number(),
        method: oneOf(OPTIMIZE_METHOD_NAMES),
        learningRate: number(),
        contentWeight: number(),
        styleWeight: number(),
        tvWeight: number(),
        contentLayer: text,
        styleLayers: arrayOf(text),
        init: oneOf(['content', 'noise']),
        seed: number(),
        previewEvery: number(),
        saveOnCancel: boolean,
      },
    ),
  }),
  evaluate: object({
    options: object(
      { styles: arrayOf(path), painting: path, vggPath: path },
      { photos: arrayOf(path), sheet: path, maxSide: number() },
    ),
  }),
  info: object({}),
  checkGpu: object({ target: oneOf(GPU_TARGETS) }),
  setUpGpu: object({
    options: object(
      { target: oneOf(GPU_TARGETS), storageDir: path },
      { tfjsMirror: text, customLibtensorflow: text, node: text, force: boolean },
    ),
  }),
  setUpVideo: object({ options: object({ storageDir: path }, { ffmpegPath: path, node: text }) }),
  initBackend: object({ preference: oneOf(TRAINING_BACKENDS) }),
  checkOnnxProvider: object({ provider: oneOf(['cuda', 'webgpu', 'cpu']) }),
};

const ENGINE_SETTINGS = object(
  {
    trainingBackend: oneOf(TRAINING_BACKENDS),
    stylizeRuntime: oneOf(STYLIZE_RUNTIMES),
    threads: count,
    cacheDir: path,
    extraModuleRoots: arrayOf(path),
    maxInputPixels: number({ min: 1 }),
  },
  { readOnlyRoots: arrayOf(path), stylizePrecision: oneOf(STYLIZE_PRECISIONS) },
);

/** Why `job` and `settings` do not have the shapes and values the engine expects, or undefined when they do. */
export function jobRequestProblem(job: unknown, settings: unknown): string | undefined {
  if (!isPlainObject(job) || typeof job.type !== 'string') return 'the job must be an object with a string "type"';
  if (!Object.prototype.hasOwnProperty.call(JOB_SCHEMAS, job.type))
    return `unknown job type ${JSON.stringify(job.type.slice(0, 40))}`;
  return (
    problemOf(JOB_SCHEMAS[job.type as JobRequest['type']], job) ?? problemOf(ENGINE_SETTINGS, settings, 'settings')
  );
}
