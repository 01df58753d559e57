// Animated PNG (APNG): sharp reads only its first frame, so ffmpeg decodes an APNG's frames (it
// composes each frame's region, dispose and blend ops into full frames, and skips a default
// image that is not part of the animation) while the timing comes from here. An APNG is a PNG whose acTL chunk (animation control: frame count, plays) comes
// before its first IDAT; each frame has an fcTL chunk (region, delay, dispose and blend ops)
// followed by its data (IDAT for a first frame that is the default image, fdAT after). This
// walks the chunk headers only (lengths checked against the file's size, CRCs of the small
// control chunks checked), never the image data. The writer is apngWrite.ts.
import fsp from 'node:fs/promises';
import { StyleTransferError } from '../protocol/errors';

export interface ApngControl {
  /** Frames the acTL chunk announces. */
  readonly frames: number;
  /** Times to play (0 = for ever). */
  readonly plays: number;
}

/** How long a frame shows: num/den seconds (a den of 0 in the file is read as 100, per the spec). */
export interface ApngDelay {
  readonly num: number;
  readonly den: number;
}

export interface ApngAnimation extends ApngControl {
  /** The canvas (IHDR). */
  readonly width: number;
  readonly height: number;
  /** Each frame's delay, in order: one per fcTL chunk (as many as `frames`). */
  readonly delays: readonly ApngDelay[];
}

export const PNG_SIGNATURE: readonly number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Chunks looked at before giving up on finding acTL (a PNG has a handful before its image data). */
const MAX_CHUNKS = 256;
/** Chunks walked in a whole APNG (two or three per frame): a bound on the time a hostile file takes. */
const MAX_ANIMATION_CHUNKS = 1_000_000;
/** PNG's largest chunk length (2^31 - 1). */
const MAX_CHUNK_LENGTH = 0x7fffffff;
const ACTL_LENGTH = 8;
const FCTL_LENGTH = 26;

/** Milliseconds a frame shows. */
export function delayMs(d: ApngDelay): number {
  return (d.num * 1000) / d.den;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (PNG's: ISO 3309), continued from `crc` when given. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A chunk's CRC: over its type and data. */
export function chunkCrc(type: string, data: Uint8Array): number {
  return crc32(data, crc32(Buffer.from(type, 'latin1')));
}

/** A whole PNG chunk: length, type, data and CRC. */
export function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(chunkCrc(type, data), 8 + data.length);
  return out;
}

/** The animation control of an APNG, or undefined for a still PNG (or anything else). */
export async function readApngControl(file: string): Promise<ApngControl | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(16);
    if ((await fh.read(head, 0, 8, 0)).bytesRead < 8 || PNG_SIGNATURE.some((b, i) => head[i] !== b)) return undefined;
    let at = 8;
    for (let n = 0; n < MAX_CHUNKS; n++) {
      if ((await fh.read(head, 0, 8, at)).bytesRead < 8) return undefined;
      const length = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (type === 'IDAT' || type === 'IEND') return undefined;
      if (type === 'acTL') {
        if (length !== ACTL_LENGTH || (await fh.read(head, 8, 8, at + 8)).bytesRead < 8) return undefined;
        const frames = head.readUInt32BE(8);
        return frames > 0 ? { frames, plays: head.readUInt32BE(12) } : undefined;
      }
      at += 12 + length;
    }
    return undefined;
  } finally {
    await fh.close();
  }
}

/** Whether `file` is an animated PNG (extension .png or .apng, acTL before IDAT). */
export async function isApngFile(file: string): Promise<boolean> {
  if (!/\.a?png$/i.test(file)) return false;
  return (await readApngControl(file)) !== undefined;
}

/** Reads a file at given offsets through a small window, so many small chunks cost few reads. */
class WindowReader {
  private window = Buffer.alloc(0);
  private start = 0;
  constructor(
    private readonly fh: fsp.FileHandle,
    readonly size: number,
    private readonly file: string,
  ) {}

  /** `n` bytes at `at` if the window holds them (no await: a walk over many small chunks stays fast). */
  cached(at: number, n: number): Buffer | undefined {
    if (at < this.start || at + n > this.start + this.window.length) return undefined;
    return this.window.subarray(at - this.start, at - this.start + n);
  }

  /** `n` bytes at `at` (the caller has checked they are inside the file). */
  async bytes(at: number, n: number): Promise<Buffer> {
    const hit = this.cached(at, n);
    if (hit) return hit;
    const buf = Buffer.alloc(Math.min(Math.max(n, 64 * 1024), this.size - at));
    const { bytesRead } = await this.fh.read(buf, 0, buf.length, at);
    if (bytesRead < n) throw new StyleTransferError('bad-image', `${this.file} changed while it was read`);
    this.window = buf.subarray(0, bytesRead);
    this.start = at;
    return this.window.subarray(0, n);
  }
}

/**
 * The timing of the APNG `file`: canvas size, plays and each frame's delay (fcTL chunks).
 * A corrupt file (a chunk running past the end, bad control chunks, frame counts that
 * disagree, no IEND) is one 'bad-image' line.
 */
export async function readApngAnimation(file: string): Promise<ApngAnimation> {
  const corrupt = (why: string) => new StyleTransferError('bad-image', `${file} is a corrupt animated PNG: ${why}`);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    throw new StyleTransferError('not-found', `${file} cannot be read: ${(e as Error).message}`);
  }
  try {
    const r = new WindowReader(fh, (await fh.stat()).size, file);
    if (r.size < 8) throw corrupt('it is shorter than a PNG signature');
    const sig = await r.bytes(0, 8);
    if (PNG_SIGNATURE.some((b, i) => sig[i] !== b)) throw corrupt('no PNG signature');
    let width = 0;
    let height = 0;
    let control: ApngControl | undefined;
    let seenIdat = false;
    const delays: ApngDelay[] = [];
    let at = 8;
    for (let n = 0; ; n++) {
      if (n >= MAX_ANIMATION_CHUNKS) throw corrupt(`more than ${MAX_ANIMATION_CHUNKS} chunks`);
      if (at === r.size) throw corrupt('it ends without an IEND chunk (truncated?)');
      if (at + 12 > r.size) throw corrupt(`it ends inside a chunk header at byte ${at} (truncated?)`);
      const head = r.cached(at, 8) ?? (await r.bytes(at, 8));
      const length = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (!/^[A-Za-z]{4}$/.test(type)) throw corrupt(`a chunk at byte ${at} has no valid type`);
      if (length > MAX_CHUNK_LENGTH || at + 12 + length > r.size)
        throw corrupt(`chunk ${type} at byte ${at} (${length} bytes) runs past the end of the file (${r.size} bytes)`);
      if (n === 0 && (type !== 'IHDR' || length !== 13)) throw corrupt('it does not start with an IHDR chunk');
      const data = async (expected: number) => {
        if (length !== expected) throw corrupt(`chunk ${type} at byte ${at} is ${length} bytes, not ${expected}`);
        const body = await r.bytes(at + 8, length + 4);
        if (body.readUInt32BE(length) !== chunkCrc(type, body.subarray(0, length)))
          throw corrupt(`chunk ${type} at byte ${at} fails its CRC check`);
        return body.subarray(0, length);
      };
      if (type === 'IHDR') {
        const d = await data(13);
        width = d.readUInt32BE(0);
        height = d.readUInt32BE(4);
        if (width === 0 || height === 0) throw corrupt(`its canvas is ${width}×${height}`);
      } else if (type === 'acTL') {
        const d = await data(ACTL_LENGTH);
        if (control || seenIdat) throw corrupt(`an acTL chunk at byte ${at} after the image data or another acTL`);
        control = { frames: d.readUInt32BE(0), plays: d.readUInt32BE(4) };
        if (control.frames === 0) throw corrupt('its acTL announces 0 frames');
      } else if (type === 'fcTL') {
        const d = await data(FCTL_LENGTH);
        const [w, h, x, y] = [4, 8, 12, 16].map((o) => d.readUInt32BE(o));
        if (w === 0 || h === 0 || x + w > width || y + h > height)
          throw corrupt(
            `frame ${delays.length + 1}'s region ${w}×${h} at ${x},${y} is outside the ${width}×${height} canvas`,
          );
        if (d[24] > 2 || d[25] > 1) throw corrupt(`frame ${delays.length + 1} has unknown dispose or blend ops`);
        if (control && delays.length >= control.frames)
          throw corrupt(`it holds more fcTL chunks than the ${control.frames} frames its acTL announces`);
        const den = d.readUInt16BE(22);
        delays.push({ num: d.readUInt16BE(20), den: den === 0 ? 100 : den });
      } else if (type === 'IDAT') {
        seenIdat = true;
      } else if (type === 'IEND') {
        break;
      }
      at += 12 + length;
    }
    if (!control) throw corrupt('it has no acTL chunk before its image data');
    if (!seenIdat) throw corrupt('it has no IDAT chunk');
    if (delays.length !== control.frames)
      throw corrupt(`its acTL announces ${control.frames} frames, it holds ${delays.length} fcTL chunks`);
    return { ...control, width, height, delays };
  } finally {
    await fh.close();
  }
}
