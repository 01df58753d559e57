// Image formats the project reads and writes, and how file extensions map to them. No sharp
// here, so path logic (output names, format from extension) stays cheap to import.
import path from 'node:path';
import { ANIMATED_IMAGE_EXTENSIONS, VIDEO_EXTENSIONS } from '../protocol/media';

/** Formats we can write (and read). */
export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'avif' | 'tiff' | 'gif';

/** Formats we can read: the writable ones plus HEIF containers other than AVIF. */
export type InputFormat = ImageFormat | 'heif';

export const IMAGE_FORMATS: readonly ImageFormat[] = ['png', 'jpeg', 'webp', 'avif', 'tiff', 'gif'];

/** Canonical extension written when the format changes or the input's extension is unusable. */
export const FORMAT_EXTENSION: Readonly<Record<ImageFormat, string>> = {
  png: '.png',
  jpeg: '.jpg',
  webp: '.webp',
  avif: '.avif',
  tiff: '.tif',
  gif: '.gif',
};

const EXTENSION_FORMAT: Readonly<Record<string, ImageFormat>> = {
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

/** Extensions an image picker or a folder scan should offer (readable formats). */
export const IMAGE_EXTENSIONS: readonly string[] = [...Object.keys(EXTENSION_FORMAT), '.heic', '.heif'];

export { ANIMATED_IMAGE_EXTENSIONS, VIDEO_EXTENSIONS };

/** Everything `stylize` takes from a folder: images and videos. */
export const MEDIA_EXTENSIONS: readonly string[] = [...IMAGE_EXTENSIONS, ...VIDEO_EXTENSIONS];

export function isVideoFile(file: string): boolean {
  return VIDEO_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

/** The writable format a file name's extension names, case-insensitively; undefined if none. */
export function formatFromExtension(file: string): ImageFormat | undefined {
  return EXTENSION_FORMAT[path.extname(file).toLowerCase()];
}

export function isImageFormat(s: string): s is ImageFormat {
  return (IMAGE_FORMATS as readonly string[]).includes(s);
}

/** Format to write a result in when the input was `format`: the same one when we can write it. */
export function outputFormatFor(format: InputFormat | string): ImageFormat {
  return isImageFormat(format) ? format : 'png';
}

/** Human name for messages. */
export function formatLabel(format: string): string {
  return format === 'jpeg' ? 'JPEG' : format === 'webp' ? 'WebP' : format.toUpperCase();
}
