// Messages between the extension host and the gallery webview (DESIGN §2): one union per
// direction with string `type` fields. Everything arriving from the webview is untrusted:
// parseWebviewMessage() checks every field of every message (shape, enums, id formats,
// numeric ranges, string and byte-size caps) before the host looks at it; paths are then
// checked against the allowed folders by the host (src/views/gallery/pathGuard.ts). Images
// cross as Uint8Array (structured clone), never as base64 inside JSON.
import { COLOR_MODES, OUTPUT_FORMATS, type ColorMode, type EncodedImage, type LossValues, type OutputFormat } from './jobs';
import type { StyleOrigin } from './styles';
import { looksAbsolute } from '../shared/paths';

export const GALLERY_LIMITS = {
  /** Largest image the webview may send (dropped files). */
  maxImageBytes: 64 * 1024 * 1024,
  /** Paths and style ids (absolute checkpoint paths). */
  maxPathLength: 4096,
  /** A dropped file's name. */
  maxNameLength: 255,
  /** Log lines the webview forwards to the output channel. */
  maxLogLength: 2000,
  maxRequestId: 2 ** 31 - 1,
  minScale: 0.25,
  maxScale: 4,
  /** Styles mixed into the selected one (the engine takes any number; more gets slow and muddy). */
  maxBlendStyles: 4,
} as const;

/** Longest side of the fast preview; 'full' previews use the whole image (× scale). */
export const PREVIEW_MAX_SIDE = 512;

export type PreviewSize = 'preview' | 'full';

/** 'outputs': mix the styles' results; 'norm': mix the instance-norm parameters (styles sharing their convolutions). */
export const BLEND_MODES = ['outputs', 'norm'] as const;
export type BlendMode = (typeof BLEND_MODES)[number];

/** A style mixed into the selected one: its share of the result (the selected style keeps 1 − Σ shares). */
export interface GalleryBlendPart {
  readonly styleId: string;
  readonly weight: number;
}
export type GalleryLayout = 'panel' | 'sidebar';

/** Commands the webview may ask the host to run (nothing else is runnable from it). */
export const GALLERY_COMMANDS = ['train', 'importStyle', 'downloadPretrained', 'showOutput', 'openGallery', 'refreshStyles'] as const;
export type GalleryCommand = (typeof GALLERY_COMMANDS)[number];

/** A style as the gallery shows it. */
export interface GalleryStyle {
  /** The checkpoint folder (also the style's identity in StyleStore). */
  readonly id: string;
  readonly name: string;
  readonly origin: StyleOrigin;
  readonly iteration: number;
  readonly preset?: string;
  readonly updatedAt?: string;
  readonly resumable: boolean;
  /** Training is writing this checkpoint now. */
  readonly training: boolean;
  /** Why the style cannot be used (style.json unreadable, newer format…). */
  readonly error?: string;
  readonly lastLoss?: number;
  /** The network's shape ("16-32-64/3"): only styles of one shape can mix their norm parameters. */
  readonly architecture?: string;
}

/** An image the host registered for this session; the webview refers to it by token. */
export interface GalleryImage {
  readonly token: string;
  readonly name: string;
  /** Workspace-relative (or absolute) path for display; absent for dropped bytes. */
  readonly displayPath?: string;
  readonly origin: 'workspace' | 'dialog' | 'editor' | 'drop' | 'sample';
}

export interface GallerySettings {
  readonly strength: number;
  readonly colorMode: ColorMode;
  readonly format: OutputFormat;
}

/** The training run in progress (or the last one), as the live training view shows it. */
export interface TrainingView {
  readonly name: string;
  readonly checkpoint: string;
  readonly status: 'starting' | 'running' | 'done' | 'cancelled' | 'failed';
  readonly phase?: string;
  readonly iteration: number;
  readonly totalIterations: number;
  readonly epoch: number;
  readonly imagesPerSecond: number;
  readonly etaSeconds: number;
  readonly losses: readonly (LossValues & { readonly iteration: number })[];
  readonly lastCheckpointIteration?: number;
  readonly previewIteration?: number;
  readonly error?: string;
  readonly startedAt: number;
  /** The checkpoint can be resumed now (it holds optimizer state and nothing is running). */
  readonly resumable: boolean;
}

/** What identifies a preview: sent with the request and echoed with its result. */
interface PreviewRequestFields {
  readonly requestId: number;
  readonly imageToken: string;
  readonly styleId: string;
  readonly size: PreviewSize;
  readonly scale: number;
}

export type HostToWebview =
  | {
      readonly type: 'init';
      readonly layout: GalleryLayout;
      readonly styles: readonly GalleryStyle[];
      readonly settings: GallerySettings;
      readonly focusStyle?: string;
      /** An image to show now (the gallery was opened on it). */
      readonly image?: GalleryImage;
      /** Every image the host still holds: a rebuilt webview keeps its restored image only if listed. */
      readonly images: readonly GalleryImage[];
      readonly training?: TrainingView;
    }
  | { readonly type: 'styles'; readonly styles: readonly GalleryStyle[] }
  /** The style image's thumbnail (JPEG) and/or a sample photo stylized with it (PNG), for the cards. */
  | { readonly type: 'styleImages'; readonly styleId: string; readonly thumbnail?: EncodedImage; readonly sample?: EncodedImage }
  | { readonly type: 'image'; readonly image: GalleryImage }
  | { readonly type: 'focusStyle'; readonly styleId: string }
  | (PreviewRequestFields & {
      readonly type: 'preview';
      /** The input as the network saw it (downscaled for 'preview') and the raw stylization (strength 1, style colours). */
      readonly original: EncodedImage;
      readonly stylized: EncodedImage;
      /** The source file's upright size, when known. */
      readonly sourceWidth?: number;
      readonly sourceHeight?: number;
      readonly runtime: string;
      readonly elapsedMs: number;
    })
  | { readonly type: 'previewFailed'; readonly requestId: number; readonly message: string }
  | { readonly type: 'training'; readonly training: TrainingView | undefined }
  | { readonly type: 'trainingPreview'; readonly iteration: number; readonly image: EncodedImage }
  | { readonly type: 'saving'; readonly message: string }
  | { readonly type: 'saved'; readonly path: string; readonly displayPath: string }
  | { readonly type: 'saveFailed'; readonly message: string }
  | { readonly type: 'saveCancelled' }
  | { readonly type: 'notice'; readonly level: 'info' | 'error'; readonly message: string };

export type WebviewToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'pickImage' }
  | { readonly type: 'pickWorkspaceImage' }
  | { readonly type: 'useActiveEditorImage' }
  | { readonly type: 'useSampleImage' }
  /** A path dropped from the Explorer (text/uri-list); checked against the allowed folders. */
  | { readonly type: 'openImagePath'; readonly path: string }
  /** A file dropped from the operating system, as bytes. */
  | { readonly type: 'dropImage'; readonly name: string; readonly bytes: Uint8Array }
  | (PreviewRequestFields & {
      readonly type: 'preview';
      /** Other styles mixed in (absent: the style alone); `blendMode` only comes with a blend. */
      readonly blend?: readonly GalleryBlendPart[];
      readonly blendMode?: BlendMode;
    })
  | {
      readonly type: 'save';
      readonly mode: 'save' | 'saveAs';
      readonly imageToken: string;
      readonly styleId: string;
      readonly strength: number;
      readonly colorMode: ColorMode;
      readonly format: OutputFormat;
      readonly scale: number;
      readonly blend?: readonly GalleryBlendPart[];
      readonly blendMode?: BlendMode;
    }
  | { readonly type: 'copyPath'; readonly path: string }
  | { readonly type: 'openResult'; readonly path: string }
  | { readonly type: 'runCommand'; readonly command: GalleryCommand }
  | { readonly type: 'cancelTraining' }
  | { readonly type: 'pauseTraining' }
  | { readonly type: 'resumeTraining'; readonly styleId: string }
  /** Run Evaluate Style… on a style (the figures of `fst evaluate` and a contact sheet). */
  | { readonly type: 'evaluateStyle'; readonly styleId: string }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly message: string };

// ---- validation of webview → host messages -------------------------------------------------

/** Image tokens are minted by the host: `img-<n>`. */
export const IMAGE_TOKEN_PATTERN = /^img-[1-9][0-9]{0,8}$/;

type Fields = Readonly<Record<string, unknown>>;

function isRecord(v: unknown): v is Fields {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

class Reject extends Error {}

function only(m: Fields, allowed: readonly string[]): void {
  for (const k of Object.keys(m)) if (!allowed.includes(k)) throw new Reject(`unexpected field "${k.slice(0, 40)}"`);
}

function str(m: Fields, key: string, max: number, opts: { allowEmpty?: boolean } = {}): string {
  const v = m[key];
  if (typeof v !== 'string') throw new Reject(`"${key}" must be a string`);
  if (v.length > max) throw new Reject(`"${key}" is too long (${v.length} characters, at most ${max})`);
  if (!opts.allowEmpty && v.length === 0) throw new Reject(`"${key}" is empty`);
  if (v.includes('\u0000')) throw new Reject(`"${key}" contains a NUL character`);
  return v;
}

function num(m: Fields, key: string, min: number, max: number, integer = false): number {
  const v = m[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Reject(`"${key}" must be a finite number`);
  if (integer && !Number.isInteger(v)) throw new Reject(`"${key}" must be an integer`);
  if (v < min || v > max) throw new Reject(`"${key}" must be between ${min} and ${max}, got ${v}`);
  return v;
}

function oneOf<T extends string>(m: Fields, key: string, values: readonly T[]): T {
  const v = m[key];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw new Reject(`"${key}" must be one of ${values.join(', ')}`);
  return v as T;
}

function token(m: Fields, key: string): string {
  const v = str(m, key, 16);
  if (!IMAGE_TOKEN_PATTERN.test(v)) throw new Reject(`"${key}" is not an image token`);
  return v;
}

/** An absolute path (POSIX or Windows); relative paths are never accepted from the webview. */
function absPath(m: Fields, key: string): string {
  const v = str(m, key, GALLERY_LIMITS.maxPathLength);
  if (!looksAbsolute(v)) throw new Reject(`"${key}" must be an absolute path`);
  return v;
}

/** A file name only: no folders, no "..", no control characters. */
function fileName(m: Fields, key: string): string {
  const v = str(m, key, GALLERY_LIMITS.maxNameLength);
  if (/[\\/]/.test(v) || v === '.' || v === '..' || /[\u0000-\u001f\u007f]/.test(v)) throw new Reject(`"${key}" must be a plain file name`);
  return v;
}

/**
 * The optional blend of a preview or save: 1 to maxBlendStyles parts, each a plain
 * { styleId, weight } with an absolute id other than the selected style's and of the other
 * parts', a weight in 0..1, and shares that add up to at most 1. Whether the ids are styles
 * the store lists is the host's check (as for `styleId`).
 */
function blendOf(m: Fields, mainStyle: string): { blend?: GalleryBlendPart[]; blendMode?: BlendMode } {
  const raw = m.blend;
  if (raw === undefined) {
    if (m.blendMode !== undefined) throw new Reject('"blendMode" without "blend"');
    return {};
  }
  if (!Array.isArray(raw) || Object.getPrototypeOf(raw) !== Array.prototype) throw new Reject('"blend" must be an array');
  if (raw.length === 0) throw new Reject('"blend" is empty');
  if (raw.length > GALLERY_LIMITS.maxBlendStyles) throw new Reject(`"blend" has too many styles (${raw.length}, at most ${GALLERY_LIMITS.maxBlendStyles})`);
  if (Object.keys(raw).length !== raw.length) throw new Reject('"blend" must be a plain array');
  const blend: GalleryBlendPart[] = [];
  let total = 0;
  for (const [i, part] of raw.entries()) {
    try {
      if (!isRecord(part)) throw new Reject('must be a plain object');
      only(part, ['styleId', 'weight']);
      const styleId = absPath(part, 'styleId');
      const weight = num(part, 'weight', 0, 1);
      if (styleId === mainStyle) throw new Reject('repeats the selected style');
      if (blend.some((b) => b.styleId === styleId)) throw new Reject('repeats a style');
      total += weight;
      blend.push({ styleId, weight });
    } catch (e) {
      throw e instanceof Reject ? new Reject(`"blend[${i}]": ${e.message}`) : e;
    }
  }
  if (total > 1 + 1e-9) throw new Reject(`the blend weights add up to ${+total.toFixed(4)}; at most 1`);
  const out: { blend: GalleryBlendPart[]; blendMode?: BlendMode } = { blend };
  if (m.blendMode !== undefined) out.blendMode = oneOf(m, 'blendMode', BLEND_MODES);
  return out;
}

function bytes(m: Fields, key: string, max: number): Uint8Array {
  const v = m[key];
  if (!(v instanceof Uint8Array)) throw new Reject(`"${key}" must be a Uint8Array`);
  if (v.byteLength === 0) throw new Reject(`"${key}" is empty`);
  if (v.byteLength > max) throw new Reject(`"${key}" is too large (${v.byteLength} bytes, at most ${max})`);
  return v;
}

function parse(raw: unknown): WebviewToHost {
  if (!isRecord(raw)) throw new Reject('a message must be a plain object');
  const type = raw.type;
  if (typeof type !== 'string') throw new Reject('the message has no string "type"');
  switch (type) {
    case 'ready':
    case 'pickImage':
    case 'pickWorkspaceImage':
    case 'useActiveEditorImage':
    case 'useSampleImage':
    case 'cancelTraining':
    case 'pauseTraining':
      only(raw, ['type']);
      return { type };
    case 'openImagePath':
      only(raw, ['type', 'path']);
      return { type, path: absPath(raw, 'path') };
    case 'dropImage':
      only(raw, ['type', 'name', 'bytes']);
      return { type, name: fileName(raw, 'name'), bytes: bytes(raw, 'bytes', GALLERY_LIMITS.maxImageBytes) };
    case 'preview': {
      only(raw, ['type', 'requestId', 'imageToken', 'styleId', 'size', 'scale', 'blend', 'blendMode']);
      const m = {
        type,
        requestId: num(raw, 'requestId', 0, GALLERY_LIMITS.maxRequestId, true),
        imageToken: token(raw, 'imageToken'),
        styleId: absPath(raw, 'styleId'),
        size: oneOf(raw, 'size', ['preview', 'full'] as const),
        scale: num(raw, 'scale', GALLERY_LIMITS.minScale, GALLERY_LIMITS.maxScale),
      };
      return { ...m, ...blendOf(raw, m.styleId) };
    }
    case 'save': {
      only(raw, ['type', 'mode', 'imageToken', 'styleId', 'strength', 'colorMode', 'format', 'scale', 'blend', 'blendMode']);
      const m = {
        type,
        mode: oneOf(raw, 'mode', ['save', 'saveAs'] as const),
        imageToken: token(raw, 'imageToken'),
        styleId: absPath(raw, 'styleId'),
        strength: num(raw, 'strength', 0, 1),
        colorMode: oneOf(raw, 'colorMode', COLOR_MODES),
        format: oneOf(raw, 'format', OUTPUT_FORMATS),
        scale: num(raw, 'scale', GALLERY_LIMITS.minScale, GALLERY_LIMITS.maxScale),
      };
      return { ...m, ...blendOf(raw, m.styleId) };
    }
    case 'copyPath':
    case 'openResult':
      only(raw, ['type', 'path']);
      return { type, path: absPath(raw, 'path') };
    case 'runCommand':
      only(raw, ['type', 'command']);
      return { type, command: oneOf(raw, 'command', GALLERY_COMMANDS) };
    case 'resumeTraining':
    case 'evaluateStyle':
      only(raw, ['type', 'styleId']);
      return { type, styleId: absPath(raw, 'styleId') };
    case 'log':
      only(raw, ['type', 'level', 'message']);
      return { type, level: oneOf(raw, 'level', ['info', 'warn', 'error'] as const), message: str(raw, 'message', GALLERY_LIMITS.maxLogLength, { allowEmpty: true }) };
    default:
      throw new Reject(`unknown message type "${type.slice(0, 40)}"`);
  }
}

/**
 * Checks the shape of a message from the webview: a typed message, or an Error saying what is
 * wrong with it (for the log). Paths are only checked for being absolute here; whether they
 * lie inside an allowed folder is the host's job.
 */
export function parseWebviewMessage(raw: unknown): WebviewToHost | Error {
  try {
    return parse(raw);
  } catch (e) {
    if (e instanceof Reject) return new Error(`rejected message from the gallery webview: ${e.message}`);
    return new Error(`rejected message from the gallery webview: ${e instanceof Error ? e.message : String(e)}`);
  }
}
