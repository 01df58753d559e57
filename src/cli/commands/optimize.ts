// `fst optimize`: stylizes one image with any style image, no training (Gatys et al.), with
// progress lines, previews and a clean stop on Ctrl+C / SIGTERM.
import path from 'node:path';
import {
  OPTIMIZE_METHOD_NAMES,
  OUTPUT_FORMATS,
  TFJS_BACKENDS,
  type OptimizeOptions,
  type OutputFormat,
} from '../../protocol/jobs';
import { OPTIMIZE_JOB_DEFAULTS, optimizeWithImage, resolveOptimizeOptions } from '../../engine/optimizeJob';
import { OPTIMIZE_DEFAULTS, OPTIMIZE_LOSS_WEIGHTS } from '../../model/optimize';
import { formatDuration, longJobSettings, runLongJob } from '../longJob';
import { optionSpecs } from '../args';
import { badInput, choice, integerOpt, layerList, numberOpt, out, required, str, warn, type Command } from '../options';

export const optimizeCommand: Command = {
  name: 'optimize',
  usage:
    '--style <image> --vgg <weights> [-o <out-dir>] [--size 256] [--steps N] [--method lbfgs|adam] [options] <image>',
  summary: 'Stylize one image with any style image, no training (Gatys et al.; slow: minutes at 256 px on a CPU).',
  options: optionSpecs(
    [
      'style',
      'vgg',
      'output',
      'size',
      'max-size',
      'style-size',
      'steps',
      'method',
      'learning-rate',
      'content-weight',
      'style-weight',
      'tv-weight',
      'content-layer',
      'style-layers',
      'init',
      'seed',
      'format',
      'quality',
      'preview-dir',
      'preview-every',
      'log-every',
      'backend',
      'save-on-cancel',
    ],
    ['save-on-cancel'],
  ),
  help: {
    style: 'the style image (any painting or picture)',
    vgg: 'VGG19 weights: tfjs layers-model folder or imagenet-vgg-verydeep-19.mat',
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
    'content-layer': 'VGG content layer, e.g. relu2_2',
    'style-layers': 'VGG style layers, comma separated',
    init: 'start from the image (content, default) or from noise',
    seed: 'random seed for --init noise',
    format: `output format: ${OUTPUT_FORMATS.join(', ')} (default png)`,
    quality: 'JPEG/WebP/AVIF quality 1-100',
    'preview-dir': 'write a preview image into this folder every --preview-every steps',
    'preview-every': 'steps between previews (default 10 with --preview-dir)',
    'log-every': 'print a progress line every N steps (default 10)',
    backend: TFJS_BACKENDS.join(', '),
    'save-on-cancel': 'on Ctrl+C write the best image so far (default: write nothing)',
  },
  examples: [
    'fst optimize --style starry_night.jpg --vgg vgg19/ photo.jpg',
    'fst optimize -s wave.jpg --vgg vgg19/ --size 384 --steps 300 --preview-dir previews -o out photo.jpg',
  ],
  async run(v, pos) {
    if (pos.length !== 1) throw badInput('give exactly one image');
    const backend = choice(v, 'backend', TFJS_BACKENDS) ?? 'auto';
    const logEvery = integerOpt(v, 'log-every', 1, 1e9) ?? 10;
    const previewDir = str(v, 'preview-dir');
    const styleLayers = layerList(v, 'style-layers');
    const options: OptimizeOptions = {
      image: path.resolve(pos[0]),
      styleImage: path.resolve(required(v, 'style')),
      vggPath: path.resolve(required(v, 'vgg')),
      outDir: str(v, 'output') ? path.resolve(str(v, 'output')!) : undefined,
      format: choice<OutputFormat>(v, 'format', OUTPUT_FORMATS),
      quality: integerOpt(v, 'quality', 1, 100),
      size: integerOpt(v, 'size', 1, 1e6),
      maxSize: integerOpt(v, 'max-size', 1, 1e6),
      styleSize: integerOpt(v, 'style-size', 1, 1e6),
      steps: integerOpt(v, 'steps', 1, 1e9),
      method: choice(v, 'method', OPTIMIZE_METHOD_NAMES),
      learningRate: numberOpt(v, 'learning-rate', 0, 1e6),
      contentWeight: numberOpt(v, 'content-weight', 0, 1e12),
      styleWeight: numberOpt(v, 'style-weight', 0, 1e12),
      tvWeight: numberOpt(v, 'tv-weight', 0, 1e12),
      contentLayer: str(v, 'content-layer')?.trim(),
      styleLayers,
      init: choice(v, 'init', ['content', 'noise'] as const),
      seed: integerOpt(v, 'seed', 0, 2 ** 32 - 1),
      previewEvery: previewDir ? (integerOpt(v, 'preview-every', 1, 1e9) ?? 10) : 0,
      saveOnCancel: v['save-on-cancel'] === true,
    };
    resolveOptimizeOptions(options); // every bad value fails here, before any slow loading
    const started = Date.now();
    const fmt = (x: number) => x.toExponential(3);
    const stopping = `stopping${options.saveOnCancel ? ' and saving the best image so far' : '; nothing will be written'}`;
    return runLongJob('optimize', stopping, previewDir, async (job) => {
      const result = await optimizeWithImage(options, longJobSettings(backend), {
        signal: job.signal,
        log: (m) => warn(m),
        progress: (p) => {
          if (p.type === 'optimize') {
            if (p.step % logEvery === 0 || p.step === p.totalSteps) {
              const l = p.losses;
              console.log(
                `step ${p.step}/${p.totalSteps} loss ${fmt(l.total)} (content ${fmt(l.content)}, style ${fmt(l.style)}, tv ${fmt(l.tv)}) eta ${formatDuration(p.etaSeconds)}`,
              );
            }
          } else if (p.type === 'phase') {
            warn(p.message);
          } else if (p.type === 'optimizePreview') {
            job.previews?.write(p.step, p.image.bytes);
          }
        },
      });
      await job.previews?.flush();
      const secs = (Date.now() - started) / 1000;
      const drop = 100 * (1 - result.finalLosses.total / result.initialLosses.total);
      console.log(
        `${result.cancelled ? 'stopped' : 'done'}: ${result.steps} steps (${result.evaluations} loss evaluations, ${result.method}, ${result.width}×${result.height}) in ${formatDuration(secs)}; ` +
          `loss ${fmt(result.initialLosses.total)} → ${fmt(result.finalLosses.total)} (${drop >= 0 ? '−' : '+'}${Math.abs(drop).toFixed(1)}%)`,
      );
      if (result.output) out(result.output);
      else warn('fst optimize: cancelled; nothing written');
      return result.cancelled ? job.stoppedExitCode() : 0;
    });
  },
};
