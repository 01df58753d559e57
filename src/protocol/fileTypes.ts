// The one list of image and video file extensions: what the engine reads (folder scans,
// training data, videos), what the editor offers (pickers, the Explorer's `when` clauses in
// package.json, the gallery), and which writable format each names.
// test/unit/file-types.test.ts checks package.json against it.
import type { OutputFormat } from './jobs';

export type WritableFormat = Exclude<OutputFormat, 'same'>;

/** Extension (lower case, with its dot) → the writable format it names. */
export const EXTENSION_FORMAT: Readonly<Record<string, WritableFormat>> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.jpe': 'jpeg',
  '.jfif': 'jpeg',
  '.webp': 'webp',
  '.avif': 'avif',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.gif': 'gif',
};

/** Canonical extension written when the format changes or the input's extension is unusable. */
export const FORMAT_EXTENSION: Readonly<Record<WritableFormat, string>> = {
  png: '.png',
  jpeg: '.jpg',
  webp: '.webp',
  avif: '.avif',
  tiff: '.tif',
  gif: '.gif',
};

/** Every readable image extension, with its dot: the writable formats' and HEIF containers'. */
export const IMAGE_EXTENSIONS: readonly string[] = [...Object.keys(EXTENSION_FORMAT), '.heic', '.heif'];
/** The same without dots (file dialog filters, glob patterns, messages). */
export const IMAGE_EXTENSION_NAMES: readonly string[] = IMAGE_EXTENSIONS.map((e) => e.slice(1));
export const IMAGE_FILTERS = { Images: [...IMAGE_EXTENSION_NAMES] };

/** Whether `p` ends in a readable image extension (any case). */
export function isImagePath(p: string): boolean {
  const dot = p.lastIndexOf('.');
  return dot >= 0 && IMAGE_EXTENSIONS.includes(p.slice(dot).toLowerCase());
}

/** The regular expression of package.json's `resourceExtname =~ /…/i` clauses for images. */
export const IMAGE_EXTNAME_PATTERN = `^\\.(${IMAGE_EXTENSION_NAMES.join('|')})$`;

/** Video containers, stylized frame by frame through ffmpeg. */
export const VIDEO_EXTENSIONS: readonly string[] = ['.mp4', '.m4v', '.mov', '.webm', '.mkv'];
/** Image formats that can hold an animation: stylized frame by frame when they have several frames. */
export const ANIMATED_IMAGE_EXTENSIONS: readonly string[] = ['.gif', '.webp'];
/** What Stylize with… takes: images and videos. */
export const MEDIA_EXTENSIONS: readonly string[] = [...IMAGE_EXTENSIONS, ...VIDEO_EXTENSIONS];
export const MEDIA_FILTERS = { 'Images and videos': MEDIA_EXTENSIONS.map((e) => e.slice(1)) };

/** Whether `p` ends in a video extension (any case). */
export function isVideoPath(p: string): boolean {
  const dot = p.lastIndexOf('.');
  return dot >= 0 && VIDEO_EXTENSIONS.includes(p.slice(dot).toLowerCase());
}

/** The regular expression of package.json's `when` clauses for what Stylize with… takes. */
export const MEDIA_EXTNAME_PATTERN = `^\\.(${MEDIA_EXTENSIONS.map((e) => e.slice(1)).join('|')})$`;

/** Images that may hold an animation: GIF and WebP (read by sharp) and PNG (APNG, read by ffmpeg). */
export const CLIP_IMAGE_EXTENSIONS: readonly string[] = [...ANIMATED_IMAGE_EXTENSIONS, '.png'];

/** Whether `p` may be a clip: a video, or an image that may be animated (its bytes tell). */
export function mayBeClip(p: string): boolean {
  const dot = p.lastIndexOf('.');
  return isVideoPath(p) || (dot >= 0 && CLIP_IMAGE_EXTENSIONS.includes(p.slice(dot).toLowerCase()));
}

/** Whether `p` is something the gallery and Stylize with… take: an image or a video. */
export function isMediaPath(p: string): boolean {
  return isImagePath(p) || isVideoPath(p);
}
