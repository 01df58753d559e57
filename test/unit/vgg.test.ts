import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import '@tensorflow/tfjs-backend-cpu';
import { tf, type Tensor4D } from '../../src/model/tf';
import { Vgg19, VGG19_LAYERS, VGG19_CONV_NAMES, availableVggLayers, type VggWeights } from '../../src/model/vgg';
import { loadKerasVgg, loadVggWeights } from '../../src/io/vggWeights';
import { StyleTransferError } from '../../src/protocol/errors';
import { hasSharedData, shared, tempDir } from '../helpers/paths';
import { rng, syntheticVggWeights, writeKerasFolder } from '../helpers/vggFixtures';

const KERAS = () => shared('vgg19-keras-block1-3');
/** For tests that run either way: the real weights when present, else synthetic ones (no skip). */
const haveKeras = () => fs.existsSync(path.join(KERAS(), 'model.json'));

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string, pattern: RegExp): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof StyleTransferError, `expected StyleTransferError, got ${(e as Error)?.stack ?? String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return e.message;
  }
  return assert.fail(`expected a ${code} error matching ${pattern}`);
}

async function imageTensor(file: string, size: number): Promise<Tensor4D> {
  const { data, info } = await sharp(file)
    .resize(size, size, { fit: 'cover' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  return tf.tensor4d(Float32Array.from(data), [1, size, size, 3]);
}

test('VGG19 description: 16 convs, 37 named layers, channel widths 64…512', () => {
  assert.equal(VGG19_CONV_NAMES.length, 16);
  assert.equal(VGG19_LAYERS.length, 16 * 2 + 5);
  assert.deepEqual(
    VGG19_LAYERS.slice(0, 6).map((l) => l.name),
    ['conv1_1', 'relu1_1', 'conv1_2', 'relu1_2', 'pool1', 'conv2_1'],
  );
  assert.deepEqual(
    VGG19_LAYERS.filter((l) => l.kind === 'pool').map((l) => `${l.name}:${l.channels}`),
    ['pool1:64', 'pool2:128', 'pool3:256', 'pool4:512', 'pool5:512'],
  );
  assert.equal(VGG19_LAYERS[VGG19_LAYERS.length - 1].name, 'pool5');
});

test('Keras weights load: 8 shards, conv1_1 … conv3_4 with their shapes, BGR and the Caffe mean', async (t) => {
  if (!hasSharedData(t)) return;
  const loaded = await loadVggWeights(KERAS());
  const w = loaded.weights;
  assert.equal(w.source, 'keras');
  assert.equal(w.channelOrder, 'bgr');
  assert.deepEqual(w.mean, [103.939, 116.779, 123.68]);
  assert.deepEqual(
    w.layers.map((l) => l.name),
    VGG19_CONV_NAMES.slice(0, 8),
  );
  assert.deepEqual(
    w.layers.map((l) => [l.inChannels, l.outChannels]),
    [
      [3, 64],
      [64, 64],
      [64, 128],
      [128, 128],
      [128, 256],
      [256, 256],
      [256, 256],
      [256, 256],
    ],
  );
  for (const l of w.layers) {
    assert.equal(l.kernel.length, 9 * l.inChannels * l.outChannels);
    assert.equal(l.bias.length, l.outChannels);
  }
  const model = JSON.parse(fs.readFileSync(path.join(KERAS(), 'model.json'), 'utf8'));
  assert.equal(model.weightsManifest.length, 8);
  // The first float of the first shard is conv1_1's kernel[0,0,0,0]; the last is conv3_4's last bias.
  const shard1 = fs.readFileSync(path.join(KERAS(), 'group1-shard1of1'));
  assert.equal(w.layers[0].kernel[0], shard1.readFloatLE(0));
  const shard8 = fs.readFileSync(path.join(KERAS(), 'group8-shard1of1'));
  assert.equal(w.layers[7].bias[255], shard8.readFloatLE(shard8.length - 4));
  assert.deepEqual(loaded.availableLayers, availableVggLayers(w));
  assert.equal(loaded.availableLayers[loaded.availableLayers.length - 1], 'pool3');
  assert.match(loaded.description, /relu1_1 … relu3_4/);
});

test('a forward pass on a real image gives finite features of the right shapes and leaks nothing', async (t) => {
  if (!hasSharedData(t)) return;
  await tf.setBackend('cpu');
  const vgg = Vgg19.fromWeights(await loadKerasVgg(KERAS()));
  const x = await imageTensor(shared('redistributable', 'astronaut.png'), 48);
  const before = tf.memory().numTensors;
  const f = vgg.features(x, ['relu1_1', 'relu2_2', 'relu3_1', 'pool3']);
  assert.deepEqual(Object.keys(f).sort(), ['pool3', 'relu1_1', 'relu2_2', 'relu3_1']);
  assert.deepEqual(f.relu1_1.shape, [1, 48, 48, 64]);
  assert.deepEqual(f.relu2_2.shape, [1, 24, 24, 128]);
  assert.deepEqual(f.relu3_1.shape, [1, 12, 12, 256]);
  assert.deepEqual(f.pool3.shape, [1, 6, 6, 256]);
  for (const [name, a] of Object.entries(f)) {
    const v = await a.data();
    assert.ok(v.every(Number.isFinite), `${name} finite`);
    assert.ok(
      v.every((z) => z >= 0),
      `${name} is after a ReLU`,
    );
    const active = v.filter((z) => z > 0).length / v.length;
    assert.ok(
      active > 0.05 && active < 0.95,
      `${name}: ${active} of units active (a real image excites some, not all)`,
    );
  }
  assert.equal(tf.memory().numTensors, before + 4, 'only the four returned tensors remain');
  Object.values(f).forEach((a) => a.dispose());
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  vgg.dispose();
});

/** relu1_1 / conv1_1 of a constant image, by hand in float64 at pixel (y, x) of an H×W image (zero SAME padding). */
function handConv1(w: VggWeights, rgb: [number, number, number], y: number, x: number, H: number, W: number): number[] {
  const l = w.layers[0];
  const ordered = w.channelOrder === 'bgr' ? [rgb[2], rgb[1], rgb[0]] : rgb;
  const centred = ordered.map((c, i) => c - w.mean[i]);
  const out: number[] = [];
  for (let o = 0; o < l.outChannels; o++) {
    let s = l.bias[o];
    for (let kh = 0; kh < 3; kh++)
      for (let kw = 0; kw < 3; kw++) {
        const yy = y + kh - 1,
          xx = x + kw - 1;
        if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
        for (let i = 0; i < 3; i++) s += l.kernel[((kh * 3 + kw) * 3 + i) * l.outChannels + o] * centred[i];
      }
    out.push(s);
  }
  return out;
}

async function checkKnownValues(w: VggWeights): Promise<void> {
  await tf.setBackend('cpu');
  const vgg = Vgg19.fromWeights(w);
  const rgb: [number, number, number] = [200, 30, 90];
  const H = 5,
    W = 6;
  const x = tf.tidy(() => tf.mul(tf.ones([1, H, W, 3]), tf.tensor1d(rgb)) as Tensor4D);
  const f = vgg.features(x, ['conv1_1', 'relu1_1']);
  const conv = await f.conv1_1.data();
  const relu = await f.relu1_1.data();
  const C = w.layers[0].outChannels;
  for (const [y, xx] of [
    [2, 3],
    [0, 0],
    [4, 5],
    [0, 3],
  ]) {
    const expected = handConv1(w, rgb, y, xx, H, W);
    for (let o = 0; o < C; o++) {
      const at = (y * W + xx) * C + o;
      const tol = 1e-4 * Math.max(1, Math.abs(expected[o]));
      assert.ok(
        Math.abs(conv[at] - expected[o]) <= tol,
        `conv1_1[${y},${xx},${o}] = ${conv[at]}, by hand ${expected[o]}`,
      );
      assert.ok(Math.abs(relu[at] - Math.max(0, expected[o])) <= tol, `relu1_1[${y},${xx},${o}]`);
    }
  }
  tf.dispose([x, f.conv1_1, f.relu1_1]);
  vgg.dispose();
}

test('relu1_1 of a constant image equals ReLU(Σ kernel·(colour − mean) + bias), by hand (synthetic RGB weights)', async () => {
  await checkKnownValues(syntheticVggWeights([8, 8], 3));
});

test('relu1_1 of a constant image matches the hand computation with the real BGR Keras weights', async (t) => {
  if (!hasSharedData(t)) return;
  await checkKnownValues(await loadKerasVgg(KERAS()));
});

/** The same network for RGB input: conv1_1's input channels and the mean reversed. */
function asRgb(w: VggWeights): VggWeights {
  const [first, ...rest] = w.layers;
  const kernel = new Float32Array(first.kernel.length);
  const O = first.outChannels;
  for (let p = 0; p < 9; p++)
    for (let i = 0; i < 3; i++)
      for (let o = 0; o < O; o++) kernel[(p * 3 + i) * O + o] = first.kernel[(p * 3 + (2 - i)) * O + o];
  return {
    ...w,
    channelOrder: w.channelOrder === 'bgr' ? 'rgb' : 'bgr',
    mean: [w.mean[2], w.mean[1], w.mean[0]],
    layers: [{ ...first, kernel }, ...rest],
  };
}

async function maxRelDiff(a: Tensor4D, b: Tensor4D): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  let num = 0,
    den = 0;
  for (let i = 0; i < x.length; i++) {
    num = Math.max(num, Math.abs(x[i] - y[i]));
    den = Math.max(den, Math.abs(x[i]));
  }
  return num / den;
}

test('channel order: swapping R and B changes the features unless the weights are swapped too', async () => {
  await tf.setBackend('cpu');
  const weights = haveKeras()
    ? await loadKerasVgg(KERAS())
    : syntheticVggWeights([8, 8, 12], 5, { channelOrder: 'bgr', mean: [103.939, 116.779, 123.68] });
  const bgr = Vgg19.fromWeights(weights);
  const rgb = Vgg19.fromWeights(asRgb(weights));
  const r = rng(9);
  const x = tf.tensor4d(
    Float32Array.from({ length: 12 * 12 * 3 }, () => 255 * r()),
    [1, 12, 12, 3],
  );
  const swapped = tf.reverse(x, 3);
  const layer = 'relu2_1';
  const a = bgr.features(x, [layer])[layer];
  const b = rgb.features(x, [layer])[layer];
  const c = bgr.features(swapped, [layer])[layer];
  assert.ok((await maxRelDiff(a, b)) < 1e-5, 'the same network written for RGB input gives the same features');
  assert.ok((await maxRelDiff(a, c)) > 0.05, 'feeding the channels the wrong way round changes the features');
  tf.dispose([x, swapped, a, b, c]);
  bgr.dispose();
  rgb.dispose();
});

test('max pooling 2×2 stride 2 ("same": odd sizes keep the last row) and early stop', async () => {
  await tf.setBackend('cpu');
  const vgg = Vgg19.fromWeights(syntheticVggWeights([4, 4, 6], 2));
  const x = tf.randomUniform([2, 7, 5, 3], 0, 255, 'float32', 3) as Tensor4D;
  const f = vgg.features(x, ['relu1_2', 'pool1', 'relu2_1']);
  assert.deepEqual(f.pool1.shape, [2, 4, 3, 4]);
  assert.deepEqual(f.relu2_1.shape, [2, 4, 3, 6]);
  const r = await f.relu1_2.array();
  const p = await f.pool1.array();
  for (const [py, px] of [
    [0, 0],
    [1, 2],
    [3, 1],
    [3, 2],
  ]) {
    for (let c = 0; c < 4; c++) {
      const window = [];
      for (let dy = 0; dy < 2; dy++)
        for (let dx = 0; dx < 2; dx++) {
          const y = 2 * py + dy,
            xx = 2 * px + dx;
          if (y < 7 && xx < 5) window.push(r[1][y][xx][c]);
        }
      assert.equal(p[1][py][px][c], Math.max(...window));
    }
  }
  tf.dispose([x, ...Object.values(f)]);
  vgg.dispose();
});

test('asking for a layer the weights lack names the available ones; unknown names are bad input', async () => {
  await tf.setBackend('cpu');
  const w = haveKeras() ? await loadKerasVgg(KERAS()) : syntheticVggWeights([4, 4, 4, 4, 4, 4, 4, 4]);
  const vgg = Vgg19.fromWeights(w);
  const x = tf.zeros([1, 8, 8, 3]) as Tensor4D;
  const before = tf.memory().numTensors;
  const msg = await rejectsWith(
    () => vgg.features(x, ['relu1_1', 'relu4_2']),
    'bad-weights',
    /provide relu1_1 … relu3_4 .*relu4_2 is not available\. Use one of relu1_1, relu1_2, relu2_1, relu2_2, relu3_1, relu3_2, relu3_3, relu3_4/,
  );
  assert.match(msg, haveKeras() ? /VGG weights from keras \(.*vgg19-keras-block1-3\)/ : /synthetic/);
  await rejectsWith(() => vgg.features(x, ['relu6_1']), 'bad-input', /"relu6_1" is not a VGG19 layer/);
  assert.equal(tf.memory().numTensors, before, 'a refused request allocates nothing');
  assert.equal(vgg.channelsOf('relu3_1'), w.layers[4].outChannels);
  x.dispose();
  vgg.dispose();
});

test('inconsistent weights are refused with one precise message', () => {
  const w = syntheticVggWeights([4, 4, 6]);
  const badChain = { ...w, layers: [w.layers[0], { ...w.layers[1], inChannels: 5 }] };
  assert.throws(
    () => Vgg19.fromWeights(badChain),
    (e: StyleTransferError) =>
      e.code === 'bad-weights' &&
      /synthetic \(seed 1\): conv1_2 takes 5 input channels but the previous layer gives 4/.test(e.message),
  );
  const short = { ...w, layers: [{ ...w.layers[0], kernel: w.layers[0].kernel.subarray(1) }] };
  assert.throws(() => Vgg19.fromWeights(short), /conv1_1 kernel has 107 values, expected 3×3×3×4 = 108/);
  const gap = { ...w, layers: [w.layers[0], w.layers[2]] };
  assert.throws(() => Vgg19.fromWeights(gap), /layer 2 is conv2_1, expected conv1_2/);
  const nan = { ...w, layers: [{ ...w.layers[0], bias: Float32Array.from([1, NaN, 0, 0]) }] };
  assert.throws(() => Vgg19.fromWeights(nan), /conv1_1 bias holds a non-finite value at index 1/);
});

// ----- Keras folder loader: corrupt and incomplete files -------------------------------

function kerasCopy(): string {
  const dir = path.join(tempDir(), 'vgg');
  writeKerasFolder(dir, syntheticVggWeights([4, 4, 6]));
  return dir;
}

test('a synthetic Keras folder round-trips exactly', async () => {
  const w = syntheticVggWeights([4, 4, 6]);
  const dir = path.join(tempDir(), 'vgg');
  writeKerasFolder(dir, w);
  const back = await loadKerasVgg(dir);
  assert.deepEqual(
    back.layers.map((l) => [l.name, [...l.kernel], [...l.bias]]),
    w.layers.map((l) => [l.name, [...l.kernel], [...l.bias]]),
  );
});

test('corrupt/truncated model.json, missing or truncated shards each give one clear error', async () => {
  let dir = kerasCopy();
  const json = fs.readFileSync(path.join(dir, 'model.json'), 'utf8');
  fs.writeFileSync(path.join(dir, 'model.json'), json.slice(0, json.length / 2));
  await rejectsWith(loadVggWeights(dir), 'bad-weights', /model\.json is not valid JSON .*truncated or corrupt/);

  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ modelTopology: {} }));
  await rejectsWith(loadVggWeights(dir), 'bad-weights', /no weightsManifest array/);

  dir = kerasCopy();
  fs.rmSync(path.join(dir, 'group2-shard1of1'));
  await rejectsWith(
    loadVggWeights(dir),
    'bad-weights',
    /weight file group2-shard1of1 .*cannot be read \(ENOENT\); the download is incomplete/,
  );

  dir = kerasCopy();
  const shard = path.join(dir, 'group3-shard1of1');
  fs.truncateSync(shard, fs.statSync(shard).size - 10);
  await rejectsWith(
    loadVggWeights(dir),
    'bad-weights',
    /group 3 \(group3-shard1of1\) holds \d+ bytes but model\.json lists \d+ bytes of weights; a weight file is truncated/,
  );

  dir = kerasCopy();
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  m.weightsManifest[0].paths = ['../../etc/passwd'];
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(m));
  await rejectsWith(loadVggWeights(dir), 'bad-weights', /points outside the folder/);

  dir = kerasCopy();
  const m2 = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  m2.weightsManifest.splice(1, 1); // conv1_2 gone, conv2_1 still there
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(m2));
  await rejectsWith(loadVggWeights(dir), 'bad-weights', /conv weights conv2_1 are present but conv1_2 is missing/);

  await rejectsWith(loadVggWeights(path.join(tempDir(), 'nothing-here')), 'not-found', /VGG weights not found/);
  await rejectsWith(loadVggWeights(tempDir()), 'bad-weights', /neither a Keras\/tfjs VGG19 folder/);
});

test('the real Keras folder with a truncated last shard is refused', async (t) => {
  if (!hasSharedData(t)) return;
  const dir = path.join(tempDir(), 'keras');
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(KERAS())) fs.copyFileSync(path.join(KERAS(), f), path.join(dir, f));
  const last = path.join(dir, 'group8-shard1of1');
  fs.truncateSync(last, 1000);
  await rejectsWith(
    loadVggWeights(dir),
    'bad-weights',
    /group 8 \(group8-shard1of1\) holds 1000 bytes but model\.json lists 2360320 bytes/,
  );
});
