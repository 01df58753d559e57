// Single frames and small previews of clips, for the gallery: one frame at a given time as PNG
// bytes (the frame picker), and a small WebM of a stylized clip that a webview can play (VS Code's
// Electron has no H.264 or AAC decoder, but plays VP8/VP9). All through ffmpeg with argument
// arrays, never a shell.
import fsp from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { StyleTransferError } from '../protocol/errors';
import { passthroughArgs, runTool, spawnTool, videoStreamInput, type FfmpegTools, type VideoInfo } from './ffmpeg';

/** Runs `bin` and returns its stdout as bytes (capped), with the last line of its stderr. */
async function captureBytes(
  bin: string,
  args: readonly string[],
  opts: { signal?: AbortSignal; maxBytes?: number } = {},
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const out: Buffer[] = [];
  let outBytes = 0;
  let err = '';
  const utf8 = new StringDecoder('utf8');
  const cap = opts.maxBytes ?? 256 * 1024 * 1024;
  const code = await spawnTool(bin, args, opts.signal, {
    stdout: (b, kill) => {
      outBytes += b.length;
      if (outBytes > cap) kill();
      else out.push(b);
    },
    stderr: (b) => {
      err = (err + utf8.write(b)).slice(-4000);
    },
  });
  if (outBytes > cap) throw new StyleTransferError('image-too-large', `ffmpeg's output is over ${cap} bytes`);
  return { code, stdout: Buffer.concat(out), stderr: err.trim() };
}

/** The time of the last frame's start (a seek past it finds nothing). */
export function lastFrameTime(info: Pick<VideoInfo, 'duration' | 'fps'>): number {
  return Math.max(0, info.duration - 1 / info.fps);
}

/**
 * The frame shown at `seconds` (clamped to the clip) as PNG bytes, upright, in its own size.
 * The seek is exact (ffmpeg decodes from the keyframe before it); a time past the last frame
 * gives the last frame.
 */
export async function extractFrame(
  tools: FfmpegTools,
  file: string,
  info: Pick<VideoInfo, 'duration' | 'fps'>,
  seconds: number,
  opts: { signal?: AbortSignal } = {},
): Promise<Buffer> {
  const at = Math.min(Math.max(0, seconds), lastFrameTime(info));
  const run = (seek: string[]) =>
    captureBytes(
      tools.ffmpeg,
      [...videoStreamInput(file, seek), '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', 'pipe:1'],
      opts,
    );
  let r = await run(['-ss', at.toFixed(6)]);
  // A variable frame rate or a short last frame can leave nothing after the seek: the last frame then.
  if (r.code === 0 && r.stdout.length === 0) r = await run(['-sseof', '-1']);
  if (r.code !== 0 || r.stdout.length === 0)
    throw new StyleTransferError(
      'bad-image',
      `${file}: no frame at ${at.toFixed(2)} s: ${r.stderr.split('\n').pop() || `ffmpeg exited with ${r.code}`}`,
    );
  return r.stdout;
}

/** The WebM video encoders a webview can play, best first. */
export const WEBM_ENCODERS = ['libvpx-vp9', 'libvpx'] as const;
export type WebmEncoder = (typeof WEBM_ENCODERS)[number];

const encoderCache = new Map<string, WebmEncoder | null>();

/** The first VP9/VP8 encoder this ffmpeg has (`ffmpeg -encoders`), or undefined. */
export async function webmEncoder(tools: FfmpegTools): Promise<WebmEncoder | undefined> {
  const known = encoderCache.get(tools.ffmpeg);
  if (known !== undefined) return known ?? undefined;
  const r = await runTool(tools.ffmpeg, ['-hide_banner', '-v', 'error', '-encoders']);
  const names = new Set(
    r.stdout
      .split('\n')
      .map((l) => /^\s*V\S*\s+(\S+)/.exec(l)?.[1])
      .filter((n): n is string => !!n),
  );
  const found = WEBM_ENCODERS.find((e) => names.has(e));
  encoderCache.set(tools.ffmpeg, found ?? null);
  return found;
}

export interface WebmPreviewOptions {
  /** Longest side of the preview (never enlarged). */
  readonly maxSide?: number;
  /** Seconds of the clip kept at most. */
  readonly maxSeconds?: number;
  readonly signal?: AbortSignal;
}

/**
 * Writes a small silent WebM of `input` to `target` (replaced): `encoder` (VP9, or VP8 where
 * only that exists), at most `maxSide` pixels per side (even sizes), the clip's own frame rate.
 * Meant to be played once in the gallery, so fast settings (realtime, a generous bitrate).
 */
export async function writeWebmPreview(
  tools: FfmpegTools,
  input: string,
  target: string,
  encoder: WebmEncoder,
  opts: WebmPreviewOptions = {},
): Promise<void> {
  const side = opts.maxSide ?? 640;
  const scale = `scale='trunc(min(1,${side}/max(iw,ih))*iw/2)*2':'trunc(min(1,${side}/max(iw,ih))*ih/2)*2'`;
  const codec =
    encoder === 'libvpx-vp9'
      ? ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1']
      : ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8'];
  const r = await runTool(
    tools.ffmpeg,
    [
      ...videoStreamInput(input),
      ...(opts.maxSeconds ? ['-t', String(opts.maxSeconds)] : []),
      '-vf',
      `${scale},format=yuv420p`,
      ...codec,
      '-b:v',
      '1M',
      '-f',
      'webm',
      '-y',
      target,
    ],
    { signal: opts.signal },
  );
  if (r.code !== 0) {
    await fsp.rm(target, { force: true });
    throw new StyleTransferError(
      'backend',
      `ffmpeg could not write a WebM preview: ${r.stderr.trim().split('\n').pop() || `exit code ${r.code}`}`,
    );
  }
}

/**
 * The fallback where ffmpeg has no VP8/VP9 encoder: up to `maxFrames` frames of `input`, evenly
 * spread, as JPEG bytes of at most `maxSide` pixels per side, with the rate to show them at.
 */
export async function previewFrames(
  tools: FfmpegTools,
  input: string,
  info: Pick<VideoInfo, 'duration' | 'fps' | 'frameCount'>,
  opts: { maxFrames?: number; maxSide?: number; signal?: AbortSignal } = {},
): Promise<{ frames: Buffer[]; fps: number }> {
  const maxFrames = opts.maxFrames ?? 48;
  const side = opts.maxSide ?? 480;
  const step = Math.max(1, Math.ceil(info.frameCount / maxFrames));
  const r = await captureBytes(
    tools.ffmpeg,
    [
      ...videoStreamInput(input),
      '-vf',
      `select='not(mod(n\\,${step}))',scale='trunc(min(1,${side}/max(iw,ih))*iw/2)*2':-2`,
      ...passthroughArgs(tools),
      '-frames:v',
      String(maxFrames),
      '-f',
      'image2pipe',
      '-c:v',
      'mjpeg',
      '-q:v',
      '4',
      'pipe:1',
    ],
    { signal: opts.signal },
  );
  if (r.code !== 0) throw new StyleTransferError('backend', `ffmpeg could not extract preview frames: ${r.stderr}`);
  return { frames: splitJpegs(r.stdout), fps: info.fps / step };
}

/** Concatenated JPEG files → each file (SOI FFD8 … EOI FFD9). */
export function splitJpegs(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 2; i + 1 < b.length; i++) {
    if (b[i] === 0xff && b[i + 1] === 0xd9 && (i + 2 === b.length || (b[i + 2] === 0xff && b[i + 3] === 0xd8))) {
      out.push(b.subarray(start, i + 2));
      start = i + 2;
      i += 2;
    }
  }
  return out;
}
