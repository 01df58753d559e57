// `fst stylize`: stylizes images and folders with a style (or a blend of styles); prints one
// line per written file and never overwrites.
import path from 'node:path';
import {
  OUTPUT_FORMATS,
  STYLIZE_LIMITS,
  TFJS_BACKENDS,
  type ColorMode,
  type JobProgress,
  type OutputFormat,
  type StylizeOptions,
  type StylizePrecision,
  type StylizeRuntime,
} from '../../protocol/jobs';
import { STYLIZE_PRECISIONS } from '../../engine/onnx/onnxQuantized';
import { createStylizeEngine } from '../../engine/stylize/engines';
import { stylizeFiles } from '../../engine/stylize/stylizeJob';
import { optionSpecs, printable } from '../args';
import { badInput, choice, integerOpt, numberOpt, out, str, warn, type Command } from '../options';

/** "a=0.7,b=0.3" → [{style: abs(a), weight: 0.7}, …]; the last '=' of each item separates the weight. */
function parseBlend(spec: string | undefined): StylizeOptions['blend'] {
  if (spec === undefined) return undefined;
  const items = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw badInput('--blend needs style=weight pairs, e.g. styles/a=0.7,styles/b=0.3');
  return items.map((item) => {
    const at = item.lastIndexOf('=');
    const weight = Number(item.slice(at + 1));
    if (at <= 0 || !Number.isFinite(weight) || weight < 0 || weight > 1)
      throw badInput(`--blend item "${item}" must be style=weight with a weight between 0 and 1`);
    return { style: path.resolve(item.slice(0, at)), weight };
  });
}

/** Frames of a video on a terminal: "clip.mp4: 120/300 frames, 8.1 fps, 22 s left". */
function framesProgress(p: JobProgress): void {
  if (p.type !== 'stylize' || !p.frames || !process.stderr.isTTY) return;
  const f = p.frames;
  process.stderr.write(
    `\r${printable(path.basename(p.file ?? ''))}: ${f.done}/${f.total} frames, ${f.fps.toFixed(1)} fps, ${Math.ceil(f.etaSeconds)} s left\x1b[K${f.done === f.total ? '\n' : ''}`,
  );
}

export const stylizeCommand: Command = {
  name: 'stylize',
  usage:
    '-m <checkpoint|ml5-folder> [-o <out-dir>] [options] <image|video|folder>...   (or --blend a=0.7,b=0.3 instead of -m)',
  summary:
    'Stylize images, videos (clip.<style>.mp4, through ffmpeg) and animated GIF/WebP; prints one line per written file. Never overwrites.',
  options: optionSpecs(
    [
      'model',
      'output',
      'format',
      'quality',
      'strength',
      'preserve-colors',
      'color-mode',
      'scale',
      'runtime',
      'precision',
      'backend',
      'max-pixels',
      'tile-size',
      'tile-stats',
      'blend',
      'blend-mode',
      'per-frame',
      'ffmpeg',
      'quiet',
    ],
    ['preserve-colors', 'per-frame', 'quiet'],
  ),
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
    precision:
      'ONNX graph: auto or fp32 (fast float graph), int8 (faster; refused for styles it would change visibly) or reference',
    backend: `tfjs backend when tfjs runs: ${TFJS_BACKENDS.join(', ')}`,
    quiet: 'do not report the runtime used on stderr',
    'max-pixels': 'refuse images with more pixels than this (default 100000000)',
    'tile-size': 'stylize in tiles of at most this many pixels per side (default: automatic, tiles above 2 megapixels)',
    'tile-stats': 'normalisation statistics of tiled images: auto, sampled or downscaled (faster, flatter)',
    blend: 'mix styles: style=weight,style=weight (weights ≤ 1 in all; -m, when given, takes the rest)',
    'blend-mode':
      'outputs (mix the results; any styles) or norm (mix instance-norm parameters of styles sharing their convolutions)',
    'per-frame': 'videos and animated images: stylize every frame on its own (default: steady frames, less flicker)',
    ffmpeg: "videos: the ffmpeg executable, ffprobe beside it (default: the PATH's)",
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
    const colorMode =
      choice<ColorMode>(v, 'color-mode', ['none', 'luminance', 'histogram']) ??
      (v['preserve-colors'] ? 'luminance' : 'none');
    const options: StylizeOptions = {
      outDir: str(v, 'output') ? path.resolve(str(v, 'output')!) : undefined,
      format: choice<OutputFormat>(v, 'format', OUTPUT_FORMATS),
      quality: integerOpt(v, 'quality', STYLIZE_LIMITS.quality.min, STYLIZE_LIMITS.quality.max),
      strength: numberOpt(v, 'strength', STYLIZE_LIMITS.strength.min, STYLIZE_LIMITS.strength.max),
      colorMode,
      scale: numberOpt(v, 'scale', STYLIZE_LIMITS.scale.min, STYLIZE_LIMITS.scale.max),
      tileSize: integerOpt(v, 'tile-size', 64, 65_536),
      tileStats: choice<NonNullable<StylizeOptions['tileStats']>>(v, 'tile-stats', ['auto', 'sampled', 'downscaled']),
      blend,
      blendMode: choice<NonNullable<StylizeOptions['blendMode']>>(v, 'blend-mode', ['outputs', 'norm']),
      steady: !v['per-frame'],
      ffmpegPath: str(v, 'ffmpeg') ? path.resolve(str(v, 'ffmpeg')!) : undefined,
    };
    const runtime = choice<StylizeRuntime>(v, 'runtime', ['auto', 'onnx', 'tfjs']) ?? 'auto';
    const precision = choice<StylizePrecision>(v, 'precision', STYLIZE_PRECISIONS) ?? 'auto';
    const maxInputPixels = integerOpt(v, 'max-pixels', 1, 1e10);
    const tfjsBackend = choice(v, 'backend', TFJS_BACKENDS) ?? 'auto';
    const engine = await createStylizeEngine({ runtime, tfjsBackend, precision });
    try {
      const result = await stylizeFiles({ inputs: pos, style: model, options, maxInputPixels }, engine, {
        progress: framesProgress,
      });
      for (const o of result.outputs) out(o.output);
      if (!v.quiet && result.runtime) warn(`fst stylize: ran on ${result.runtime}`);
      for (const f of result.failures) warn(`fst stylize: ${f.error.message}`);
      return result.failures.length ? 1 : 0;
    } finally {
      engine.dispose();
    }
  },
};
