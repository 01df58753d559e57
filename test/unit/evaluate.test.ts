// `fst evaluate` (issue 12): the three figures on small synthetic images against numbers worked
// out by hand, the contact sheet's layout, and the command end to end on real styles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import '@tensorflow/tfjs-backend-cpu';
import { tf, type Tensor4D } from '../../src/model/tf';
import { Vgg19 } from '../../src/model/vgg';
import type { VggWeights } from '../../src/model/vggSpec';
import { gram } from '../../src/model/losses';
import {
  METRIC_LAYERS,
  gramsOf,
  imageMetrics,
  relativeDistance,
  relativeSquaredDistance,
} from '../../src/model/metrics';
import { blobShare, regionSizes } from '../../src/model/blobs';
import type { RgbBytes } from '../../src/model/pixels';
import { sheetSize } from '../../src/io/contactSheet';
import { type EngineSettings } from '../../src/protocol/jobs';
import { jobRequestProblem } from '../../src/protocol/jobChecks';
import { runJob } from '../../src/engine/jobs';
import { syntheticVggWeights } from '../helpers/vggFixtures';
import { runFst } from '../helpers/cli';
import { REPO_ROOT, hasSharedData, shared, tempDir } from '../helpers/paths';

const image = (h: number, w: number, pixels: number[]): Tensor4D => tf.tensor4d(pixels, [1, h, w, 3]);

/** conv1_1 = identity on RGB with no mean and no bias: relu1_1 is the image itself (values ≥ 0). */
function identityVgg(): Vgg19 {
  const kernel = new Float32Array(9 * 3 * 3);
  for (let c = 0; c < 3; c++) kernel[((1 * 3 + 1) * 3 + c) * 3 + c] = 1; // centre tap [1, 1, c, c]
  const w: VggWeights = {
    source: 'synthetic',
    origin: 'identity',
    channelOrder: 'rgb',
    mean: [0, 0, 0],
    layers: [{ name: 'conv1_1', kernel, bias: new Float32Array(3), inChannels: 3, outChannels: 3 }],
  };
  return Vgg19.fromWeights(w);
}

test('relative distances: ‖a−b‖/‖b‖ and ‖a−b‖²/‖b‖² by hand; zero against itself', async () => {
  await tf.setBackend('cpu');
  const a = tf.tensor2d([
    [1, 2],
    [3, 4],
  ]);
  const b = tf.tensor2d([
    [1, 2],
    [3, 5],
  ]);
  assert.ok(Math.abs((await relativeDistance(a, b)) - 1 / Math.sqrt(39)) < 1e-7);
  assert.ok(Math.abs((await relativeSquaredDistance(a, b)) - 1 / 39) < 1e-7);
  assert.equal(await relativeDistance(a, a), 0);
  const zero = tf.zeros([2, 2]);
  assert.equal(await relativeDistance(zero, zero), 0);
  assert.equal(await relativeDistance(a, zero), Infinity);
  await assert.rejects(relativeDistance(a, tf.zeros([4])), /shapes differ/);
  tf.dispose([a, b, zero]);
});

test('style and content distance of a known small case, worked out by hand (Grams / (C·H·W))', async () => {
  await tf.setBackend('cpu');
  const vgg = identityVgg();
  const layers = { style: ['relu1_1'], content: 'relu1_1' };
  // Output pixels (1,0,0), (0,2,0): FᵀF = diag(1, 4, 0), / (H·W·C = 1·2·3) → diag(1/6, 4/6, 0).
  const out = image(1, 2, [1, 0, 0, 0, 2, 0]);
  // Painting, one pixel (2,0,0): FᵀF = diag(4, 0, 0), / 3 → diag(4/3, 0, 0).
  const painting = image(1, 1, [2, 0, 0]);
  // Photo (1,0,0), (0,1,0): ‖F_out − F_photo‖² = 1, ‖F_photo‖² = 2.
  const photo = image(1, 2, [1, 0, 0, 0, 1, 0]);
  const before = tf.memory().numTensors;
  const grams = gramsOf(vgg, painting, layers.style);
  assert.deepEqual(
    Array.from(await grams.relu1_1.data()).map((v) => +v.toFixed(6)),
    [4 / 3, 0, 0, 0, 0, 0, 0, 0, 0].map((v) => +v.toFixed(6)),
  );
  const m = await imageMetrics(vgg, out, photo, grams, layers);
  // G_out − G_paint = diag(1/6 − 4/3, 4/6, 0) = diag(−7/6, 2/3, 0): norm √65/6; / (4/3) → √65/8.
  assert.ok(Math.abs(m.styleDistance - Math.sqrt(65) / 8) < 1e-6, `${m.styleDistance}`);
  assert.ok(Math.abs(m.contentDistance - 0.5) < 1e-6, `${m.contentDistance}`);
  tf.dispose(Object.values(grams));
  assert.equal(tf.memory().numTensors, before, 'every tensor freed');
  tf.dispose([out, painting, photo]);
  vgg.dispose();
});

test('an image against itself: style distance 0 (as its own painting) and content distance 0, at all metric layers', async () => {
  await tf.setBackend('cpu');
  const vgg = Vgg19.fromWeights(syntheticVggWeights([6, 6, 8, 8, 10], 3));
  const img = tf.tidy(() => tf.mul(tf.randomUniform([1, 20, 24, 3], 0, 1, 'float32', 5), 255) as Tensor4D);
  const before = tf.memory().numTensors;
  const grams = gramsOf(vgg, img);
  const m = await imageMetrics(vgg, img, img, grams);
  tf.dispose(Object.values(grams));
  assert.equal(tf.memory().numTensors, before, 'every tensor freed');
  assert.equal(m.styleDistance, 0);
  assert.equal(m.contentDistance, 0);
  assert.deepEqual(Object.keys(m.styleDistanceByLayer), [...METRIC_LAYERS.style]);
  // A different photo of the same style is not at distance 0; nor is a photo of different size refused silently.
  const other = tf.tidy(() => tf.mul(tf.randomUniform([1, 20, 24, 3], 0, 1, 'float32', 6), 255) as Tensor4D);
  const grams2 = gramsOf(vgg, img);
  const m2 = await imageMetrics(vgg, other, img, grams2);
  assert.ok(m2.styleDistance > 0 && m2.contentDistance > 0);
  const small = tf.zeros([1, 10, 12, 3]) as Tensor4D;
  await assert.rejects(imageMetrics(vgg, small, img, grams2), /differ in size/);
  tf.dispose([img, other, small, ...Object.values(grams2)]);
  vgg.dispose();
  // The Gram here is the losses' Gram: FᵀF / (H·W·C).
  const f = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
  const g = gram(f);
  assert.deepEqual(Array.from(await g.data()), [10 / 4, 14 / 4, 14 / 4, 20 / 4]);
  tf.dispose([f, g]);
});

// ---- blobs --------------------------------------------------------------------------------

function canvas(w: number, h: number, v = 128): RgbBytes {
  return { width: w, height: h, data: new Uint8Array(w * h * 3).fill(v) };
}

function paint(img: RgbBytes, x0: number, y0: number, w: number, h: number, rgb: [number, number, number]): void {
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) img.data.set(rgb, (y * img.width + x) * 3);
}

const WHITE: [number, number, number] = [255, 255, 255];
const BLACK: [number, number, number] = [0, 0, 0];

test('blobs: two regions with exact pixel counts (100×100 image: regions of ≥ 5 pixels count)', () => {
  const out = canvas(100, 100);
  const photo = canvas(100, 100);
  paint(out, 10, 10, 10, 10, WHITE); // 100 px
  paint(out, 60, 70, 3, 4, [3, 5, 0]); // 12 px black (every channel ≤ 5)
  paint(out, 80, 10, 2, 2, WHITE); // 4 px: below 0.05 % of 10 000 = 5 px, ignored
  paint(out, 40, 40, 3, 3, [255, 255, 249]); // one channel below 250: not clipped
  paint(out, 40, 60, 3, 3, [6, 5, 5]); // one channel above 5: not clipped
  const r = blobShare(out, photo);
  assert.deepEqual(r, { share: 112 / 10_000, pixels: 112, regions: 2 });
  // The threshold is a share of the image: at 1 %, only the 100-pixel square is left.
  assert.deepEqual(blobShare(out, photo, { minShare: 0.01 }), { share: 0.01, pixels: 100, regions: 1 });
});

test('blobs: diagonal neighbours are connected (8-connectivity); white and black touching form one region', () => {
  const out = canvas(100, 100);
  const photo = canvas(100, 100);
  for (let i = 0; i < 5; i++) paint(out, 20 + i, 30 + i, 1, 1, WHITE); // 5 px on a diagonal: one region of 5
  assert.deepEqual(blobShare(out, photo), { share: 5 / 10_000, pixels: 5, regions: 1 });
  const mask = new Uint8Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.deepEqual(regionSizes(mask, 3, 3), [3]);
  assert.deepEqual(regionSizes(new Uint8Array([1, 0, 1, 0, 0, 0, 1, 0, 1]), 3, 3), [1, 1, 1, 1]);
  // A region touching the right edge does not wrap to the next row's left edge.
  assert.deepEqual(regionSizes(new Uint8Array([0, 0, 1, 1, 0, 0]), 3, 2), [1, 1]);
  const out2 = canvas(100, 100);
  paint(out2, 50, 50, 2, 2, WHITE);
  paint(out2, 52, 50, 1, 2, BLACK);
  assert.deepEqual(blobShare(out2, photo), { share: 6 / 10_000, pixels: 6, regions: 1 });
});

test('blobs: pixels clipped in the photo too are not counted (bright or dark there)', () => {
  const out = canvas(100, 100);
  const photo = canvas(100, 100);
  paint(out, 10, 10, 10, 10, WHITE);
  paint(photo, 10, 10, 5, 10, [252, 251, 250]); // left half of the square is white in the photo too
  assert.deepEqual(blobShare(out, photo), { share: 50 / 10_000, pixels: 50, regions: 1 });
  paint(photo, 15, 10, 5, 10, BLACK); // right half black in the photo: clipped there too
  assert.deepEqual(blobShare(out, photo), { share: 0, pixels: 0, regions: 0 });
  assert.throws(() => blobShare(canvas(10, 10), canvas(10, 11)), /differ in size/);
});

// ---- the sheet, the job's schema, the command -------------------------------------------------

test('contact sheet size: fixed cells, a band for the painting', () => {
  assert.deepEqual(sheetSize(2, 2), { width: 8 + 2 * (384 + 8), height: 8 + 144 + 8 + 2 * (288 + 8) });
  const job = (o: object) =>
    jobRequestProblem(
      { type: 'evaluate', options: { styles: ['/s'], painting: '/p.jpg', vggPath: '/v', ...o } },
      {
        trainingBackend: 'auto',
        stylizeRuntime: 'auto',
        threads: 0,
        cacheDir: '/c',
        extraModuleRoots: [],
        maxInputPixels: 1e8,
      },
    );
  assert.equal(job({}), undefined);
  assert.equal(job({ photos: ['/a.jpg'], sheet: '/s.png', maxSide: 512 }), undefined);
  assert.match(job({ sheet: 'rel.png' })!, /"options\.sheet" must be an absolute path/);
  assert.match(job({ styles: 'x' })!, /"options\.styles" must be an array/);
});

const STARRY = path.join(REPO_ROOT, 'styles', 'starry-night');
/** `fst evaluate` of the bundled Starry Night against its painting, with the shared VGG weights (photos to add). */
const EVALUATE_STARRY = [
  'evaluate',
  '-m',
  STARRY,
  '--style',
  shared('styles', 'starry_night.jpg'),
  '--vgg',
  shared('vgg19-keras-block1-3'),
];

async function smallPhotos(dir: string): Promise<string[]> {
  const files = [path.join(dir, 'coffee.png'), path.join(dir, 'rocket.png')];
  await sharp(path.join(REPO_ROOT, 'media', 'samples', 'photos', 'coffee.png'))
    .resize(120, 80)
    .png()
    .toFile(files[0]);
  await sharp(path.join(REPO_ROOT, 'media', 'samples', 'photos', 'rocket.jpg'))
    .resize(96, 64)
    .png()
    .toFile(files[1]);
  return files;
}

test('fst evaluate --json --compare --sheet on two small photos: every figure, means, a 3-column sheet; no tensor left', async (t) => {
  if (!hasSharedData(t)) return;
  const dir = tempDir('fst-evaluate-');
  const photos = await smallPhotos(dir);
  const sheet = path.join(dir, 'sheet.png');
  await tf.ready();
  const before = tf.memory().numTensors;
  const r = await runFst([
    'evaluate',
    '-m',
    STARRY,
    '--compare',
    shared('pretrained', 'udnie'),
    '--style',
    shared('styles', 'starry_night.jpg'),
    '--vgg',
    shared('vgg19-keras-block1-3'),
    '--json',
    '--sheet',
    sheet,
    ...photos,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  const j = JSON.parse(r.stdout);
  assert.equal(j.painting, shared('styles', 'starry_night.jpg'));
  assert.match(j.vgg, /keras/);
  assert.deepEqual(
    j.models.map((m: { name: string }) => m.name),
    ['Starry Night', 'udnie'],
  );
  for (const m of j.models) {
    assert.deepEqual(
      m.photos.map((p: { photo: string }) => p.photo),
      photos,
    );
    assert.deepEqual(
      m.photos.map((p: { width: number; height: number }) => [p.width, p.height]),
      [
        [120, 80],
        [96, 64],
      ],
    );
    for (const p of [...m.photos, m.mean]) {
      assert.ok(p.styleDistance > 0 && p.styleDistance < 5, `style ${p.styleDistance}`);
      assert.ok(p.contentDistance > 0 && p.contentDistance < 10, `content ${p.contentDistance}`);
      assert.ok(p.blobShare >= 0 && p.blobShare <= 1, `blobs ${p.blobShare}`);
    }
    for (const k of ['styleDistance', 'contentDistance', 'blobShare']) {
      assert.ok(Math.abs(m.mean[k] - (m.photos[0][k] + m.photos[1][k]) / 2) < 1e-12, k);
    }
    // Each photo's style distance is the mean of its layers' distances, printed too.
    for (const p of m.photos) {
      const layers = Object.values(p.styleDistanceByLayer as Record<string, number>);
      assert.equal(layers.length, 3);
      assert.ok(Math.abs(p.styleDistance - layers.reduce((a, b) => a + b, 0) / 3) < 1e-9);
    }
  }
  // Udnie is measured against Starry Night's painting here: further from it than the Starry Night style.
  assert.ok(j.models[1].mean.styleDistance > j.models[0].mean.styleDistance);
  const meta = await sharp(sheet).metadata();
  assert.equal(meta.format, 'png');
  assert.deepEqual([meta.width, meta.height], [8 + 3 * (384 + 8), 8 + 144 + 8 + 2 * (288 + 8)]);
  assert.deepEqual(j.sheet, { path: sheet, width: meta.width, height: meta.height });

  // Text: a row per photo and the mean, one column per style under each figure.
  const text = await runFst([...EVALUATE_STARRY, photos[0]]);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.split('\n');
  assert.match(lines[1], /^\s+style distance\s+content distance\s+blob share$/);
  assert.match(lines[2], /^coffee\.png\s+\d\.\d{3}\s+\d\.\d{3}\s+\d+\.\d\d %$/);
  assert.match(lines[3], /^mean\s+\d\.\d{3}/);
  assert.match(lines[4], /--sheet/);
});

test('fst evaluate refuses bad input with one line and writes nothing; an existing sheet is never overwritten', async (t) => {
  if (!hasSharedData(t)) return;
  const dir = tempDir('fst-evaluate-bad-');
  const photos = await smallPhotos(dir);
  const sheet = path.join(dir, 'sheet.png');
  fs.writeFileSync(sheet, 'keep me');
  const base = EVALUATE_STARRY;
  for (const [args, re] of [
    [[...base, '--sheet', sheet, ...photos], /sheet\.png already exists; not overwriting it/],
    [[...base, '--sheet', path.join(dir, 'no', 'sheet.png'), ...photos], /folder of .* does not exist/],
    [[...base, '--sheet', path.join(dir, 'sheet.txt'), ...photos], /cannot tell the sheet's image format/],
    [[...base.slice(0, 5), ...photos], /--vgg is required/],
    [['evaluate', '-m', STARRY, '--vgg', shared('vgg19-keras-block1-3'), ...photos], /--style is required/],
    [[...base, '--max-side', '2', ...photos], /--max-side must be a number between 16 and 8192/],
    [[...base, path.join(dir, 'missing.jpg')], /missing\.jpg does not exist/],
    [[...base, '--compare', path.join(dir, 'nostyle'), ...photos], /style .*nostyle does not exist/],
  ] as const) {
    const r = await runFst([...args]);
    assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('fst evaluate:'));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0], re);
    assert.equal(r.stdout, '');
  }
  assert.equal(fs.readFileSync(sheet, 'utf8'), 'keep me');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['coffee.png', 'rocket.png', 'sheet.png']);
});

test('the evaluate job through the engine dispatch: the shipped sample photos by default, shrunk to maxSide', async (t) => {
  if (!hasSharedData(t)) return;
  const settings: EngineSettings = {
    trainingBackend: 'auto',
    stylizeRuntime: 'auto',
    threads: 0,
    cacheDir: tempDir('fst-evaluate-cache-'),
    extraModuleRoots: [],
    maxInputPixels: 1e8,
  };
  const phases: string[] = [];
  const r = await runJob(
    {
      type: 'evaluate',
      options: {
        styles: [STARRY],
        painting: shared('styles', 'starry_night.jpg'),
        vggPath: shared('vgg19-keras-block1-3'),
        maxSide: 64,
      },
    },
    settings,
    { progress: (p) => phases.push(p.type) },
  );
  const photos = r.models[0].photos;
  assert.deepEqual(
    photos.map((p) => path.basename(p.photo)),
    ['astronaut.png', 'coffee.png', 'rocket.jpg'],
  );
  assert.ok(
    photos.every((p) => Math.max(p.width, p.height) === 64),
    JSON.stringify(photos),
  );
  assert.equal(r.sheet, undefined, 'no sheet unless asked');
  assert.ok(phases.includes('evaluate') && phases.includes('phase'));
});
