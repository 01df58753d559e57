// Checkpoint folders (DESIGN §4):
//   model.json   tfjs-style weights manifest (names, shapes, dtype, optional float16 storage)
//   weights.bin  the weights, little-endian, in manifest order
//   style.json   format version, name, architecture, hyperparameters, iteration, losses, …
//                (architecture.padding: the border handling the network was trained with,
//                "reflect" when absent, "zero" for imported reference networks; see
//                model/architecture.ts BorderPadding)
//   thumbnail.jpg (optional) a small picture of the style image, for lists and galleries
// plus files owned by other modules (training state for resume, cached model.onnx).
// A checkpoint is written into a temporary sibling folder and swapped in by rename, so a
// reader sees either the old or the new checkpoint, never a mix.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  PAPER_ARCHITECTURE,
  paramSpecs,
  sizeOfShape,
  validateArchitecture,
  validateWeights,
  type TransformNetArchitecture,
  type WeightMap,
} from '../model/architecture';
import { StyleTransferError } from '../protocol/errors';
import { decodeFloat16, encodeFloat16 } from './float16';
import { MAX_BLOB_BYTES, MAX_JSON_BYTES, fileErrorCode, fileErrorText, readFileInFolder } from './fileAccess';

import { CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, MODEL_FILE, STYLE_FILE, WEIGHTS_FILE } from '../protocol/styles';

export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  MODEL_FILE,
  STYLE_FILE,
  THUMBNAIL_FILE,
  WEIGHTS_FILE,
} from '../protocol/styles';

export interface LossRecord {
  readonly iteration: number;
  readonly content: number;
  readonly style: number;
  readonly tv: number;
  readonly total: number;
}

export type StyleSource =
  | {
      readonly kind: 'trained';
      readonly styleImage?: string;
      readonly dataset?: string;
      /** The style whose weights training started from (--init-from). */ readonly initFrom?: string;
    }
  | { readonly kind: 'imported'; readonly from: string; readonly format: 'ml5' | 'checkpoint' }
  | { readonly kind: 'bundled'; readonly license?: string };

/** Contents of style.json. Fields written by newer tools of the same format version are kept on rewrite. */
export interface StyleInfo {
  readonly formatVersion: number;
  readonly name: string;
  readonly architecture: TransformNetArchitecture;
  readonly source: StyleSource;
  readonly iteration: number;
  readonly epoch?: number;
  readonly hyperparameters?: Record<string, unknown>;
  readonly lossHistory?: readonly LossRecord[];
  readonly thumbnail?: string;
  readonly backend?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** How the style was made (the exact command and settings, for reproducibility). */
  readonly provenance?: Record<string, unknown>;
}

export interface Checkpoint {
  readonly dir: string;
  readonly info: StyleInfo;
  readonly weights: WeightMap;
  /** SHA-256 of weights.bin: identifies the weights (for caches such as the ONNX export). */
  readonly weightsHash: string;
}

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: { dtype: 'float16' };
}
interface ModelJson {
  format: string;
  formatVersion: number;
  weightsManifest: { paths: string[]; weights: ManifestWeight[] }[];
}

const bad = (dir: string, msg: string) => new StyleTransferError('bad-checkpoint', `checkpoint ${dir}: ${msg}`);

/** A checkpoint file's bytes through the file-access layer (an imported folder could carry links, FIFOs…). */
async function readCheckpointFile(dir: string, file: string, maxBytes: number): Promise<Buffer> {
  try {
    return await readFileInFolder(dir, file, maxBytes);
  } catch (e) {
    const code = fileErrorCode(e);
    if (code === 'ENOENT' && file !== WEIGHTS_FILE)
      throw bad(dir, `${file} is missing — not a style checkpoint folder`);
    if (code === 'EOUTSIDE')
      throw bad(dir, `${file} is ${fileErrorText(e).replace('the folder', 'the checkpoint folder')}`);
    throw bad(dir, `cannot read ${file}: ${fileErrorText(e)}`);
  }
}

async function readJson(dir: string, file: string): Promise<unknown> {
  const text = (await readCheckpointFile(dir, file, MAX_JSON_BYTES)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw bad(dir, `${file} is not valid JSON (${(e as Error).message})`);
  }
}

function checkVersion(dir: string, file: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(dir, `${file} has no valid formatVersion`);
  if (v > CHECKPOINT_FORMAT_VERSION) {
    throw bad(
      dir,
      `${file} has format version ${v}, newer than this version of Fast Style Transfer understands (${CHECKPOINT_FORMAT_VERSION}); update the extension to use it`,
    );
  }
}

function parseStyleInfo(dir: string, raw: unknown): StyleInfo {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw bad(dir, `${STYLE_FILE} must be a JSON object`);
  const o = raw as Record<string, unknown>;
  checkVersion(dir, STYLE_FILE, o.formatVersion);
  let architecture: TransformNetArchitecture;
  try {
    architecture = validateArchitecture(o.architecture ?? PAPER_ARCHITECTURE);
  } catch (e) {
    throw bad(dir, (e as Error).message);
  }
  const name = typeof o.name === 'string' && o.name.trim() ? o.name : path.basename(dir);
  const iteration = isFiniteNumber(o.iteration) ? o.iteration : 0;
  const source = (isPlainObject(o.source) ? o.source : { kind: 'trained' }) as StyleSource;
  // Networks imported from ml5 folders before style.json recorded the padding were trained with
  // zero padding all the same (the reference's computation).
  const recorded = isPlainObject(o.architecture) && (o.architecture as Record<string, unknown>).padding !== undefined;
  if (!recorded && source.kind === 'imported' && source.format === 'ml5')
    architecture = { ...architecture, padding: 'zero' };
  const now = new Date(0).toISOString();
  // Optional fields are metadata: a damaged one is dropped (the weights are still good), so
  // callers can rely on the types StyleInfo promises (a resume spreads lossHistory, …).
  const lossHistory = Array.isArray(o.lossHistory) ? o.lossHistory.filter(isLossRecord) : undefined;
  return {
    ...(o as Partial<StyleInfo>),
    formatVersion: o.formatVersion as number,
    name,
    architecture,
    source,
    iteration,
    epoch: isFiniteNumber(o.epoch) ? o.epoch : undefined,
    hyperparameters: isPlainObject(o.hyperparameters) ? o.hyperparameters : undefined,
    lossHistory,
    thumbnail: typeof o.thumbnail === 'string' ? o.thumbnail : undefined,
    backend: typeof o.backend === 'string' ? o.backend : undefined,
    provenance: isPlainObject(o.provenance) ? o.provenance : undefined,
    createdAt: typeof o.createdAt === 'string' ? o.createdAt : now,
    updatedAt: typeof o.updatedAt === 'string' ? o.updatedAt : now,
  };
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isLossRecord(v: unknown): v is LossRecord {
  return isPlainObject(v) && ['iteration', 'content', 'style', 'tv', 'total'].every((k) => isFiniteNumber(v[k]));
}

/**
 * If a kill interrupted a swap (old folder moved aside, new not yet in place), puts the old one
 * back. Every reader calls it first (loadStyle too), so a checkpoint stays readable after a
 * kill at any instant of writeCheckpoint.
 */
export async function recoverInterruptedSwap(dir: string): Promise<void> {
  const previous = previousPath(dir);
  try {
    await fs.lstat(dir); // lstat: a link under the name (even dangling) is not a missing checkpoint
  } catch {
    try {
      await fs.rename(previous, dir);
    } catch {
      /* nothing to recover */
    }
  }
}

/** Reads style.json only: cheap, for listing styles. */
export async function readStyleInfo(dir: string): Promise<StyleInfo> {
  await recoverInterruptedSwap(dir);
  return parseStyleInfo(dir, await readJson(dir, STYLE_FILE));
}

/** Reads and validates a whole checkpoint; every problem is one precise 'bad-checkpoint' error. */
export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  await recoverInterruptedSwap(dir);
  try {
    const st = await fs.stat(dir);
    if (!st.isDirectory()) throw bad(dir, 'is a file, expected a checkpoint folder');
  } catch (e) {
    if (e instanceof StyleTransferError) throw e;
    throw new StyleTransferError('not-found', `checkpoint folder ${dir} does not exist`);
  }
  const info = parseStyleInfo(dir, await readJson(dir, STYLE_FILE));
  const model = (await readJson(dir, MODEL_FILE)) as Partial<ModelJson>;
  if (model === null || typeof model !== 'object') throw bad(dir, `${MODEL_FILE} must be a JSON object`);
  if (model.format !== CHECKPOINT_FORMAT)
    throw bad(dir, `${MODEL_FILE} has format "${String(model.format)}", expected "${CHECKPOINT_FORMAT}"`);
  checkVersion(dir, MODEL_FILE, model.formatVersion);
  const groups = model.weightsManifest;
  if (
    !Array.isArray(groups) ||
    groups.length !== 1 ||
    !Array.isArray(groups[0]?.weights) ||
    !Array.isArray(groups[0]?.paths)
  ) {
    throw bad(dir, `${MODEL_FILE} must have one weightsManifest group with paths and weights`);
  }
  const { paths, weights: entries } = groups[0];
  if (paths.length !== 1 || paths[0] !== WEIGHTS_FILE) throw bad(dir, `${MODEL_FILE} must point at ${WEIGHTS_FILE}`);
  const bytes = await readCheckpointFile(dir, WEIGHTS_FILE, MAX_BLOB_BYTES);
  const expectedShapes = new Map(paramSpecs(info.architecture).map((p) => [p.name, p.shape]));
  const weights: WeightMap = new Map();
  let offset = 0;
  for (const w of entries) {
    if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || w.dtype !== 'float32') {
      throw bad(dir, `${MODEL_FILE} has a malformed weight entry ${JSON.stringify(w).slice(0, 120)}`);
    }
    const expected = expectedShapes.get(w.name);
    if (!expected) throw bad(dir, `unexpected weight "${w.name}" for the architecture in ${STYLE_FILE}`);
    if (w.shape.length !== expected.length || w.shape.some((d, i) => d !== expected[i])) {
      throw bad(dir, `weight "${w.name}" has shape [${w.shape.join(', ')}], expected [${expected.join(', ')}]`);
    }
    const n = sizeOfShape(w.shape);
    const half = w.quantization?.dtype === 'float16';
    if (w.quantization && !half)
      throw bad(dir, `weight "${w.name}" uses unsupported storage ${JSON.stringify(w.quantization)}`);
    const byteLength = n * (half ? 2 : 4);
    if (offset + byteLength > bytes.length) {
      throw bad(
        dir,
        `${WEIGHTS_FILE} is truncated: ${bytes.length} bytes, "${w.name}" needs bytes ${offset}..${offset + byteLength}`,
      );
    }
    // Copy into aligned arrays (Buffer slices may start at any byte offset).
    const slice = new Uint8Array(bytes.buffer, bytes.byteOffset + offset, byteLength).slice();
    weights.set(w.name, half ? decodeFloat16(new Uint16Array(slice.buffer)) : new Float32Array(slice.buffer));
    offset += byteLength;
  }
  if (offset !== bytes.length)
    throw bad(dir, `${WEIGHTS_FILE} has ${bytes.length} bytes, the manifest describes ${offset}`);
  try {
    validateWeights(weights, info.architecture, `checkpoint ${dir}`);
  } catch (e) {
    throw new StyleTransferError('bad-checkpoint', (e as Error).message);
  }
  return { dir, info, weights, weightsHash: crypto.createHash('sha256').update(bytes).digest('hex') };
}

export interface WriteCheckpointOptions {
  /** Store weights as float16 (half the size; ample precision for inference). */
  readonly precision?: 'float32' | 'float16';
  /** Further files to place in the folder (training state, thumbnail…), by file name. */
  readonly extraFiles?: Readonly<Record<string, Uint8Array | string>>;
  /** Files of an existing checkpoint at `dir` to carry over into the new one when not given anew. */
  readonly keepFiles?: readonly string[];
}

export function encodeWeights(
  arch: TransformNetArchitecture,
  weights: WeightMap,
  precision: 'float32' | 'float16' = 'float32',
): { manifest: ModelJson; bytes: Buffer } {
  validateWeights(weights, arch);
  const entries: ManifestWeight[] = [];
  const chunks: Buffer[] = [];
  for (const p of paramSpecs(arch)) {
    const w = weights.get(p.name)!;
    if (precision === 'float16') {
      const h = encodeFloat16(w);
      chunks.push(Buffer.from(h.buffer, h.byteOffset, h.byteLength));
      entries.push({ name: p.name, shape: [...p.shape], dtype: 'float32', quantization: { dtype: 'float16' } });
    } else {
      chunks.push(Buffer.from(w.buffer, w.byteOffset, w.byteLength));
      entries.push({ name: p.name, shape: [...p.shape], dtype: 'float32' });
    }
  }
  // Buffer.concat copies, so the result never aliases the caller's arrays.
  const bytes = Buffer.concat(chunks);
  return {
    manifest: {
      format: CHECKPOINT_FORMAT,
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: entries }],
    },
    bytes,
  };
}

function previousPath(dir: string): string {
  return path.join(path.dirname(dir), `.${path.basename(dir)}.previous`);
}

/**
 * Writes (or replaces) the checkpoint at `dir` atomically: everything goes into a hidden
 * sibling folder, which is then swapped in by rename. Returns the SHA-256 of weights.bin.
 */
export async function writeCheckpoint(
  dir: string,
  info: Omit<StyleInfo, 'formatVersion'> & { formatVersion?: number },
  weights: WeightMap,
  opts: WriteCheckpointOptions = {},
): Promise<string> {
  const parent = path.dirname(path.resolve(dir));
  const base = path.basename(dir);
  const { manifest, bytes } = encodeWeights(info.architecture, weights, opts.precision);
  const full: StyleInfo = { ...info, formatVersion: CHECKPOINT_FORMAT_VERSION, updatedAt: new Date().toISOString() };
  try {
    await fs.mkdir(parent, { recursive: true });
  } catch (e) {
    throw new StyleTransferError(
      'io',
      `cannot create folder ${parent} (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
    );
  }
  // A checkpoint replaces only a checkpoint folder: never a link (dangling or not; it would be
  // replaced by a folder, or written through), a file, a FIFO or a device under that name.
  await recoverInterruptedSwap(dir);
  const existing = await fs.lstat(dir).catch(() => undefined);
  if (existing && !existing.isDirectory()) {
    throw new StyleTransferError(
      'output-exists',
      `${dir} is ${existing.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}; not writing a checkpoint there`,
    );
  }
  // Leftovers of a crashed write are garbage: remove them.
  for (const name of await fs.readdir(parent).catch(() => [] as string[])) {
    if (name.startsWith(`.${base}.writing-`)) await fs.rm(path.join(parent, name), { recursive: true, force: true });
  }
  const tmp = path.join(parent, `.${base}.writing-${crypto.randomBytes(4).toString('hex')}`);
  try {
    await fs.mkdir(tmp);
    const files: Record<string, Uint8Array | string> = {
      [MODEL_FILE]: JSON.stringify(manifest, null, 1),
      [WEIGHTS_FILE]: bytes,
      [STYLE_FILE]: JSON.stringify(full, null, 2),
    };
    for (const keep of opts.keepFiles ?? []) {
      if (keep in files || (opts.extraFiles && keep in opts.extraFiles)) continue;
      try {
        files[keep] = await readFileInFolder(dir, keep, MAX_BLOB_BYTES);
      } catch {
        /* not present in the old checkpoint (or not a file we would carry over) */
      }
    }
    Object.assign(files, opts.extraFiles ?? {});
    for (const [name, content] of Object.entries(files)) {
      if (name !== path.basename(name) || name.startsWith('.')) throw new Error(`invalid checkpoint file name ${name}`);
      const fh = await fs.open(path.join(tmp, name), 'w');
      try {
        await fh.writeFile(content);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    const previous = previousPath(dir);
    await fs.rm(previous, { recursive: true, force: true });
    let hadOld = false;
    try {
      await fs.rename(dir, previous);
      hadOld = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    try {
      await fs.rename(tmp, dir);
    } catch (e) {
      if (hadOld) await fs.rename(previous, dir).catch(() => undefined);
      throw e;
    }
    await fs.rm(previous, { recursive: true, force: true });
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (e instanceof StyleTransferError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new StyleTransferError('io', `cannot write checkpoint ${dir} (${code ?? (e as Error).message})`);
  }
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** True when `dir` looks like one of our checkpoints (has style.json and model.json). */
export async function isCheckpointFolder(dir: string): Promise<boolean> {
  await recoverInterruptedSwap(dir);
  try {
    await fs.access(path.join(dir, STYLE_FILE));
    await fs.access(path.join(dir, MODEL_FILE));
    return true;
  } catch {
    return false;
  }
}
