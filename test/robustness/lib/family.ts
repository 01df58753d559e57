// The contract between the fuzz runner and a family of generated inputs.
import { StyleTransferError, type ErrorCode } from '../../../src/protocol/errors';

export interface InputContext {
  /** A fresh, empty folder for this input only (removed afterwards). */
  readonly dir: string;
}

export interface RunResult {
  /** Paths relative to ctx.dir that this input was expected to create (results, caches). */
  readonly outputs?: readonly string[];
  /** Paths relative to ctx.dir whose contents the input may rewrite (a resumed checkpoint). */
  readonly mayChange?: readonly string[];
  /** Set when the code under test accepted something it must refuse (a path outside the allowed folders…). */
  readonly escape?: string;
  /** Short outcome for the per-kind tally, e.g. 'ok' or an error code. */
  readonly note?: string;
}

export interface FuzzInput {
  /** Sub-family for the report, e.g. 'png-rgb16/truncate'. */
  readonly kind: string;
  /** Writes the input's files into ctx.dir (not watched: these are the originals). */
  prepare?(ctx: InputContext): Promise<void> | void;
  /** Runs the code under test on the prepared input (watched). */
  run(ctx: InputContext): Promise<RunResult>;
}

export interface FamilyEnv {
  /** The family's own folder under the run's temporary root (exists, empty). */
  readonly dir: string;
  /** A folder outside every allowed root, holding decoy files (hostile paths point here). */
  readonly outside: string;
}

export interface BuiltFamily {
  readonly inputs: readonly FuzzInput[];
  /** Folders every input may write besides its own (a shared style's ONNX cache…). */
  readonly writeRoots?: readonly string[];
  /** Folders every input may read besides its own and the writable ones. */
  readonly readRoots?: readonly string[];
  /** Check tf.memory().numTensors before and after each input. */
  readonly usesTfjs?: boolean;
  dispose?(): Promise<void>;
}

export interface Family {
  readonly name: string;
  /** Whether the family can run here (e.g. the gallery validator exists); a reason when not. */
  available?(): Promise<true | string>;
  build(env: FamilyEnv): Promise<BuiltFamily>;
}

/** Error codes that mean "refused clearly" for inputs built to be hostile. */
export const FORESEEN: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'bad-input',
  'bad-image',
  'image-too-large',
  'bad-checkpoint',
  'bad-weights',
  'not-found',
  'output-exists',
  'io',
  'cancelled',
]);

/** A failure that is not a foreseen StyleTransferError: the runner counts it as a crash. */
export class CrashError extends Error {}

/** Runs `fn`; a foreseen StyleTransferError becomes a note, anything else is rethrown as a crash. */
export async function handled(fn: () => Promise<RunResult>): Promise<RunResult> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof StyleTransferError && FORESEEN.has(e.code)) return { note: e.code };
    throw e;
  }
}

/** Per-item error infos (a stylize job's failures): foreseen codes only, else a crash. */
export function checkErrorInfos(
  errors: readonly { readonly code: string; readonly message: string }[],
): string | undefined {
  for (const e of errors) {
    if (!FORESEEN.has(e.code as ErrorCode)) throw new CrashError(`unforeseen error ${e.code}: ${e.message}`);
  }
  return errors[0]?.code;
}
