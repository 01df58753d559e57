// Byte-level mutations for fuzz inputs, plus format-aware ones (PNG chunks, JPEG markers, GIF
// and WebP headers, TIFF IFDs) that keep a file plausible enough to get past the first checks
// of a decoder and lie where it hurts: sizes, lengths, offsets.
import { crc32 } from '../../helpers/png';
import type { Rng } from './prng';

export type Mutation = { readonly name: string; readonly apply: (b: Buffer, rng: Rng) => Buffer };

export function truncateAt(b: Buffer, n: number): Buffer {
  return Buffer.from(b.subarray(0, Math.max(0, Math.min(b.length, n))));
}

export function flipBits(b: Buffer, rng: Rng, count: number, from = 0): Buffer {
  const out = Buffer.from(b);
  if (out.length <= from) return out;
  for (let i = 0; i < count; i++) {
    const at = rng.int(from, out.length - 1);
    out[at] ^= 1 << rng.int(0, 7);
  }
  return out;
}

export function overwrite(b: Buffer, rng: Rng, len: number, from = 0): Buffer {
  const out = Buffer.from(b);
  if (out.length <= from) return out;
  const at = rng.int(from, out.length - 1);
  for (let i = at; i < Math.min(out.length, at + len); i++) out[i] = rng.int(0, 255);
  return out;
}

/** Sets a run of bytes to one "interesting" value (0x00, 0xff, 0x7f, 0x80). */
export function interesting(b: Buffer, rng: Rng, from = 0): Buffer {
  const out = Buffer.from(b);
  if (out.length <= from) return out;
  const at = rng.int(from, out.length - 1);
  const v = rng.pick([0x00, 0xff, 0x7f, 0x80]);
  out.fill(v, at, Math.min(out.length, at + rng.int(1, 8)));
  return out;
}

export function deleteRange(b: Buffer, rng: Rng, from = 0): Buffer {
  if (b.length <= from + 1) return Buffer.from(b);
  const at = rng.int(from, b.length - 1);
  const len = rng.int(1, Math.min(64, b.length - at));
  return Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
}

export function duplicateRange(b: Buffer, rng: Rng, from = 0): Buffer {
  if (b.length <= from + 1) return Buffer.from(b);
  const at = rng.int(from, b.length - 1);
  const len = rng.int(1, Math.min(256, b.length - at));
  return Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
}

// ---- PNG ------------------------------------------------------------------------------------

interface PngChunk {
  type: string;
  data: Buffer;
}

export function pngChunks(b: Buffer): PngChunk[] {
  const out: PngChunk[] = [];
  for (let p = 8; p + 12 <= b.length;) {
    const len = b.readUInt32BE(p);
    if (p + 12 + len > b.length) break;
    out.push({ type: b.toString('latin1', p + 4, p + 8), data: Buffer.from(b.subarray(p + 8, p + 8 + len)) });
    p += 12 + len;
  }
  return out;
}

function pngChunk(type: string, data: Buffer, badCrc = false): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE((crc32(out.subarray(4, 8 + data.length)) ^ (badCrc ? 1 : 0)) >>> 0, 8 + data.length);
  return out;
}

export function buildPng(chunks: PngChunk[]): Buffer {
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    ...chunks.map((c) => pngChunk(c.type, c.data)),
  ]);
}

/** PNG mutations that keep CRCs valid (so libpng gets past its checks) unless the point is a bad CRC. */
export const PNG_MUTATIONS: Mutation[] = [
  { name: 'ihdr-100000x100000', apply: (b) => pngHeaderLie(b, 100_000, 100_000) },
  { name: 'ihdr-1x2^31', apply: (b) => pngHeaderLie(b, 1, 0x7fffffff) },
  { name: 'ihdr-zero-width', apply: (b) => pngHeaderLie(b, 0, 16) },
  { name: 'ihdr-bitdepth-3', apply: (b) => pngIhdrByte(b, 8, 3) },
  { name: 'ihdr-colourtype-5', apply: (b) => pngIhdrByte(b, 9, 5) },
  { name: 'ihdr-interlace-7', apply: (b) => pngIhdrByte(b, 12, 7) },
  { name: 'idat-dropped', apply: (b) => buildPng(pngChunks(b).filter((c) => c.type !== 'IDAT')) },
  { name: 'iend-dropped', apply: (b) => buildPng(pngChunks(b).filter((c) => c.type !== 'IEND')) },
  {
    name: 'ihdr-twice',
    apply: (b) => {
      const c = pngChunks(b);
      return buildPng([c[0], ...c]);
    },
  },
  {
    name: 'idat-before-ihdr',
    apply: (b) => {
      const c = pngChunks(b);
      const i = c.findIndex((x) => x.type === 'IDAT');
      if (i < 0) return b;
      const [idat] = c.splice(i, 1);
      return buildPng([idat, ...c]);
    },
  },
  {
    name: 'idat-garbage',
    apply: (b, rng) =>
      buildPng(pngChunks(b).map((c) => (c.type === 'IDAT' ? { type: 'IDAT', data: rng.bytes(c.data.length) } : c))),
  },
  {
    name: 'idat-bitflip',
    apply: (b, rng) =>
      buildPng(pngChunks(b).map((c) => (c.type === 'IDAT' ? { type: 'IDAT', data: flipBits(c.data, rng, 4) } : c))),
  },
  {
    name: 'idat-truncated',
    apply: (b) =>
      buildPng(
        pngChunks(b).map((c) =>
          c.type === 'IDAT' ? { type: 'IDAT', data: c.data.subarray(0, Math.floor(c.data.length / 2)) } : c,
        ),
      ),
  },
  {
    name: 'plte-1-entry',
    apply: (b) =>
      buildPng(pngChunks(b).map((c) => (c.type === 'PLTE' ? { type: 'PLTE', data: c.data.subarray(0, 3) } : c))),
  },
  {
    name: 'trns-oversized',
    apply: (b) =>
      buildPng(
        pngChunks(b).flatMap((c) => (c.type === 'IDAT' ? [{ type: 'tRNS', data: Buffer.alloc(4096, 7) }, c] : [c])),
      ),
  },
  {
    name: 'huge-iccp',
    apply: (b, rng) =>
      buildPng(
        pngChunks(b).flatMap((c) =>
          c.type === 'IHDR' ? [c, { type: 'iCCP', data: Buffer.concat([Buffer.from('x\0\0'), rng.bytes(2000)]) }] : [c],
        ),
      ),
  },
  {
    name: 'unknown-critical-chunk',
    apply: (b) =>
      buildPng(pngChunks(b).flatMap((c) => (c.type === 'IHDR' ? [c, { type: 'ZZZZ', data: Buffer.alloc(8) }] : [c]))),
  },
  {
    name: 'exif-garbage',
    apply: (b, rng) =>
      buildPng(
        pngChunks(b).flatMap((c) =>
          c.type === 'IHDR'
            ? [c, { type: 'eXIf', data: Buffer.concat([Buffer.from('MM\0*\0\0\0\x08'), rng.bytes(64)]) }]
            : [c],
        ),
      ),
  },
  {
    name: 'chunk-length-lie',
    apply: (b) => {
      const o = Buffer.from(b);
      o.writeUInt32BE(0x7ffffff0, 33);
      return o;
    },
  },
  {
    name: 'bad-crc',
    apply: (b) => {
      const o = Buffer.from(b);
      o[29] ^= 0xff;
      return o;
    },
  },
];

function pngHeaderLie(b: Buffer, w: number, h: number): Buffer {
  const c = pngChunks(b);
  const ihdr = c.find((x) => x.type === 'IHDR');
  if (!ihdr) return b;
  ihdr.data.writeUInt32BE(w >>> 0, 0);
  ihdr.data.writeUInt32BE(h >>> 0, 4);
  return buildPng(c);
}

function pngIhdrByte(b: Buffer, at: number, v: number): Buffer {
  const c = pngChunks(b);
  const ihdr = c.find((x) => x.type === 'IHDR');
  if (!ihdr) return b;
  ihdr.data[at] = v; // offsets inside IHDR data: 8 depth, 9 colour, 10 compression, 11 filter, 12 interlace
  return buildPng(c);
}

// ---- JPEG -----------------------------------------------------------------------------------

/** Offsets of every marker segment (FFxx with a length) before the scan data. */
function jpegSegments(b: Buffer): { marker: number; at: number; len: number }[] {
  const out: { marker: number; at: number; len: number }[] = [];
  let p = 2;
  while (p + 4 <= b.length && b[p] === 0xff) {
    const marker = b[p + 1];
    const len = b.readUInt16BE(p + 2);
    out.push({ marker, at: p, len });
    if (marker === 0xda) break;
    p += 2 + len;
  }
  return out;
}

function jpegSof(b: Buffer, fn: (o: Buffer, at: number) => void): Buffer {
  const o = Buffer.from(b);
  const sof = jpegSegments(o).find((s) => s.marker >= 0xc0 && s.marker <= 0xc3);
  if (sof) fn(o, sof.at);
  return o;
}

export const JPEG_MUTATIONS: Mutation[] = [
  {
    name: 'sof-65535x65535',
    apply: (b) =>
      jpegSof(b, (o, at) => {
        o.writeUInt16BE(65535, at + 5);
        o.writeUInt16BE(65535, at + 7);
      }),
  },
  { name: 'sof-zero-height', apply: (b) => jpegSof(b, (o, at) => o.writeUInt16BE(0, at + 5)) },
  {
    name: 'sof-1x65535',
    apply: (b) =>
      jpegSof(b, (o, at) => {
        o.writeUInt16BE(65535, at + 5);
        o.writeUInt16BE(1, at + 7);
      }),
  },
  {
    name: 'sof-components-9',
    apply: (b) =>
      jpegSof(b, (o, at) => {
        o[at + 9] = 9;
      }),
  },
  {
    name: 'sof-precision-12',
    apply: (b) =>
      jpegSof(b, (o, at) => {
        o[at + 4] = 12;
      }),
  },
  {
    name: 'segment-length-lie',
    apply: (b, rng) => {
      const o = Buffer.from(b);
      const s = jpegSegments(o);
      if (s.length) {
        const x = rng.pick(s);
        o.writeUInt16BE(rng.pick([0, 1, 2, 0xffff]), x.at + 2);
      }
      return o;
    },
  },
  {
    name: 'dht-garbage',
    apply: (b, rng) => {
      const o = Buffer.from(b);
      const s = jpegSegments(o).find((x) => x.marker === 0xc4);
      if (s) rng.bytes(Math.max(0, s.len - 2)).copy(o, s.at + 4);
      return o;
    },
  },
  {
    name: 'dqt-zeroes',
    apply: (b) => {
      const o = Buffer.from(b);
      const s = jpegSegments(o).find((x) => x.marker === 0xdb);
      if (s) o.fill(0, s.at + 5, s.at + 2 + s.len);
      return o;
    },
  },
  {
    name: 'eoi-dropped',
    apply: (b) =>
      b.length > 2 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9
        ? Buffer.from(b.subarray(0, b.length - 2))
        : b,
  },
  {
    name: 'scan-garbage',
    apply: (b, rng) => {
      const o = Buffer.from(b);
      const sos = jpegSegments(o).find((x) => x.marker === 0xda);
      if (sos) {
        const from = sos.at + 2 + sos.len;
        for (let i = from; i < o.length - 2; i++) if (rng.next() < 0.3) o[i] = rng.int(0, 255);
      }
      return o;
    },
  },
  {
    name: 'app1-exif-garbage',
    apply: (b, rng) => {
      const exif = Buffer.concat([Buffer.from('Exif\0\0MM\0*\0\0\0\x08'), rng.bytes(80)]);
      const seg = Buffer.alloc(4);
      seg[0] = 0xff;
      seg[1] = 0xe1;
      seg.writeUInt16BE(exif.length + 2, 2);
      return Buffer.concat([b.subarray(0, 2), seg, exif, b.subarray(2)]);
    },
  },
  {
    name: 'app2-icc-garbage',
    apply: (b, rng) => {
      const icc = Buffer.concat([Buffer.from('ICC_PROFILE\0\x01\x01'), rng.bytes(300)]);
      const seg = Buffer.alloc(4);
      seg[0] = 0xff;
      seg[1] = 0xe2;
      seg.writeUInt16BE(icc.length + 2, 2);
      return Buffer.concat([b.subarray(0, 2), seg, icc, b.subarray(2)]);
    },
  },
];

// ---- GIF, WebP, TIFF -----------------------------------------------------------------------

export const GIF_MUTATIONS: Mutation[] = [
  {
    name: 'screen-65535x65535',
    apply: (b) => {
      const o = Buffer.from(b);
      o.writeUInt16LE(65535, 6);
      o.writeUInt16LE(65535, 8);
      return o;
    },
  },
  {
    name: 'frame-65535x65535',
    apply: (b) =>
      gifFrame(b, (o, at) => {
        o.writeUInt16LE(65535, at + 5);
        o.writeUInt16LE(65535, at + 7);
      }),
  },
  {
    name: 'frame-offset-outside',
    apply: (b) =>
      gifFrame(b, (o, at) => {
        o.writeUInt16LE(60000, at + 1);
        o.writeUInt16LE(60000, at + 3);
      }),
  },
  {
    name: 'lzw-code-size-12',
    apply: (b) =>
      gifFrame(b, (o, at) => {
        const local = o[at + 9] & 0x80 ? 3 * (2 << (o[at + 9] & 7)) : 0;
        if (at + 10 + local < o.length) o[at + 10 + local] = 12;
      }),
  },
  { name: 'trailer-dropped', apply: (b) => (b[b.length - 1] === 0x3b ? Buffer.from(b.subarray(0, b.length - 1)) : b) },
];

function gifFrame(b: Buffer, fn: (o: Buffer, at: number) => void): Buffer {
  const o = Buffer.from(b);
  const at = o.indexOf(0x2c, 13); // first image descriptor (may also hit palette bytes: fine for a fuzzer)
  if (at > 0 && at + 10 < o.length) fn(o, at);
  return o;
}

export const WEBP_MUTATIONS: Mutation[] = [
  {
    name: 'riff-size-lie',
    apply: (b) => {
      const o = Buffer.from(b);
      o.writeUInt32LE(0xfffffff0, 4);
      return o;
    },
  },
  {
    name: 'chunk-size-lie',
    apply: (b) => {
      const o = Buffer.from(b);
      if (o.length > 20) o.writeUInt32LE(0x7ffffff0, 16);
      return o;
    },
  },
  {
    name: 'vp8x-canvas-16384',
    apply: (b) => {
      const o = Buffer.from(b);
      if (o.toString('latin1', 12, 16) === 'VP8X' && o.length > 30) {
        o.writeUIntLE(16383, 24, 3);
        o.writeUIntLE(16383, 27, 3);
      } else if (o.length > 30) {
        o.writeUInt16LE(16383, 26);
        o.writeUInt16LE(16383, 28);
      }
      return o;
    },
  },
  {
    name: 'fourcc-swapped',
    apply: (b) => {
      const o = Buffer.from(b);
      o.write('VP8 ', 12, 'latin1');
      return o;
    },
  },
];

/** TIFF IFD entries (little- or big-endian) with their offsets, for targeted lies. */
function tiffEntries(b: Buffer): { le: boolean; entries: { tag: number; at: number }[] } | undefined {
  if (b.length < 16) return undefined;
  const le = b.toString('latin1', 0, 2) === 'II';
  const u16 = (p: number) => (le ? b.readUInt16LE(p) : b.readUInt16BE(p));
  const u32 = (p: number) => (le ? b.readUInt32LE(p) : b.readUInt32BE(p));
  const ifd = u32(4);
  if (ifd + 2 > b.length) return undefined;
  const n = u16(ifd);
  const entries: { tag: number; at: number }[] = [];
  for (let i = 0; i < n && ifd + 2 + i * 12 + 12 <= b.length; i++)
    entries.push({ tag: u16(ifd + 2 + i * 12), at: ifd + 2 + i * 12 });
  return { le, entries };
}

function tiffSet(b: Buffer, tag: number, value: number, type?: number, count?: number): Buffer {
  const o = Buffer.from(b);
  const t = tiffEntries(o);
  const e = t?.entries.find((x) => x.tag === tag);
  if (!t || !e) return o;
  const w16 = (v: number, p: number) => (t.le ? o.writeUInt16LE(v, p) : o.writeUInt16BE(v, p));
  const w32 = (v: number, p: number) => (t.le ? o.writeUInt32LE(v >>> 0, p) : o.writeUInt32BE(v >>> 0, p));
  if (type !== undefined) w16(type, e.at + 2);
  if (count !== undefined) w32(count, e.at + 4);
  const ty = t.le ? o.readUInt16LE(e.at + 2) : o.readUInt16BE(e.at + 2);
  if (ty === 3) {
    w16(value & 0xffff, e.at + 8);
  } else w32(value, e.at + 8);
  return o;
}

export const TIFF_MUTATIONS: Mutation[] = [
  { name: 'width-100000-height-100000', apply: (b) => tiffSet(tiffSet(b, 256, 100_000, 4), 257, 100_000, 4) },
  { name: 'width-zero', apply: (b) => tiffSet(b, 256, 0, 4) },
  { name: 'strip-offset-outside', apply: (b) => tiffSet(b, 273, 0x7ffffff0, 4) },
  { name: 'strip-bytecount-huge', apply: (b) => tiffSet(b, 279, 0x7ffffff0, 4) },
  { name: 'bits-per-sample-13', apply: (b) => tiffSet(b, 258, 13, 3, 1) },
  { name: 'samples-per-pixel-200', apply: (b) => tiffSet(b, 277, 200, 3) },
  { name: 'compression-unknown', apply: (b) => tiffSet(b, 259, 60000, 3) },
  { name: 'photometric-unknown', apply: (b) => tiffSet(b, 262, 99, 3) },
  { name: 'entry-count-huge', apply: (b) => tiffSet(b, 273, 0x40, 4, 0x3fffffff) },
  {
    name: 'ifd-loop',
    apply: (b) => {
      const o = Buffer.from(b);
      const le = o.toString('latin1', 0, 2) === 'II';
      const ifd = le ? o.readUInt32LE(4) : o.readUInt32BE(4);
      const n = le ? o.readUInt16LE(ifd) : o.readUInt16BE(ifd);
      const next = ifd + 2 + n * 12;
      if (next + 4 <= o.length) {
        if (le) o.writeUInt32LE(ifd, next);
        else o.writeUInt32BE(ifd, next);
      }
      return o;
    },
  },
  {
    name: 'ifd-offset-outside',
    apply: (b) => {
      const o = Buffer.from(b);
      if (o.toString('latin1', 0, 2) === 'II') o.writeUInt32LE(0xfffffff0, 4);
      else o.writeUInt32BE(0xfffffff0, 4);
      return o;
    },
  },
];
