// Frames in and out of ffmpeg through pipes: a decoder that yields raw RGB frames one at a
// time (reading stops while `ahead` frames wait, so ffmpeg blocks on a full pipe: bounded
// memory whatever the clip's length), and an encoder that takes frames on its stdin (a write
// waits while the pipe is full). Both are killed on cancel.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { StyleTransferError } from '../protocol/errors';
import { killProcess, passthroughArgs, videoStreamInput, type FfmpegTools, type VideoInfo } from './ffmpeg';

/** The last lines ffmpeg wrote on stderr (its error), kept small. */
class StderrTail {
  private text = '';
  constructor(child: ChildProcessWithoutNullStreams) {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      this.text = (this.text + s).slice(-4000);
    });
  }
  lastLine(): string {
    return this.text.trim().split('\n').pop()?.trim() ?? '';
  }
  all(): string {
    return this.text.trim();
  }
}

function exited(
  child: ChildProcessWithoutNullStreams,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else {
      child.once('close', (code, signal) => resolve({ code, signal }));
      // A process that never started (spawn failed) may not emit 'close'.
      child.once('error', () => {
        if (child.pid === undefined) resolve({ code: -1, signal: null });
      });
    }
  });
}

/** Decodes the first video stream of `file` into RGB24 frames of info.width × info.height. */
export class FrameDecoder {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly stderr: StderrTail;
  private readonly frameBytes: number;
  private readonly frames: Buffer[] = [];
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private ended = false;
  private failure?: Error;
  private wake?: () => void;
  private readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    tools: FfmpegTools,
    private readonly file: string,
    info: VideoInfo,
    private readonly ahead = 3,
  ) {
    this.frameBytes = info.width * info.height * 3;
    this.child = spawn(
      tools.ffmpeg,
      [
        ...videoStreamInput(file),
        // Every decoded frame once, in order: the output has the input's frame count.
        ...passthroughArgs(tools),
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        'pipe:1',
      ],
      { shell: false, windowsHide: true, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.child.stdin.end();
    this.stderr = new StderrTail(this.child);
    this.done = exited(this.child);
    this.child.on('error', (e) => {
      this.failure = new StyleTransferError('backend', `could not run ffmpeg: ${e.message}`);
      this.notify();
    });
    this.child.stdout.on('data', (chunk: Buffer) => this.take(chunk));
    this.child.stdout.on('end', () => {
      this.ended = true;
      this.notify();
    });
    void this.done.then(() => {
      this.ended = true;
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private take(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(this.frameBytes - this.partialBytes, chunk.length - off);
      this.partial.push(chunk.subarray(off, off + n));
      this.partialBytes += n;
      off += n;
      if (this.partialBytes === this.frameBytes) {
        this.frames.push(this.partial.length === 1 ? Buffer.from(this.partial[0]) : Buffer.concat(this.partial));
        this.partial = [];
        this.partialBytes = 0;
      }
    }
    if (this.frames.length >= this.ahead) this.child.stdout.pause();
    this.notify();
  }

  /** The next frame (RGB24), or undefined at the end of the clip; a decode failure throws 'bad-image'. */
  async next(): Promise<Buffer | undefined> {
    for (;;) {
      if (this.failure) throw this.failure;
      const f = this.frames.shift();
      if (f) {
        if (this.frames.length < this.ahead) this.child.stdout.resume();
        return f;
      }
      if (this.ended && this.frames.length === 0) {
        const { code, signal } = await this.done;
        if (code !== 0)
          throw new StyleTransferError(
            'bad-image',
            `${this.file} could not be decoded: ${this.stderr.lastLine() || `ffmpeg exited with ${code ?? signal}`}`,
            this.stderr.all(),
          );
        return undefined;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  kill(): void {
    killProcess(this.child);
    // A paused pipe with unread frames would hold the child's 'close' back.
    this.child.stdout.destroy();
  }

  async close(): Promise<void> {
    this.kill();
    await this.done;
  }
}

/** Audio codecs an MP4 holds as they are; others (Vorbis, PCM…) are re-encoded as AAC. */
const MP4_AUDIO = new Set(['aac', 'mp3', 'alac', 'ac3', 'eac3', 'opus', 'flac']);

export interface EncoderOptions {
  /** The clip whose audio is copied into the output. */
  readonly audioFrom: string;
  readonly info: VideoInfo;
  /** x264's constant rate factor (lower = better; default 18, visually lossless for most clips). */
  readonly crf?: number;
  readonly preset?: string;
}

/** The output options of the MP4 (H.264, the clip's audio copied or re-encoded), after the inputs. */
function outputArgs(tools: FfmpegTools, target: string, opts: EncoderOptions): string[] {
  const { info } = opts;
  const even = info.width % 2 === 0 && info.height % 2 === 0;
  const audio = info.hasAudio
    ? ['-map', '1:a?', ...(MP4_AUDIO.has(info.audioCodec ?? '') ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', '192k'])]
    : [];
  return [
    '-map',
    '0:v:0',
    ...audio,
    // A 10-frame lookahead instead of medium's 40: x264 held 245 MB at 720p, now 175 MB.
    '-c:v',
    'libx264',
    '-preset',
    opts.preset ?? 'medium',
    '-crf',
    String(opts.crf ?? 18),
    '-rc-lookahead',
    '10',
    // BT.709 conversion, tagged, so players show the colours we computed.
    '-vf',
    `scale=out_color_matrix=bt709:out_range=tv,format=${even ? 'yuv420p' : 'yuv444p'}`,
    '-colorspace',
    'bt709',
    '-color_primaries',
    'bt709',
    '-color_trc',
    'bt709',
    '-color_range',
    'tv',
    ...passthroughArgs(tools),
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    '-y',
    target,
  ];
}

/**
 * Encodes RGB24 frames as H.264 in an MP4 (or as an animated PNG) at `target` (written as is:
 * give a temporary name). Even sizes use 4:2:0 (plays everywhere); an odd width or height cannot be 4:2:0 in H.264, so
 * those keep their exact size in 4:4:4.
 */
export class FrameEncoder {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly stderr: StderrTail;
  private readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private failure?: Error;
  private closed = false;

  constructor(tools: FfmpegTools, target: string, opts: EncoderOptions) {
    const { info } = opts;
    const withAudio = info.hasAudio;
    this.child = spawn(
      tools.ffmpeg,
      [
        '-v',
        'error',
        '-nostdin',
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        '-s',
        `${info.width}x${info.height}`,
        '-framerate',
        info.frameRate,
        '-i',
        'pipe:0',
        ...(withAudio ? ['-i', opts.audioFrom] : []),
        ...outputArgs(tools, target, opts),
      ],
      { shell: false, windowsHide: true, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.child.stdout.resume();
    this.stderr = new StderrTail(this.child);
    this.done = exited(this.child);
    void this.done.then(() => {
      this.closed = true;
    });
    this.child.on('error', (e) => {
      this.failure = new StyleTransferError('backend', `could not run ffmpeg: ${e.message}`);
    });
    // A write after ffmpeg died surfaces in finish(); EPIPE here must not crash the process.
    this.child.stdin.on('error', (e) => {
      this.failure ??= e;
    });
  }

  private error(): StyleTransferError {
    return new StyleTransferError(
      'backend',
      `ffmpeg failed to encode the video: ${this.stderr.lastLine() || this.failure?.message || 'it stopped'}`,
      this.stderr.all(),
    );
  }

  /** Queues one frame; resolves when ffmpeg can take more (the pipe drained). */
  async write(frame: Uint8Array): Promise<void> {
    if (this.failure || this.closed) throw this.error();
    if (this.child.stdin.write(frame)) return;
    // Until the pipe drains, or ffmpeg is gone (then the frame never will be taken).
    await Promise.race([new Promise<void>((resolve) => this.child.stdin.once('drain', resolve)), this.done]);
    if (this.failure || this.closed) throw this.error();
  }

  /** Ends the input and waits for ffmpeg to finish the file. */
  async finish(): Promise<void> {
    this.child.stdin.end();
    const { code } = await this.done;
    if (code !== 0 || this.failure) throw this.error();
  }

  kill(): void {
    killProcess(this.child);
    this.child.stdin.destroy();
  }

  async close(): Promise<void> {
    this.kill();
    await this.done;
  }
}
