// Resolves a style reference (a checkpoint folder of ours, or an ml5/deeplearn.js folder that
// is imported on the fly) into weights, with a small cache so repeated jobs do not re-read.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { TransformNetArchitecture, WeightMap } from '../model/architecture';
import {
  MODEL_FILE,
  STYLE_FILE,
  WEIGHTS_FILE,
  isCheckpointFolder,
  readCheckpoint,
  recoverInterruptedSwap,
  type StyleInfo,
} from '../io/checkpoint';
import { isMl5Folder, readMl5Folder } from '../io/ml5Import';
import { StyleTransferError } from '../protocol/errors';

export interface LoadedStyle {
  /** Display name (style.json's name, or the folder name). */
  readonly name: string;
  readonly dir: string;
  readonly arch: TransformNetArchitecture;
  readonly weights: WeightMap;
  /** Identifies the weights: SHA-256 of the weight bytes. */
  readonly hash: string;
  readonly info?: StyleInfo;
  readonly format: 'checkpoint' | 'ml5';
}

const cache = new Map<string, { stamp: string; style: LoadedStyle }>();
const MAX_CACHED = 8;

async function stampOf(dir: string, files: string[]): Promise<string> {
  const parts: string[] = [];
  for (const f of files) {
    try {
      const st = await fs.stat(path.join(dir, f));
      parts.push(`${f}:${st.size}:${st.mtimeMs}`);
    } catch {
      parts.push(`${f}:-`);
    }
  }
  return parts.join('|');
}

function hashWeights(weights: WeightMap): string {
  const h = crypto.createHash('sha256');
  for (const [name, w] of weights) h.update(name).update(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
  return h.digest('hex');
}

/** Loads the style at `ref` (checkpoint or ml5 folder); one clear error when it is neither. */
export async function loadStyle(ref: string): Promise<LoadedStyle> {
  const dir = path.resolve(ref);
  // A kill between the two renames of a checkpoint swap leaves the old folder aside: put it back.
  await recoverInterruptedSwap(dir);
  let st;
  try {
    st = await fs.stat(dir);
  } catch {
    throw new StyleTransferError('not-found', `style ${ref} does not exist`);
  }
  if (!st.isDirectory())
    throw new StyleTransferError(
      'bad-checkpoint',
      `style ${ref} is a file; expected a checkpoint folder or an ml5 model folder`,
    );
  const checkpoint = await isCheckpointFolder(dir);
  const stamp = await stampOf(dir, checkpoint ? [STYLE_FILE, MODEL_FILE, WEIGHTS_FILE] : ['manifest.json']);
  const hit = cache.get(dir);
  if (hit && hit.stamp === stamp) return hit.style;
  let style: LoadedStyle;
  if (checkpoint) {
    const ck = await readCheckpoint(dir);
    style = {
      name: ck.info.name,
      dir,
      arch: ck.info.architecture,
      weights: ck.weights,
      hash: ck.weightsHash,
      info: ck.info,
      format: 'checkpoint',
    };
  } else if (await isMl5Folder(dir)) {
    const { arch, weights } = await readMl5Folder(dir);
    style = { name: path.basename(dir), dir, arch, weights, hash: hashWeights(weights), format: 'ml5' };
  } else {
    throw new StyleTransferError(
      'bad-checkpoint',
      `${ref} is neither a style checkpoint (style.json + model.json + weights.bin) nor an ml5 model folder (manifest.json + Variable files)`,
    );
  }
  cache.set(dir, { stamp, style });
  while (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as string);
  return style;
}
