#!/usr/bin/env node
// The README's before/after picture: one row per bundled style, each sample photo beside the
// same photo in that style, made with the built `fst stylize` (run `node esbuild.mjs` first).
//   node scripts/before-after.mjs [-o media/readme/before-after.jpg] [--replace]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const { values: v } = parseArgs({
  options: {
    output: { type: 'string', short: 'o', default: path.join(root, 'media/readme/before-after.jpg') },
    replace: { type: 'boolean', default: false },
  },
});
if (existsSync(v.output) && !v.replace) {
  console.error(`before-after: ${v.output} exists (add --replace to replace it)`);
  process.exit(2);
}
/** The order of the README's style table. */
const STYLES = ['starry-night', 'udnie', 'the-great-wave', 'the-scream'];
const PHOTOS = ['coffee.png', 'rocket.jpg', 'astronaut.png'];
const ROW_HEIGHT = 220;
const GAP = 6;

const work = mkdtempSync(path.join(os.tmpdir(), 'before-after-'));
try {
  const photoDir = path.join(root, 'media/samples/photos');
  const rows = [];
  for (const style of STYLES) {
    const out = path.join(work, style);
    execFileSync(
      process.execPath,
      [
        path.join(root, 'bin/fst.js'),
        'stylize',
        '-q',
        '-m',
        path.join(root, 'styles', style),
        '-f',
        'png',
        '-o',
        out,
        ...PHOTOS.map((p) => path.join(photoDir, p)),
      ],
      { stdio: 'inherit' },
    );
    const made = readdirSync(out);
    const cells = [];
    for (const photo of PHOTOS) {
      const stem = path.parse(photo).name;
      const stylized = made.find((f) => f.startsWith(`${stem}.`));
      if (!stylized) throw new Error(`before-after: ${style} wrote nothing for ${photo}`);
      for (const file of [path.join(photoDir, photo), path.join(out, stylized)]) {
        const { data, info } = await sharp(readFileSync(file))
          .resize({ height: ROW_HEIGHT })
          .removeAlpha()
          .png()
          .toBuffer({ resolveWithObject: true });
        cells.push({ data, width: info.width });
      }
    }
    rows.push(cells);
  }
  const width = Math.max(...rows.map((r) => r.reduce((a, c) => a + c.width + GAP, -GAP)));
  const height = rows.length * (ROW_HEIGHT + GAP) - GAP;
  const composite = [];
  rows.forEach((cells, r) => {
    let x = 0;
    for (const c of cells) {
      composite.push({ input: c.data, left: x, top: r * (ROW_HEIGHT + GAP) });
      x += c.width + GAP;
    }
  });
  const temp = `${v.output}.partial-${process.pid}`;
  await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(composite)
    .jpeg({ quality: 85, mozjpeg: true })
    .toFile(temp);
  renameSync(temp, v.output);
  console.log(`wrote ${path.relative(process.cwd(), v.output)} (${width}×${height})`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
