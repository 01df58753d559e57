// `fst train` and `fst optimize`: the two long-running commands (progress lines, previews,
// Ctrl+C / SIGTERM stop cleanly).
import path from 'node:path';
import {
  DEFAULT_MAX_INPUT_PIXELS, OPTIMIZE_METHOD_NAMES, OUTPUT_FORMATS, TFJS_BACKENDS, TRAINING_BACKENDS, TRAINING_PRESETS,
  type JobProgress, type OptimizeOptions, type OutputFormat, type TrainingPresetName,
} from '../protocol/jobs';
import { trainStyle } from '../engine/trainJob';
import { defaultUserCacheDir } from '../io/privateDir';
import { PRESETS } from '../model/presets';
import { OPTIMIZE_JOB_DEFAULTS, optimizeWithImage, resolveOptimizeOptions } from '../engine/optimizeJob';
import { OPTIMIZE_DEFAULTS, OPTIMIZE_LOSS_WEIGHTS } from '../model/optimize';
import { parseDecimal } from './args';
import { stopOnSignals } from './interrupt';
import { badInput, choice, integerOpt, layerList, numberOpt, out, required, str, warn, type Command, type Values } from './options';
import { PreviewWriter } from './previews';

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
    const n = parseDecimal(x);
    if (n === undefined || !Number.isFinite(n)) throw badInput(`--${flag} must be a number, got "${x}"`);
    o[key] = n;
  }
  if (str(v, 'content-layer')) o.contentLayers = [str(v, 'content-layer')!.trim()];
  if (str(v, 'style-layers')) o.styleLayers = layerList(v, 'style-layers');
  if (str(v, 'filters') || str(v, 'residual-blocks')) {
    const preset = (str(v, 'preset') ?? 'quick') as TrainingPresetName;
    const base = PRESETS[preset]?.architecture ?? PRESETS.quick.architecture;
    const filters = str(v, 'filters') ? str(v, 'filters')!.split(',').map((x) => {
      const n = parseDecimal(x);
      if (n === undefined || !Number.isInteger(n)) throw badInput(`--filters must be whole numbers separated by commas, e.g. 16,32,64, got "${str(v, 'filters')}"`);
      return n;
    }) : [...base.filters];
    o.architecture = { type: 'johnson2016', filters, residualBlocks: integerOpt(v, 'residual-blocks', 0, 1000) ?? base.residualBlocks };
  }
  return o;
}

export const trainCommand: Command = {
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
    const interrupt = stopOnSignals(controller, (sig) => `fst train: ${sig}: stopping after this step and saving a checkpoint (${sig === 'SIGINT' ? 'Ctrl+C' : 'the signal'} again to abort)…`, warn);
    const previews = previewDir ? new PreviewWriter(path.resolve(previewDir), (line) => warn(`fst train: ${line}`)) : undefined;
    try {
      await previews?.prepare();
      const result = await trainStyle(opts, {
        trainingBackend: backend, stylizeRuntime: 'auto', threads: 0, cacheDir: defaultUserCacheDir(), extraModuleRoots: [], maxInputPixels: DEFAULT_MAX_INPUT_PIXELS,
      }, {
        signal: controller.signal,
        log: (m) => warn(m),
        progress: (p) => {
          if (p.type === 'train') {
            last = p;
            if (p.iteration % logEvery === 0 || p.iteration === p.totalIterations) {
              const l = p.losses;
              console.log(`iter ${p.iteration}/${p.totalIterations} epoch ${p.epoch} loss ${l.total.toExponential(4)} (content ${l.content.toExponential(3)}, style ${l.style.toExponential(3)}, tv ${l.tv.toExponential(3)}) ${p.imagesPerSecond.toFixed(2)} img/s eta ${formatDuration(p.etaSeconds)}`);
            }
          } else if (p.type === 'phase') {
            warn(p.message);
          } else if (p.type === 'trainPreview') {
            previews?.write(p.iteration, p.image.bytes);
          }
        },
      });
      const secs = (Date.now() - started) / 1000;
      out(`${result.cancelled ? 'stopped' : 'done'}: ${result.iterations} iterations in ${formatDuration(secs)}; checkpoint ${result.checkpoint}${last ? `; final loss ${last.losses.total.toExponential(4)}` : ''}`);
      return result.cancelled ? interrupt.exitCode : 0;
    } finally {
      await previews?.flush();
      interrupt.dispose();
    }
  },
};

export const optimizeCommand: Command = {
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
    'log-every': 'print a progress line every N steps (default 10)', backend: TFJS_BACKENDS.join(', '),
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
    const backend = choice(v, 'backend', TFJS_BACKENDS) ?? 'auto';
    const logEvery = intOpt('log-every', 1, 1e9) ?? 10;
    const previewDir = str(v, 'preview-dir');
    const styleLayers = layerList(v, 'style-layers');
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
      contentLayer: str(v, 'content-layer')?.trim(),
      styleLayers,
      init: choice(v, 'init', ['content', 'noise'] as const),
      seed: intOpt('seed', 0, 2 ** 32 - 1),
      previewEvery: previewDir ? (intOpt('preview-every', 1, 1e9) ?? 10) : 0,
      saveOnCancel: v['save-on-cancel'] === true,
    };
    resolveOptimizeOptions(options); // every bad value fails here, before any slow loading
    const started = Date.now();
    const controller = new AbortController();
    const interrupt = stopOnSignals(controller,
      (sig) => `fst optimize: ${sig}: stopping${options.saveOnCancel ? ' and saving the best image so far' : '; nothing will be written'} (${sig === 'SIGINT' ? 'Ctrl+C' : 'the signal'} again to abort)…`, warn);
    const previews = previewDir ? new PreviewWriter(path.resolve(previewDir), (line) => warn(`fst optimize: ${line}`)) : undefined;
    const fmt = (x: number) => x.toExponential(3);
    try {
      await previews?.prepare();
      const result = await optimizeWithImage(options, {
        trainingBackend: backend, stylizeRuntime: 'auto', threads: 0, cacheDir: defaultUserCacheDir(), extraModuleRoots: [], maxInputPixels: DEFAULT_MAX_INPUT_PIXELS,
      }, {
        signal: controller.signal,
        log: (m) => warn(m),
        progress: (p) => {
          if (p.type === 'optimize') {
            if (p.step % logEvery === 0 || p.step === p.totalSteps) {
              const l = p.losses;
              console.log(`step ${p.step}/${p.totalSteps} loss ${fmt(l.total)} (content ${fmt(l.content)}, style ${fmt(l.style)}, tv ${fmt(l.tv)}) eta ${formatDuration(p.etaSeconds)}`);
            }
          } else if (p.type === 'phase') {
            warn(p.message);
          } else if (p.type === 'optimizePreview') {
            previews?.write(p.step, p.image.bytes);
          }
        },
      });
      await previews?.flush();
      const secs = (Date.now() - started) / 1000;
      const drop = 100 * (1 - result.finalLosses.total / result.initialLosses.total);
      console.log(`${result.cancelled ? 'stopped' : 'done'}: ${result.steps} steps (${result.evaluations} loss evaluations, ${result.method}, ${result.width}×${result.height}) in ${formatDuration(secs)}; ` +
        `loss ${fmt(result.initialLosses.total)} → ${fmt(result.finalLosses.total)} (${drop >= 0 ? '−' : '+'}${Math.abs(drop).toFixed(1)}%)`);
      if (result.output) out(result.output);
      else warn('fst optimize: cancelled; nothing written');
      return result.cancelled ? interrupt.exitCode : 0;
    } finally {
      await previews?.flush();
      interrupt.dispose();
    }
  },
};
