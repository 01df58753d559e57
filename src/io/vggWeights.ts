// Loaders for the VGG19 loss network's weights, in the two real formats (DESIGN §4):
//  - the Keras ImageNet VGG19 as a TensorFlow.js layers model (model.json + binary shards;
//    BGR input minus [103.939, 116.779, 123.68]), parsed here without tfjs;
//  - MatConvNet's imagenet-vgg-verydeep-19.mat (MAT-file v5, the reference implementation's
//    file; RGB input minus the mean of normalization.averageImage).
// Both produce the plain VggWeights of src/model/vggSpec.ts: row-major [3, 3, in, out]
// kernels for conv1_1 … as far as the file goes. Every foreseeable problem is one
// StyleTransferError('bad-weights' | 'not-found') naming the file and what is wrong.
import fs from 'node:fs/promises';
import path from 'node:path';
import { StyleTransferError } from '../protocol/errors';
import {
  KERAS_VGG_INPUT,
  VGG19_CONV_NAMES,
  availableVggLayers,
  describeVggWeights,
  validateVggWeights,
  type VggConvWeights,
  type VggWeights,
} from '../model/vggSpec';
import { matField, readMat, type MatNumeric, type MatValue } from './matfile';
import { MAX_BLOB_BYTES, fileErrorCode, fileErrorText, readFileInFolder, readRegularFile } from './fileAccess';

export interface LoadVggOptions {
  /**
   * MatConvNet only. The reference implementation (and neural-style before it) swaps the
   * filters' first two axes, reading MatConvNet's documented "FW×FH" literally. MatConvNet's
   * code indexes filters exactly like its H×W×C images, so the faithful network keeps the axes
   * (the default; it then matches the Keras weights). Set true to reproduce the reference.
   */
  readonly matconvnetSwapFilterAxes?: boolean;
}

export interface LoadedVgg {
  readonly weights: VggWeights;
  /** Every activation the weights can compute, in forward order. */
  readonly availableLayers: readonly string[];
  /** One line for logs and the UI. */
  readonly description: string;
}

/** Biggest model.json read (the real one is ~20 KB). */
const MAX_MODEL_JSON_BYTES = 32 * 1024 * 1024;
/** A .mat is read into memory; Node buffers stop at a few GiB and VGG19 is ~0.55 GB. */
const MAX_MAT_BYTES = 2 * 1024 * 1024 * 1024 - 1;

function badWeights(where: string, msg: string): StyleTransferError {
  return new StyleTransferError('bad-weights', `${where}: ${msg}`);
}

function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message ?? String(e);
}

/**
 * Loads VGG19 weights from a Keras tfjs folder (with model.json), a model.json file, or a
 * MatConvNet .mat file, and reports the layers they provide.
 */
export async function loadVggWeights(pathToFolderOrMat: string, options: LoadVggOptions = {}): Promise<LoadedVgg> {
  let stat;
  try {
    stat = await fs.stat(pathToFolderOrMat);
  } catch (e) {
    throw new StyleTransferError('not-found', `VGG weights not found at ${pathToFolderOrMat} (${errnoText(e)})`);
  }
  let weights: VggWeights;
  if (stat.isDirectory()) {
    const json = path.join(pathToFolderOrMat, 'model.json');
    const mats = (await fs.readdir(pathToFolderOrMat)).filter((f) => f.toLowerCase().endsWith('.mat'));
    if (await exists(json)) weights = await loadKerasVgg(pathToFolderOrMat);
    else if (mats.length === 1) weights = await loadMatConvNetVgg(path.join(pathToFolderOrMat, mats[0]), options, true);
    else {
      throw badWeights(
        pathToFolderOrMat,
        mats.length > 1
          ? `holds several .mat files (${mats.join(', ')}); choose one`
          : 'is neither a Keras/tfjs VGG19 folder (no model.json) nor holds a MatConvNet .mat file',
      );
    }
  } else if (path.basename(pathToFolderOrMat) === 'model.json') {
    weights = await loadKerasVgg(path.dirname(pathToFolderOrMat));
  } else if (pathToFolderOrMat.toLowerCase().endsWith('.mat')) {
    weights = await loadMatConvNetVgg(pathToFolderOrMat, options);
  } else {
    throw badWeights(
      pathToFolderOrMat,
      'unknown VGG weights format: expected a folder with model.json (Keras/tfjs) or a MatConvNet .mat file',
    );
  }
  return { weights, availableLayers: availableVggLayers(weights), description: describeVggWeights(weights) };
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Keras VGG19 as a tfjs layers model

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype?: string };
}
interface ManifestGroup {
  paths: string[];
  weights: ManifestWeight[];
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };
/** block1_conv1/kernel (optionally with a model-name prefix or a ":0" suffix). */
const KERAS_CONV = /^(?:.*\/)?block(\d)_conv(\d)\/(kernel|bias)(?::0)?$/;

function parseManifest(text: string, where: string): ManifestGroup[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw badWeights(where, `model.json is not valid JSON (${(e as Error).message}); the file is truncated or corrupt`);
  }
  const manifest = (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest))
    throw badWeights(where, 'model.json has no weightsManifest array (not a TensorFlow.js layers model)');
  manifest.forEach((g: unknown, gi: number) => {
    const group = g as Partial<ManifestGroup> | null;
    if (
      !group ||
      !Array.isArray(group.paths) ||
      !group.paths.every((p) => typeof p === 'string' && p.length > 0) ||
      !Array.isArray(group.weights)
    ) {
      throw badWeights(where, `model.json weightsManifest[${gi}] needs "paths" (file names) and "weights" arrays`);
    }
    group.weights.forEach((w: Partial<ManifestWeight> | null, wi) => {
      const ok =
        w &&
        typeof w.name === 'string' &&
        typeof w.dtype === 'string' &&
        Array.isArray(w.shape) &&
        w.shape.every((d) => Number.isInteger(d) && d >= 0 && d <= 2 ** 31);
      if (!ok)
        throw badWeights(
          where,
          `model.json weightsManifest[${gi}].weights[${wi}] needs a name, an integer shape and a dtype`,
        );
    });
  });
  return manifest as ManifestGroup[];
}

function weightBytes(w: ManifestWeight, where: string): number {
  const dtype = w.quantization?.dtype ?? w.dtype;
  const size = DTYPE_BYTES[dtype];
  if (!size) throw badWeights(where, `weight ${w.name} has unsupported dtype ${dtype}`);
  return w.shape.reduce((a, b) => a * b, 1) * size;
}

/** Reads a group's shards (in order) as one buffer, checking they hold exactly what the manifest lists. */
async function readGroup(
  dir: string,
  group: ManifestGroup,
  gi: number,
  expected: number,
  where: string,
): Promise<Buffer> {
  const root = path.resolve(dir);
  const parts: Buffer[] = [];
  for (const p of group.paths) {
    try {
      // No shard is bigger than the whole group: the cap stops a planted huge file before reading.
      parts.push(await readFileInFolder(root, p, Math.min(MAX_BLOB_BYTES, expected + 65536)));
    } catch (e) {
      const code = fileErrorCode(e);
      if (code === 'EOUTSIDE' || code === 'EBADNAME')
        throw badWeights(
          where,
          `weight file "${p}" in model.json points outside the folder (directly or through a symbolic link)`,
        );
      throw badWeights(
        where,
        `weight file ${p} (listed in model.json, group ${gi + 1}) cannot be read (${fileErrorText(e)})${code === 'ENOENT' ? '; the download is incomplete' : ''}`,
      );
    }
  }
  const bytes = Buffer.concat(parts);
  if (bytes.length !== expected) {
    throw badWeights(
      where,
      `group ${gi + 1} (${group.paths.join(', ')}) holds ${bytes.length} bytes but model.json lists ${expected} bytes of weights; ` +
        (bytes.length < expected
          ? 'a weight file is truncated'
          : 'a weight file is corrupt or belongs to another model'),
    );
  }
  return bytes;
}

/** The Keras VGG19 weights from a tfjs layers-model folder (convs only; dense layers are skipped). */
export async function loadKerasVgg(dir: string): Promise<VggWeights> {
  const where = `Keras VGG19 weights in ${dir}`;
  let text: string;
  try {
    text = (await readFileInFolder(dir, 'model.json', MAX_MODEL_JSON_BYTES)).toString('utf8');
  } catch (e) {
    const code = fileErrorCode(e);
    if (code === 'ENOENT' || code === 'EACCES')
      throw new StyleTransferError('not-found', `${where}: cannot read model.json (${fileErrorText(e)})`);
    throw badWeights(
      where,
      code === 'EOUTSIDE'
        ? 'model.json is a symbolic link to a file outside the folder'
        : `cannot read model.json: ${fileErrorText(e)}`,
    );
  }
  const groups = parseManifest(text, where);

  const found = new Map<
    string,
    { kernel?: { data: Float32Array; shape: number[] }; bias?: { data: Float32Array; shape: number[] } }
  >();
  for (let gi = 0; gi < groups.length; gi++) {
    const group = groups[gi];
    const sizes = group.weights.map((w) => weightBytes(w, where));
    const wanted = group.weights.map((w) => KERAS_CONV.exec(w.name));
    if (!wanted.some(Boolean)) continue; // dense layers etc.: not needed, not read
    const bytes = await readGroup(
      dir,
      group,
      gi,
      sizes.reduce((a, b) => a + b, 0),
      where,
    );
    let offset = 0;
    group.weights.forEach((w, wi) => {
      const m = wanted[wi];
      if (m) {
        if (w.dtype !== 'float32' || w.quantization)
          throw badWeights(
            where,
            `${w.name} is ${w.quantization ? 'quantized' : w.dtype}; only float32 weights are supported`,
          );
        const name = `conv${m[1]}_${m[2]}`;
        const role = m[3] === 'kernel' ? 'kernel' : 'bias';
        const entry = found.get(name) ?? {};
        if (entry[role]) throw badWeights(where, `model.json lists ${w.name} twice`);
        // Copy out little-endian float32 (a fresh, aligned buffer).
        const data = new Float32Array(sizes[wi] / 4);
        for (let k = 0; k < data.length; k++) data[k] = bytes.readFloatLE(offset + k * 4);
        entry[role] = { data, shape: w.shape };
        found.set(name, entry);
      }
      offset += sizes[wi];
    });
  }

  const layers: VggConvWeights[] = [];
  for (const name of VGG19_CONV_NAMES) {
    const entry = found.get(name);
    if (!entry) break;
    found.delete(name);
    const { kernel, bias } = entry;
    if (!kernel || !bias)
      throw badWeights(
        where,
        `${name} has a ${kernel ? 'kernel' : 'bias'} but no ${kernel ? 'bias' : 'kernel'} in model.json`,
      );
    const [kh, kw, inC, outC] = kernel.shape;
    if (kernel.shape.length !== 4 || kh !== 3 || kw !== 3)
      throw badWeights(where, `${name} kernel has shape [${kernel.shape}], expected [3, 3, in, out]`);
    if (bias.shape.length !== 1 || bias.shape[0] !== outC)
      throw badWeights(where, `${name} bias has shape [${bias.shape}], expected [${outC}]`);
    layers.push({ name, kernel: kernel.data, bias: bias.data, inChannels: inC, outChannels: outC });
  }
  if (layers.length === 0) throw badWeights(where, 'model.json lists no VGG conv weights (block1_conv1/kernel …)');
  if (found.size > 0) {
    throw badWeights(
      where,
      `conv weights ${[...found.keys()].join(', ')} are present but ${VGG19_CONV_NAMES[layers.length]} is missing`,
    );
  }
  const weights: VggWeights = {
    source: 'keras',
    origin: dir,
    channelOrder: KERAS_VGG_INPUT.channelOrder,
    mean: [...KERAS_VGG_INPUT.mean] as [number, number, number],
    layers,
  };
  validateVggWeights(weights);
  return weights;
}

// ---------------------------------------------------------------------------------------
// MatConvNet imagenet-vgg-verydeep-19.mat

/** The MatConvNet VGG19 from a .mat file (read whole into memory; only the conv weights are decoded). */
export async function loadMatConvNetVgg(
  file: string,
  options: LoadVggOptions = {},
  inFolder = false,
): Promise<VggWeights> {
  let bytes: Buffer;
  try {
    bytes = inFolder
      ? await readFileInFolder(path.dirname(file), path.basename(file), MAX_MAT_BYTES)
      : await readRegularFile(file, MAX_MAT_BYTES);
  } catch (e) {
    const code = fileErrorCode(e);
    if (code === 'ENOENT' || code === 'EACCES')
      throw new StyleTransferError('not-found', `MatConvNet VGG weights ${file} cannot be read (${fileErrorText(e)})`);
    throw badWeights(file, fileErrorText(e));
  }
  return parseMatConvNetVgg(bytes, file, options);
}

function charField(v: MatValue | undefined): string | undefined {
  return v?.kind === 'char' ? v.text : undefined;
}

function numericOf(v: MatValue | undefined): MatNumeric | undefined {
  return v?.kind === 'numeric' && !v.complex ? v : undefined;
}

/** Parses MatConvNet SimpleNN VGG files: old layout (layers, classes, normalization) and new (layers, meta.normalization). */
export function parseMatConvNetVgg(bytes: Uint8Array, origin: string, options: LoadVggOptions = {}): VggWeights {
  const where = `MatConvNet VGG weights ${origin}`;
  const mat = readMat(bytes, { where });
  const names = [...mat.variables.keys()];
  const layersVar = mat.variables.get('layers');
  if (names.length === 0) throw badWeights(where, 'holds no variables after its header; the file is truncated');
  if (!layersVar)
    throw badWeights(
      where,
      `no "layers" variable (variables: ${names.join(', ')}); expected a MatConvNet SimpleNN model such as imagenet-vgg-verydeep-19.mat`,
    );
  if (layersVar.kind === 'struct')
    throw badWeights(
      where,
      'is a MatConvNet DagNN model ("layers" is a struct array); use the SimpleNN imagenet-vgg-verydeep-19.mat',
    );
  if (layersVar.kind !== 'cell')
    throw badWeights(where, `"layers" is a ${layersVar.kind} array, expected a cell array of layer structs`);

  const layers: VggConvWeights[] = [];
  const convNamesSeen: string[] = [];
  for (let li = 0; li < layersVar.items.length; li++) {
    const item = layersVar.items[li];
    const name = charField(matField(item, 'name'));
    const type = charField(matField(item, 'type'));
    if (item.kind !== 'struct' || name === undefined || type === undefined) {
      throw badWeights(where, `layers{${li + 1}} is not a layer struct with "name" and "type" fields`);
    }
    if (type === 'pool') {
      const method = charField(matField(item, 'method'));
      if (method !== undefined && method !== 'max' && layers.length < VGG19_CONV_NAMES.length) {
        throw badWeights(where, `${name} uses ${method} pooling; this VGG19 uses max pooling`);
      }
      continue;
    }
    if (type !== 'conv') continue;
    convNamesSeen.push(name);
    // fc6… are convs in SimpleNN; keep the prefix of conv1_1 … conv5_4.
    if (layers.length >= VGG19_CONV_NAMES.length || name !== VGG19_CONV_NAMES[layers.length]) break;
    layers.push(convFromMat(item, name, where, options.matconvnetSwapFilterAxes === true));
  }
  if (layers.length === 0) {
    throw badWeights(
      where,
      `no VGG19 conv layers (conv1_1 …) found; its conv layers are ${convNamesSeen.slice(0, 5).join(', ') || 'none'}`,
    );
  }

  const normalization = mat.variables.get('normalization') ?? matField(mat.variables.get('meta'), 'normalization');
  const average = numericOf(matField(normalization, 'averageImage'));
  if (!average)
    throw badWeights(
      where,
      `no normalization.averageImage (or meta.normalization.averageImage), so the input mean is unknown (variables: ${names.join(', ')}; a truncated file loses its last variables)`,
    );
  const mean = channelMean(average, where);
  const weights: VggWeights = { source: 'matconvnet', origin, channelOrder: 'rgb', mean, layers };
  validateVggWeights(weights);
  return weights;
}

function convFromMat(item: MatValue, name: string, where: string, swapAxes: boolean): VggConvWeights {
  let filtersV: MatValue | undefined;
  let biasesV: MatValue | undefined;
  const w = matField(item, 'weights');
  if (w?.kind === 'cell') {
    if (w.items.length !== 2)
      throw badWeights(where, `${name}.weights holds ${w.items.length} arrays, expected {filters, biases}`);
    [filtersV, biasesV] = w.items;
  } else {
    // Older MatConvNet files: separate "filters" and "biases" fields.
    filtersV = matField(item, 'filters');
    biasesV = matField(item, 'biases');
  }
  const filters = numericOf(filtersV);
  const biases = numericOf(biasesV);
  if (!filters || !biases) throw badWeights(where, `${name} has no numeric filters and biases`);
  if (filters.className !== 'single' && filters.className !== 'double')
    throw badWeights(where, `${name} filters are ${filters.className}, expected single`);
  // MATLAB drops trailing singleton dimensions: [3,3,in,1] is stored as [3,3,in].
  const dims = [...filters.dims];
  while (dims.length < 4) dims.push(1);
  if (dims.length > 4 || dims.slice(4).some((d) => d !== 1))
    throw badWeights(where, `${name} filters are ${filters.dims.join('×')}, expected 3×3×in×out`);
  const [fh, fw, inC, outC] = dims;
  if (fh !== 3 || fw !== 3) throw badWeights(where, `${name} filters are ${fh}×${fw}, expected 3×3`);
  const b = biases.values();
  if (b.length !== outC) throw badWeights(where, `${name} has ${b.length} biases for ${outC} filters`);
  for (const [field, expected] of [
    ['stride', 1],
    ['pad', 1],
  ] as const) {
    const v = numericOf(matField(item, field));
    if (v && !Array.from(v.values()).every((x) => x === expected)) {
      throw badWeights(
        where,
        `${name} has ${field} [${Array.from(v.values()).join(' ')}]; VGG19 convs use ${field} ${expected}`,
      );
    }
  }
  // Column-major [h, w, in, out] (h fastest) → row-major [h, w, in, out] (out fastest).
  const src = filters.values();
  const kernel = new Float32Array(9 * inC * outC);
  for (let o = 0; o < outC; o++) {
    for (let i = 0; i < inC; i++) {
      for (let x = 0; x < 3; x++) {
        for (let y = 0; y < 3; y++) {
          const h = swapAxes ? x : y;
          const wx = swapAxes ? y : x;
          kernel[((h * 3 + wx) * inC + i) * outC + o] = src[y + 3 * (x + 3 * (i + inC * o))];
        }
      }
    }
  }
  return { name, kernel, bias: Float32Array.from(b), inChannels: inC, outChannels: outC };
}

/** Per-channel mean of averageImage: 3 values, or H×W×3 averaged over H and W (in double precision). */
function channelMean(avg: MatNumeric, where: string): [number, number, number] {
  const v = avg.values();
  const count = avg.dims.reduce((a, b) => a * b, 1);
  let mean: number[];
  if (count === 3) {
    mean = Array.from(v);
  } else if (avg.dims.length === 3 && avg.dims[2] === 3 && count > 0) {
    const plane = avg.dims[0] * avg.dims[1];
    mean = [0, 1, 2].map((c) => {
      let s = 0;
      for (let k = c * plane; k < (c + 1) * plane; k++) s += v[k];
      return s / plane;
    });
  } else {
    throw badWeights(where, `averageImage is ${avg.dims.join('×')}; expected 3 values or H×W×3`);
  }
  if (!mean.every((m) => Number.isFinite(m) && m >= -1 && m <= 256))
    throw badWeights(where, `averageImage gives an implausible mean [${mean.join(', ')}]`);
  return [mean[0], mean[1], mean[2]];
}
