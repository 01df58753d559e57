// Messages between the extension host and the gallery webview (DESIGN §2): one union per
// direction with string `type` fields. Everything arriving from the webview is untrusted:
// parseWebviewMessage() checks every field of every message (shape, enums, id formats,
// numeric ranges, string and byte-size caps) before the host looks at it; paths are then
// checked against the allowed folders by the host (src/views/gallery/pathGuard.ts). Images
// cross as Uint8Array (structured clone), never as base64 inside JSON.
import {
  BLEND_MODES,
  COLOR_MODES,
  OUTPUT_FORMATS,
  STYLIZE_LIMITS,
  type ClipInfo,
  type ColorMode,
  type EncodedImage,
  type LossValues,
  type OutputFormat,
} from './jobs';
import type { StyleOrigin } from './styles';
import {
  absolutePath,
  arrayOf,
  bytes,
  fail,
  fieldOf,
  fileName,
  isPlainObject,
  matching,
  number,
  object,
  oneOf,
  string,
  type Rule,
} from './validate';

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
  /** The frame picker's time (seconds; a day is longer than any clip the gallery shows). */
  maxClipSeconds: 86_400,
  /** What the webview says of the player (a media error's text). */
  maxPlaybackDetail: 500,
} as const;

/** Longest side of the fast preview; 'full' previews use the whole image (× scale). */
export const PREVIEW_MAX_SIDE = 512;

export type PreviewSize = 'preview' | 'full';

/** 'outputs': mix the styles' results; 'norm': mix the instance-norm parameters (styles sharing their convolutions). */
export { BLEND_MODES };
export type BlendMode = (typeof BLEND_MODES)[number];

/** A style mixed into the selected one: its share of the result (the selected style keeps 1 − Σ shares). */
export interface GalleryBlendPart {
  readonly styleId: string;
  readonly weight: number;
}
export type GalleryLayout = 'panel' | 'sidebar';

/** Commands the webview may ask the host to run (nothing else is runnable from it). */
export const GALLERY_COMMANDS = [
  'train',
  'importStyle',
  'downloadPretrained',
  'showOutput',
  'openGallery',
  'refreshStyles',
  'setUpVideo',
] as const;
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
  /**
   * The name says it may be a clip (protocol/fileTypes.ts mayBeClip): the host asks the engine
   * and always answers with a 'clip' message (a clip, a still image, or why it cannot be shown);
   * the webview previews it only then, so a clip's first preview is its frame picker's frame
   * and not a frame-0 preview thrown away a moment later.
   */
  readonly clipPending?: boolean;
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
  /** A clip's frame at this many seconds (the frame picker); absent for still images. */
  readonly time?: number;
}

/** A video or an animated image in the gallery: what its frame picker shows. */
export type GalleryClip = ClipInfo & { readonly kind: 'video' | 'animated' };

/** How the gallery plays a stylized clip (see ClipPlayback in jobs.ts). */
export type GalleryPlayback =
  /** A WebM (VP9/VP8) in the extension's storage, as a webview URI. */
  | { readonly kind: 'video'; readonly src: string; readonly encoder: string }
  /** An animated GIF, WebP or PNG, shown as it is. */
  | { readonly kind: 'image'; readonly image: EncodedImage }
  /** ffmpeg has no VP8/VP9 encoder: frames shown in turn. */
  | { readonly kind: 'frames'; readonly frames: readonly EncodedImage[]; readonly fps: number };

/** The gallery's messages about clips, host → webview. */
export type ClipMessage =
  /**
   * The image is a clip (`clip`), or cannot be shown as one here: `unavailable` says why in one
   * line, `setUpVideo` when Set Up Video Support… would help (no ffmpeg); with neither, it is a
   * still image (the answer to GalleryImage.clipPending).
   */
  | {
      readonly type: 'clip';
      readonly imageToken: string;
      readonly clip?: GalleryClip;
      readonly unavailable?: string;
      readonly setUpVideo?: boolean;
    }
  | {
      readonly type: 'clipProgress';
      readonly imageToken: string;
      readonly done: number;
      readonly total: number;
      readonly fps: number;
      readonly etaSeconds: number;
    }
  | {
      readonly type: 'clipDone';
      readonly imageToken: string;
      readonly path: string;
      readonly displayPath: string;
      readonly playback: GalleryPlayback;
    }
  /** `setUpVideo`: the failure is a missing or unusable ffmpeg (offer Set Up Video Support…). */
  | {
      readonly type: 'clipFailed';
      readonly imageToken: string;
      readonly message: string;
      readonly setUpVideo?: boolean;
    }
  | { readonly type: 'clipCancelled'; readonly imageToken: string };

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
  | {
      readonly type: 'styleImages';
      readonly styleId: string;
      readonly thumbnail?: EncodedImage;
      readonly sample?: EncodedImage;
    }
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
  | { readonly type: 'notice'; readonly level: 'info' | 'error'; readonly message: string }
  | ClipMessage;

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
  /** Stylize the whole clip (the video job), beside the input; the result is played. */
  | {
      readonly type: 'stylizeClip';
      readonly imageToken: string;
      readonly styleId: string;
      readonly strength: number;
      readonly colorMode: ColorMode;
      readonly scale: number;
      readonly blend?: readonly GalleryBlendPart[];
      readonly blendMode?: BlendMode;
    }
  | { readonly type: 'cancelClip' }
  /** What the player made of the stylized clip (logged; tests watch it). */
  | { readonly type: 'playback'; readonly state: 'playing' | 'failed'; readonly detail: string }
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

const path = absolutePath({ max: GALLERY_LIMITS.maxPathLength });
const token = matching(IMAGE_TOKEN_PATTERN, 'an image token (img-<n>)', { max: 16 });
const scale = number({ min: GALLERY_LIMITS.minScale, max: GALLERY_LIMITS.maxScale });
const clipTime = number({ min: 0, max: GALLERY_LIMITS.maxClipSeconds });
const blendParts = arrayOf(object({ styleId: path, weight: number({ min: 0, max: 1 }) }, {}, { exact: true }), {
  min: 1,
  max: GALLERY_LIMITS.maxBlendStyles,
  items: 'styles',
});

/** A message of `type` with exactly these fields (all required unless listed as optional). */
function message<
  R extends Readonly<Record<string, Rule<unknown>>>,
  O extends Readonly<Record<string, Rule<unknown>>> = Record<never, Rule<unknown>>,
>(required: R, optional?: O) {
  return object({ type: string(), ...required }, optional, { exact: true });
}

/**
 * The optional blend of a preview or save: 1 to maxBlendStyles parts, each a plain
 * { styleId, weight } with an absolute id other than the selected style's and of the other
 * parts', a weight in 0..1, and shares that add up to at most 1. Whether the ids are styles
 * the store lists is the host's check (as for `styleId`).
 */
function blendOf(
  blend: GalleryBlendPart[] | undefined,
  blendMode: BlendMode | undefined,
  mainStyle: string,
): { blend?: GalleryBlendPart[]; blendMode?: BlendMode } {
  if (blend === undefined) {
    if (blendMode !== undefined) fail('blendMode', 'without "blend"');
    return {};
  }
  let total = 0;
  blend.forEach((part, i) => {
    if (part.styleId === mainStyle) fail(fieldOf('blend', i), 'repeats the selected style');
    if (blend.slice(0, i).some((b) => b.styleId === part.styleId)) fail(fieldOf('blend', i), 'repeats a style');
    total += part.weight;
  });
  if (total > 1 + 1e-9) fail('', `the blend weights add up to ${+total.toFixed(4)}; at most 1`);
  return blendMode === undefined ? { blend } : { blend, blendMode };
}

function parse(raw: unknown): WebviewToHost {
  if (!isPlainObject(raw)) fail('', 'a message must be a plain object');
  const type = raw.type;
  if (typeof type !== 'string') fail('', 'the message has no string "type"');
  switch (type) {
    case 'ready':
    case 'pickImage':
    case 'pickWorkspaceImage':
    case 'useActiveEditorImage':
    case 'useSampleImage':
    case 'cancelTraining':
    case 'pauseTraining':
    case 'cancelClip':
      message({})(raw, '');
      return { type };
    case 'openImagePath':
    case 'copyPath':
    case 'openResult':
      return { type, path: message({ path })(raw, '').path };
    case 'dropImage': {
      const m = message({
        name: fileName({ max: GALLERY_LIMITS.maxNameLength }),
        bytes: bytes({ max: GALLERY_LIMITS.maxImageBytes }),
      })(raw, '');
      return { type, name: m.name, bytes: m.bytes };
    }
    case 'preview': {
      const m = message(
        {
          requestId: number({ min: 0, max: GALLERY_LIMITS.maxRequestId, integer: true }),
          imageToken: token,
          styleId: path,
          size: oneOf(['preview', 'full']),
          scale,
        },
        { blend: blendParts, blendMode: oneOf(BLEND_MODES), time: clipTime },
      )(raw, '');
      return {
        type,
        requestId: m.requestId,
        imageToken: m.imageToken,
        styleId: m.styleId,
        size: m.size,
        scale: m.scale,
        ...(m.time === undefined ? {} : { time: m.time }),
        ...blendOf(m.blend, m.blendMode, m.styleId),
      };
    }
    case 'stylizeClip': {
      const m = message(
        {
          imageToken: token,
          styleId: path,
          strength: number(STYLIZE_LIMITS.strength),
          colorMode: oneOf(COLOR_MODES),
          scale,
        },
        { blend: blendParts, blendMode: oneOf(BLEND_MODES) },
      )(raw, '');
      return {
        type,
        imageToken: m.imageToken,
        styleId: m.styleId,
        strength: m.strength,
        colorMode: m.colorMode,
        scale: m.scale,
        ...blendOf(m.blend, m.blendMode, m.styleId),
      };
    }
    case 'playback': {
      const m = message({
        state: oneOf(['playing', 'failed']),
        detail: string({ max: GALLERY_LIMITS.maxPlaybackDetail, allowEmpty: true }),
      })(raw, '');
      return { type, state: m.state, detail: m.detail };
    }
    case 'save': {
      const m = message(
        {
          mode: oneOf(['save', 'saveAs']),
          imageToken: token,
          styleId: path,
          strength: number(STYLIZE_LIMITS.strength),
          colorMode: oneOf(COLOR_MODES),
          format: oneOf(OUTPUT_FORMATS),
          scale,
        },
        { blend: blendParts, blendMode: oneOf(BLEND_MODES) },
      )(raw, '');
      return {
        type,
        mode: m.mode,
        imageToken: m.imageToken,
        styleId: m.styleId,
        strength: m.strength,
        colorMode: m.colorMode,
        format: m.format,
        scale: m.scale,
        ...blendOf(m.blend, m.blendMode, m.styleId),
      };
    }
    case 'runCommand':
      return { type, command: message({ command: oneOf(GALLERY_COMMANDS) })(raw, '').command };
    case 'resumeTraining':
    case 'evaluateStyle':
      return { type, styleId: message({ styleId: path })(raw, '').styleId };
    case 'log': {
      const m = message({
        level: oneOf(['info', 'warn', 'error']),
        message: string({ max: GALLERY_LIMITS.maxLogLength, allowEmpty: true }),
      })(raw, '');
      return { type, level: m.level, message: m.message };
    }
    default:
      return fail('', `unknown message type "${type.slice(0, 40)}"`);
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
    // A throwing getter or proxy trap is a rejection too, not a crash of the host.
    return new Error(`rejected message from the gallery webview: ${e instanceof Error ? e.message : String(e)}`);
  }
}
