// The commands of `fst`. Each is a thin layer over the engine: parse options, run, print.
import fs from 'node:fs/promises';
import path from 'node:path';
import { parameterCount } from '../model/architecture';
import { readCheckpoint, writeCheckpoint } from '../io/checkpoint';
import { readMl5Folder } from '../io/ml5Import';
import { StyleTransferError } from '../protocol/errors';
import { OUTPUT_FORMATS, type ColorMode, type OutputFormat, type StylizeOptions, type StylizeRuntime } from '../protocol/jobs';
import { createStylizeEngine } from '../engine/engines';
import { stylizeFiles } from '../engine/stylizeJob';
import { loadStyle } from '../engine/styles';

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

const stylizeCommand: Command = {
  name: 'stylize',
  usage: '-m <checkpoint|ml5-folder> [-o <out-dir>] [options] <image|folder>...',
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
    'max-pixels': { type: 'string' },
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
    'max-pixels': 'refuse images with more pixels than this (default 100000000)',
  },
  examples: ['fst stylize -m styles/udnie -o out photo.jpg', 'fst stylize -m styles/udnie --strength 0.7 --preserve-colors photos/'],
  async run(v, pos) {
    if (pos.length === 0) throw badInput('give at least one image or folder');
    const model = required(v, 'model');
    const colorMode = choice<ColorMode>(v, 'color-mode', ['none', 'luminance', 'histogram']) ?? (v['preserve-colors'] ? 'luminance' : 'none');
    const options: StylizeOptions = {
      outDir: str(v, 'output') ? path.resolve(str(v, 'output')!) : undefined,
      format: choice<OutputFormat>(v, 'format', OUTPUT_FORMATS),
      quality: numberOpt(v, 'quality', 1, 100),
      strength: numberOpt(v, 'strength', 0, 1),
      colorMode,
      scale: numberOpt(v, 'scale', 0.01, 4),
    };
    const runtime = choice<StylizeRuntime>(v, 'runtime', ['auto', 'onnx', 'tfjs']) ?? 'auto';
    const maxInputPixels = numberOpt(v, 'max-pixels', 1, 1e10);
    const engine = await createStylizeEngine({ runtime });
    try {
      const result = await stylizeFiles({ inputs: pos, style: model, options, maxInputPixels }, engine);
      for (const o of result.outputs) console.log(o.output);
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

export const commands: Command[] = [importCommand, stylizeCommand, infoCommand];
