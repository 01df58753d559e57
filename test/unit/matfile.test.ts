import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { readMat, matField, type MatValue } from '../../src/io/matfile';
import { loadVggWeights, parseMatConvNetVgg } from '../../src/io/vggWeights';
import { StyleTransferError } from '../../src/protocol/errors';
import { mat, writeMat, writeVggMat, type TinyConv, type MatVariable } from '../helpers/matWriter';
import { tempDir } from '../helpers/paths';
import { rng } from '../helpers/vggFixtures';

function tinyConvs(channels: number[], seed = 1): TinyConv[] {
  const r = rng(seed);
  const names = ['conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'conv3_1'];
  let inC = 3;
  return channels.map((outC, i) => {
    const kernel = Float32Array.from({ length: 9 * inC * outC }, () => r() - 0.5);
    const bias = Float32Array.from({ length: outC }, () => r() - 0.5);
    const c = { name: names[i], kernel, bias, inChannels: inC, outChannels: outC };
    inC = outC;
    return c;
  });
}

function assertBadWeights(fn: () => unknown, pattern?: RegExp): StyleTransferError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StyleTransferError, `expected StyleTransferError, got ${(e as Error)?.stack ?? String(e)}`);
    assert.equal(e.code, 'bad-weights', e.message);
    if (pattern) assert.match(e.message, pattern);
    return e;
  }
  assert.fail('expected an error');
}

const sample: MatVariable[] = [
  { name: 'd', value: mat.double([2, 3], [1, -2.5, 3e10, 4, 5, 6]) },
  { name: 'small', value: mat.double([1, 1], [200], 'uint8') }, // a double stored as one byte (small element)
  { name: 's', value: mat.single([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8.5]) },
  { name: 'u8', value: mat.uint8([1, 5], [0, 1, 127, 128, 255]) },
  { name: 'i16', value: { kind: 'numeric', className: 'int16', dims: [1, 3], data: [-32768, 0, 32767] } },
  { name: 'cplx', value: { kind: 'numeric', className: 'double', dims: [1, 2], data: [1, 2], imag: [-3, 4] } },
  { name: 'flag', value: { kind: 'numeric', className: 'uint8', dims: [1, 2], data: [1, 0], logical: true } },
  { name: 'txt', value: mat.str('conv1_1 é') },
  { name: 'nothing', value: mat.empty() },
  {
    name: 'c',
    value: { kind: 'cell', dims: [2, 1], items: [mat.str('a'), mat.cellRow([mat.scalar(7), mat.empty()])] },
  },
  {
    name: 'st',
    value: {
      kind: 'struct',
      dims: [1, 2],
      fields: ['name', 'value'],
      elements: [
        { name: mat.str('first'), value: mat.row([1, 2, 3]) },
        { name: mat.str('second'), value: mat.struct({ inner: mat.single([1, 1], [0.25]) }) },
      ],
    },
  },
];

function checkSample(vars: ReadonlyMap<string, MatValue>): void {
  const num = (name: string) => {
    const v = vars.get(name);
    assert.equal(v?.kind, 'numeric', name);
    return v as Extract<MatValue, { kind: 'numeric' }>;
  };
  assert.deepEqual(
    [...vars.keys()],
    sample.map((s) => s.name),
  );
  assert.deepEqual(num('d').dims, [2, 3]);
  assert.deepEqual([...num('d').values()], [1, -2.5, 3e10, 4, 5, 6]);
  assert.ok(num('d').values() instanceof Float64Array);
  assert.equal(num('small').className, 'double');
  assert.deepEqual([...num('small').values()], [200]);
  assert.ok(num('s').values() instanceof Float32Array);
  assert.deepEqual(num('s').dims, [2, 2, 2]);
  assert.deepEqual([...num('s').values()], [1, 2, 3, 4, 5, 6, 7, 8.5]);
  assert.deepEqual([...num('u8').values()], [0, 1, 127, 128, 255]);
  assert.deepEqual([...num('i16').values()], [-32768, 0, 32767]);
  assert.equal(num('cplx').complex, true);
  assert.deepEqual([...num('cplx').imagValues()!], [-3, 4]);
  assert.equal(num('flag').logical, true);
  const txt = vars.get('txt');
  assert.equal(txt?.kind === 'char' ? txt.text : undefined, 'conv1_1 é');
  assert.deepEqual(num('nothing').dims, [0, 0]);
  const c = vars.get('c');
  assert.ok(c?.kind === 'cell');
  assert.deepEqual(c.dims, [2, 1]);
  assert.equal(c.items[0].kind === 'char' && c.items[0].text, 'a');
  const inner = c.items[1];
  assert.ok(inner.kind === 'cell' && inner.items.length === 2);
  assert.deepEqual(inner.items[0].kind === 'numeric' && [...inner.items[0].values()], [7]);
  const st = vars.get('st');
  assert.ok(st?.kind === 'struct');
  assert.deepEqual(st.fieldNames, ['name', 'value']);
  assert.equal(st.elements.length, 2);
  const second = matField(st, 'name', 1);
  assert.equal(second?.kind === 'char' && second.text, 'second');
  const deep = matField(matField(st, 'value', 1), 'inner');
  assert.deepEqual(deep?.kind === 'numeric' && [...deep.values()], [0.25]);
}

test('the MAT reader recovers exactly what the writer wrote (LE/BE, plain/compressed)', () => {
  for (const bigEndian of [false, true]) {
    for (const compress of [false, true]) {
      const bytes = writeMat(
        sample.map((v) => ({ ...v, compress })),
        { bigEndian },
      );
      const m = readMat(bytes);
      assert.equal(m.littleEndian, !bigEndian);
      assert.match(m.description, /^MATLAB 5\.0 MAT-file/);
      checkSample(m.variables);
    }
  }
});

test('a tiny VGG-shaped .mat (old and new layouts) gives back the kernels, biases and mean written', () => {
  const convs = tinyConvs([4, 4, 5, 1]);
  for (const layout of ['old', 'new'] as const) {
    for (const compress of [false, true]) {
      const bytes = writeVggMat(convs, { layout, compress, meanRgb: [120.5, 110.25, 100.125] });
      const w = parseMatConvNetVgg(bytes, 'tiny.mat');
      assert.equal(w.source, 'matconvnet');
      assert.equal(w.channelOrder, 'rgb');
      assert.deepEqual(
        w.layers.map((l) => l.name),
        ['conv1_1', 'conv1_2', 'conv2_1', 'conv2_2'],
      );
      w.layers.forEach((l, i) => {
        assert.equal(l.inChannels, convs[i].inChannels);
        assert.equal(l.outChannels, convs[i].outChannels);
        assert.deepEqual(l.kernel, convs[i].kernel, `${layout} ${compress} ${l.name} kernel`);
        assert.deepEqual(l.bias, convs[i].bias);
      });
      w.mean.forEach((m, c) => assert.ok(Math.abs(m - [120.5, 110.25, 100.125][c]) < 1e-4, `mean ${w.mean}`));
    }
  }
});

test("the reference-compatible option swaps the filters' height and width axes", () => {
  const convs = tinyConvs([2]);
  const plain = parseMatConvNetVgg(writeVggMat(convs), 'a.mat').layers[0];
  const swapped = parseMatConvNetVgg(writeVggMat(convs), 'a.mat', { matconvnetSwapFilterAxes: true }).layers[0];
  const at = (k: Float32Array, h: number, w: number, i: number, o: number) => k[((h * 3 + w) * 3 + i) * 2 + o];
  assert.equal(at(swapped.kernel, 0, 2, 1, 1), at(plain.kernel, 2, 0, 1, 1));
  assert.notDeepEqual(swapped.kernel, plain.kernel);
});

test('loadVggWeights dispatches on .mat files and folders holding one, and reports the layers', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'imagenet-vgg-verydeep-19.mat');
  fs.writeFileSync(file, writeVggMat(tinyConvs([3, 3, 4]), { compress: true }));
  for (const p of [file, dir]) {
    const loaded = await loadVggWeights(p);
    assert.equal(loaded.weights.source, 'matconvnet');
    assert.deepEqual(loaded.availableLayers, [
      'conv1_1',
      'relu1_1',
      'conv1_2',
      'relu1_2',
      'pool1',
      'conv2_1',
      'relu2_1',
    ]);
    assert.match(
      loaded.description,
      /matconvnet .*conv1_1 … conv2_1 .*relu1_1 … relu2_1.*RGB minus \[123\.680, 116\.779, 103\.939\]/,
    );
  }
});

test('wrong magic, v7.3/HDF5, short files and missing variables each give one precise error', () => {
  const good = writeVggMat(tinyConvs([2]));
  assertBadWeights(() => readMat(good.subarray(0, 100)), /100 bytes is too short/);
  const png = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(200)]);
  assertBadWeights(() => readMat(png), /not a MAT-file/);
  const v73 = Buffer.from(good);
  v73.write('MATLAB 7.3 MAT-file', 0, 'latin1');
  assertBadWeights(() => readMat(v73), /v7\.3 \(HDF5\) is not supported/);
  const badEndian = Buffer.from(good);
  badEndian.write('XX', 126, 'latin1');
  assertBadWeights(() => readMat(badEndian), /endian indicator/);
  const noLayers = writeMat([{ name: 'weights', value: mat.scalar(1) }]);
  assertBadWeights(() => parseMatConvNetVgg(noLayers, 'x.mat'), /no "layers" variable \(variables: weights\)/);
  const noMean = writeMat([{ name: 'layers', value: mat.cellRow([]) }]);
  assertBadWeights(() => parseMatConvNetVgg(noMean, 'x.mat'), /no VGG19 conv layers/);
  const dag = writeMat([{ name: 'layers', value: mat.struct({ name: mat.str('conv1_1') }) }]);
  assertBadWeights(() => parseMatConvNetVgg(dag, 'x.mat'), /DagNN/);
});

test('a truncated .mat gives a precise bad-weights error at every cut point, never a crash', () => {
  for (const compress of [false, true]) {
    const bytes = writeVggMat(tinyConvs([2, 2]), { compress });
    let messages = new Set<string>();
    for (let cut = 0; cut < bytes.length; cut += compress ? 3 : 5) {
      const e = assertBadWeights(() => parseMatConvNetVgg(bytes.subarray(0, cut), 'cut.mat'));
      messages.add(e.message.replace(/\d+/g, 'N'));
    }
    // The messages say what is wrong, e.g. "claims N bytes but only N remain (truncated or corrupt)".
    assert.ok(
      [...messages].some((m) => /truncated/.test(m)),
      [...messages].join('\n'),
    );
    messages = new Set();
  }
});

test('absurd dims, huge cells, zip bombs, corrupt zlib and deep nesting are refused without big allocations', () => {
  // A 3×3 double claiming to be 2147483647×2147483647.
  const m = writeMat([{ name: 'x', value: mat.double([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]) }]);
  const dimsAt = m.indexOf(Buffer.from([5, 0, 0, 0, 8, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0]));
  assert.ok(dimsAt > 0);
  const absurd = Buffer.from(m);
  absurd.writeInt32LE(0x7fffffff, dimsAt + 8);
  absurd.writeInt32LE(0x7fffffff, dimsAt + 12);
  assertBadWeights(() => readMat(absurd), /is 2147483647×2147483647 .* but its data holds 72 bytes/);

  const cell = writeMat([{ name: 'c', value: mat.cellRow([mat.scalar(1)]) }]);
  const cellDims = cell.indexOf(Buffer.from([5, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]));
  const hugeCell = Buffer.from(cell);
  hugeCell.writeInt32LE(1e9, cellDims + 12);
  assertBadWeights(() => readMat(hugeCell), /needs 1000000000 elements but only \d+ bytes remain/);

  const negative = Buffer.from(m);
  negative.writeInt32LE(-3, dimsAt + 8);
  assertBadWeights(() => readMat(negative), /negative dimension/);

  // 8 MB of zeros deflates to ~8 KB; with a 1 MB budget it must be refused.
  const big = writeMat([
    {
      name: 'z',
      value: { kind: 'numeric', className: 'uint8', dims: [1, 8 << 20], data: new Uint8Array(8 << 20) },
      compress: true,
    },
  ]);
  assert.ok(big.length < 200_000);
  assertBadWeights(
    () => readMat(big, { maxDecompressedBytes: 1 << 20 }),
    /inflates to more than the 1048576 bytes allowed/,
  );

  const corrupt = Buffer.from(writeVggMat(tinyConvs([2]), { compress: true }));
  corrupt.fill(0x55, 140, 160);
  assertBadWeights(() => readMat(corrupt), /corrupt or truncated \(zlib/);

  let nested = mat.scalar(1);
  for (let i = 0; i < 100; i++) nested = mat.cellRow([nested]);
  assertBadWeights(() => readMat(writeMat([{ name: 'n', value: nested }])), /nested more than 64 deep/);
});

test('random byte corruption never escapes as anything but a StyleTransferError', () => {
  const r = rng(42);
  for (const compress of [false, true]) {
    const good = writeVggMat(tinyConvs([3, 2, 2]), { compress, layout: compress ? 'new' : 'old' });
    for (let trial = 0; trial < 300; trial++) {
      const bad = Buffer.from(good);
      const flips = 1 + Math.floor(r() * 4);
      for (let f = 0; f < flips; f++) bad[128 + Math.floor(r() * (bad.length - 128))] = Math.floor(r() * 256);
      try {
        parseMatConvNetVgg(bad, 'fuzz.mat');
      } catch (e) {
        assert.ok(
          e instanceof StyleTransferError && e.code === 'bad-weights',
          `trial ${trial}: ${(e as Error)?.stack}`,
        );
      }
    }
  }
});

test('deflate output written by zlib with a preset level still reads (what MATLAB writes)', () => {
  // MATLAB compresses each variable as a zlib stream; any compression level must read.
  const plain = writeMat([{ name: 'a', value: mat.row([1, 2, 3]) }]);
  const element = plain.subarray(128);
  const z = zlib.deflateSync(element, { level: 9 });
  const tag = Buffer.alloc(8);
  tag.writeUInt32LE(15, 0);
  tag.writeUInt32LE(z.length, 4);
  const m = readMat(Buffer.concat([plain.subarray(0, 128), tag, z]));
  const a = m.variables.get('a');
  assert.deepEqual(a?.kind === 'numeric' && [...a.values()], [1, 2, 3]);
});
