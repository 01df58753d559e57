// Image formats the project reads and writes, and how file extensions map to them. No sharp
// here, so path logic (output names, format from extension) stays cheap to import.
import path from 'node:path';
import {
  ANIMATED_IMAGE_EXTENSIONS,
  EXTENSION_FORMAT,
  MEDIA_EXTENSIONS,
  VIDEO_EXTENSIONS,
  isVideoPath,
} from '../protocol/fileTypes';

/** Formats we can write (and read). */
export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'avif' | 'tiff' | 'gif';

/** Formats we can read: the writable ones plus HEIF containers other than AVIF. */
export type InputFormat = ImageFormat | 'heif';

export const IMAGE_FORMATS: readonly ImageFormat[] = ['png', 'jpeg', 'webp', 'avif', 'tiff', 'gif'];

// The extension lists are the protocol's (the editor offers the same files the engine reads).
export { FORMAT_EXTENSION, IMAGE_EXTENSIONS } from '../protocol/fileTypes';

export { ANIMATED_IMAGE_EXTENSIONS, MEDIA_EXTENSIONS, VIDEO_EXTENSIONS };
export const isVideoFile = isVideoPath;

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
