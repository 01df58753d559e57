// `fst train`: trains a new style (or resumes one) with progress lines, previews and a clean
// stop on Ctrl+C / SIGTERM (the checkpoint is saved).
import path from 'node:path';
import {
  TRAINING_BACKENDS,
  TRAINING_PRESETS,
  type JobProgress,
  type JobRequest,
  type TrainingOverrides,
  type TrainingPresetName,
} from '../../protocol/jobs';
import { resumeTraining, trainStyle } from '../../engine/train/trainJob';
import { PRESETS } from '../../model/presets';
import type { JobContext } from '../../engine/stylize/stylizeJob';
import { parseDecimal } from '../args';
import { formatDuration, longJobSettings, runLongJob } from '../longJob';
import {
  badInput,
  choice,
  integerOpt,
  layerList,
  numberOpt,
  out,
  required,
  str,
  warn,
  type Command,
  type Values,
} from '../options';

/** Options a resume cannot change: it continues with the checkpoint's saved settings. */
const FIXED_ON_RESUME = [
  'style',
  'data',
  'preset',
  'name',
  'epochs',
  'batch-size',
  'image-size',
  'learning-rate',
  'content-weight',
  'style-weight',
  'tv-weight',
  'range-weight',
  'style-size',
  'crop-scale',
  'seed',
  'checkpoint-every',
  'preview-every',
  'content-layer',
  'style-layers',
  'filters',
  'residual-blocks',
  'output-scale',
  'init-from',
];

/** Hyperparameter overrides from --key value options (numbers) and --layers lists; their ranges are checked by the preset. */
function trainOverrides(v: Values): TrainingOverrides {
  const o: Record<string, unknown> = {};
  const nums: [string, keyof TrainingOverrides][] = [
    ['iterations', 'iterations'],
    ['epochs', 'epochs'],
    ['batch-size', 'batchSize'],
    ['image-size', 'imageSize'],
    ['learning-rate', 'learningRate'],
    ['content-weight', 'contentWeight'],
    ['style-weight', 'styleWeight'],
    ['tv-weight', 'tvWeight'],
    ['range-weight', 'rangeWeight'],
    ['style-size', 'styleSize'],
    ['crop-scale', 'cropScale'],
    ['seed', 'seed'],
    ['checkpoint-every', 'checkpointEvery'],
    ['preview-every', 'previewEvery'],
  ];
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
    const filters = str(v, 'filters')
      ? str(v, 'filters')!
          .split(',')
          .map((x) => {
            const n = parseDecimal(x);
            if (n === undefined || !Number.isInteger(n))
              throw badInput(
                `--filters must be whole numbers separated by commas, e.g. 16,32,64, got "${str(v, 'filters')}"`,
              );
            return n;
          })
      : [...base.filters];
    o.architecture = {
      ...base,
      filters,
      residualBlocks: integerOpt(v, 'residual-blocks', 0, 1000) ?? base.residualBlocks,
    };
  }
  const scale = numberOpt(v, 'output-scale', 1, 1000);
  if (scale !== undefined) {
    const preset = (str(v, 'preset') ?? 'quick') as TrainingPresetName;
    o.architecture = {
      ...((o.architecture as object | undefined) ?? PRESETS[preset]?.architecture ?? PRESETS.quick.architecture),
      outputScale: scale,
    };
  }
  return o as TrainingOverrides;
}

export const trainCommand: Command = {
  name: 'train',
  usage:
    '--style <image> --data <folder> -o <checkpoint-folder> --vgg <weights> [--preset quick|standard|paper] [options]',
  summary: 'Train a new style (or --resume one); prints a progress line every few steps and a summary.',
  options: {
    style: { type: 'string', short: 's' },
    data: { type: 'string', short: 'd' },
    output: { type: 'string', short: 'o' },
    vgg: { type: 'string' },
    preset: { type: 'string', short: 'p' },
    name: { type: 'string' },
    resume: { type: 'boolean' },
    backend: { type: 'string' },
    iterations: { type: 'string', short: 'n' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    'image-size': { type: 'string' },
    'learning-rate': { type: 'string' },
    'content-weight': { type: 'string' },
    'style-weight': { type: 'string' },
    'tv-weight': { type: 'string' },
    'range-weight': { type: 'string' },
    'style-size': { type: 'string' },
    'crop-scale': { type: 'string' },
    'init-from': { type: 'string' },
    'output-scale': { type: 'string' },
    seed: { type: 'string' },
    'checkpoint-every': { type: 'string' },
    'preview-every': { type: 'string' },
    'content-layer': { type: 'string' },
    'style-layers': { type: 'string' },
    filters: { type: 'string' },
    'residual-blocks': { type: 'string' },
    'log-every': { type: 'string' },
    'preview-dir': { type: 'string' },
  },
  help: {
    style: 'the style image (a painting)',
    data: 'folder of training photos (searched recursively)',
    output: 'checkpoint folder to create (or to resume with --resume)',
    vgg: 'VGG19 weights: tfjs layers-model folder or imagenet-vgg-verydeep-19.mat',
    preset: `${TRAINING_PRESETS.join(', ')} (default quick)`,
    name: 'display name (default: the output folder name)',
    resume: 'continue training the checkpoint in --output exactly where it stopped',
    backend: TRAINING_BACKENDS.join(', '),
    iterations: 'total training steps (overrides the preset; with --resume: extend to this many)',
    epochs: 'passes over the data (when iterations is 0)',
    'batch-size': 'images per step',
    'image-size': 'training image size in pixels',
    'learning-rate': 'Adam learning rate',
    'content-weight': 'content loss weight',
    'style-weight': 'style loss weight',
    'tv-weight': 'total-variation weight',
    'range-weight':
      'range loss weight: keeps dark and bright areas from freezing into flat black or white holes (0 = off)',
    'style-size': 'longer side of the style image in pixels (0 = as is)',
    'crop-scale':
      'photos are scaled to this × the image size and randomly cropped (1.25 = whole photo; 3 ≈ their own scale)',
    'output-scale':
      "output = tanh·this + 127.5: 127.5 keeps it in 0..255 (no blown-out blobs), 150 is the reference network's",
    'init-from':
      'start from the weights of this trained style (same network size): a new style in a fraction of the steps',
    seed: 'random seed (data order, initial weights)',
    'checkpoint-every': 'save every N steps',
    'preview-every': 'render the preview photo every N steps',
    'content-layer': 'VGG content layer, e.g. relu2_2',
    'style-layers': 'VGG style layers, comma separated',
    filters: 'network width, e.g. 16,32,64',
    'residual-blocks': 'number of residual blocks',
    'log-every': 'print a progress line every N steps (default 10)',
    'preview-dir': 'also write each preview image into this folder',
  },
  examples: [
    'fst train --style starry.jpg --data photos/ --vgg vgg19/ -o styles/starry --preset quick',
    'fst train -o styles/starry --vgg vgg19/ --resume --iterations 2000',
  ],
  async run(v) {
    const output = path.resolve(required(v, 'output'));
    const resume = v.resume === true;
    const fixed = resume ? FIXED_ON_RESUME.filter((k) => v[k] !== undefined) : [];
    if (fixed.length)
      throw badInput(
        `--resume continues with the checkpoint's saved settings: ${fixed.map((k) => `--${k}`).join(', ')} cannot change (only --iterations can)`,
      );
    const preset = choice<TrainingPresetName>(v, 'preset', TRAINING_PRESETS) ?? 'quick';
    const backend = choice(v, 'backend', TRAINING_BACKENDS) ?? 'auto';
    const logEvery = numberOpt(v, 'log-every', 1, 1e9) ?? 10;
    const previewDir = str(v, 'preview-dir');
    const vggPath = path.resolve(required(v, 'vgg'));
    const overrides = trainOverrides(v);
    // Built before anything is read, so a missing option is refused up front.
    const job: Extract<JobRequest, { type: 'train' | 'resume' }> = resume
      ? {
          type: 'resume',
          options: {
            checkpoint: output,
            vggPath,
            ...(overrides.iterations !== undefined ? { iterations: overrides.iterations } : {}),
          },
        }
      : {
          type: 'train',
          options: {
            styleImage: path.resolve(required(v, 'style')),
            dataDir: path.resolve(required(v, 'data')),
            output,
            name: str(v, 'name') ?? path.basename(output),
            preset,
            vggPath,
            overrides,
            ...(str(v, 'init-from') ? { initFrom: path.resolve(str(v, 'init-from')!) } : {}),
          },
        };
    const started = Date.now();
    let last: Extract<JobProgress, { type: 'train' }> | undefined;
    return runLongJob('train', 'stopping after this step and saving a checkpoint', previewDir, async (running) => {
      const ctx: JobContext = {
        signal: running.signal,
        log: (m) => warn(m),
        progress: (p) => {
          if (p.type === 'train') {
            last = p;
            if (p.iteration % logEvery === 0 || p.iteration === p.totalIterations) {
              const l = p.losses;
              console.log(
                `iter ${p.iteration}/${p.totalIterations} epoch ${p.epoch} loss ${l.total.toExponential(4)} (content ${l.content.toExponential(3)}, style ${l.style.toExponential(3)}, tv ${l.tv.toExponential(3)}${l.range !== undefined ? `, range ${l.range.toExponential(3)}` : ''}) ${p.imagesPerSecond.toFixed(2)} img/s eta ${formatDuration(p.etaSeconds)}`,
              );
            }
          } else if (p.type === 'phase') {
            warn(p.message);
          } else if (p.type === 'trainPreview') {
            running.previews?.write(p.iteration, p.image.bytes);
          }
        },
      };
      const settings = longJobSettings(backend);
      const result =
        job.type === 'resume'
          ? await resumeTraining(job.options, settings, ctx)
          : await trainStyle(job.options, settings, ctx);
      const secs = (Date.now() - started) / 1000;
      out(
        `${result.cancelled ? 'stopped' : 'done'}: ${result.iterations} iterations in ${formatDuration(secs)}; checkpoint ${result.checkpoint}${last ? `; final loss ${last.losses.total.toExponential(4)}` : ''}`,
      );
      return result.cancelled ? running.stoppedExitCode() : 0;
    });
  },
};
