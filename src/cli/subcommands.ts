// The commands of `fst`. Each is a thin layer over the engine: parse options, run, print.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parameterCount } from '../model/architecture';
import { readCheckpoint, writeCheckpoint } from '../io/checkpoint';
import { exportTransformNetToOnnx } from '../model/onnxExport';
import { readMl5Folder } from '../io/ml5Import';
import { StyleTransferError } from '../protocol/errors';
import {
  DEFAULT_MAX_INPUT_PIXELS, OPTIMIZE_METHOD_NAMES, OUTPUT_FORMATS, TFJS_BACKENDS, TRAINING_BACKENDS, TRAINING_PRESETS,
  type ColorMode, type JobProgress, type OptimizeOptions, type OutputFormat, type StylizeOptions, type StylizePrecision, type StylizeRuntime, type TrainingPresetName,
} from '../protocol/jobs';
import { STYLIZE_PRECISIONS } from '../engine/onnxQuantized';
import { createStylizeEngine } from '../engine/engines';
import { stylizeFiles } from '../engine/stylizeJob';
import { loadStyle } from '../engine/styles';
import { trainStyle } from '../engine/trainJob';
import { PRESETS } from '../model/presets';
import { OPTIMIZE_JOB_DEFAULTS, optimizeWithImage, resolveOptimizeOptions } from '../engine/optimizeJob';
import { OPTIMIZE_DEFAULTS, OPTIMIZE_LOSS_WEIGHTS } from '../model/optimize';
import { writeFileAtomic } from '../io/output';
import { downloadVgg19, VGG19_SOURCES } from '../io/download';

type Values = Record<string, string | boolean | undefined>;
interface OptionSpec { type: 'string' | 'boolean'; short?: string; multiple?: boolean }

export interface Command {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly options: Record<string, OptionSpec>;
  readonly help: Record<string, string>;
  readonly examples?: string[];
  run(values: Values, positionals: string[]): Promise<number>;
}

const badInput = (msg: string) => new StyleTransferError('bad-input', msg);

function str(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}

function required(v: Values, name: string): string {
  const x = str(v, name);
  if (!x) throw badInput(`--${name} is required`);
  return x;
}

function numberOpt(v: Values, name: string, min: number, max: number): number | undefined {
  const x = str(v, name);
  if (x === undefined) return undefined;
  const n = Number(x);
  if (!Number.isFinite(n) || n < min || n > max) throw badInput(`--${name} must be a number between ${min} and ${max}, got "${x}"`);
  return n;
}

function integerOpt(v: Values, name: string, min: number, max: number): number | undefined {
  const n = numberOpt(v, name, min, max);
  if (n !== undefined && !Number.isInteger(n)) throw badInput(`--${name} must be a whole number, got "${str(v, name)}"`);
  return n;
}

function choice<T extends string>(v: Values, name: string, allowed: readonly T[]): T | undefined {
  const x = str(v, name);
  if (x === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(x)) throw badInput(`--${name} must be one of ${allowed.join(', ')}, got "${x}"`);
  return x as T;
}

const importCommand: Command = {
  name: 'import',
  usage: '<ml5-folder> -o <checkpoint-folder> [--name <name>]',
  summary: 'Convert an ml5 / deeplearn.js style-transfer model into a checkpoint folder.',
  options: { output: { type: 'string', short: 'o' }, name: { type: 'string' } },
  help: { output: 'checkpoint folder to create (must not exist)', name: 'display name (default: the source folder name)' },
  examples: ['fst import ml5-models/udnie -o styles/udnie'],
  async run(v, pos) {
    if (pos.length !== 1) throw badInput('give exactly one ml5 model folder');
    const output = required(v, 'output');
    try {
      await fs.access(output);
      throw new StyleTransferError('output-exists', `${output} already exists; choose a new folder`);
    } catch (e) {
      if (e instanceof StyleTransferError) throw e;
    }
    const { arch, weights } = await readMl5Folder(pos[0]);
    const now = new Date().toISOString();
    const name = str(v, 'name') ?? path.basename(path.resolve(pos[0]));
    await writeCheckpoint(output, {
      name, architecture: arch, source: { kind: 'imported', from: path.resolve(pos[0]), format: 'ml5' }, iteration: 0, createdAt: now, updatedAt: now,
    }, weights);
    console.log(path.resolve(output));
    return 0;
  },
};

/** "a=0.7,b=0.3" → [{style: abs(a), weight: 0.7}, …]; the last '=' of each item separates the weight. */
function parseBlend(spec: string | undefined): StylizeOptions['blend'] {
  if (spec === undefined) return undefined;
  const items = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw badInput('--blend needs style=weight pairs, e.g. styles/a=0.7,styles/b=0.3');
  return items.map((item) => {
    const at = item.lastIndexOf('=');
    const weight = Number(item.slice(at + 1));
    if (at <= 0 || !Number.isFinite(weight) || weight < 0 || weight > 1) throw badInput(`--blend item "${item}" must be style=weight with a weight between 0 and 1`);
    return { style: path.resolve(item.slice(0, at)), weight };
  });
}

const stylizeCommand: Command = {
  name: 'stylize',
  usage: '-m <checkpoint|ml5-folder> [-o <out-dir>] [options] <image|folder>...   (or --blend a=0.7,b=0.3 instead of -m)',
  summary: 'Stylize images; prints one line per written file. Never overwrites.',
  options: {
    model: { type: 'string', short: 'm' },
    output: { type: 'string', short: 'o' },
    format: { type: 'string', short: 'f' },
    quality: { type: 'string' },
    strength: { type: 'string' },
    'preserve-colors': { type: 'boolean' },
    'color-mode': { type: 'string' },
    scale: { type: 'string' },
    runtime: { type: 'string' },
    precision: { type: 'string' },
    backend: { type: 'string' },
    'max-pixels': { type: 'string' },
    'tile-size': { type: 'string' },
    'tile-stats': { type: 'string' },
    blend: { type: 'string' },
    'blend-mode': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  },
  help: {
    model: 'style: a checkpoint folder or an ml5 model folder',
    output: 'output folder (default: beside each input)',
    format: `output format: ${OUTPUT_FORMATS.join(', ')} (default: same as input)`,
    quality: 'JPEG/WebP/AVIF quality 1-100',
    strength: 'style strength 0-1 (default 1)',
    'preserve-colors': "keep the photo's colours (luminance-only transfer)",
    'color-mode': 'none, luminance or histogram (colour matching)',
    scale: 'resize the input first (0.1-4); smaller = larger brush strokes',
    runtime: 'auto (ONNX Runtime, else tfjs), onnx or tfjs',
    precision: 'ONNX graph: auto or fp32 (fast float graph), int8 (faster; refused for styles it would change visibly) or reference',
    backend: `tfjs backend when tfjs runs: ${TFJS_BACKENDS.join(', ')}`,
    quiet: 'do not report the runtime used on stderr',
    'max-pixels': 'refuse images with more pixels than this (default 100000000)',
    'tile-size': 'stylize in tiles of at most this many pixels per side (default: automatic, tiles above 2 megapixels)',
    'tile-stats': 'normalisation statistics of tiled images: auto, sampled or downscaled (faster, flatter)',
    blend: 'mix styles: style=weight,style=weight (weights ≤ 1 in all; -m, when given, takes the rest)',
    'blend-mode': 'outputs (mix the results; any styles) or norm (mix instance-norm parameters of styles sharing their convolutions)',
  },
  examples: [
    'fst stylize -m styles/udnie -o out photo.jpg',
    'fst stylize -m styles/udnie --strength 0.7 --preserve-colors photos/',
    'fst stylize --blend styles/udnie=0.7,styles/starry=0.3 photo.jpg',
  ],
  async run(v, pos) {
    if (pos.length === 0) throw badInput('give at least one image or folder');
    const blend = parseBlend(str(v, 'blend'));
    const model = str(v, 'model') ?? blend?.[0]?.style;
    if (!model) throw badInput('--model is required (or --blend)');
    const colorMode = choice<ColorMode>(v, 'color-mode', ['none', 'luminance', 'histogram']) ?? (v['preserve-colors'] ? 'luminance' : 'none');
    const options: StylizeOptions = {
      outDir: str(v, 'output') ? path.resolve(str(v, 'output')!) : undefined,
      format: choice<OutputFormat>(v, 'format', OUTPUT_FORMATS),
      quality: numberOpt(v, 'quality', 1, 100),
      strength: numberOpt(v, 'strength', 0, 1),
      colorMode,
      scale: numberOpt(v, 'scale', 0.01, 4),
      tileSize: integerOpt(v, 'tile-size', 64, 65_536),
      tileStats: choice<NonNullable<StylizeOptions['tileStats']>>(v, 'tile-stats', ['auto', 'sampled', 'downscaled']),
      blend,
      blendMode: choice<NonNullable<StylizeOptions['blendMode']>>(v, 'blend-mode', ['outputs', 'norm']),
    };
    const runtime = choice<StylizeRuntime>(v, 'runtime', ['auto', 'onnx', 'tfjs']) ?? 'auto';
    const precision = choice<StylizePrecision>(v, 'precision', STYLIZE_PRECISIONS) ?? 'auto';
    const maxInputPixels = numberOpt(v, 'max-pixels', 1, 1e10);
    const tfjsBackend = choice(v, 'backend', TFJS_BACKENDS) ?? 'auto';
    const engine = await createStylizeEngine({ runtime, tfjsBackend, precision });
    try {
      const result = await stylizeFiles({ inputs: pos, style: model, options, maxInputPixels }, engine);
      for (const o of result.outputs) console.log(o.output);
      if (!v.quiet && result.runtime) console.error(`fst stylize: ran on ${result.runtime}`);
      for (const f of result.failures) console.error(`fst stylize: ${f.error.message}`);
      return result.failures.length ? 1 : 0;
    } finally {
      engine.dispose();
    }
  },
};

const infoCommand: Command = {
  name: 'info',
  usage: '<checkpoint|ml5-folder>',
  summary: 'Show what a style checkpoint holds.',
  options: { json: { type: 'boolean' } },
  help: { json: 'print JSON instead of text' },
  async run(v, pos) {
    if (pos.length !== 1) throw badInput('give exactly one checkpoint folder');
    const style = await loadStyle(pos[0]);
    const info = style.format === 'checkpoint' ? (await readCheckpoint(style.dir)).info : undefined;
    const summary = {
      name: style.name,
      format: style.format,
      architecture: style.arch,
      parameters: parameterCount(style.arch),
      iteration: info?.iteration ?? 0,
      source: info?.source,
      lastLosses: info?.lossHistory?.at(-1),
      createdAt: info?.createdAt,
      updatedAt: info?.updatedAt,
      weightsSha256: style.hash,
    };
    if (v.json) {
      console.log(JSON.stringify(summary, null, 2));
    } else {
      for (const [k, val] of Object.entries(summary)) if (val !== undefined) console.log(`${k}: ${typeof val === 'object' ? JSON.stringify(val) : val}`);
    }
    return 0;
  },
};

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

/** Hyperparameter overrides from --key value options (numbers) and --layers lists. */
function trainOverrides(v: Values): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const nums: [string, string][] = [['iterations', 'iterations'], ['epochs', 'epochs'], ['batch-size', 'batchSize'], ['image-size', 'imageSize'],
    ['learning-rate', 'learningRate'], ['content-weight', 'contentWeight'], ['style-weight', 'styleWeight'], ['tv-weight', 'tvWeight'],
    ['style-size', 'styleSize'], ['seed', 'seed'], ['checkpoint-every', 'checkpointEvery'], ['preview-every', 'previewEvery']];
  for (const [flag, key] of nums) {
    const x = str(v, flag);
    if (x === undefined) continue;
    const n = Number(x);
    if (!Number.isFinite(n)) throw badInput(`--${flag} must be a number, got "${x}"`);
    o[key] = n;
  }
  if (str(v, 'content-layer')) o.contentLayers = [str(v, 'content-layer')];
  if (str(v, 'style-layers')) o.styleLayers = str(v, 'style-layers')!.split(',').map((s) => s.trim()).filter(Boolean);
  if (str(v, 'filters') || str(v, 'residual-blocks')) {
    const preset = (str(v, 'preset') ?? 'quick') as TrainingPresetName;
    const base = PRESETS[preset]?.architecture ?? PRESETS.quick.architecture;
    const filters = str(v, 'filters') ? str(v, 'filters')!.split(',').map(Number) : [...base.filters];
    o.architecture = { type: 'johnson2016', filters, residualBlocks: str(v, 'residual-blocks') ? Number(str(v, 'residual-blocks')) : base.residualBlocks };
  }
  return o;
}

const trainCommand: Command = {
  name: 'train',
  usage: '--style <image> --data <folder> -o <checkpoint-folder> --vgg <weights> [--preset quick|standard|paper] [options]',
  summary: 'Train a new style (or --resume one); prints a progress line every few steps and a summary.',
  options: {
    style: { type: 'string', short: 's' }, data: { type: 'string', short: 'd' }, output: { type: 'string', short: 'o' },
    vgg: { type: 'string' }, preset: { type: 'string', short: 'p' }, name: { type: 'string' }, resume: { type: 'boolean' },
    backend: { type: 'string' }, iterations: { type: 'string', short: 'n' }, epochs: { type: 'string' }, 'batch-size': { type: 'string' },
    'image-size': { type: 'string' }, 'learning-rate': { type: 'string' }, 'content-weight': { type: 'string' }, 'style-weight': { type: 'string' },
    'tv-weight': { type: 'string' }, 'style-size': { type: 'string' }, seed: { type: 'string' }, 'checkpoint-every': { type: 'string' },
    'preview-every': { type: 'string' }, 'content-layer': { type: 'string' }, 'style-layers': { type: 'string' }, filters: { type: 'string' },
    'residual-blocks': { type: 'string' }, 'log-every': { type: 'string' }, 'preview-dir': { type: 'string' },
  },
  help: {
    style: 'the style image (a painting)', data: 'folder of training photos (searched recursively)',
    output: 'checkpoint folder to create (or to resume with --resume)', vgg: 'VGG19 weights: tfjs layers-model folder or imagenet-vgg-verydeep-19.mat',
    preset: `${TRAINING_PRESETS.join(', ')} (default quick)`, name: 'display name (default: the output folder name)',
    resume: 'continue training the checkpoint in --output exactly where it stopped', backend: TRAINING_BACKENDS.join(', '),
    iterations: 'total training steps (overrides the preset; with --resume: extend to this many)', epochs: 'passes over the data (when iterations is 0)',
    'batch-size': 'images per step', 'image-size': 'training image size in pixels', 'learning-rate': 'Adam learning rate',
    'content-weight': 'content loss weight', 'style-weight': 'style loss weight', 'tv-weight': 'total-variation weight',
    'style-size': 'longer side of the style image in pixels (0 = as is)', seed: 'random seed (data order, initial weights)',
    'checkpoint-every': 'save every N steps', 'preview-every': 'render the preview photo every N steps',
    'content-layer': 'VGG content layer, e.g. relu2_2', 'style-layers': 'VGG style layers, comma separated',
    filters: 'network width, e.g. 16,32,64', 'residual-blocks': 'number of residual blocks', 'log-every': 'print a progress line every N steps (default 10)',
    'preview-dir': 'also write each preview image into this folder',
  },
  examples: [
    'fst train --style starry.jpg --data photos/ --vgg vgg19/ -o styles/starry --preset quick',
    'fst train -o styles/starry --vgg vgg19/ --resume --iterations 2000',
  ],
  async run(v) {
    const output = path.resolve(required(v, 'output'));
    const resume = v.resume === true;
    const preset = choice<TrainingPresetName>(v, 'preset', TRAINING_PRESETS) ?? 'quick';
    const backend = choice(v, 'backend', TRAINING_BACKENDS) ?? 'auto';
    const logEvery = numberOpt(v, 'log-every', 1, 1e9) ?? 10;
    const previewDir = str(v, 'preview-dir');
    const opts = {
      styleImage: resume ? (str(v, 'style') ?? '') : path.resolve(required(v, 'style')),
      dataDir: resume ? (str(v, 'data') ?? '') : path.resolve(required(v, 'data')),
      output, name: str(v, 'name') ?? path.basename(output), preset, resume,
      vggPath: path.resolve(required(v, 'vgg')), overrides: trainOverrides(v),
    };
    const started = Date.now();
    let last: Extract<JobProgress, { type: 'train' }> | undefined;
    const controller = new AbortController();
    const onSigint = () => {
      console.error('fst train: stopping after this step and saving a checkpoint (Ctrl+C again to abort)…');
      controller.abort();
      process.once('SIGINT', () => process.exit(130));
    };
    process.once('SIGINT', onSigint);
    try {
      const result = await trainStyle(opts, {
        trainingBackend: backend, stylizeRuntime: 'auto', threads: 0, cacheDir: path.join(os.tmpdir(), 'fst-cache'), extraModuleRoots: [], maxInputPixels: DEFAULT_MAX_INPUT_PIXELS,
      }, {
        signal: controller.signal,
        log: (m) => console.error(m),
        progress: (p) => {
          if (p.type === 'train') {
            last = p;
            if (p.iteration % logEvery === 0 || p.iteration === p.totalIterations) {
              const l = p.losses;
              console.log(`iter ${p.iteration}/${p.totalIterations} epoch ${p.epoch} loss ${l.total.toExponential(4)} (content ${l.content.toExponential(3)}, style ${l.style.toExponential(3)}, tv ${l.tv.toExponential(3)}) ${p.imagesPerSecond.toFixed(2)} img/s eta ${formatDuration(p.etaSeconds)}`);
            }
          } else if (p.type === 'phase') {
            console.error(p.message);
          } else if (p.type === 'trainPreview' && previewDir) {
            void fs.mkdir(previewDir, { recursive: true }).then(() => fs.writeFile(path.join(previewDir, `preview-${String(p.iteration).padStart(6, '0')}.png`), p.image.bytes));
          }
        },
      });
      const secs = (Date.now() - started) / 1000;
      console.log(`${result.cancelled ? 'stopped' : 'done'}: ${result.iterations} iterations in ${formatDuration(secs)}; checkpoint ${result.checkpoint}${last ? `; final loss ${last.losses.total.toExponential(4)}` : ''}`);
      return result.cancelled ? 130 : 0;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  },
};

const optimizeCommand: Command = {
  name: 'optimize',
  usage: '--style <image> --vgg <weights> [-o <out-dir>] [--size 256] [--steps N] [--method lbfgs|adam] [options] <image>',
  summary: 'Stylize one image with any style image, no training (Gatys et al.; slow: minutes at 256 px on a CPU).',
  options: {
    style: { type: 'string', short: 's' }, vgg: { type: 'string' }, output: { type: 'string', short: 'o' },
    size: { type: 'string' }, 'max-size': { type: 'string' }, 'style-size': { type: 'string' }, steps: { type: 'string', short: 'n' },
    method: { type: 'string' }, 'learning-rate': { type: 'string' }, 'content-weight': { type: 'string' }, 'style-weight': { type: 'string' },
    'tv-weight': { type: 'string' }, 'content-layer': { type: 'string' }, 'style-layers': { type: 'string' }, init: { type: 'string' },
    seed: { type: 'string' }, format: { type: 'string', short: 'f' }, quality: { type: 'string' }, 'preview-dir': { type: 'string' },
    'preview-every': { type: 'string' }, 'log-every': { type: 'string' }, backend: { type: 'string' }, 'save-on-cancel': { type: 'boolean' },
  },
  help: {
    style: 'the style image (any painting or picture)', vgg: 'VGG19 weights: tfjs layers-model folder or imagenet-vgg-verydeep-19.mat',
    output: 'output folder (default: beside the image); the file is <image>.<style>-optimized.png',
    size: `longer side of the result in pixels (default ${OPTIMIZE_JOB_DEFAULTS.size}; never enlarged)`,
    'max-size': `refuse --size above this (default ${OPTIMIZE_JOB_DEFAULTS.maxSize})`,
    'style-size': 'longer side of the style image (default: --size); larger = larger brush strokes',
    steps: `optimisation steps (default ${OPTIMIZE_JOB_DEFAULTS.steps})`,
    method: `${OPTIMIZE_METHOD_NAMES.join(' or ')} (default ${OPTIMIZE_DEFAULTS.method}; L-BFGS needs fewer steps)`,
    'learning-rate': `adam: step in pixel values (default ${OPTIMIZE_DEFAULTS.learningRate.adam}); lbfgs: largest pixel change of the first step (default ${OPTIMIZE_DEFAULTS.learningRate.lbfgs})`,
    'content-weight': `content loss weight (default ${OPTIMIZE_LOSS_WEIGHTS.content})`,
    'style-weight': `style loss weight (default ${OPTIMIZE_LOSS_WEIGHTS.style})`,
    'tv-weight': `total-variation weight (default ${OPTIMIZE_LOSS_WEIGHTS.tv})`,
    'content-layer': 'VGG content layer, e.g. relu2_2', 'style-layers': 'VGG style layers, comma separated',
    init: 'start from the image (content, default) or from noise', seed: 'random seed for --init noise',
    format: `output format: ${OUTPUT_FORMATS.join(', ')} (default png)`, quality: 'JPEG/WebP/AVIF quality 1-100',
    'preview-dir': 'write a preview image into this folder every --preview-every steps',
    'preview-every': 'steps between previews (default 10 with --preview-dir)',
    'log-every': 'print a progress line every N steps (default 10)', backend: TRAINING_BACKENDS.join(', '),
    'save-on-cancel': 'on Ctrl+C write the best image so far (default: write nothing)',
  },
  examples: [
    'fst optimize --style starry_night.jpg --vgg vgg19/ photo.jpg',
    'fst optimize -s wave.jpg --vgg vgg19/ --size 384 --steps 300 --preview-dir previews -o out photo.jpg',
  ],
  async run(v, pos) {
    if (pos.length !== 1) throw badInput('give exactly one image');
    const intOpt = (name: string, min: number, max: number) => {
      const n = numberOpt(v, name, min, max);
      if (n !== undefined && !Number.isInteger(n)) throw badInput(`--${name} must be a whole number, got "${str(v, name)}"`);
      return n;
    };
    const backend = choice(v, 'backend', TRAINING_BACKENDS) ?? 'auto';
    const logEvery = intOpt('log-every', 1, 1e9) ?? 10;
    const previewDir = str(v, 'preview-dir');
    const styleLayers = str(v, 'style-layers')?.split(',').map((x) => x.trim()).filter(Boolean);
    const options: OptimizeOptions = {
      image: path.resolve(pos[0]),
      styleImage: path.resolve(required(v, 'style')),
      vggPath: path.resolve(required(v, 'vgg')),
      outDir: str(v, 'output') ? path.resolve(str(v, 'output')!) : undefined,
      format: choice<OutputFormat>(v, 'format', OUTPUT_FORMATS),
      quality: intOpt('quality', 1, 100),
      size: intOpt('size', 1, 1e6),
      maxSize: intOpt('max-size', 1, 1e6),
      styleSize: intOpt('style-size', 1, 1e6),
      steps: intOpt('steps', 1, 1e9),
      method: choice(v, 'method', OPTIMIZE_METHOD_NAMES),
      learningRate: numberOpt(v, 'learning-rate', 0, 1e6),
      contentWeight: numberOpt(v, 'content-weight', 0, 1e12),
      styleWeight: numberOpt(v, 'style-weight', 0, 1e12),
      tvWeight: numberOpt(v, 'tv-weight', 0, 1e12),
      contentLayer: str(v, 'content-layer'),
      styleLayers: styleLayers?.length ? styleLayers : undefined,
      init: choice(v, 'init', ['content', 'noise'] as const),
      seed: intOpt('seed', 0, 2 ** 32 - 1),
      previewEvery: previewDir ? (intOpt('preview-every', 1, 1e9) ?? 10) : 0,
      saveOnCancel: v['save-on-cancel'] === true,
    };
    resolveOptimizeOptions(options); // every bad value fails here, before any slow loading
    const started = Date.now();
    const controller = new AbortController();
    const onSigint = () => {
      console.error(`fst optimize: stopping${options.saveOnCancel ? ' and saving the best image so far' : '; nothing will be written'} (Ctrl+C again to abort)…`);
      controller.abort();
      process.once('SIGINT', () => process.exit(130));
    };
    process.once('SIGINT', onSigint);
    const previewWrites: Promise<unknown>[] = [];
    const fmt = (x: number) => x.toExponential(3);
    try {
      const result = await optimizeWithImage(options, {
        trainingBackend: backend, stylizeRuntime: 'auto', threads: 0, cacheDir: path.join(os.tmpdir(), 'fst-cache'), extraModuleRoots: [], maxInputPixels: DEFAULT_MAX_INPUT_PIXELS,
      }, {
        signal: controller.signal,
        log: (m) => console.error(m),
        progress: (p) => {
          if (p.type === 'optimize') {
            if (p.step % logEvery === 0 || p.step === p.totalSteps) {
              const l = p.losses;
              console.log(`step ${p.step}/${p.totalSteps} loss ${fmt(l.total)} (content ${fmt(l.content)}, style ${fmt(l.style)}, tv ${fmt(l.tv)}) eta ${formatDuration(p.etaSeconds)}`);
            }
          } else if (p.type === 'phase') {
            console.error(p.message);
          } else if (p.type === 'optimizePreview' && previewDir) {
            const file = path.join(previewDir, `preview-${String(p.step).padStart(6, '0')}.png`);
            previewWrites.push(fs.mkdir(previewDir, { recursive: true }).then(() => writeFileAtomic(file, p.image.bytes, { overwrite: true })));
          }
        },
      });
      await Promise.all(previewWrites);
      const secs = (Date.now() - started) / 1000;
      const drop = 100 * (1 - result.finalLosses.total / result.initialLosses.total);
      console.log(`${result.cancelled ? 'stopped' : 'done'}: ${result.steps} steps (${result.evaluations} loss evaluations, ${result.method}, ${result.width}×${result.height}) in ${formatDuration(secs)}; ` +
        `loss ${fmt(result.initialLosses.total)} → ${fmt(result.finalLosses.total)} (${drop >= 0 ? '−' : '+'}${Math.abs(drop).toFixed(1)}%)`);
      if (result.output) console.log(result.output);
      else console.error('fst optimize: cancelled; nothing written');
      return result.cancelled ? 130 : 0;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  },
};

const exportCommand: Command = {
  name: 'export',
  usage: '<checkpoint|ml5-folder> -o <target> [--onnx] [--float16] [--name <name>]',
  summary: 'Export a style: a compact checkpoint for sharing (no optimizer state), or a self-contained ONNX model.',
  options: { output: { type: 'string', short: 'o' }, onnx: { type: 'boolean' }, float16: { type: 'boolean' }, name: { type: 'string' }, note: { type: 'string' } },
  help: {
    output: 'the folder (checkpoint) or .onnx file to create; never overwritten',
    onnx: 'write an ONNX model (input float32 NCHW RGB 0–255 of any size; output the same size)',
    float16: 'store the weights as float16 (half the size; checkpoint only)',
    name: 'display name of the exported style',
    note: 'a note recorded in style.json provenance (e.g. the command that trained it)',
  },
  examples: ['fst export styles/mine -o shared/mine --float16', 'fst export styles/mine -o mine.onnx --onnx'],
  async run(v, pos) {
    if (pos.length !== 1) throw badInput('give exactly one style folder');
    const output = path.resolve(required(v, 'output'));
    try {
      await fs.access(output);
      throw new StyleTransferError('output-exists', `${output} already exists; not overwriting it`);
    } catch (e) {
      if (e instanceof StyleTransferError) throw e;
    }
    const style = await loadStyle(pos[0]);
    if (v.onnx) {
      const bytes = exportTransformNetToOnnx(style.arch, style.weights, { selfContained: true, weightsSha256: style.hash, graphName: style.name });
      await writeFileAtomic(output, bytes);
      console.log(output);
      return 0;
    }
    const info = style.info;
    const now = new Date().toISOString();
    const extraFiles: Record<string, Uint8Array> = {};
    try {
      extraFiles['thumbnail.jpg'] = await fs.readFile(path.join(style.dir, 'thumbnail.jpg'));
    } catch { /* no thumbnail */ }
    // A shared style should not carry this machine's paths: keep file names only.
    const base = (p?: string) => (p ? path.basename(p) : undefined);
    const source = info?.source.kind === 'trained' ? { kind: 'trained' as const, styleImage: base(info.source.styleImage), dataset: base(info.source.dataset) } : info?.source;
    await writeCheckpoint(output, {
      ...(info ?? { iteration: 0, createdAt: now }),
      source: source ?? { kind: 'imported', from: path.basename(style.dir), format: 'ml5' },
      name: str(v, 'name') ?? style.name,
      architecture: style.arch,
      updatedAt: now,
      ...(extraFiles['thumbnail.jpg'] ? { thumbnail: 'thumbnail.jpg' } : {}),
      provenance: { ...(info?.provenance ?? {}), vgg: undefined, exportedFrom: path.basename(style.dir), exportedAt: now, ...(str(v, 'note') ? { note: str(v, 'note') } : {}) },
    }, style.weights, { precision: v.float16 ? 'float16' : 'float32', extraFiles });
    console.log(output);
    return 0;
  },
};

const downloadVggCommand: Command = {
  name: 'download-vgg',
  usage: '[-o <folder>]',
  summary: `Download the VGG19 loss-network weights (MatConvNet ${VGG19_SOURCES.matconvnet.fileName}, about 550 MB, checksum-verified) for training.`,
  options: { output: { type: 'string', short: 'o' } },
  help: { output: 'folder to keep the file in (default: ~/.cache/fast-style-transfer); an interrupted download resumes' },
  examples: ['fst download-vgg && fst train --vgg ~/.cache/fast-style-transfer/imagenet-vgg-verydeep-19.mat …'],
  async run(v) {
    const dir = path.resolve(str(v, 'output') ?? path.join(os.homedir(), '.cache', 'fast-style-transfer'));
    let last = 0;
    const r = await downloadVgg19(dir, {
      onProgress: (bytes, total) => {
        if (!process.stderr.isTTY || Date.now() - last < 500) return;
        last = Date.now();
        process.stderr.write(`\r${(bytes / 1e6).toFixed(0)}${total ? ` / ${(total / 1e6).toFixed(0)}` : ''} MB`);
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    console.log(r.path);
    return 0;
  },
};

export const commands: Command[] = [importCommand, stylizeCommand, trainCommand, optimizeCommand, exportCommand, downloadVggCommand, infoCommand];
