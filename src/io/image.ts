// Image decode/encode with sharp (libvips). Everything the network sees is 8-bit sRGB, upright,
// as interleaved float32 RGB in 0..255 (FloatImage); alpha travels beside it untouched so the
// stylized RGB can be put back under the original transparency. Every foreseeable failure is
// one StyleTransferError: 'not-found', 'io', 'bad-image', 'image-too-large' or 'bad-input'.
import fs from 'node:fs/promises';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import type { FloatImage, RgbBytes } from '../model/pixels';
import { toBytes } from '../model/pixels';
import { StyleTransferError } from '../protocol/errors';
import type { InputFormat } from './formats';

/** Default cap on decoded pixels (width × height of the first frame): 100 megapixels. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** Files larger than this are refused before reading (Node cannot read ≥ 2 GiB into one buffer). */
export const MAX_FILE_BYTES = 1024 ** 3;

/** What the file held before conversion, for messages and for choosing the output format. */
export interface ImageSource {
  readonly format: InputFormat;
  /** Stored size, before EXIF orientation. */
  readonly width: number;
  readonly height: number;
  /** EXIF orientation 1…8 (1 when absent); already applied to the decoded pixels. */
  readonly orientation: number;
  /** Bits per channel as stored (1, 2, 4, 8, 16, 32). */
  readonly bitDepth: number;
  /** libvips interpretation as stored, e.g. 'srgb', 'cmyk', 'b-w', 'rgb16', 'grey16'. */
  readonly colourSpace: string;
  readonly channels: number;
  readonly hasAlpha: boolean;
  readonly hasProfile: boolean;
  readonly isPalette: boolean;
  /** Frames or pages in the file; only the first is decoded. */
  readonly pages: number;
}

/** An upright 8-bit sRGB image as float RGB plus optional alpha. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  /** channels 3, values 0..255 */
  readonly rgb: FloatImage;
  /** width × height bytes; present only when some pixel is not fully opaque. */
  readonly alpha?: Uint8Array;
}

/** An upright 8-bit sRGB image as RGB bytes plus optional alpha (RgbaImage at a quarter of the memory). */
export interface RgbaImage8 {
  readonly width: number;
  readonly height: number;
  readonly rgb: RgbBytes;
  /** width × height bytes; present only when some pixel is not fully opaque. */
  readonly alpha?: Uint8Array;
}

export interface DecodedImage8 extends RgbaImage8 {
  readonly format: InputFormat;
  readonly source: ImageSource;
}

export interface DecodedImage extends RgbaImage {
  readonly format: InputFormat;
  readonly source: ImageSource;
}

/**
 * A target size. 'inside': fit within width × height keeping the aspect ratio, never
 * enlarging unless `enlarge`; 'cover': fill width × height exactly, keeping the aspect ratio
 * and cropping the centre; 'fill': exactly width × height, stretched.
 */
export interface ResizeSpec {
  readonly width: number;
  readonly height: number;
  readonly fit: 'inside' | 'cover' | 'fill';
  readonly enlarge?: boolean;
}

export function maxSide(side: number, enlarge = false): ResizeSpec {
  return { width: side, height: side, fit: 'inside', enlarge };
}

export interface DecodeOptions {
  /** Cap on width × height (first frame); default DEFAULT_MAX_PIXELS. */
  readonly maxPixels?: number;
  /** Resize while decoding (cheaper than decoding at full size: JPEG shrink-on-load). */
  readonly resize?: ResizeSpec;
}

/** Formats sharp can decode that we accept; vector and document formats (SVG, PDF) are refused. */
const READABLE = new Set(['png', 'jpeg', 'webp', 'gif', 'tiff', 'heif']);

const DEPTH_BITS: Readonly<Record<string, number>> = {
  uchar: 8,
  char: 8,
  ushort: 16,
  short: 16,
  uint: 32,
  int: 32,
  float: 32,
  complex: 64,
  double: 64,
  dpcomplex: 128,
};

function megapixels(n: number): string {
  const mp = n / 1e6;
  return `${mp >= 10 ? Math.round(mp) : Number(mp.toPrecision(2))} megapixels`;
}

function readError(e: unknown, file: string): StyleTransferError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new StyleTransferError('not-found', `${file} does not exist`);
    case 'EACCES':
    case 'EPERM':
      return new StyleTransferError('io', `permission denied reading ${file}`);
    case 'EISDIR':
      return new StyleTransferError('bad-input', `${file} is a folder, not an image file`);
    default:
      return new StyleTransferError('io', `could not read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Reads and decodes an image file; the file is only read, never modified. */
export async function readImage(file: string, opts: DecodeOptions = {}): Promise<DecodedImage> {
  return decodeImage(await readImageFile(file), { ...opts, name: file });
}

/**
 * Like readImage, with the pixels kept as bytes: 3 bytes per pixel instead of 12, for images
 * too large to hold as floats (tiled stylize of up to DEFAULT_MAX_PIXELS).
 */
export async function readImage8(file: string, opts: DecodeOptions = {}): Promise<DecodedImage8> {
  return decodeImage8(await readImageFile(file), { ...opts, name: file });
}

async function readImageFile(file: string): Promise<Buffer> {
  let st;
  try {
    st = await fs.stat(file);
  } catch (e) {
    throw readError(e, file);
  }
  if (st.isDirectory()) throw new StyleTransferError('bad-input', `${file} is a folder, not an image file`);
  if (!st.isFile()) throw new StyleTransferError('bad-input', `${file} is not a regular file`);
  if (st.size > MAX_FILE_BYTES) {
    throw new StyleTransferError(
      'image-too-large',
      `${file} is ${(st.size / 1024 ** 3).toFixed(1)} GiB; image files over ${MAX_FILE_BYTES / 1024 ** 3} GiB are not supported`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    throw readError(e, file);
  }
  return bytes;
}

/** Turns a libvips/sharp decode failure into one clear message. */
function decodeError(e: unknown, name: string): StyleTransferError {
  if (e instanceof StyleTransferError) return e;
  const full = e instanceof Error ? e.message : String(e);
  // libvips repeats its decoder's complaints on several lines: the first says it.
  const msg =
    full
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean) ?? full;
  if (/pixel limit/i.test(msg)) {
    return new StyleTransferError('image-too-large', `${name}: the image is larger than the decoded-pixel limit`, full);
  }
  if (/unsupported image format/i.test(msg)) {
    return new StyleTransferError(
      'bad-image',
      `${name} is not an image in a supported format (PNG, JPEG, WebP, AVIF, TIFF or GIF)`,
      full,
    );
  }
  if (
    /premature end|truncat|read error|end of (file|data|stream)|unexpected end|not enough data|corrupt|damaged|invalid|bad /i.test(
      msg,
    )
  ) {
    return new StyleTransferError(
      'bad-image',
      `${name} is damaged or truncated and cannot be decoded (${msg.trim()})`,
      full,
    );
  }
  return new StyleTransferError('bad-image', `${name} could not be decoded (${msg.trim()})`, full);
}

function checkMaxPixels(maxPixels: number): void {
  if (!(maxPixels > 0) || (Number.isFinite(maxPixels) && !Number.isInteger(maxPixels))) {
    throw new StyleTransferError('bad-input', `maxPixels must be a positive integer or Infinity (got ${maxPixels})`);
  }
}

function checkResize(spec: ResizeSpec): void {
  for (const v of [spec.width, spec.height]) {
    if (!Number.isInteger(v) || v < 1 || v > 1_000_000) {
      throw new StyleTransferError(
        'bad-input',
        `resize sizes must be whole numbers from 1 to 1000000 (got ${spec.width}×${spec.height})`,
      );
    }
  }
}

function applyResize(p: Sharp, spec: ResizeSpec): Sharp {
  checkResize(spec);
  return p.resize(spec.width, spec.height, {
    fit: spec.fit,
    position: 'centre',
    withoutEnlargement: spec.fit === 'inside' && !spec.enlarge,
  });
}

/**
 * Decodes image bytes to upright 8-bit sRGB: EXIF orientation applied; CMYK, 16-bit, greyscale,
 * palette and ICC-profiled images converted; only the first frame of an animation or
 * multi-page file. The size is checked against `maxPixels` from the header, before decoding.
 */
export async function decodeImage(
  bytes: Buffer | Uint8Array,
  opts: DecodeOptions & { name?: string } = {},
): Promise<DecodedImage> {
  const { data, info, format, source } = await decodeRaw(bytes, opts);
  const split = splitChannels(data, info.width, info.height, info.channels);
  return { width: info.width, height: info.height, ...split, format, source };
}

/** decodeImage with the pixels kept as bytes (see readImage8). */
export async function decodeImage8(
  bytes: Buffer | Uint8Array,
  opts: DecodeOptions & { name?: string } = {},
): Promise<DecodedImage8> {
  const { data, info, format, source } = await decodeRaw(bytes, opts);
  const split = splitChannels8(data, info.width, info.height, info.channels);
  return { width: info.width, height: info.height, ...split, format, source };
}

/** Upright 8-bit sRGB RGB(A) bytes, with what the file held. */
async function decodeRaw(
  bytes: Buffer | Uint8Array,
  opts: DecodeOptions & { name?: string },
): Promise<{ data: Buffer; info: OutputInfo; format: InputFormat; source: ImageSource }> {
  const name = opts.name ?? 'the image';
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  checkMaxPixels(maxPixels);
  if (bytes.length === 0) throw new StyleTransferError('bad-image', `${name} is empty (0 bytes), not an image`);
  const input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);

  // Header only: format, declared size, depth, colour space. Nothing is decoded yet.
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw decodeError(e, name);
  }
  const heifCodec = meta.format === 'heif' ? meta.compression : undefined;
  const format: InputFormat | string = meta.format === 'heif' && heifCodec === 'av1' ? 'avif' : meta.format;
  if (!READABLE.has(meta.format)) {
    const what =
      meta.format === 'svg' || meta.format === 'pdf'
        ? `a ${meta.format.toUpperCase()} document, not a raster image`
        : `a ${meta.format} image`;
    throw new StyleTransferError(
      'bad-image',
      `${name} is ${what}; supported formats are PNG, JPEG, WebP, AVIF, TIFF and GIF`,
    );
  }
  if (meta.format === 'heif' && heifCodec !== 'av1') {
    throw new StyleTransferError(
      'bad-image',
      `${name} is a HEIC/HEIF image (${heifCodec ?? 'unknown'} compression), which this build cannot decode; convert it to JPEG or PNG`,
    );
  }
  const width = meta.width;
  const height = meta.height; // of the first page: sharp reads one page unless told otherwise
  if (!(width > 0 && height > 0))
    throw new StyleTransferError('bad-image', `${name} declares no valid size (${width}×${height})`);
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new StyleTransferError(
      'image-too-large',
      `${name} is ${width}×${height} pixels (${megapixels(pixels)}); the limit is ${megapixels(maxPixels)}. Scale it down first or raise the pixel limit.`,
    );
  }
  const source: ImageSource = {
    format: format as InputFormat,
    width,
    height,
    orientation: meta.orientation ?? 1,
    bitDepth: meta.bitsPerSample ?? DEPTH_BITS[meta.depth] ?? 8,
    colourSpace: meta.space,
    channels: meta.channels,
    hasAlpha: meta.hasAlpha,
    hasProfile: meta.hasProfile,
    isPalette: meta.isPalette,
    pages: meta.pages ?? 1,
  };

  let data: Buffer;
  let info: OutputInfo;
  try {
    let p = sharp(input, {
      autoOrient: true,
      // 'error' aborts on truncated or corrupt pixel data but tolerates the harmless warnings
      // many camera JPEGs carry (e.g. extraneous bytes before a marker).
      failOn: 'error',
      limitInputPixels: Number.isFinite(maxPixels) ? maxPixels : false,
      pages: 1,
      page: 0,
    });
    // sharp converts a 16-bit RGB image with an embedded profile to Display P3 (to keep its
    // gamut); the casting to 8 bits below would then label P3 numbers as sRGB. Converting to
    // sRGB through the profile avoids that.
    if (meta.hasProfile && meta.space === 'rgb16') p = p.withIccProfile('srgb', { attach: false });
    if (opts.resize) p = applyResize(p, opts.resize);
    // toColourspace turns grey (+alpha) into RGB(A); sharp has already converted CMYK and
    // embedded ICC profiles to sRGB. 16-bit sources stay 16-bit here and are rounded below:
    // libvips's own cast truncates (v >> 8), half a level darker on average than round(v / 257).
    const wide = source.bitDepth === 16 && /16$/.test(meta.space);
    ({ data, info } = await p
      .toColourspace(wide ? 'rgb16' : 'srgb')
      .raw({ depth: wide ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true }));
    if (wide) data = roundTo8Bits(data);
  } catch (e) {
    throw decodeError(e, name);
  }
  if (info.channels !== 3 && info.channels !== 4)
    throw new Error(`internal: expected 3 or 4 channels after sRGB conversion, got ${info.channels}`);
  return { data, info, format: format as InputFormat, source };
}

/** Native-endian uint16 samples → bytes, round(v · 255 / 65535). */
function roundTo8Bits(raw: Buffer): Buffer {
  const aligned = raw.byteOffset % 2 === 0 ? raw : Buffer.from(raw);
  const v = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.length >> 1);
  const out = Buffer.alloc(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Math.round(v[i] / 257);
  return out;
}

/** RGB bytes and an alpha band → interleaved RGBA bytes (the inverse of splitChannels8). */
export function interleaveAlpha(rgb: Uint8Array, alpha: Uint8Array): Uint8Array {
  const n = alpha.length;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = rgb[i * 3];
    out[i * 4 + 1] = rgb[i * 3 + 1];
    out[i * 4 + 2] = rgb[i * 3 + 2];
    out[i * 4 + 3] = alpha[i];
  }
  return out;
}

/** Interleaved RGB(A) bytes → RGB bytes and, when some pixel is not opaque, the alpha bytes. */
function splitChannels8(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
): { rgb: RgbBytes; alpha?: Uint8Array } {
  const n = width * height;
  if (channels !== 3 && channels !== 4)
    throw new Error(`internal: expected 3 or 4 channels after sRGB conversion, got ${channels}`);
  if (channels === 3) return { rgb: { width, height, data } };
  const rgb = new Uint8Array(n * 3);
  const alpha = new Uint8Array(n);
  let opaque = true;
  for (let i = 0, s = 0, d = 0; i < n; i++, s += 4, d += 3) {
    rgb[d] = data[s];
    rgb[d + 1] = data[s + 1];
    rgb[d + 2] = data[s + 2];
    const a = data[s + 3];
    alpha[i] = a;
    if (a !== 255) opaque = false;
  }
  // GIF and some encoders always carry an alpha band; a fully opaque one is dropped so it
  // costs nothing downstream and JPEG-like outputs need no flattening.
  return opaque ? { rgb: { width, height, data: rgb } } : { rgb: { width, height, data: rgb }, alpha };
}

/** Interleaved RGB(A) bytes → float RGB and, when some pixel is not opaque, the alpha bytes. */
function splitChannels(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
): { rgb: FloatImage; alpha?: Uint8Array } {
  const { rgb, alpha } = splitChannels8(data, width, height, channels);
  const floats: FloatImage = { width, height, channels: 3, data: Float32Array.from(rgb.data) };
  return alpha ? { rgb: floats, alpha } : { rgb: floats };
}

// ---------------------------------------------------------------------------------------------
// Resizing (previews, training crops)

async function resizeRaw(
  bytes: Uint8Array,
  width: number,
  height: number,
  channels: number,
  spec: ResizeSpec,
): Promise<{ data: Buffer; info: OutputInfo }> {
  if (channels < 1 || channels > 4)
    throw new StyleTransferError('bad-input', `cannot resize an image with ${channels} channels`);
  const p = sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), {
    raw: { width, height, channels: channels as 1 | 2 | 3 | 4 },
    limitInputPixels: false,
  });
  return applyResize(p, spec).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
}

/**
 * Resizes a FloatImage (1–4 channels; with 2 or 4 the last is alpha and is treated as such).
 * Values are rounded to bytes first: images here come from 8-bit files.
 */
export async function resizeFloatImage(img: FloatImage, spec: ResizeSpec): Promise<FloatImage> {
  const { data, info } = await resizeRaw(toBytes(img.data), img.width, img.height, img.channels, spec);
  return { width: info.width, height: info.height, channels: info.channels, data: Float32Array.from(data) };
}

/**
 * Resizes RGB and alpha together (sharp premultiplies, so transparent colours do not bleed);
 * other fields (a DecodedImage's format and source) are carried over unchanged.
 */
export async function resizeImage<T extends RgbaImage>(img: T, spec: ResizeSpec): Promise<T> {
  const rgb = toBytes(img.rgb.data);
  const bytes = img.alpha ? interleaveAlpha(rgb, img.alpha) : rgb;
  const { data, info } = await resizeRaw(bytes, img.width, img.height, img.alpha ? 4 : 3, spec);
  const split = splitChannels(data, info.width, info.height, info.channels);
  return { ...img, width: info.width, height: info.height, rgb: split.rgb, alpha: split.alpha };
}

/** resizeImage for byte images (alpha resized with the colours, premultiplied). */
export async function resizeImage8<T extends RgbaImage8>(img: T, spec: ResizeSpec): Promise<T> {
  const bytes = img.alpha ? interleaveAlpha(img.rgb.data, img.alpha) : img.rgb.data;
  const { data, info } = await resizeRaw(bytes, img.width, img.height, img.alpha ? 4 : 3, spec);
  const split = splitChannels8(data, info.width, info.height, info.channels);
  return { ...img, width: info.width, height: info.height, rgb: split.rgb, alpha: split.alpha };
}

/** A float copy of a byte image (what the network takes). */
export function rgbaToFloat<T extends RgbaImage8>(img: T): Omit<T, 'rgb'> & { rgb: FloatImage } {
  return { ...img, rgb: { width: img.width, height: img.height, channels: 3, data: new Float32Array(img.rgb.data) } };
}

/** Resizes to cover width × height and crops the centre: the training-image preparation. */
export function coverCrop(img: FloatImage, width: number, height: number): Promise<FloatImage> {
  return resizeFloatImage(img, { width, height, fit: 'cover' });
}
