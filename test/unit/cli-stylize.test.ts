// The foundation issue's must-shows, through the `fst` CLI code: the published-result check,
// odd sizes, alpha, EXIF orientation, bad inputs, and no tensor leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { tf } from '../../src/model/tf';
import { psnr } from '../../src/model/pixels';
import { writeCheckpoint } from '../../src/io/checkpoint';
import { readMl5Folder } from '../../src/io/ml5Import';
import { bombPng } from '../helpers/png';
import { runFst } from '../helpers/cli';
import { hasSharedData, shared, tempDir } from '../helpers/paths';

const root = tempDir('fst-cli-');
const udnie = path.join(root, 'udnie');
let imported = false;

async function importUdnie() {
  if (imported) return;
  const r = await runFst(['import', shared('pretrained', 'udnie'), '-o', udnie]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), udnie);
  imported = true;
}

const hash = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

test('published-result check: udnie on chicago.jpg matches the reference output (≥ 40 dB, borders included)', async (t) => {
  if (!hasSharedData(t)) return;
  await importUdnie();
  const out = path.join(root, 'chicago-out');
  // PNG output: measure the network, not a second JPEG encoding.
  const r = await runFst(['stylize', '-m', udnie, '-o', out, '-f', 'png', shared('reference', 'chicago.jpg')]);
  assert.equal(r.code, 0, r.stderr);
  const file = r.stdout.trim();
  assert.equal(path.dirname(file), out);
  const ours = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([ours.info.width, ours.info.height], [712, 474]);
  const ref = await sharp(shared('reference', 'chicago_udnie.jpg'))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  // The published file is rows 2..475 of the reference network's 476-row output; our output
  // row r is aligned with network row r + 2 of the reference's, i.e. published row r. The
  // imported checkpoint keeps the reference's zero border padding (style.json), so the
  // borders match too.
  assert.equal(JSON.parse(fs.readFileSync(path.join(udnie, 'style.json'), 'utf8')).architecture.padding, 'zero');
  const db = psnr(ours.data, ref.data);
  t.diagnostic(`PSNR vs published chicago_udnie.jpg: ${db.toFixed(2)} dB`);
  assert.ok(db >= 40, `PSNR ${db.toFixed(2)} dB`);
});

test('odd sizes come out at exactly their input size; alpha is kept; EXIF orientation is applied', async (t) => {
  if (!hasSharedData(t)) return;
  await importUdnie();
  const dir = path.join(root, 'odd');
  fs.mkdirSync(dir);
  const sizes: [number, number][] = [
    [1, 1],
    [3, 5],
    [257, 129],
    [1023, 769],
  ];
  for (const [w, h] of sizes) {
    await sharp({ create: { width: w, height: h, channels: 3, background: { r: 200, g: 80, b: 40 } } })
      .png()
      .toFile(path.join(dir, `img${w}x${h}.png`));
  }
  // RGBA with a gradient alpha.
  const rgba = Buffer.alloc(40 * 30 * 4);
  for (let i = 0; i < 40 * 30; i++) rgba.set([i % 255, 100, 200, (i * 7) % 256], i * 4);
  await sharp(rgba, { raw: { width: 40, height: 30, channels: 4 } })
    .png()
    .toFile(path.join(dir, 'alpha.png'));
  // A 60×20 JPEG stored sideways: EXIF orientation 6 means "rotate 90° clockwise to view" → 20×60 upright.
  await sharp({ create: { width: 60, height: 20, channels: 3, background: '#3080c0' } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toFile(path.join(dir, 'rotated.jpg'));
  const before = new Map(fs.readdirSync(dir).map((f) => [f, hash(path.join(dir, f))]));
  const r = await runFst(['stylize', '-m', udnie, dir]);
  assert.equal(r.code, 0, r.stderr);
  const outputs = r.stdout.trim().split('\n');
  assert.equal(outputs.length, sizes.length + 2);
  for (const [w, h] of sizes) {
    const meta = await sharp(path.join(dir, `img${w}x${h}.udnie.png`)).metadata();
    assert.deepEqual([meta.width, meta.height], [w, h], `${w}×${h}`);
  }
  const a = await sharp(path.join(dir, 'alpha.udnie.png')).raw().toBuffer({ resolveWithObject: true });
  assert.equal(a.info.channels, 4);
  for (let i = 0; i < 40 * 30; i++) assert.equal(a.data[i * 4 + 3], rgba[i * 4 + 3]);
  const rot = await sharp(path.join(dir, 'rotated.udnie.jpg')).metadata();
  assert.deepEqual([rot.width, rot.height], [20, 60]);
  for (const [f, h] of before) assert.equal(hash(path.join(dir, f)), h, `${f} unchanged`);
});

test('bad inputs: one clear error each, non-zero exit, nothing written', async (t) => {
  if (!hasSharedData(t)) return;
  await importUdnie();
  const dir = path.join(root, 'bad');
  fs.mkdirSync(dir);
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } })
    .png()
    .toBuffer();
  const cases: [string, Buffer | string, RegExp][] = [
    ['truncated.png', png.subarray(0, png.length >> 1), /damaged or truncated|corrupt/i],
    ['random.jpg', crypto.randomBytes(4096), /not an image|unsupported|damaged/i],
    ['empty.png', Buffer.alloc(0), /empty|0 bytes|not an image/i],
    ['bomb.png', bombPng(100000, 100000), /100000×100000.*limit/],
  ];
  for (const [name, bytes, re] of cases) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    const r = await runFst(['stylize', '-m', udnie, file]);
    assert.notEqual(r.code, 0, name);
    assert.match(r.stderr, re, name);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line: ${r.stderr}`);
  }
  assert.deepEqual(fs.readdirSync(dir).sort(), cases.map((c) => c[0]).sort(), 'no output or temp files');

  // Checkpoints: a wrong shape and a future version.
  const { arch, weights } = await readMl5Folder(shared('pretrained', 'udnie'));
  const now = new Date().toISOString();
  const wrong = path.join(root, 'wrong-shape');
  await writeCheckpoint(
    wrong,
    { name: 'w', architecture: arch, source: { kind: 'trained' }, iteration: 0, createdAt: now, updatedAt: now },
    weights,
  );
  const m = JSON.parse(fs.readFileSync(path.join(wrong, 'model.json'), 'utf8'));
  m.weightsManifest[0].weights[3].shape = [3, 3, 32, 32];
  fs.writeFileSync(path.join(wrong, 'model.json'), JSON.stringify(m));
  const future = path.join(root, 'future');
  fs.cpSync(udnie, future, { recursive: true });
  const s = JSON.parse(fs.readFileSync(path.join(future, 'style.json'), 'utf8'));
  fs.writeFileSync(path.join(future, 'style.json'), JSON.stringify({ ...s, formatVersion: 7 }));
  const photo = path.join(root, 'photo.png');
  fs.writeFileSync(photo, png);
  for (const [ck, re] of [
    [wrong, /conv2\/weight" has shape \[3, 3, 32, 32\], expected \[3, 3, 32, 64\]/],
    [future, /format version 7, newer/],
  ] as const) {
    const r = await runFst(['stylize', '-m', ck, photo]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, re);
  }
  assert.deepEqual(
    fs.readdirSync(root).filter((f) => f.startsWith('photo')),
    ['photo.png'],
  );
  // Usage errors exit 2.
  assert.equal((await runFst(['stylize', photo])).code, 2);
  assert.equal((await runFst(['stylize', '-m', udnie, '--strength', '3', photo])).code, 2);
  assert.equal((await runFst(['frobnicate'])).code, 2);
});

test('no tensor leak across 10 stylizations', async (t) => {
  if (!hasSharedData(t)) return;
  await importUdnie();
  const dir = path.join(root, 'leak');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'p.png');
  await sharp({ create: { width: 37, height: 23, channels: 3, background: '#a0c050' } })
    .png()
    .toFile(file);
  // Warm up once (creates the cached network's weights), then count.
  assert.equal((await runFst(['stylize', '-m', udnie, '--runtime', 'tfjs', '-o', path.join(dir, 'o'), file])).code, 0);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 10; i++) {
    const r = await runFst(['stylize', '-m', udnie, '--runtime', 'tfjs', '-o', path.join(dir, 'o'), file]);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.equal(tf.memory().numTensors, before);
  assert.equal(fs.readdirSync(path.join(dir, 'o')).length, 11);
});

test('--precision picks the ONNX graph: reference and fp32 agree, a bad value is one clear error', async (t) => {
  if (!hasSharedData(t)) return;
  await importUdnie();
  const file = shared('reference', 'chicago.jpg');
  const outs: string[] = [];
  for (const precision of ['reference', 'fp32']) {
    const r = await runFst([
      'stylize',
      '-m',
      udnie,
      '--precision',
      precision,
      '-f',
      'png',
      '-o',
      path.join(root, `precision-${precision}`),
      file,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, precision === 'fp32' ? /ran on onnxruntime cpu fp32/ : /ran on onnxruntime cpu$/m);
    outs.push(r.stdout.trim());
  }
  const [a, b] = await Promise.all(outs.map((f) => sharp(f).raw().toBuffer()));
  let maxd = 0;
  for (let i = 0; i < a.length; i++) maxd = Math.max(maxd, Math.abs(a[i] - b[i]));
  assert.ok(maxd <= 1, `the fast graph's output is the reference graph's (max difference ${maxd} levels)`);
  const bad = await runFst([
    'stylize',
    '-m',
    udnie,
    '--precision',
    'fp8',
    '-o',
    path.join(root, 'precision-bad'),
    file,
  ]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--precision must be one of auto, fp32, int8, reference, got "fp8"/);
  assert.equal(fs.existsSync(path.join(root, 'precision-bad')), false, 'nothing written');
});
