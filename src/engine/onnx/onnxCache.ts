// The ONNX export of a checkpoint, cached as `model.onnx` beside the checkpoint (or, when that
// folder is read-only, in a private cache folder), with a small JSON sidecar recording what it
// was exported from. Re-exported when the weights' hash or the exporter version differ, or when
// the file no longer matches the sidecar. Knows nothing about the checkpoint format: callers pass
// the architecture, the weights (or a loader for them) and the weights' content hash.
//
// A graph is run only when it is provably our own derivative of these weights: its sidecar
// names the weights' hash (which the caller recomputed from the weights) and the SHA-256 of the
// graph's bytes (recomputed here on every load), and carries an HMAC over both made with a key
// that lives in this user's private cache folder (0700, see src/io/privateDir.ts). A style
// someone sent, with any model.fast.onnx and a sidecar naming the right weights, cannot make one;
// such a graph is ignored, and never overwritten either (it may be the user's own file): the
// export then goes to the private cache.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { paramSpecs, type TransformNetArchitecture, type WeightMap } from '../../model/architecture';
import { DEFAULT_OPSET, ONNX_EXPORTER_VERSION, exportTransformNetToOnnx } from '../../model/onnx/onnxExport';
import { StyleTransferError } from '../../protocol/errors';
import { writeFileAtomic } from '../../io/output';
import { MAX_BLOB_BYTES, fileErrorCode, nameTaken, readFileInFolder } from '../../io/fileAccess';
import { ensurePrivateDir } from '../../io/privateDir';

export const ONNX_FILE = 'model.onnx';
export const ONNX_SIDECAR = 'model.onnx.json';
// 2: sidecars carry an HMAC (format 1 sidecars are not trusted, and their files not replaced).
const SIDECAR_FORMAT = 2;
const KEY_FILE = 'graph-key';
const KEY_BYTES = 32;
const MAX_SIDECAR_BYTES = 1024 * 1024;

export interface OnnxCacheRequest {
  arch: TransformNetArchitecture;
  /** The weights, or a loader called only when an export is needed. */
  weights: WeightMap | (() => Promise<WeightMap>);
  /** SHA-256 (hex) of the weights' content, e.g. of weights.bin, or sha256OfWeights(). */
  weightsSha256: string;
  /** Preferred folder (the checkpoint's): model.onnx goes here when it is writable. */
  dir: string;
  /**
   * The private cache folder (made 0700 and checked here): used when `dir` is not writable (a
   * bundled, read-only style) or holds a graph that is not ours, and home of the key that
   * proves our graphs. Without it, only graphs made by this process are trusted.
   */
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
  /** SHA-256 of the graph's bytes as verified (or written) here: load it with `expectSha256`. */
  sha256: string;
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
  /** HMAC-SHA256 (hex) of the fields above (createdAt aside) and the graph's file name. */
  mac: string;
}

// Without a cache folder there is nowhere private to keep a key: one per process.
const processKey = crypto.randomBytes(KEY_BYTES);
const keys = new Map<string, Promise<Buffer>>();

/** The key of the private cache folder `dir` (created on first use), or the process's own. */
function graphKey(dir: string | undefined): Promise<Buffer> {
  if (!dir) return Promise.resolve(processKey);
  const abs = path.resolve(dir);
  let k = keys.get(abs);
  if (!k) {
    k = loadOrCreateKey(abs);
    k.catch(() => keys.delete(abs));
    keys.set(abs, k);
  }
  return k;
}

async function loadOrCreateKey(dir: string): Promise<Buffer> {
  await ensurePrivateDir(dir);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const key = await readFileInFolder(dir, KEY_FILE, KEY_BYTES);
      if (key.length === KEY_BYTES) return key;
      // Damaged (a crash while creating it): a new key, which merely retires the graphs it proved.
      await writeFileAtomic(path.join(dir, KEY_FILE), crypto.randomBytes(KEY_BYTES), { overwrite: true });
      continue;
    } catch (e) {
      if (fileErrorCode(e) !== 'ENOENT')
        throw new StyleTransferError(
          'io',
          `cannot read the cache key ${path.join(dir, KEY_FILE)} (${(e as Error).message})`,
        );
    }
    try {
      const fh = await fs.open(path.join(dir, KEY_FILE), 'wx', 0o600);
      try {
        await fh.writeFile(crypto.randomBytes(KEY_BYTES));
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new StyleTransferError(
          'io',
          `cannot create the cache key in ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        );
    }
  }
  throw new StyleTransferError('io', `cannot set up the cache key in ${dir}`);
}

function macOf(key: Buffer, s: Omit<Sidecar, 'mac' | 'createdAt'>, file: string): string {
  const fields = [
    s.format,
    s.exporterVersion,
    s.opset,
    s.weightsSha256,
    s.onnxSha256,
    s.onnxBytes,
    s.variant ?? null,
    s.info ?? null,
    file,
  ];
  return crypto.createHmac('sha256', key).update(JSON.stringify(fields)).digest('hex');
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

function locations(req: OnnxCacheRequest): Place[] {
  const file = req.variant?.file ?? ONNX_FILE;
  const out: Place[] = [
    {
      onnx: path.join(req.dir, file),
      sidecar: path.join(req.dir, req.variant ? `${file}.json` : ONNX_SIDECAR),
      location: 'checkpoint',
    },
  ];
  if (req.fallbackCacheDir) {
    // One file per weights hash: several read-only styles share the cache folder.
    const base = path.join(req.fallbackCacheDir, `${req.weightsSha256.slice(0, 32)}`);
    const ext = req.variant ? `.${file}` : '.onnx';
    out.push({ onnx: `${base}${ext}`, sidecar: `${base}${ext}.json`, location: 'cache' });
  }
  return out;
}

interface Place {
  onnx: string;
  sidecar: string;
  location: OnnxCacheResult['location'];
}

/** The sidecar at `p` when it is authentic (made with our key for this graph's file name); else undefined. */
async function authenticSidecar(p: Place, key: Buffer): Promise<Partial<Sidecar> | undefined> {
  let sidecar: Partial<Sidecar>;
  try {
    // Through the file-access layer: no links out of the folder, FIFOs or devices, size-capped.
    sidecar = JSON.parse(
      (await readFileInFolder(path.dirname(p.sidecar), path.basename(p.sidecar), MAX_SIDECAR_BYTES)).toString('utf8'),
    );
  } catch {
    return undefined;
  }
  if (
    sidecar === null ||
    typeof sidecar !== 'object' ||
    sidecar.format !== SIDECAR_FORMAT ||
    typeof sidecar.mac !== 'string'
  )
    return undefined;
  const expected = macOf(key, sidecar as Sidecar, path.basename(p.onnx));
  return sidecar.mac.length === expected.length &&
    crypto.timingSafeEqual(Buffer.from(sidecar.mac), Buffer.from(expected))
    ? sidecar
    : undefined;
}

/** The sidecar when it is authentic and the graph's bytes are the ones it vouches for; else undefined. */
async function authentic(p: Place, key: Buffer): Promise<Partial<Sidecar> | undefined> {
  const sidecar = await authenticSidecar(p, key);
  if (!sidecar) return undefined;
  try {
    const bytes = await readFileInFolder(path.dirname(p.onnx), path.basename(p.onnx), MAX_BLOB_BYTES);
    // The graph's own bytes, hashed again on every load (~20 ms per 7 MB): what the sidecar vouches for is what runs.
    return bytes.length === sidecar.onnxBytes && sha256Hex(bytes) === sidecar.onnxSha256 ? sidecar : undefined;
  } catch {
    return undefined;
  }
}

/** The sidecar when the cached file is our own, valid export for `req`, else undefined. */
async function isValid(
  p: Place,
  req: OnnxCacheRequest,
  opset: number,
  key: Buffer,
): Promise<Partial<Sidecar> | undefined> {
  const sidecar = await authentic(p, key);
  if (
    !sidecar ||
    sidecar.exporterVersion !== ONNX_EXPORTER_VERSION ||
    sidecar.weightsSha256 !== req.weightsSha256 ||
    sidecar.opset !== opset ||
    sidecar.variant !== req.variant?.version
  )
    return undefined;
  return sidecar;
}

/**
 * May we write the graph at `p`? When both names are free, or when an authentic sidecar says we
 * wrote a graph under this name (stale, or since damaged) and a regular file is still there;
 * never over someone else's file.
 */
async function mayWrite(p: Place, key: Buffer): Promise<boolean> {
  const onnxTaken = await nameTaken(path.dirname(p.onnx), path.basename(p.onnx));
  if (!onnxTaken && !(await nameTaken(path.dirname(p.sidecar), path.basename(p.sidecar)))) return true;
  // A link, FIFO or folder under our graph's name was put there by someone else: leave it.
  if (
    onnxTaken &&
    !(await fs.lstat(p.onnx).then(
      (st) => st.isFile(),
      () => false,
    ))
  )
    return false;
  return (await authenticSidecar(p, key)) !== undefined;
}

const READ_ONLY_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * Returns a .onnx file exported from these weights: a valid cached one, or a fresh export.
 * Errors: StyleTransferError('io') when neither `dir` nor `fallbackCacheDir` can be written,
 * 'bad-checkpoint' when the weights do not fit the architecture.
 */
export async function ensureOnnxModel(req: OnnxCacheRequest): Promise<OnnxCacheResult> {
  if (!/^[0-9a-f]{64}$/.test(req.weightsSha256)) {
    throw new StyleTransferError(
      'bad-input',
      `weightsSha256 must be 64 lowercase hex digits, got "${req.weightsSha256}"`,
    );
  }
  const opset = req.opset ?? DEFAULT_OPSET;
  const places = locations(req);
  const key = await graphKey(req.fallbackCacheDir);
  if (!req.force) {
    for (const p of places) {
      const valid = await isValid(p, req, opset, key);
      if (valid)
        return {
          path: p.onnx,
          exported: false,
          location: p.location,
          sha256: valid.onnxSha256!,
          ...(valid.info ? { info: valid.info } : {}),
        };
    }
  }

  const weights = typeof req.weights === 'function' ? await req.weights() : req.weights;
  const built = req.variant ? await req.variant.build(weights) : undefined;
  const bytes =
    built?.bytes ??
    exportTransformNetToOnnx(req.arch, weights, {
      opset,
      weightsSha256: req.weightsSha256,
      ...(req.producerVersion ? { producerVersion: req.producerVersion } : {}),
    });
  const fields: Omit<Sidecar, 'mac' | 'createdAt'> = {
    format: SIDECAR_FORMAT,
    exporterVersion: ONNX_EXPORTER_VERSION,
    opset,
    weightsSha256: req.weightsSha256,
    onnxSha256: sha256Hex(bytes),
    onnxBytes: bytes.length,
    ...(req.variant ? { variant: req.variant.version, ...(built?.info ? { info: built.info } : {}) } : {}),
  };
  const failures: string[] = [];
  for (const p of places) {
    const sidecar: Sidecar = {
      ...fields,
      createdAt: new Date().toISOString(),
      mac: macOf(key, fields, path.basename(p.onnx)),
    };
    if (p.location === 'checkpoint' && !(await mayWrite(p, key))) {
      failures.push(
        `${path.basename(p.onnx)} in ${path.dirname(p.onnx)} was not made by Fast Style Transfer on this account; not replacing it`,
      );
      continue;
    }
    try {
      if (p.location === 'cache') await ensurePrivateDir(path.dirname(p.onnx));
      // The model first, then the sidecar that declares it valid.
      await writeFileAtomic(p.onnx, bytes, { overwrite: true });
      await writeFileAtomic(p.sidecar, Buffer.from(JSON.stringify(sidecar, null, 2) + '\n'), { overwrite: true });
      return {
        path: p.onnx,
        exported: true,
        location: p.location,
        sha256: fields.onnxSha256,
        ...(built?.info ? { info: built.info } : {}),
      };
    } catch (e) {
      // writeFileAtomic reports file-system errors with the errno text in `detail`.
      const code =
        (e as NodeJS.ErrnoException).code && !(e instanceof StyleTransferError)
          ? (e as NodeJS.ErrnoException).code!
          : (/^(E[A-Z]+)\b/.exec((e as StyleTransferError).detail ?? '')?.[1] ??
            (e instanceof StyleTransferError && e.code === 'not-found' ? 'ENOENT' : ''));
      failures.push(`${path.dirname(p.onnx)}: ${code || (e as Error).message}`);
      // Only a folder we may not write to sends us to the fallback; anything else (disk full…) is reported.
      if (!READ_ONLY_CODES.has(code) && code !== 'ENOENT') break;
    }
  }
  throw new StyleTransferError(
    'io',
    `cannot write the ONNX export (${failures.join('; ')})${req.fallbackCacheDir ? '' : '; no cache folder was given'}`,
  );
}
