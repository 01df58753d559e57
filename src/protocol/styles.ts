// What the host, the tree view and the gallery know about a style: a summary read from the
// checkpoint's style.json (plain data; the host never loads weights).
import type { LossValues } from './jobs';

// The files of a checkpoint folder (io/checkpoint.ts writes and reads them; the host lists them).
export const CHECKPOINT_FORMAT = 'fast-style-transfer/transform-net';
/** style.json's formatVersion written now; a larger one is a newer release's checkpoint. */
export const CHECKPOINT_FORMAT_VERSION = 1;
export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
export const STYLE_FILE = 'style.json';
export const THUMBNAIL_FILE = 'thumbnail.jpg';
/** Present when the style can be resumed (io/trainingState.ts). */
export const TRAINING_STATE_FILE = 'training-state.json';

export type StyleOrigin = 'bundled' | 'trained' | 'imported';

export interface StyleSummary {
  /** Absolute path of the checkpoint folder (also its identity). */
  readonly id: string;
  readonly name: string;
  readonly origin: StyleOrigin;
  readonly iteration: number;
  readonly lastLosses?: LossValues;
  readonly createdAt?: string;
  readonly updatedAt?: string;
  /** Absolute path of thumbnail.jpg when the checkpoint has one. */
  readonly thumbnail?: string;
  /** Training can continue (the checkpoint holds optimizer state). */
  readonly resumable: boolean;
  /** Lives in a folder the user may rename/delete in (not the extension's bundled styles). */
  readonly editable: boolean;
  readonly architecture?: { readonly filters: readonly number[]; readonly residualBlocks: number };
  readonly preset?: string;
  /** A problem reading style.json; the style is listed but cannot be used. */
  readonly error?: string;
}
