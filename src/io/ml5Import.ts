// Importer for the ml5 / deeplearn.js transform-network format: a folder with manifest.json
// ({ "Variable": { "filename": "Variable", "shape": [9, 9, 3, 32] }, …}) and one raw
// little-endian float32 file per variable. Variables are numbered in graph-creation order:
// for each of the 16 layers, the filter, then the instance norm's shift, then its scale.
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  PAPER_ARCHITECTURE,
  paramSpecs,
  sizeOfShape,
  validateWeights,
  type TransformNetArchitecture,
  type WeightMap,
} from '../model/architecture';
import { StyleTransferError } from '../protocol/errors';
import { MAX_JSON_BYTES, fileErrorCode, fileErrorText, readFileInFolder } from './fileAccess';

interface ManifestEntry {
  filename: string;
  shape: number[];
}

function variableName(i: number): string {
  return i === 0 ? 'Variable' : `Variable_${i}`;
}

export async function isMl5Folder(dir: string): Promise<boolean> {
  try {
    await fs.access(path.join(dir, 'manifest.json'));
    await fs.access(path.join(dir, 'Variable'));
    return true;
  } catch {
    return false;
  }
}

/** Reads an ml5 folder into the paper architecture's weights; throws one precise error on any mismatch. */
export async function readMl5Folder(dir: string): Promise<{ arch: TransformNetArchitecture; weights: WeightMap }> {
  const where = `ml5 model ${dir}`;
  let manifestText: string;
  try {
    manifestText = (await readFileInFolder(dir, 'manifest.json', MAX_JSON_BYTES)).toString('utf8');
  } catch (e) {
    throw new StyleTransferError(
      'bad-checkpoint',
      fileErrorCode(e) === 'ENOENT'
        ? `${where}: no manifest.json; expected an ml5/deeplearn.js style-transfer folder`
        : `${where}: cannot read manifest.json: ${fileErrorText(e)}`,
    );
  }
  let manifest: Record<string, ManifestEntry>;
  try {
    manifest = JSON.parse(manifestText);
  } catch (e) {
    throw new StyleTransferError(
      'bad-checkpoint',
      `${where}: manifest.json is not valid JSON (${(e as Error).message})`,
    );
  }
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
    throw new StyleTransferError('bad-checkpoint', `${where}: manifest.json must be an object of variables`);
  }
  // These networks were trained and published computing TensorFlow's SAME zero padding on the
  // image as it is (architecture.ts BorderPadding): run them that way.
  const arch: TransformNetArchitecture = { ...PAPER_ARCHITECTURE, padding: 'zero' };
  const specs = paramSpecs(arch);
  const count = Object.keys(manifest).length;
  if (count !== specs.length) {
    throw new StyleTransferError(
      'bad-checkpoint',
      `${where}: manifest lists ${count} variables, a fast-style-transfer network has ${specs.length} (Variable … Variable_${specs.length - 1})`,
    );
  }
  const weights: WeightMap = new Map();
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i];
    const name = variableName(i);
    const entry = manifest[name];
    if (!entry || typeof entry.filename !== 'string' || !Array.isArray(entry.shape)) {
      throw new StyleTransferError(
        'bad-checkpoint',
        `${where}: manifest has no valid entry "${name}" (expected ${spec.name} with shape [${spec.shape.join(', ')}])`,
      );
    }
    if (entry.shape.length !== spec.shape.length || entry.shape.some((d, k) => d !== spec.shape[k])) {
      throw new StyleTransferError(
        'bad-checkpoint',
        `${where}: ${name} has shape [${entry.shape.join(', ')}], expected [${spec.shape.join(', ')}] for ${spec.name}`,
      );
    }
    // The file name comes from an untrusted manifest: a plain name inside the folder (links
    // included), a regular file, and no bigger than the variable it must hold.
    const expected = sizeOfShape(spec.shape) * 4;
    let bytes: Buffer;
    try {
      bytes = await readFileInFolder(dir, entry.filename, expected + 65536);
    } catch (e) {
      const code = fileErrorCode(e);
      throw new StyleTransferError(
        'bad-checkpoint',
        code === 'EOUTSIDE' || code === 'EBADNAME'
          ? `${where}: ${name} points outside the folder (${JSON.stringify(entry.filename).slice(1, 81).replace(/"$/, '')}), directly or through a symbolic link`
          : `${where}: cannot read ${name} (${JSON.stringify(entry.filename).slice(0, 80)}): ${fileErrorText(e)}`,
      );
    }
    if (bytes.length !== expected) {
      throw new StyleTransferError(
        'bad-checkpoint',
        `${where}: ${entry.filename} has ${bytes.length} bytes, expected ${expected} (float32 [${spec.shape.join(', ')}])`,
      );
    }
    const values = new Float32Array(expected / 4);
    for (let k = 0; k < values.length; k++) values[k] = bytes.readFloatLE(k * 4);
    weights.set(spec.name, values);
  }
  try {
    validateWeights(weights, arch, where);
  } catch (e) {
    throw new StyleTransferError('bad-checkpoint', (e as Error).message);
  }
  return { arch, weights };
}
