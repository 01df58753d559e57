import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { listImages, openTrainingImages } from '../../src/io/dataset';
import { tempDir } from '../helpers/paths';

async function fixture(): Promise<string> {
  const dir = tempDir('fst-data-');
  fs.mkdirSync(path.join(dir, 'sub'));
  // A horizontal ramp: crops and flips are easy to tell apart.
  const w = 80,
    h = 60;
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set([x * 3, y * 4, 100], (y * w + x) * 3);
  await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(path.join(dir, 'a.png'));
  await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .jpeg()
    .toFile(path.join(dir, 'sub', 'b.jpg'));
  fs.writeFileSync(path.join(dir, 'broken.png'), 'nope');
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
  return dir;
}

test('training images are found recursively, sorted, and unreadable ones skipped with a warning', async () => {
  const dir = await fixture();
  assert.deepEqual(await listImages(dir), ['a.png', 'broken.png', path.join('sub', 'b.jpg')]);
  const warnings: string[] = [];
  const set = await openTrainingImages(dir, 32, { warn: (m) => warnings.push(m) });
  assert.deepEqual(set.files, ['a.png', path.join('sub', 'b.jpg')]);
  assert.equal(set.skipped.length, 1);
  assert.match(warnings[0], /broken\.png/);
});

test('augmentation: a variant picks a deterministic crop and flip; no variant is the centre crop', async () => {
  const dir = await fixture();
  const plain = await openTrainingImages(dir, 32);
  const aug = await openTrainingImages(dir, 32, { augment: true });
  const centre = await plain.load(0);
  assert.equal(centre.data.length, 32 * 32 * 3);
  assert.deepEqual(await aug.load(0, 7), await aug.load(0, 7), 'same variant, same crop');
  const crops = await Promise.all([1, 2, 3, 4, 5, 6, 8, 9].map((v) => aug.load(0, v)));
  const distinct = new Set(crops.map((c) => Buffer.from(c.data.buffer).toString('base64')));
  assert.ok(distinct.size >= 4, `only ${distinct.size} distinct crops`);
  // Some variants are mirrored: red (x ramp) then decreases from left to right.
  const redSlope = (img: { data: Float32Array }) => img.data[(16 * 32 + 31) * 3] - img.data[16 * 32 * 3];
  assert.ok(
    crops.some((c) => redSlope(c) < 0) && crops.some((c) => redSlope(c) > 0),
    'both flipped and unflipped crops',
  );
  assert.ok(redSlope(centre) > 0);
});

test('cropScale: a larger scale shows a smaller part of the photo (near its own scale) in each crop', async () => {
  const dir = await fixture();
  // The red channel ramps 3 per source pixel: its span across a crop tells the zoom.
  const span = (img: { data: Float32Array }) => Math.abs(img.data[(16 * 32 + 31) * 3] - img.data[16 * 32 * 3]);
  const whole = await (await openTrainingImages(dir, 32, { augment: true })).load(0, 3);
  const close = await (await openTrainingImages(dir, 32, { augment: true, cropScale: 2.5 })).load(0, 3);
  assert.equal(close.data.length, 32 * 32 * 3);
  assert.ok(span(close) < span(whole) * 0.6, `span ${span(close)} at 2.5× against ${span(whole)} at 1.25×`);
});
