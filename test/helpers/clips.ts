// Clips for the video tests, made here with ffmpeg from generated frames (testsrc), and the
// skip rule: without ffmpeg and ffprobe on the PATH the tests skip, except in CI.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { findFfmpeg, type FfmpegTools } from '../../src/io/ffmpeg';

let toolsPromise: Promise<FfmpegTools | undefined> | undefined;

export async function ffmpegOrSkip(t: TestContext): Promise<FfmpegTools | undefined> {
  const tools = await (toolsPromise ??= findFfmpeg().catch(() => undefined));
  if (tools) return tools;
  if (process.env.CI) throw new Error('ffmpeg/ffprobe missing: CI must install them (scripts/install-code-server.sh)');
  t.skip('skipped: ffmpeg/ffprobe not on the PATH');
  return undefined;
}

/** A clip of generated frames (ffmpeg's testsrc pattern; testsrc2 rounds sizes to even), optionally with a sine tone. */
export function makeClip(
  tools: FfmpegTools,
  file: string,
  o: { width: number; height: number; fps: number; seconds: number; audio: boolean },
): string {
  const args = [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=${o.width}x${o.height}:rate=${o.fps}:duration=${o.seconds}`,
  ];
  if (o.audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${o.seconds}`);
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', o.width % 2 || o.height % 2 ? 'yuv444p' : 'yuv420p');
  if (o.audio) args.push('-c:a', 'aac');
  args.push(file);
  const r = spawnSync(tools.ffmpeg, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return file;
}

/** An animated PNG of `frames` generated frames (testsrc) at `fps`, played `plays` times. */
export function makeApng(
  tools: FfmpegTools,
  file: string,
  o: { width: number; height: number; fps: number; frames: number; plays: number },
): string {
  const r = spawnSync(
    tools.ffmpeg,
    [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=${o.width}x${o.height}:rate=${o.fps}`,
      '-frames:v',
      String(o.frames),
      '-plays',
      String(o.plays),
      '-f',
      'apng',
      file,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return file;
}
