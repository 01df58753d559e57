// A minimal PNG writer for tests, so fixtures with exact bit depths, colour types, palettes and
// lying headers (decompression bombs, truncation) can be built byte by byte (PNG spec, W3C 2003).
import zlib from 'node:zlib';
import { PNG_SIGNATURE as SIGNATURE, crc32, pngChunk } from '../../src/io/apng';

export { crc32 };

export function chunk(type: string, data: Uint8Array = new Uint8Array(0)): Buffer {
  return pngChunk(type, data);
}

export const PNG_SIGNATURE = Buffer.from(SIGNATURE);

/** PNG colour types. */
export const GREY = 0,
  RGB = 2,
  PALETTE = 3,
  GREY_ALPHA = 4,
  RGBA = 6;
const SAMPLES: Record<number, number> = { [GREY]: 1, [RGB]: 3, [PALETTE]: 1, [GREY_ALPHA]: 2, [RGBA]: 4 };

export function ihdr(width: number, height: number, bitDepth: number, colourType: number): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = bitDepth;
  d[9] = colourType;
  return chunk('IHDR', d); // compression 0, filter 0, interlace 0
}

export interface PngSpec {
  width: number;
  height: number;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  colourType: number;
  /** Samples in row order, one number per sample (0..2^bitDepth-1); packed here. */
  samples: ArrayLike<number>;
  palette?: Array<[number, number, number]>;
  /** Palette alpha (tRNS) for palette images. */
  paletteAlpha?: number[];
}

/** Encodes samples as a valid PNG (filter type 0 on every row). */
export function makePng(spec: PngSpec): Buffer {
  const { width, height, bitDepth, colourType, samples } = spec;
  const perPixel = SAMPLES[colourType];
  const rowBits = width * perPixel * bitDepth;
  const rowBytes = Math.ceil(rowBits / 8);
  const raw = Buffer.alloc(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    const row = y * (rowBytes + 1) + 1;
    for (let i = 0; i < width * perPixel; i++) {
      const v = samples[y * width * perPixel + i];
      if (bitDepth === 16) {
        raw.writeUInt16BE(v, row + i * 2);
      } else if (bitDepth === 8) {
        raw[row + i] = v;
      } else {
        const bit = i * bitDepth;
        raw[row + (bit >> 3)] |= v << (8 - bitDepth - (bit & 7));
      }
    }
  }
  const parts = [PNG_SIGNATURE, ihdr(width, height, bitDepth, colourType)];
  if (spec.palette) parts.push(chunk('PLTE', Uint8Array.from(spec.palette.flat())));
  if (spec.paletteAlpha) parts.push(chunk('tRNS', Uint8Array.from(spec.paletteAlpha)));
  parts.push(chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND'));
  return Buffer.concat(parts);
}

/**
 * A decompression bomb: a valid PNG header declaring width × height 1-bit grey pixels. With
 * `blankRows` the IDAT really holds that many zero rows (a few KB of zlib for many MB of
 * pixels); otherwise it holds a single row, so the file is tiny and lies about its size.
 */
export function bombPng(width: number, height: number, blankRows = 1): Buffer {
  const rowBytes = Math.ceil(width / 8) + 1;
  const idat = zlib.deflateSync(Buffer.alloc(rowBytes * blankRows), { level: 9 });
  return Buffer.concat([PNG_SIGNATURE, ihdr(width, height, 1, GREY), chunk('IDAT', idat), chunk('IEND')]);
}
