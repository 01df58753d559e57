// Tiled stylize of a huge photo through the CLI bundle, under /usr/bin/time -v for the peak
// resident memory of the whole process. Prints one JSON line:
//   {"name":"stylize_tiled","width":8000,"height":6000,"seconds":…,"peakRssMb":…,…}
// usage: node bench/tiling.mjs [--width 8000] [--height 6000] [--tile-stats auto|sampled|downscaled]
//                              [--tile-size N] [--keep <folder>]
// Needs GNU time at /usr/bin/time (Debian/Ubuntu: `apt-get install -y time`; CI installs it)
// and the shared data (../shared/data or $FST_SHARED_DATA) for the udnie model and a Kodak photo.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sharedData = process.env.FST_SHARED_DATA ?? path.resolve(root, '..', 'shared', 'data');
const { values } = parseArgs({
  options: {
    width: { type: 'string', default: '8000' },
    height: { type: 'string', default: '6000' },
    'tile-stats': { type: 'string' },
    'tile-size': { type: 'string' },
    photo: { type: 'string', default: path.join(sharedData, 'content', 'kodak', 'kodim05.png') },
    keep: { type: 'string' },
  },
});
const width = Number(values.width);
const height = Number(values.height);

function fail(msg) {
  console.error(`bench/tiling: ${msg}`);
  process.exit(1);
}

if (!fs.existsSync('/usr/bin/time')) fail('GNU time is missing at /usr/bin/time; install it (apt-get install -y time)');
const udnie = path.join(sharedData, 'pretrained', 'udnie');
if (!fs.existsSync(udnie) || !fs.existsSync(values.photo))
  fail(`shared data not found (${udnie}, ${values.photo}); set FST_SHARED_DATA`);
if (!fs.existsSync(path.join(root, 'dist', 'cli.js'))) {
  const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) fail('the build failed');
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fst-bench-tiling-'));
try {
  // A photo upscaled to the target size: smooth at the pixel level, which a stylization
  // turns into full-resolution texture everywhere (the hard case for seams).
  const photo = path.join(dir, 'photo.jpg');
  await sharp(values.photo)
    .resize(width, height, { fit: 'cover', kernel: 'lanczos3' })
    .jpeg({ quality: 92 })
    .toFile(photo);
  const fst = path.join(root, 'bin', 'fst.js');
  const checkpoint = path.join(dir, 'udnie');
  const imp = spawnSync(process.execPath, [fst, 'import', udnie, '-o', checkpoint], { encoding: 'utf8' });
  if (imp.status !== 0) fail(`fst import failed: ${imp.stderr}`);
  const outDir = path.join(dir, 'out');
  const args = [fst, 'stylize', '-m', checkpoint, '-o', outDir, photo];
  if (values['tile-stats']) args.push('--tile-stats', values['tile-stats']);
  if (values['tile-size']) args.push('--tile-size', values['tile-size']);
  const run = spawnSync('/usr/bin/time', ['-v', process.execPath, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (run.status !== 0) fail(`fst stylize failed (exit ${run.status}):\n${run.stderr}`);
  const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(run.stderr)?.[1]);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)/.exec(run.stderr)?.[1] ?? '';
  const seconds = wall.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
  const output = run.stdout.trim().split('\n').pop();
  const meta = await sharp(output).metadata();
  if (meta.width !== width || meta.height !== height)
    fail(`output is ${meta.width}×${meta.height}, expected ${width}×${height}`);
  if (values.keep) {
    fs.mkdirSync(values.keep, { recursive: true });
    fs.copyFileSync(output, path.join(values.keep, path.basename(output)));
  }
  console.log(
    JSON.stringify({
      name: 'stylize_tiled',
      width,
      height,
      seconds: Math.round(seconds * 10) / 10,
      peakRssMb: Math.round(rssKb / 1024),
      tileStats: values['tile-stats'] ?? 'auto',
      cpus: os.cpus().length,
      loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10),
    }),
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
