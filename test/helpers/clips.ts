// Video clips made for tests with ffmpeg from generated sources (lavfi: test patterns, tones),
// and the skip rule: without ffmpeg and ffprobe on the PATH the tests skip, except in CI.
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

/** Runs ffmpeg on generated inputs (each a lavfi source such as `testsrc=…`) and these output arguments; asserts it succeeded. */
export function ffmpegFromSources(tools: FfmpegTools, sources: readonly string[], output: readonly string[]): void {
  const args = ['-v', 'error', '-y', ...sources.flatMap((s) => ['-f', 'lavfi', '-i', s]), ...output];
  const r = spawnSync(tools.ffmpeg, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/** A clip of generated frames (ffmpeg's testsrc pattern; testsrc2 rounds sizes to even), optionally with a sine tone. */
export function makeClip(
  tools: FfmpegTools,
  file: string,
  o: { width: number; height: number; fps: number; seconds: number; audio: boolean },
): string {
  const sources = [`testsrc=size=${o.width}x${o.height}:rate=${o.fps}:duration=${o.seconds}`];
  if (o.audio) sources.push(`sine=frequency=440:sample_rate=48000:duration=${o.seconds}`);
  const pixFmt = o.width % 2 || o.height % 2 ? 'yuv444p' : 'yuv420p';
  ffmpegFromSources(tools, sources, [
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', pixFmt],
    ...(o.audio ? ['-c:a', 'aac'] : []),
    file,
  ]);
  return file;
}

/** An animated PNG of `frames` generated frames (testsrc) at `fps`, played `plays` times. */
export function makeApng(
  tools: FfmpegTools,
  file: string,
  o: { width: number; height: number; fps: number; frames: number; plays: number },
): string {
  ffmpegFromSources(
    tools,
    [`testsrc=size=${o.width}x${o.height}:rate=${o.fps}`],
    ['-frames:v', String(o.frames), '-plays', String(o.plays), '-f', 'apng', file],
  );
  return file;
}
