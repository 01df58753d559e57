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
  OUTPUT_FORMATS, TRAINING_BACKENDS, type ColorMode, type JobProgress, type OutputFormat, type StylizeOptions, type StylizePrecision, type StylizeRuntime,
} from '../protocol/jobs';
import { STYLIZE_PRECISIONS } from '../engine/onnxQuantized';
import { createStylizeEngine } from '../engine/engines';
import { stylizeFiles } from '../engine/stylizeJob';
import { loadStyle } from '../engine/styles';
import { writeFileAtomic } from '../io/output';
import { MAX_THUMBNAIL_BYTES, readFileInFolder } from '../io/fileAccess';
import { downloadVgg19, VGG19_SOURCES } from '../io/download';
import { evaluateCommand } from './commands/evaluate';
import { printable } from './args';
import { badInput, choice, integerOpt, numberOpt, out, required, str, warn, type Command } from './options';
import { optimizeCommand, trainCommand } from './trainCommands';

export type { Command } from './options';

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
    out(path.resolve(output));
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

/** Frames of a video on a terminal: "clip.mp4: 120/300 frames, 8.1 fps, 22 s left". */
function framesProgress(p: JobProgress): void {
  if (p.type !== 'stylize' || !p.frames || !process.stderr.isTTY) return;
  const f = p.frames;
  process.stderr.write(`\r${printable(path.basename(p.file ?? ''))}: ${f.done}/${f.total} frames, ${f.fps.toFixed(1)} fps, ${Math.ceil(f.etaSeconds)} s left\x1b[K${f.done === f.total ? '\n' : ''}`);
}

const stylizeCommand: Command = {
  name: 'stylize',
  usage: '-m <checkpoint|ml5-folder> [-o <out-dir>] [options] <image|video|folder>...   (or --blend a=0.7,b=0.3 instead of -m)',
  summary: 'Stylize images, videos (clip.<style>.mp4, through ffmpeg) and animated GIF/WebP; prints one line per written file. Never overwrites.',
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
    'per-frame': { type: 'boolean' },
    ffmpeg: { type: 'string' },
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
    backend: `tfjs backend when tfjs runs: ${TRAINING_BACKENDS.join(', ')}`,
    quiet: 'do not report the runtime used on stderr',
    'max-pixels': 'refuse images with more pixels than this (default 100000000)',
    'tile-size': 'stylize in tiles of at most this many pixels per side (default: automatic, tiles above 2 megapixels)',
    'tile-stats': 'normalisation statistics of tiled images: auto, sampled or downscaled (faster, flatter)',
    blend: 'mix styles: style=weight,style=weight (weights ≤ 1 in all; -m, when given, takes the rest)',
    'blend-mode': 'outputs (mix the results; any styles) or norm (mix instance-norm parameters of styles sharing their convolutions)',
    'per-frame': 'videos and animated images: stylize every frame on its own (default: steady frames, less flicker)',
    ffmpeg: 'videos: the ffmpeg executable, ffprobe beside it (default: the PATH\'s)',
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
      quality: integerOpt(v, 'quality', 1, 100),
      strength: numberOpt(v, 'strength', 0, 1),
      colorMode,
      scale: numberOpt(v, 'scale', 0.01, 4),
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
    const tfjsBackend = choice(v, 'backend', TRAINING_BACKENDS) ?? 'auto';
    const engine = await createStylizeEngine({ runtime, tfjsBackend, precision });
    try {
      const result = await stylizeFiles({ inputs: pos, style: model, options, maxInputPixels }, engine, { progress: framesProgress });
      for (const o of result.outputs) out(o.output);
      if (!v.quiet && result.runtime) warn(`fst stylize: ran on ${result.runtime}`);
      for (const f of result.failures) warn(`fst stylize: ${f.error.message}`);
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
      for (const [k, val] of Object.entries(summary)) if (val !== undefined) console.log(printable(`${k}: ${typeof val === 'object' ? JSON.stringify(val) : val}`));
    }
    return 0;
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
      out(output);
      return 0;
    }
    const info = style.info;
    const now = new Date().toISOString();
    const extraFiles: Record<string, Uint8Array> = {};
    try {
      // Only a regular file inside the style folder: a link out of it must not be copied into the export.
      extraFiles['thumbnail.jpg'] = await readFileInFolder(style.dir, 'thumbnail.jpg', MAX_THUMBNAIL_BYTES);
    } catch { /* no usable thumbnail */ }
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
    out(output);
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
    out(r.path);
    return 0;
  },
};

export const commands: Command[] = [importCommand, stylizeCommand, trainCommand, optimizeCommand, exportCommand, downloadVggCommand, infoCommand, evaluateCommand];
