// Writes an animated PNG frame by frame, with each frame's own delay (ffmpeg's APNG muxer
// takes frames from a pipe at one rate only). Each full frame is encoded as a PNG by sharp and
// its IDAT data taken: the file is the signature, the first frame's IHDR, acTL (frames,
// plays), then per frame an fcTL (the whole canvas, its delay, dispose and blend ops 0) and
// its data (IDAT for the first frame, so plain PNG viewers show it; fdAT with sequence numbers
// after), and IEND. One frame is in memory at a time; the file is written as it comes (give
// a temporary name: writeProducedFile renames it).
import fsp from 'node:fs/promises';
import sharp from 'sharp';
import { StyleTransferError } from '../protocol/errors';
import { PNG_SIGNATURE, delayMs, pngChunk as chunk, type ApngDelay } from './apng';

export interface ApngWriterOptions {
  readonly width: number;
  readonly height: number;
  /** Times to play (0 = for ever). */
  readonly plays: number;
  /** Each frame's delay, in order; the acTL announces this many frames. */
  readonly delays: readonly ApngDelay[];
}

/** Where acTL starts: after the signature (8 bytes) and IHDR (12 + 13). */
const ACTL_AT = 8 + 25;
const FCTL_LENGTH = 26;

/** The chunks of a PNG sharp made: its IHDR data and its IDAT chunks (whole, with length and CRC). */
function pngParts(png: Buffer): { ihdr: Buffer; idat: Buffer[] } {
  let ihdr: Buffer | undefined;
  const idat: Buffer[] = [];
  for (let at = 8; at + 12 <= png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    if (type === 'IHDR') ihdr = png.subarray(at + 8, at + 8 + length);
    else if (type === 'IDAT') idat.push(png.subarray(at, at + 12 + length));
    else if (type === 'IEND') break;
    at += 12 + length;
  }
  if (!ihdr || idat.length === 0) throw new StyleTransferError('backend', 'sharp made a PNG without IHDR or IDAT');
  return { ihdr, idat };
}

/** A delay of `ms` milliseconds as a fraction whose numerator fits 16 bits. */
function delayOf(ms: number): ApngDelay {
  for (const den of [1000, 100, 10, 1]) {
    const num = Math.round((ms * den) / 1000);
    if (num <= 0xffff) return { num: Math.max(0, num), den };
  }
  return { num: 0xffff, den: 1 };
}

/**
 * An APNG written frame by frame to `target` (RGB or RGBA frames of width × height).
 * The same shape as FrameEncoder: write, finish, kill, close.
 */
export class ApngWriter {
  private frames = 0;
  private seq = 0;
  private at = 0;
  private ihdr?: Buffer;
  /** Offset and sequence number of each frame's fcTL, to rewrite the delays if the count is off. */
  private readonly fctls: { at: number; seq: number }[] = [];
  private stopped = false;
  /** A frame that failed: the file is not finished after it. */
  private failure?: unknown;
  private pending: Promise<void> = Promise.resolve();
  /** Set by finish() when the frames written were not as many as the delays: each got their average. */
  averaged?: { frames: number; expected: number; delay: ApngDelay };

  private constructor(
    private readonly fh: fsp.FileHandle,
    private readonly opts: ApngWriterOptions,
  ) {}

  /** Creates `target` (it must not exist). */
  static async create(target: string, opts: ApngWriterOptions): Promise<ApngWriter> {
    return new ApngWriter(await fsp.open(target, 'wx'), opts);
  }

  private fctl(seq: number, delay: ApngDelay): Buffer {
    const d = Buffer.alloc(FCTL_LENGTH);
    d.writeUInt32BE(seq, 0);
    d.writeUInt32BE(this.opts.width, 4);
    d.writeUInt32BE(this.opts.height, 8);
    // x and y offsets 0; dispose_op 0 (none) and blend_op 0 (source): every frame is whole.
    d.writeUInt16BE(delay.num, 20);
    d.writeUInt16BE(delay.den, 22);
    return chunk('fcTL', d);
  }

  private async append(parts: Buffer[]): Promise<void> {
    const bytes = Buffer.concat(parts);
    await this.fh.write(bytes, 0, bytes.length, this.at);
    this.at += bytes.length;
  }

  private averageDelay(frames: number): ApngDelay {
    const total = this.opts.delays.reduce((s, d) => s + delayMs(d), 0);
    return delayOf(total / Math.max(1, frames));
  }

  /** Encodes and appends one frame; resolves when it is written. */
  write(frame: Uint8Array): Promise<void> {
    const next = this.pending.then(() => this.writeFrame(frame));
    this.pending = next.catch((e: unknown) => {
      this.failure ??= e;
    });
    return next;
  }

  private async writeFrame(frame: Uint8Array): Promise<void> {
    if (this.stopped) throw new StyleTransferError('backend', 'the animated PNG writer was stopped');
    const { width, height } = this.opts;
    const channels = frame.length / (width * height);
    if (channels !== 3 && channels !== 4) throw new Error(`a frame of ${frame.length} bytes is not ${width}×${height}`);
    const png = await sharp(frame, { raw: { width, height, channels } }).png().toBuffer();
    const { ihdr, idat } = pngParts(png);
    const parts: Buffer[] = [];
    if (!this.ihdr) {
      this.ihdr = Buffer.from(ihdr);
      const actl = Buffer.alloc(8);
      actl.writeUInt32BE(this.opts.delays.length, 0);
      actl.writeUInt32BE(this.opts.plays, 4);
      parts.push(Buffer.from(PNG_SIGNATURE), chunk('IHDR', ihdr), chunk('acTL', actl));
    } else if (!this.ihdr.equals(ihdr)) {
      throw new StyleTransferError('backend', `frame ${this.frames + 1} was encoded with another PNG header`);
    }
    const delay = this.opts.delays[this.frames] ?? this.averageDelay(this.opts.delays.length);
    const fctlAt = this.at + parts.reduce((s, p) => s + p.length, 0);
    this.fctls.push({ at: fctlAt, seq: this.seq });
    parts.push(this.fctl(this.seq++, delay));
    if (this.frames === 0) parts.push(...idat);
    else
      for (const c of idat) {
        const body = Buffer.alloc(c.length - 8);
        body.writeUInt32BE(this.seq++, 0);
        c.copy(body, 4, 8, c.length - 4);
        parts.push(chunk('fdAT', body));
      }
    await this.append(parts);
    this.frames++;
  }

  /**
   * Ends the file (IEND). If the frames written are not as many as the delays given, the acTL
   * is corrected and every frame gets the average delay (the total duration kept): `averaged`.
   */
  async finish(): Promise<void> {
    await this.pending;
    if (this.failure !== undefined) throw this.failure;
    if (this.stopped) throw new StyleTransferError('backend', 'the animated PNG writer was stopped');
    try {
      if (this.frames === 0) return;
      await this.append([chunk('IEND', Buffer.alloc(0))]);
      const expected = this.opts.delays.length;
      if (this.frames !== expected) {
        const actl = Buffer.alloc(8);
        actl.writeUInt32BE(this.frames, 0);
        actl.writeUInt32BE(this.opts.plays, 4);
        const c = chunk('acTL', actl);
        await this.fh.write(c, 0, c.length, ACTL_AT);
        const delay = this.averageDelay(this.frames);
        for (const f of this.fctls) {
          const fc = this.fctl(f.seq, delay);
          await this.fh.write(fc, 0, fc.length, f.at);
        }
        this.averaged = { frames: this.frames, expected, delay };
      }
    } finally {
      this.stopped = true;
      await this.fh.close();
    }
  }

  /** Stops: the next write fails (the caller removes the file). */
  kill(): void {
    this.stopped = true;
  }

  async close(): Promise<void> {
    this.kill();
    await this.pending;
    await this.fh.close().catch(() => undefined);
  }
}
