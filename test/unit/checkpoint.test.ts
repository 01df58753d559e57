import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  PAPER_ARCHITECTURE,
  borderPadding,
  paramSpecs,
  sizeOfShape,
  type TransformNetArchitecture,
  type WeightMap,
} from '../../src/model/architecture';
import { readCheckpoint, readStyleInfo, writeCheckpoint, CHECKPOINT_FORMAT_VERSION } from '../../src/io/checkpoint';
import { decodeFloat16, encodeFloat16, float16BitsToFloat32, float32ToFloat16Bits } from '../../src/io/float16';
import { readMl5Folder } from '../../src/io/ml5Import';
import { StyleTransferError } from '../../src/protocol/errors';
import { rejectsWith } from '../helpers/errors';
import { hasSharedData, shared, tempDir } from '../helpers/paths';

const SMALL: TransformNetArchitecture = { type: 'johnson2016', filters: [4, 8, 16], residualBlocks: 1 };

function randomWeights(arch: TransformNetArchitecture, seed = 1): WeightMap {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;
  return new Map(paramSpecs(arch).map((p) => [p.name, Float32Array.from({ length: sizeOfShape(p.shape) }, rnd)]));
}

function info(name: string, arch = SMALL) {
  const now = new Date().toISOString();
  return {
    name,
    architecture: arch,
    source: { kind: 'trained' as const },
    iteration: 42,
    createdAt: now,
    updatedAt: now,
  };
}

test('float16 encodes every finite half value back to itself and rounds to nearest even', () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = float16BitsToFloat32(h);
    if (Number.isNaN(v)) continue;
    assert.equal(float32ToFloat16Bits(v), h, `half 0x${h.toString(16)} = ${v}`);
  }
  // 1 + 2^-11 lies exactly between 1 and the next half (1 + 2^-10): ties go to the even mantissa (1).
  assert.equal(float32ToFloat16Bits(1 + 2 ** -11), 0x3c00);
  assert.equal(float32ToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(float32ToFloat16Bits(65520), 0x7c00); // rounds up past the largest half → Inf
  assert.equal(float32ToFloat16Bits(2 ** -25 * 1.5), 0x0001); // subnormal rounding
  const x = Float32Array.from([0.1, -3.25, 1e-6, 1234.5]);
  const y = decodeFloat16(encodeFloat16(x));
  x.forEach((v, i) => assert.ok(Math.abs(v - y[i]) <= Math.abs(v) * 2 ** -11 + 2 ** -24));
});

test('checkpoint round trip keeps weights and info exactly (float32) and closely (float16)', async () => {
  const dir = path.join(tempDir(), 'style');
  const w = randomWeights(SMALL);
  const hash = await writeCheckpoint(dir, info('My style'), w);
  const ck = await readCheckpoint(dir);
  assert.equal(ck.weightsHash, hash);
  assert.equal(ck.info.name, 'My style');
  assert.equal(ck.info.iteration, 42);
  assert.equal(ck.info.formatVersion, CHECKPOINT_FORMAT_VERSION);
  assert.deepEqual(ck.info.architecture, SMALL);
  for (const [k, v] of w) assert.deepEqual(ck.weights.get(k), v);

  await writeCheckpoint(dir, info('Half'), w, { precision: 'float16' });
  const half = await readCheckpoint(dir);
  assert.equal(
    fs.statSync(path.join(dir, 'weights.bin')).size * 2,
    [...w.values()].reduce((n, a) => n + a.length * 4, 0),
  );
  for (const [k, v] of w) v.forEach((x, i) => assert.ok(Math.abs(x - half.weights.get(k)![i]) < 1e-3));
  assert.deepEqual(
    fs.readdirSync(path.dirname(dir)).filter((f) => f.startsWith('.')),
    [],
    'no temp folders left',
  );
});

test('rewriting keeps requested extra files and a crash mid-swap is recovered', async () => {
  const dir = path.join(tempDir(), 'style');
  await writeCheckpoint(dir, info('A'), randomWeights(SMALL), { extraFiles: { 'thumbnail.jpg': 'jpegbytes' } });
  await writeCheckpoint(dir, info('B'), randomWeights(SMALL, 2), { keepFiles: ['thumbnail.jpg'] });
  assert.equal(fs.readFileSync(path.join(dir, 'thumbnail.jpg'), 'utf8'), 'jpegbytes');
  // Simulate a crash after the old folder was moved aside and before the new one arrived.
  fs.renameSync(dir, path.join(path.dirname(dir), '.style.previous'));
  assert.equal((await readStyleInfo(dir)).name, 'B');
  assert.ok(fs.existsSync(path.join(dir, 'weights.bin')));
});

test('bad checkpoints give one precise error each', async () => {
  const root = tempDir();
  const good = path.join(root, 'good');
  await writeCheckpoint(good, info('ok'), randomWeights(SMALL));
  const variant = (name: string, mutate: (dir: string) => void) => {
    const d = path.join(root, name);
    fs.cpSync(good, d, { recursive: true });
    mutate(d);
    return d;
  };
  const model = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'model.json'), 'utf8'));
  await rejectsWith(readCheckpoint(path.join(root, 'nope')), 'not-found', /does not exist/);
  await rejectsWith(
    readCheckpoint(variant('trunc', (d) => fs.truncateSync(path.join(d, 'weights.bin'), 100))),
    'bad-checkpoint',
    /truncated/,
  );
  await rejectsWith(
    readCheckpoint(variant('long', (d) => fs.appendFileSync(path.join(d, 'weights.bin'), Buffer.alloc(8)))),
    'bad-checkpoint',
    /describes/,
  );
  await rejectsWith(
    readCheckpoint(
      variant('future', (d) => {
        const s = JSON.parse(fs.readFileSync(path.join(d, 'style.json'), 'utf8'));
        fs.writeFileSync(path.join(d, 'style.json'), JSON.stringify({ ...s, formatVersion: 99 }));
      }),
    ),
    'bad-checkpoint',
    /format version 99, newer/,
  );
  await rejectsWith(
    readCheckpoint(variant('json', (d) => fs.writeFileSync(path.join(d, 'style.json'), '{"name":'))),
    'bad-checkpoint',
    /style\.json is not valid JSON/,
  );
  await rejectsWith(
    readCheckpoint(
      variant('shape', (d) => {
        const m = model(d);
        m.weightsManifest[0].weights[0].shape = [9, 9, 3, 5];
        fs.writeFileSync(path.join(d, 'model.json'), JSON.stringify(m));
      }),
    ),
    'bad-checkpoint',
    /conv1\/weight" has shape \[9, 9, 3, 5\], expected \[9, 9, 3, 4\]/,
  );
  await rejectsWith(
    readCheckpoint(
      variant('nan', (d) => {
        const b = fs.readFileSync(path.join(d, 'weights.bin'));
        b.writeFloatLE(NaN, 8);
        fs.writeFileSync(path.join(d, 'weights.bin'), b);
      }),
    ),
    'bad-checkpoint',
    /non-finite/,
  );
  await rejectsWith(
    readCheckpoint(variant('noweights', (d) => fs.rmSync(path.join(d, 'weights.bin')))),
    'bad-checkpoint',
    /cannot read weights\.bin/,
  );
  await rejectsWith(
    readCheckpoint(variant('nomodel', (d) => fs.rmSync(path.join(d, 'model.json')))),
    'bad-checkpoint',
    /model\.json is missing/,
  );
  await rejectsWith(
    readCheckpoint(
      variant('arch', (d) => {
        const s = JSON.parse(fs.readFileSync(path.join(d, 'style.json'), 'utf8'));
        fs.writeFileSync(path.join(d, 'style.json'), JSON.stringify({ ...s, architecture: { type: 'unet' } }));
      }),
    ),
    'bad-checkpoint',
    /unsupported network architecture/,
  );
  await rejectsWith(
    readCheckpoint(
      variant('padding', (d) => {
        const s = JSON.parse(fs.readFileSync(path.join(d, 'style.json'), 'utf8'));
        fs.writeFileSync(
          path.join(d, 'style.json'),
          JSON.stringify({ ...s, architecture: { ...s.architecture, padding: 'mirror' } }),
        );
      }),
    ),
    'bad-checkpoint',
    /unsupported border padding "mirror".*\(use "reflect" or "zero"\)/,
  );
});

test('style.json records the border padding: "zero" round-trips, old files without it load as "reflect"', async () => {
  const root = tempDir();
  const zero = path.join(root, 'zero');
  await writeCheckpoint(zero, info('imported', { ...SMALL, padding: 'zero' }), randomWeights(SMALL));
  assert.equal(JSON.parse(fs.readFileSync(path.join(zero, 'style.json'), 'utf8')).architecture.padding, 'zero');
  assert.equal((await readCheckpoint(zero)).info.architecture.padding, 'zero');
  // A file written before the field existed (and an explicit "reflect"): today's behaviour.
  const old = path.join(root, 'old');
  await writeCheckpoint(old, info('old'), randomWeights(SMALL));
  const s = JSON.parse(fs.readFileSync(path.join(old, 'style.json'), 'utf8'));
  assert.equal(s.architecture.padding, undefined, 'the default stays implicit');
  assert.equal(borderPadding((await readCheckpoint(old)).info.architecture), 'reflect');
  fs.writeFileSync(
    path.join(old, 'style.json'),
    JSON.stringify({ ...s, architecture: { ...s.architecture, padding: 'reflect' } }),
  );
  assert.deepEqual((await readCheckpoint(old)).info.architecture, SMALL);
  // An ml5 network imported before the field existed was trained with zero padding all the same.
  const imported = { ...s, source: { kind: 'imported', from: '/somewhere/udnie', format: 'ml5' } };
  fs.writeFileSync(
    path.join(old, 'style.json'),
    JSON.stringify({ ...imported, architecture: { ...s.architecture, padding: undefined } }),
  );
  assert.equal((await readCheckpoint(old)).info.architecture.padding, 'zero');
  fs.writeFileSync(
    path.join(old, 'style.json'),
    JSON.stringify({ ...imported, architecture: { ...s.architecture, padding: 'reflect' } }),
  );
  assert.equal((await readCheckpoint(old)).info.architecture.padding, undefined, 'a recorded padding wins');
});

test('ml5 import reads the public udnie network and rejects malformed folders', async (t) => {
  if (!hasSharedData(t)) return;
  const { arch, weights } = await readMl5Folder(shared('pretrained', 'udnie'));
  // The reference's own border handling, recorded in the architecture (style.json on import).
  assert.deepEqual(arch, { ...PAPER_ARCHITECTURE, padding: 'zero' });
  assert.equal(
    [...weights.values()].reduce((n, a) => n + a.length, 0),
    1_677_638,
  );
  // The first instance-norm scale of a trained network is not the init value 1.
  assert.ok(weights.get('conv1/scale')!.some((v) => Math.abs(v - 1) > 0.01));

  const root = tempDir();
  const copy = (name: string, mutate: (d: string) => void) => {
    const d = path.join(root, name);
    fs.cpSync(shared('pretrained', 'udnie'), d, { recursive: true });
    fs.chmodSync(d, 0o755);
    for (const f of fs.readdirSync(d)) fs.chmodSync(path.join(d, f), 0o644);
    mutate(d);
    return d;
  };
  const bad = (e: unknown, re: RegExp) =>
    e instanceof StyleTransferError && e.code === 'bad-checkpoint' && re.test(e.message);
  await assert.rejects(readMl5Folder(copy('trunc', (d) => fs.truncateSync(path.join(d, 'Variable_3'), 10))), (e) =>
    bad(e, /Variable_3 has 10 bytes, expected 73728/),
  );
  await assert.rejects(
    readMl5Folder(
      copy('shape', (d) => {
        const m = JSON.parse(fs.readFileSync(path.join(d, 'manifest.json'), 'utf8'));
        m.Variable.shape = [3, 3, 3, 32];
        fs.writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(m));
      }),
    ),
    (e) => bad(e, /Variable has shape \[3, 3, 3, 32\], expected \[9, 9, 3, 32\]/),
  );
  await assert.rejects(
    readMl5Folder(
      copy('escape', (d) => {
        const m = JSON.parse(fs.readFileSync(path.join(d, 'manifest.json'), 'utf8'));
        m.Variable.filename = '../../etc/passwd';
        fs.writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(m));
      }),
    ),
    (e) => bad(e, /points outside the folder/),
  );
  await assert.rejects(readMl5Folder(root), (e) => bad(e, /no manifest\.json/));
});
