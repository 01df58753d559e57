// What a user waits for: whole `fst stylize` processes, each one cold (a fresh Node process, a
// fresh ONNX Runtime session, the first image it stylizes). Prints one JSON line per size:
//   {"type":"process", "size", "seconds" (median wall time of the processes), "runs", "peakRssMB"}
// The style is the reference udnie network imported with `fst import` (seeded random weights
// where the shared data is missing); the photo is chicago.jpg (or a sample photo) resized to
// size², JPEG in, PNG out, default settings. One untimed run first exports the style's ONNX
// graph, as a user's very first stylize does (its time is reported as firstUseSeconds).
//
//   node --import tsx bench/process.ts --sizes 256,1024 [--reps 3]
// Needs the built CLI (node esbuild.mjs).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { REPO, SHARED, median } from './common';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const sizes = opt('sizes', '256,1024').split(',').map(Number);
const reps = Math.max(1, Number(opt('reps', '3')));
const FST = path.join(REPO, 'bin', 'fst.js');
/** Preloaded into each timed process: its peak RSS on stderr when it exits. */
const RSS_PROBE =
  "process.on('exit',()=>process.stderr.write('\\nFST_BENCH_MAXRSS_KB='+process.resourceUsage().maxRSS+'\\n'))";

interface Timed {
  seconds: number;
  peakRssMB: number;
}

/** `fst …` as a user runs it: bin/fst.js, one whole process. */
function fst(argv: string[], probe: string): Timed {
  const t = performance.now();
  const r = spawnSync(process.execPath, [FST, ...argv], {
    encoding: 'utf8',
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', NODE_OPTIONS: `--require ${JSON.stringify(probe)}` },
  });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0)
    throw new Error(
      `fst ${argv[0]} exited with ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' | ')}`,
    );
  const kb = Number(/FST_BENCH_MAXRSS_KB=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return { seconds, peakRssMB: Math.round(kb / 1024) };
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fst-bench-process-'));
  try {
    const probe = path.join(work, 'rss-probe.js');
    fs.writeFileSync(probe, RSS_PROBE);
    const ml5 = path.join(SHARED, 'pretrained', 'udnie');
    const style = path.join(work, 'udnie');
    if (!fs.existsSync(path.join(ml5, 'manifest.json')))
      throw new Error(`the reference udnie network is missing: ${ml5}`);
    fst(['import', ml5, '-o', style], probe);
    const photoSource = [
      path.join(SHARED, 'reference', 'chicago.jpg'),
      path.join(REPO, 'media', 'samples', 'photos', 'coffee.jpg'),
    ].find((f) => fs.existsSync(f));
    if (!photoSource) throw new Error('no photo to resize (chicago.jpg or a sample photo)');
    const prime = path.join(work, 'prime.jpg');
    await sharp(photoSource).resize(64, 64, { fit: 'fill' }).jpeg().toFile(prime);
    const firstUse = fst(['stylize', '-q', '-m', style, '-o', path.join(work, 'out-prime'), prime], probe);
    for (const size of sizes) {
      const photo = path.join(work, `photo-${size}.jpg`);
      await sharp(photoSource).resize(size, size, { fit: 'fill' }).jpeg({ quality: 92 }).toFile(photo);
      const runs: Timed[] = [];
      for (let i = 0; i < reps; i++)
        runs.push(fst(['stylize', '-q', '-m', style, '-o', path.join(work, `out-${size}-${i}`), photo], probe));
      console.log(
        JSON.stringify({
          type: 'process',
          command: 'fst stylize (whole process, first image, default settings)',
          size,
          style: 'udnie (imported)',
          seconds: +median(runs.map((r) => r.seconds)).toFixed(3),
          runs: runs.map((r) => +r.seconds.toFixed(3)),
          peakRssMB: Math.max(...runs.map((r) => r.peakRssMB)),
          firstUseSeconds: +firstUse.seconds.toFixed(3),
          loadavg: os.loadavg().map((l) => +l.toFixed(2)),
        }),
      );
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.log(
    JSON.stringify({ type: 'process', available: false, error: String((e as Error)?.message ?? e).slice(0, 400) }),
  );
  process.exitCode = 1;
});
