// ffmpeg and ffprobe for videos: found at a given path or on the PATH, version-checked, and
// always run with argument arrays (spawn without a shell), so no file name is ever parsed by
// a shell. probeVideo reads what the video job needs to know about a clip.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { StyleTransferError, cancelledError } from '../protocol/errors';

export interface FfmpegTools {
  readonly ffmpeg: string;
  readonly ffprobe: string;
  /** e.g. "5.1.9" or "N-112345-gabcdef" (a git build). */
  readonly version: string;
  /**
   * The output option that keeps every decoded frame exactly once, with its timestamp:
   * -fps_mode (5.1 on) or, before it, -vsync (the static 2018 build of @ffmpeg-installer).
   */
  readonly frameSync?: '-fps_mode' | '-vsync';
}

/** The output options that pass every frame through with its own timestamp. */
export function passthroughArgs(tools: FfmpegTools): string[] {
  return [tools.frameSync ?? '-fps_mode', 'passthrough'];
}

/** Oldest ffmpeg accepted: 4.1 (older ones were not tried); before 5.1 frames pass with -vsync. */
const MIN_VERSION: readonly [number, number] = [4, 1];

/** Where Set Up Video Support… puts its packages (<global storage>/video) and their binaries in it. */
export const VIDEO_TOOLS_DIR = 'video';
export function installedFfmpegPaths(
  storageDir: string,
  platform: string = process.platform,
  arch: string = process.arch,
): { ffmpeg: string; ffprobe: string } {
  const exe = platform === 'win32' ? '.exe' : '';
  const mod = path.join(storageDir, VIDEO_TOOLS_DIR, 'node_modules');
  return {
    ffmpeg: path.join(mod, '@ffmpeg-installer', `${platform}-${arch}`, `ffmpeg${exe}`),
    ffprobe: path.join(mod, '@ffprobe-installer', `${platform}-${arch}`, `ffprobe${exe}`),
  };
}

const EXE = process.platform === 'win32' ? '.exe' : '';

function isExecutableFile(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    if (process.platform !== 'win32') fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? env.Path ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name + EXE);
    if (isExecutableFile(p)) return p;
  }
  return undefined;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Kills a child process we started; on POSIX SIGKILL when it ignores SIGTERM for a moment. */
export function killProcess(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, 2000);
  t.unref();
  child.once('exit', () => clearTimeout(t));
}

/**
 * Runs `bin` with `args` (no shell, stdin ignored), handing each chunk of its stdout and stderr to
 * `take` (with a way to kill it, e.g. when its output grows too large); resolves with its exit
 * code, or rejects as cancelled when `signal` fires.
 */
export function spawnTool(
  bin: string,
  args: readonly string[],
  signal: AbortSignal | undefined,
  take: { stdout(b: Buffer, kill: () => void): void; stderr(b: Buffer): void },
): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(cancelledError('video'));
      return;
    }
    const child = spawn(bin, args, { shell: false, windowsHide: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const kill = () => killProcess(child);
    child.stdout.on('data', (b: Buffer) => take.stdout(b, kill));
    child.stderr.on('data', (b: Buffer) => take.stderr(b));
    signal?.addEventListener('abort', kill, { once: true });
    child.once('error', (e) => {
      signal?.removeEventListener('abort', kill);
      reject(new StyleTransferError('backend', `could not run ${bin}: ${e.message}`));
    });
    child.once('close', (code) => {
      signal?.removeEventListener('abort', kill);
      if (signal?.aborted) reject(cancelledError('video'));
      else resolve(code);
    });
  });
}

/** Runs `bin` with `args` (no shell) and collects its output (capped at 4 MB each). */
export async function runTool(
  bin: string,
  args: readonly string[],
  opts: { signal?: AbortSignal } = {},
): Promise<RunResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let outBytes = 0;
  let errBytes = 0;
  const cap = 4 * 1024 * 1024;
  const code = await spawnTool(bin, args, opts.signal, {
    stdout: (b) => {
      if ((outBytes += b.length) <= cap) out.push(b);
    },
    stderr: (b) => {
      if ((errBytes += b.length) <= cap) err.push(b);
    },
  });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/**
 * The arguments that open the first video stream of `file` alone, quietly and with stdin unread
 * (`inputOptions`, such as a seek, go before its -i); the output options follow them.
 */
export function videoStreamInput(file: string, inputOptions: readonly string[] = []): string[] {
  return ['-v', 'error', '-nostdin', ...inputOptions, '-i', file, '-map', '0:v:0', '-an', '-sn', '-dn'];
}

/** "ffmpeg version 5.1.9-0+deb12u1 Copyright…" → [5, 1] (undefined for git builds "N-…"). */
export function parseFfmpegVersion(firstLine: string): { text: string; major?: number; minor?: number } | undefined {
  const m = /version\s+(\S+)/.exec(firstLine);
  if (!m) return undefined;
  const text = m[1];
  const n = /^n?(\d+)\.(\d+)/.exec(text);
  return n ? { text, major: Number(n[1]), minor: Number(n[2]) } : { text };
}

const INSTALL_HINT =
  'run Set Up Video Support… in VS Code, install ffmpeg (e.g. apt-get install ffmpeg, brew install ffmpeg, winget install ffmpeg) or give its path (fst stylize --ffmpeg <path>)';

export interface FindFfmpegOptions {
  /** An ffmpeg binary chosen by the user (setting, --ffmpeg): used or an error, never passed over. */
  readonly ffmpegPath?: string;
  /** Its ffprobe when not beside it (the installed copy's come in two packages). */
  readonly ffprobePath?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** The extension's global storage: Set Up Video Support…'s copy there is the last resort. */
  readonly storageDir?: string;
}

/**
 * ffmpeg and ffprobe, in this order: `ffmpegPath` when given (ffprobe beside it); the PATH's
 * (version checked); the copy Set Up Video Support… installed under `storageDir`. Errors:
 * 'not-found' when none is there, 'backend' when the chosen one does not run or is older than
 * 4.1 (a PATH ffmpeg that fails gives way to an installed copy first).
 */
export async function findFfmpeg(opts: FindFfmpegOptions = {}): Promise<FfmpegTools> {
  if (opts.ffmpegPath) return checkFfmpeg(opts);
  let pathError: StyleTransferError | undefined;
  try {
    return await checkFfmpeg(opts);
  } catch (e) {
    if (!(e instanceof StyleTransferError) || !opts.storageDir) throw e;
    pathError = e;
  }
  const installed = installedFfmpegPaths(opts.storageDir);
  if (!isExecutableFile(installed.ffmpeg)) throw pathError;
  return checkFfmpeg({ ...opts, ffmpegPath: installed.ffmpeg, ffprobePath: installed.ffprobe });
}

async function checkFfmpeg(opts: FindFfmpegOptions): Promise<FfmpegTools> {
  const env = opts.env ?? process.env;
  let ffmpeg: string | undefined;
  let ffprobe: string | undefined;
  if (opts.ffmpegPath) {
    ffmpeg = path.resolve(opts.ffmpegPath);
    if (!isExecutableFile(ffmpeg))
      throw new StyleTransferError('not-found', `ffmpeg not found at ${ffmpeg} (not an executable file)`);
    const ext = path.extname(ffmpeg);
    ffprobe =
      opts.ffprobePath ??
      path.join(path.dirname(ffmpeg), `${path.basename(ffmpeg, ext).replace(/ffmpeg/i, 'ffprobe')}${ext}`);
    if (ffprobe === ffmpeg || !isExecutableFile(ffprobe))
      throw new StyleTransferError(
        'not-found',
        opts.ffprobePath ? `ffprobe not found at ${ffprobe}` : `ffprobe not found beside ${ffmpeg}`,
      );
  } else {
    ffmpeg = onPath('ffmpeg', env);
    ffprobe = onPath('ffprobe', env);
    if (!ffmpeg || !ffprobe)
      throw new StyleTransferError(
        'not-found',
        `videos need ffmpeg and ffprobe, and ${!ffmpeg ? 'ffmpeg' : 'ffprobe'} is not on the PATH: ${INSTALL_HINT}`,
      );
  }
  const r = await runTool(ffmpeg, ['-hide_banner', '-version']).catch((e: unknown) => {
    throw new StyleTransferError('backend', `${ffmpeg} does not run: ${(e as Error).message}`);
  });
  const v = parseFfmpegVersion(r.stdout.split('\n')[0] ?? '');
  if (r.code !== 0 || !v)
    throw new StyleTransferError(
      'backend',
      `${ffmpeg} is not a working ffmpeg (ffmpeg -version exited with ${r.code})`,
    );
  if (
    v.major !== undefined &&
    (v.major < MIN_VERSION[0] || (v.major === MIN_VERSION[0] && v.minor! < MIN_VERSION[1]))
  ) {
    throw new StyleTransferError(
      'backend',
      `ffmpeg ${v.text} is too old; videos need ffmpeg ${MIN_VERSION.join('.')} or newer: ${INSTALL_HINT}`,
    );
  }
  // Git builds ("N-…") say nothing of their age: ask for -fps_mode on one generated frame.
  const numbered = v.major !== undefined;
  const fpsMode = numbered
    ? v.major! > 5 || (v.major === 5 && v.minor! >= 1)
    : (
        await runTool(ffmpeg, [
          '-v',
          'error',
          '-nostdin',
          '-f',
          'lavfi',
          '-i',
          'color=size=16x16:duration=0.04',
          '-fps_mode',
          'passthrough',
          '-f',
          'null',
          '-',
        ])
      ).code === 0;
  return { ffmpeg, ffprobe, version: v.text, frameSync: fpsMode ? '-fps_mode' : '-vsync' };
}

export interface VideoInfo {
  readonly width: number;
  readonly height: number;
  /** Frame rate as a fraction, e.g. "30000/1001" (the average rate; the nominal one when that is unknown). */
  readonly frameRate: string;
  readonly fps: number;
  /** Frames of the first video stream (packets counted: exact, no decoding). */
  readonly frameCount: number;
  /** Seconds (the container's; the stream's when the container has none). */
  readonly duration: number;
  readonly hasAudio: boolean;
  readonly audioCodec?: string;
  readonly videoCodec: string;
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_read_packets?: string;
  duration?: string;
  side_data_list?: { rotation?: number }[];
  tags?: { rotate?: string };
}

/** frames / seconds as a fraction with the seconds in milliseconds, reduced. */
function averageRate(frames: number, seconds: number): string {
  let [n, d] = [frames * 1000, Math.round(seconds * 1000)];
  const gcd = (x: number, y: number): number => (y ? gcd(y, x % y) : x);
  const g = gcd(n, d) || 1;
  [n, d] = [n / g, d / g];
  return `${n}/${d}`;
}

function rate(s: string | undefined): number {
  const m = /^(\d+)\/(\d+)$/.exec(s ?? '');
  return m && Number(m[2]) > 0 ? Number(m[1]) / Number(m[2]) : 0;
}

/** What ffprobe says of `file`'s first video stream and whether it has audio; a clip it cannot read is one 'bad-image' error. */
export async function probeVideo(
  tools: FfmpegTools,
  file: string,
  opts: { signal?: AbortSignal } = {},
): Promise<VideoInfo> {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new StyleTransferError('not-found', `${file} does not exist`);
  }
  if (!st.isFile()) throw new StyleTransferError('bad-input', `${file} is not a regular file`);
  const r = await runTool(
    tools.ffprobe,
    ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', '-count_packets', '-i', file],
    opts,
  );
  const why =
    r.stderr
      .trim()
      .split('\n')
      .pop()
      ?.replace(/^.*?:\s*/, '') || 'no video stream';
  const bad = (detail: string) =>
    new StyleTransferError('bad-image', `${file} is not a readable video: ${detail}`, r.stderr.trim() || undefined);
  if (r.code !== 0) throw bad(why);
  let json: { streams?: ProbeStream[]; format?: { duration?: string } };
  try {
    json = JSON.parse(r.stdout) as typeof json;
  } catch {
    throw bad('ffprobe gave no readable answer');
  }
  const streams = json.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video');
  const a = streams.find((s) => s.codec_type === 'audio');
  if (!v || !v.width || !v.height) throw bad('it has no video stream');
  const frameCount = Number(v.nb_read_packets ?? 0);
  if (!(frameCount > 0)) throw bad('it has no video frames');
  const known = Number(json.format?.duration ?? v.duration);
  // Matroska says nothing of a variable rate's average (0/0) and r_frame_rate is the fastest
  // one: frames over duration then, so the CFR output lasts as long as the clip.
  const frameRate =
    rate(v.avg_frame_rate) > 0
      ? v.avg_frame_rate!
      : known > 0
        ? averageRate(frameCount, known)
        : (v.r_frame_rate ?? '0/1');
  const fps = rate(frameRate);
  if (!(fps > 0 && fps <= 1000)) throw bad(`its frame rate (${frameRate}) is unusable`);
  // ffmpeg turns frames stored sideways upright while decoding: the decoded size is swapped.
  const rotation = Number(v.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? v.tags?.rotate ?? 0);
  const sideways = Math.abs(rotation) % 180 === 90;
  const duration = Number(json.format?.duration ?? v.duration ?? frameCount / fps);
  return {
    width: sideways ? v.height : v.width,
    height: sideways ? v.width : v.height,
    frameRate,
    fps,
    frameCount,
    duration: Number.isFinite(duration) ? duration : frameCount / fps,
    hasAudio: !!a,
    audioCodec: a?.codec_name,
    videoCodec: v.codec_name ?? 'unknown',
  };
}
