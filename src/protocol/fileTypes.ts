// The one list of image file extensions: what the engine reads (folder scans, training data),
// what the editor offers (pickers, the Explorer's `when` clauses in package.json, the
// gallery), and which writable format each names. test/unit/file-types.test.ts checks
// package.json against it.
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
