// Errors that reach the user. Every failure the engine can foresee (bad image, bad checkpoint,
// missing weights, too large, cancelled…) is thrown as a StyleTransferError with a stable
// code and one precise, human-readable message; anything else is a bug and is reported as
// `internal`. Plain data so it crosses the worker boundary intact.

export type ErrorCode =
  | 'bad-input' // an argument or option that makes no sense
  | 'bad-image' // unreadable, corrupt, truncated or unsupported image
  | 'image-too-large' // over the decoded-pixel cap or the memory budget
  | 'bad-checkpoint' // missing/corrupt/incompatible checkpoint or imported model
  | 'bad-weights' // missing/corrupt VGG weights, or a layer they lack
  | 'not-found' // a file or folder that does not exist
  | 'output-exists' // refusing to overwrite
  | 'io' // the file system refused (permissions, disk full…)
  | 'cancelled' // the user cancelled
  | 'backend' // a compute runtime failed to load or run
  | 'network' // a download failed
  | 'internal'; // a bug

export interface ErrorInfo {
  readonly code: ErrorCode;
  readonly message: string;
  readonly detail?: string;
}

export class StyleTransferError extends Error {
  readonly code: ErrorCode;
  readonly detail?: string;
  constructor(code: ErrorCode, message: string, detail?: string) {
    super(message);
    this.name = 'StyleTransferError';
    this.code = code;
    this.detail = detail;
  }
  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message, ...(this.detail ? { detail: this.detail } : {}) };
  }
}

export function isStyleTransferError(e: unknown): e is StyleTransferError {
  return e instanceof StyleTransferError;
}

/** Converts anything thrown into plain error info, keeping foreseen errors' codes. */
export function toErrorInfo(e: unknown): ErrorInfo {
  if (e instanceof StyleTransferError) return e.toInfo();
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'internal', message, ...(e instanceof Error && e.stack ? { detail: e.stack } : {}) };
}

export function cancelledError(what = 'job'): StyleTransferError {
  return new StyleTransferError('cancelled', `${what} cancelled`);
}

/** Error text of anything thrown, for messages. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The code of a StyleTransferError (or similar) crossing from the worker. */
export function codeOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** Whether an error message says that no usable ffmpeg was found (then Set Up Video Support… helps). */
export function isMissingFfmpeg(message: string): boolean {
  return /ffmpeg/.test(message) && /not on the PATH|is too old|not found/.test(message);
}
