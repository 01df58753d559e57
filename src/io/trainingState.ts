// What a checkpoint needs besides its weights to resume training exactly: the optimizer's
// step and moments (optimizer.bin, float32 in parameter order: all first moments, then all
// second moments), the completed iteration, and the hyperparameters and data it trained on.
import { paramSpecs, sizeOfShape, type TransformNetArchitecture } from '../model/architecture';
import type { AdamState } from '../model/adam';
import { StyleTransferError } from '../protocol/errors';
import { TRAINING_STATE_FILE } from '../protocol/styles';
import { MAX_BLOB_BYTES, MAX_JSON_BYTES, fileErrorCode, fileErrorText, readFileInFolder } from './fileAccess';

export { TRAINING_STATE_FILE };
export const OPTIMIZER_FILE = 'optimizer.bin';
const STATE_VERSION = 1;

export interface TrainingStateJson {
  readonly formatVersion: number;
  /** Steps completed. */
  readonly iteration: number;
  readonly adamStep: number;
  /** The full hyperparameters used (so a resume continues with the same ones). */
  readonly hyperparameters: Record<string, unknown>;
  /** Training images (relative to dataDir, sorted) and where they were: resume needs the same list. */
  readonly dataDir: string;
  readonly dataFiles: readonly string[];
  readonly styleImage: string;
  readonly vggPath?: string;
}

export function encodeOptimizerState(arch: TransformNetArchitecture, state: AdamState): Buffer {
  const specs = paramSpecs(arch);
  const parts: Buffer[] = [];
  for (const which of [state.m, state.v]) {
    for (const p of specs) {
      const a = which.get(p.name);
      if (!a || a.length !== sizeOfShape(p.shape)) throw new Error(`optimizer state lacks ${p.name}`);
      parts.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    }
  }
  return Buffer.concat(parts);
}

/** The resume files of a checkpoint; the state's format version and Adam's step are filled in here. */
export function trainingStateFiles(
  arch: TransformNetArchitecture,
  json: Omit<TrainingStateJson, 'formatVersion' | 'adamStep'>,
  state: AdamState,
): Record<string, Uint8Array | string> {
  return {
    [TRAINING_STATE_FILE]: JSON.stringify({ ...json, formatVersion: STATE_VERSION, adamStep: state.step }, null, 2),
    [OPTIMIZER_FILE]: encodeOptimizerState(arch, state),
  };
}

/** Reads the resume state of a checkpoint; a missing or damaged state is one clear error. */
export async function readTrainingState(
  dir: string,
  arch: TransformNetArchitecture,
): Promise<{ json: TrainingStateJson; adam: AdamState }> {
  const fail = (msg: string) => new StyleTransferError('bad-checkpoint', `cannot resume from ${dir}: ${msg}`);
  let json: TrainingStateJson;
  let text: string;
  try {
    text = (await readFileInFolder(dir, TRAINING_STATE_FILE, MAX_JSON_BYTES)).toString('utf8');
  } catch (e) {
    throw fail(
      fileErrorCode(e) === 'ENOENT'
        ? `it has no ${TRAINING_STATE_FILE} (imported or exported styles cannot be resumed)`
        : `${TRAINING_STATE_FILE} is unreadable: ${fileErrorText(e)}`,
    );
  }
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw fail(`${TRAINING_STATE_FILE} is unreadable (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw fail(`${TRAINING_STATE_FILE} must be a JSON object`);
  if (typeof json.formatVersion !== 'number' || json.formatVersion > STATE_VERSION)
    throw fail(`${TRAINING_STATE_FILE} has an unsupported format version ${json.formatVersion}`);
  // Safe integers: 1e308 is an "integer" too, and would end a resume before it starts.
  if (
    !Number.isSafeInteger(json.iteration) ||
    json.iteration < 0 ||
    !Number.isSafeInteger(json.adamStep) ||
    json.adamStep < 0
  )
    throw fail(`${TRAINING_STATE_FILE} has no valid iteration`);
  if (
    !Array.isArray(json.dataFiles) ||
    !json.dataFiles.every((f) => typeof f === 'string') ||
    typeof json.dataDir !== 'string' ||
    typeof json.styleImage !== 'string' ||
    (json.vggPath !== undefined && typeof json.vggPath !== 'string')
  ) {
    throw fail(`${TRAINING_STATE_FILE} lacks the training data description`);
  }
  const hp = json.hyperparameters as unknown;
  if (hp === null || typeof hp !== 'object' || Array.isArray(hp))
    throw fail(`${TRAINING_STATE_FILE} has no hyperparameters object`);
  let bytes: Buffer;
  try {
    bytes = await readFileInFolder(dir, OPTIMIZER_FILE, MAX_BLOB_BYTES);
  } catch (e) {
    throw fail(`${OPTIMIZER_FILE} is unreadable: ${fileErrorText(e)}`);
  }
  const specs = paramSpecs(arch);
  const total = specs.reduce((n, p) => n + sizeOfShape(p.shape), 0);
  if (bytes.length !== total * 8) throw fail(`${OPTIMIZER_FILE} has ${bytes.length} bytes, expected ${total * 8}`);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  let off = 0;
  for (const target of [m, v]) {
    for (const p of specs) {
      const n = sizeOfShape(p.shape);
      const a = all.slice(off, off + n);
      if (!a.every(Number.isFinite)) throw fail(`${OPTIMIZER_FILE} holds non-finite values for ${p.name}`);
      target.set(p.name, a);
      off += n;
    }
  }
  return { json, adam: { step: json.adamStep, m, v } };
}
