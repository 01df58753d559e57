// Video figures for `npm run bench` (issue 16): a 720p clip with audio made by ffmpeg goes
// through the whole video job (decode → stylize → encode through pipes), next to the same
// frame stylizer on frames already in memory (compute only), both in steady mode.
//   {"type":"video", "size", "frames", "pipelinedFps", "computeFps", "pipelinedOverCompute",
//    "peakRssMB" (this process + its ffmpeg children, sampled), "nodeMaxRssMB", "ffmpegPeakRssMB", …}
//
//   tsx bench/video.ts [--seconds 60] [--fps 2] [--width 1280] [--height 720] [--warm 2]
//
// Rates leave out the first `--warm` frames (session start, arena growth) on both sides, and
// the pipelined one the encoder's flush after the last frame (tailSeconds).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createStylizeEngine } from '../src/engine/stylize/engines';
import { loadStyle } from '../src/engine/styles';
import { FrameStylizer } from '../src/engine/video/frameStylizer';
import { stylizeVideoFile } from '../src/engine/video/videoJob';
import { findFfmpeg, probeVideo, runTool } from '../src/io/ffmpeg';
import { FrameDecoder } from '../src/io/videoStream';
import { REPO } from './common';

const args = process.argv.slice(2);
const opt = (n: string, d: number) => {
  const i = args.indexOf(`--${n}`);
  return i >= 0 && i + 1 < args.length ? Number(args[i + 1]) : d;
};
const seconds = opt('seconds', 60);
const fps = opt('fps', 2);
const width = opt('width', 1280);
const height = opt('height', 720);
const warm = opt('warm', 2);
const emit = (o: object) =>
  process.stdout.write(JSON.stringify({ type: 'video', size: `${width}x${height}`, ...o }) + '\n');

/** Resident memory (bytes) of this process's child processes (ffmpeg), from /proc (Linux). */
function childrenRss(): number {
  let total = 0;
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return 0;
  }
  for (const pid of pids) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
      total += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

async function main(): Promise<void> {
  const tools = await findFfmpeg().catch((e: Error) => e);
  if (tools instanceof Error) {
    emit({ available: false, reason: tools.message });
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fst-bench-video-'));
  try {
    const clip = path.join(dir, 'clip.mp4');
    const made = await runTool(tools.ffmpeg, [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`,
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      clip,
    ]);
    if (made.code !== 0) throw new Error(`ffmpeg could not make the clip: ${made.stderr.trim()}`);
    const info = await probeVideo(tools, clip);
    const engine = await createStylizeEngine({ cacheDir: path.join(dir, 'cache') });
    const style = await loadStyle(path.join(REPO, 'styles', 'starry-night'));
    try {
      // Compute only: the same stylizer on frames held in memory, timed before and after the
      // pipelined job (the machine is shared: the two blocks bracket it in time).
      const count = Math.min(info.frameCount, warm + 8);
      const decoder = new FrameDecoder(tools, clip, info);
      const frames: Buffer[] = [];
      try {
        for (let f = await decoder.next(); f && frames.length < count; f = await decoder.next()) frames.push(f);
      } finally {
        await decoder.close();
      }
      const computeBlock = async (): Promise<number> => {
        const fsz = new FrameStylizer(engine, style, {});
        await fsz.open(info.width, info.height);
        let tc = 0;
        try {
          for (const [i, f] of frames.entries()) {
            if (i === warm) tc = performance.now();
            await fsz.stylize({ width: info.width, height: info.height, data: f });
          }
        } finally {
          await fsz.close();
        }
        return (performance.now() - tc) / 1000;
      };
      const before = await computeBlock();

      // Pipelined: the whole job, with this process tree's memory sampled meanwhile.
      let peak = 0;
      let ffmpegPeak = 0;
      const sample = () => {
        const c = childrenRss();
        ffmpegPeak = Math.max(ffmpegPeak, c);
        peak = Math.max(peak, process.memoryUsage.rss() + c);
      };
      const timer = setInterval(sample, 100);
      let tWarm = 0;
      let tLast = 0;
      const t0 = performance.now();
      const result = await stylizeVideoFile(
        engine,
        style,
        clip,
        { outDir: dir },
        {
          tools,
          progress: (p) => {
            if (p.type !== 'stylize' || !p.frames) return;
            if (p.frames.done === warm) tWarm = performance.now();
            tLast = performance.now();
          },
        },
      );
      const tEnd = performance.now();
      clearInterval(timer);
      sample();
      const out = await probeVideo(tools, result.output);
      // Up to the last frame handed to the encoder: its flush at the end (x264 holds its
      // lookahead, 10 frames) is a one-time tail like the warm-up, reported as tailSeconds.
      const pipelinedFps = (result.frames - warm) / ((tLast - tWarm) / 1000);
      const after = await computeBlock();
      const computeFps = (2 * (frames.length - warm)) / (before + after);
      const mb = (b: number) => Math.round(b / 2 ** 20);
      emit({
        available: true,
        mode: 'steady',
        clipSeconds: seconds,
        clipFps: fps,
        frames: result.frames,
        outputFrames: out.frameCount,
        outputSeconds: out.duration,
        audio: out.hasAudio,
        pipelinedFps: +pipelinedFps.toFixed(3),
        computeFps: +computeFps.toFixed(3),
        pipelinedOverCompute: +(pipelinedFps / computeFps).toFixed(3),
        jobSeconds: +((tEnd - t0) / 1000).toFixed(1),
        tailSeconds: +((tEnd - tLast) / 1000).toFixed(1),
        computeFrames: 2 * (frames.length - warm),
        computeFpsBeforeAfter: [before, after].map((t) => +((frames.length - warm) / t).toFixed(3)),
        peakRssMB: mb(peak),
        nodeMaxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
        ffmpegPeakRssMB: mb(ffmpegPeak),
        engine: engine.label,
      });
    } finally {
      engine.dispose();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  emit({ available: false, error: (e as Error).message.split('\n')[0] });
  process.exitCode = 1;
});
