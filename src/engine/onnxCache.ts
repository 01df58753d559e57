// The ONNX export of a checkpoint, cached as `model.onnx` beside the checkpoint (or, when that
// folder is read-only, in a cache folder), with a small JSON sidecar recording what it was
// exported from. Re-exported when the weights' hash or the exporter version differ, or when the
// file no longer matches the sidecar. Knows nothing about the checkpoint format: callers pass
// the architecture, the weights (or a loader for them) and the weights' content hash.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { paramSpecs, type TransformNetArchitecture, type WeightMap } from '../model/architecture';
import { DEFAULT_OPSET, ONNX_EXPORTER_VERSION, exportTransformNetToOnnx } from '../model/onnxExport';
import { StyleTransferError } from '../protocol/errors';
import { writeFileAtomic } from '../io/output';

export const ONNX_FILE = 'model.onnx';
export const ONNX_SIDECAR = 'model.onnx.json';
const SIDECAR_FORMAT = 1;

export interface OnnxCacheRequest {
  arch: TransformNetArchitecture;
  /** The weights, or a loader called only when an export is needed. */
  weights: WeightMap | (() => Promise<WeightMap>);
  /** SHA-256 (hex) of the weights' content, e.g. of weights.bin, or sha256OfWeights(). */
  weightsSha256: string;
  /** Preferred folder (the checkpoint's): model.onnx goes here when it is writable. */
  dir: string;
  /** Where to cache when `dir` is not writable (a bundled, read-only style). */
  fallbackCacheDir?: string;
  opset?: number;
  producerVersion?: string;
  /** Export even when a valid cached file exists (e.g. after ONNX Runtime rejected it). */
  force?: boolean;
  /** Another graph of the same weights (e.g. onnxQuantized.ts's fast and int8 graphs), cached under its own file name. */
  variant?: OnnxVariant;
}

export interface OnnxVariant {
  /** File name beside the checkpoint, e.g. "model.int8.onnx" (the sidecar adds ".json"). */
  readonly file: string;
  /** Rebuilt when this changes. */
  readonly version: string;
  /** The model, and facts about it kept in the sidecar (returned as `info`). */
  build(weights: WeightMap): Promise<{ bytes: Uint8Array; info?: Record<string, unknown> }>;
}

export interface OnnxCacheResult {
  /** The .onnx file to load. */
  path: string;
  /** True when this call exported (false: a valid cached file was reused). */
  exported: boolean;
  location: 'checkpoint' | 'cache';
  /** A variant's facts from its sidecar. */
  info?: Record<string, unknown>;
}

interface Sidecar {
  format: number;
  exporterVersion: number;
  opset: number;
  weightsSha256: string;
  onnxSha256: string;
  onnxBytes: number;
  createdAt: string;
  variant?: string;
  info?: Record<string, unknown>;
}

export function sha256Hex(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/**
 * SHA-256 of a WeightMap in parameter order (names, shapes, little-endian float32 values), for
 * weights that do not come from a single file (ml5 imports, freshly trained networks).
 */
export function sha256OfWeights(arch: TransformNetArchitecture, weights: WeightMap): string {
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify(arch));
  for (const p of paramSpecs(arch)) {
    const w = weights.get(p.name);
    h.update(`${p.name}[${p.shape.join(',')}]`);
    if (!w) continue;
    const bytes = Buffer.alloc(w.length * 4);
    for (let i = 0; i < w.length; i++) bytes.writeFloatLE(w[i], i * 4);
    h.update(bytes);
  }
  return h.digest('hex');
}

function locations(req: OnnxCacheRequest): { onnx: string; sidecar: string; location: OnnxCacheResult['location'] }[] {
  const file = req.variant?.file ?? ONNX_FILE;
  const out: { onnx: string; sidecar: string; location: OnnxCacheResult['location'] }[] = [
    { onnx: path.join(req.dir, file), sidecar: path.join(req.dir, req.variant ? `${file}.json` : ONNX_SIDECAR), location: 'checkpoint' },
  ];
  if (req.fallbackCacheDir) {
    // One file per weights hash: several read-only styles share the cache folder.
    const base = path.join(req.fallbackCacheDir, `${req.weightsSha256.slice(0, 32)}`);
    const ext = req.variant ? `.${file}` : '.onnx';
    out.push({ onnx: `${base}${ext}`, sidecar: `${base}${ext}.json`, location: 'cache' });
  }
  return out;
}

/** The sidecar when the cached file is valid for `req`, else undefined. */
async function isValid(onnxPath: string, sidecarPath: string, req: OnnxCacheRequest, opset: number): Promise<Partial<Sidecar> | undefined> {
  let sidecar: Partial<Sidecar>;
  try {
    sidecar = JSON.parse(await fs.readFile(sidecarPath, 'utf8'));
  } catch {
    return undefined;
  }
  if (sidecar.format !== SIDECAR_FORMAT || sidecar.exporterVersion !== ONNX_EXPORTER_VERSION ||
      sidecar.weightsSha256 !== req.weightsSha256 || sidecar.opset !== opset || sidecar.variant !== req.variant?.version) return undefined;
  try {
    const bytes = await fs.readFile(onnxPath);
    // A hash of the file itself catches truncation and bit rot, for ~20 ms per 7 MB.
    return bytes.length === sidecar.onnxBytes && sha256Hex(bytes) === sidecar.onnxSha256 ? sidecar : undefined;
  } catch {
    return undefined;
  }
}

const READ_ONLY_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * Returns a .onnx file exported from these weights: a valid cached one, or a fresh export.
 * Errors: StyleTransferError('io') when neither `dir` nor `fallbackCacheDir` can be written,
 * 'bad-checkpoint' when the weights do not fit the architecture.
 */
export async function ensureOnnxModel(req: OnnxCacheRequest): Promise<OnnxCacheResult> {
  if (!/^[0-9a-f]{64}$/.test(req.weightsSha256)) {
    throw new StyleTransferError('bad-input', `weightsSha256 must be 64 lowercase hex digits, got "${req.weightsSha256}"`);
  }
  const opset = req.opset ?? DEFAULT_OPSET;
  const places = locations(req);
  if (!req.force) {
    for (const p of places) {
      const valid = await isValid(p.onnx, p.sidecar, req, opset);
      if (valid) return { path: p.onnx, exported: false, location: p.location, ...(valid.info ? { info: valid.info } : {}) };
    }
  }

  const weights = typeof req.weights === 'function' ? await req.weights() : req.weights;
  const built = req.variant ? await req.variant.build(weights) : undefined;
  const bytes = built?.bytes ?? exportTransformNetToOnnx(req.arch, weights, {
    opset, weightsSha256: req.weightsSha256, ...(req.producerVersion ? { producerVersion: req.producerVersion } : {}),
  });
  const sidecar: Sidecar = {
    format: SIDECAR_FORMAT, exporterVersion: ONNX_EXPORTER_VERSION, opset, weightsSha256: req.weightsSha256,
    onnxSha256: sha256Hex(bytes), onnxBytes: bytes.length, createdAt: new Date().toISOString(),
    ...(req.variant ? { variant: req.variant.version, ...(built?.info ? { info: built.info } : {}) } : {}),
  };
  const failures: string[] = [];
  for (const p of places) {
    try {
      if (p.location === 'cache') await fs.mkdir(path.dirname(p.onnx), { recursive: true });
      // The model first, then the sidecar that declares it valid.
      await writeFileAtomic(p.onnx, bytes, { overwrite: true });
      await writeFileAtomic(p.sidecar, Buffer.from(JSON.stringify(sidecar, null, 2) + '\n'), { overwrite: true });
      return { path: p.onnx, exported: true, location: p.location, ...(built?.info ? { info: built.info } : {}) };
    } catch (e) {
      // writeFileAtomic reports file-system errors with the errno text in `detail`.
      const code = (e as NodeJS.ErrnoException).code && !(e instanceof StyleTransferError)
        ? (e as NodeJS.ErrnoException).code!
        : /^(E[A-Z]+)\b/.exec((e as StyleTransferError).detail ?? '')?.[1] ?? (e instanceof StyleTransferError && e.code === 'not-found' ? 'ENOENT' : '');
      failures.push(`${path.dirname(p.onnx)}: ${code || (e as Error).message}`);
      // Only a folder we may not write to sends us to the fallback; anything else (disk full…) is reported.
      if (!READ_ONLY_CODES.has(code) && code !== 'ENOENT') break;
    }
  }
  throw new StyleTransferError('io', `cannot write the ONNX export (${failures.join('; ')})${req.fallbackCacheDir ? '' : '; no cache folder was given'}`);
}
