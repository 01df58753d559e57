// Caches that cannot be forged (issue 15): a graph found beside a style runs only when it is our
// own export of that style's weights (an HMAC, keyed in the user's private cache folder, over
// the weights' hash and the graph's own bytes, both recomputed); a user's own model.onnx is never
// overwritten; the cache is a private folder (0700, ours, not a link), no longer a shared temp
// folder; the tfjs WebAssembly worker script gets an unpredictable, exclusively created name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { createStylizeEngine } from '../../src/engine/stylize/engines';
import { ensureOnnxModel } from '../../src/engine/onnx/onnxCache';
import { createOnnxSession } from '../../src/engine/onnx/onnxRunner';
import { loadStyle } from '../../src/engine/styles';
import { workerScript } from '../../src/engine/tfjs/wasmKernels/threadedBackend';
import { defaultUserCacheDir, ensurePrivateDir } from '../../src/io/privateDir';
import { StyleTransferError } from '../../src/protocol/errors';
import { tempDir } from '../helpers/paths';
import { TINY_ARCH, seededWeights, writeTinyStyle } from '../robustness/lib/styles';

const img = {
  width: 9,
  height: 7,
  channels: 3 as const,
  data: new Float32Array(9 * 7 * 3).map((_, i) => (i * 37) % 256),
};

async function stylizeOnce(
  styleDir: string,
  cacheDir: string,
  extra: { readOnlyRoots?: string[] } = {},
): Promise<Float32Array> {
  const engine = await createStylizeEngine({ runtime: 'onnx', cacheDir, threads: 1, ...extra });
  try {
    return (await engine.stylize(await loadStyle(styleDir), img)).data;
  } finally {
    engine.dispose();
  }
}

const snapshot = (dir: string) =>
  Object.fromEntries(
    fs
      .readdirSync(dir)
      .sort()
      .map((n) => {
        const p = path.join(dir, n);
        const st = fs.lstatSync(p);
        return [
          n,
          st.isSymbolicLink()
            ? `link:${fs.readlinkSync(p)}`
            : st.isDirectory()
              ? `dir:${fs.readdirSync(p).sort().join(',')}`
              : crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex'),
        ];
      }),
  );

test("a graph planted beside a style, with a sidecar naming the style's weights, is never run (copied or linked, fast or core graph)", async () => {
  const root = tempDir('fst-trust-');
  const cache = path.join(root, 'cache');
  const other = await writeTinyStyle(path.join(root, 'other'), 'other', TINY_ARCH, 99);
  await stylizeOnce(other, cache); // the other style's own, authentic graphs
  const otherFiles = fs.readdirSync(other).filter((n) => n.endsWith('.onnx'));
  assert.ok(otherFiles.includes('model.fast.onnx'), `graphs beside the other style: ${otherFiles}`);
  const expected = await stylizeOnce(
    await writeTinyStyle(path.join(root, 'clean'), 'mine', TINY_ARCH, 7),
    path.join(root, 'cache-clean'),
  );
  const otherOut = await stylizeOnce(other, cache);
  assert.notDeepEqual([...otherOut], [...expected], 'the two styles differ');

  for (const how of ['copy', 'link', 'copied-mac', 'core-graph'] as const) {
    const mine = await writeTinyStyle(path.join(root, `mine-${how}`), 'mine', TINY_ARCH, 7);
    const myHash = (await loadStyle(mine)).hash;
    const file = how === 'core-graph' ? 'model.onnx' : 'model.fast.onnx';
    if (!fs.existsSync(path.join(other, file)))
      await ensureOnnxModel({
        arch: TINY_ARCH,
        weights: (await loadStyle(other)).weights,
        weightsSha256: (await loadStyle(other)).hash,
        dir: other,
        fallbackCacheDir: path.join(cache, 'onnx'),
      });
    if (how === 'link') fs.symlinkSync(path.join(other, file), path.join(mine, file));
    else fs.copyFileSync(path.join(other, file), path.join(mine, file));
    // The sidecar a forger writes: the right weights hash, the planted graph's true hash, and a MAC they cannot make.
    const sidecar = JSON.parse(fs.readFileSync(path.join(other, `${file}.json`), 'utf8'));
    sidecar.weightsSha256 = myHash;
    if (how !== 'copied-mac') sidecar.mac = crypto.randomBytes(32).toString('hex');
    fs.writeFileSync(path.join(mine, `${file}.json`), JSON.stringify(sidecar));
    const before = snapshot(mine);
    const out = await stylizeOnce(mine, cache);
    assert.deepEqual([...out], [...expected], `${how}: the style's own weights ran, not the planted graph`);
    const after = snapshot(mine);
    for (const n of [file, `${file}.json`])
      assert.equal(after[n], before[n], `${how}: the planted ${n} is left as it was (not ours to replace)`);
  }
});

test("a user's own model.onnx (no sidecar, or an old or forged one) is never overwritten: the export goes to the private cache", async () => {
  const root = tempDir('fst-trust-');
  const weights = seededWeights(TINY_ARCH, 3);
  const dir = await writeTinyStyle(path.join(root, 'style'), 'style', TINY_ARCH, 3);
  const hash = (await loadStyle(dir)).hash;
  const cache = path.join(root, 'cache', 'onnx');
  const mine = Buffer.from('my own ONNX model, not yours');
  for (const sidecar of [
    undefined,
    { format: 1, exporterVersion: 1, opset: 17, weightsSha256: hash, onnxSha256: 'x', onnxBytes: mine.length },
  ]) {
    fs.writeFileSync(path.join(dir, 'model.onnx'), mine);
    if (sidecar) fs.writeFileSync(path.join(dir, 'model.onnx.json'), JSON.stringify(sidecar));
    const r = await ensureOnnxModel({ arch: TINY_ARCH, weights, weightsSha256: hash, dir, fallbackCacheDir: cache });
    assert.equal(r.location, 'cache');
    assert.equal(path.dirname(r.path), cache);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'model.onnx')), mine, "the user's file is untouched");
    // Without a cache folder: one clear error, and still nothing overwritten.
    await assert.rejects(
      ensureOnnxModel({ arch: TINY_ARCH, weights, weightsSha256: hash, dir }),
      (e: unknown) =>
        e instanceof StyleTransferError &&
        e.code === 'io' &&
        /model\.onnx in .* was not made by Fast Style Transfer on this account; not replacing it/.test(e.message),
    );
    assert.deepEqual(fs.readFileSync(path.join(dir, 'model.onnx')), mine);
  }
  // Our own export in a fresh folder is written beside the style and reused (the MAC checks out).
  const fresh = await writeTinyStyle(path.join(root, 'fresh'), 'fresh', TINY_ARCH, 3);
  const cache2 = path.join(root, 'cache2', 'onnx');
  const a = await ensureOnnxModel({
    arch: TINY_ARCH,
    weights,
    weightsSha256: hash,
    dir: fresh,
    fallbackCacheDir: cache2,
  });
  const b = await ensureOnnxModel({
    arch: TINY_ARCH,
    weights,
    weightsSha256: hash,
    dir: fresh,
    fallbackCacheDir: cache2,
  });
  assert.deepEqual([a.location, a.exported, b.location, b.exported], ['checkpoint', true, 'checkpoint', false]);
});

test("the cache is a private folder: created 0700, tightened when ours, refused when a link or another user's", async (t) => {
  const root = tempDir('fst-trust-');
  const fresh = await ensurePrivateDir(path.join(root, 'a', 'b'));
  if (process.platform !== 'win32') assert.equal(fs.statSync(fresh).mode & 0o777, 0o700);
  const loose = path.join(root, 'loose');
  fs.mkdirSync(loose, { mode: 0o777 });
  fs.chmodSync(loose, 0o777);
  await ensurePrivateDir(loose);
  if (process.platform !== 'win32') assert.equal(fs.statSync(loose).mode & 0o777, 0o700);
  fs.symlinkSync(loose, path.join(root, 'planted-link'));
  await assert.rejects(
    ensurePrivateDir(path.join(root, 'planted-link')),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'io' && /is a symbolic link/.test(e.message),
  );
  fs.writeFileSync(path.join(root, 'a-file'), '');
  await assert.rejects(ensurePrivateDir(path.join(root, 'a-file')), /not a folder/);
  if (process.getuid?.() === 0) {
    const foreign = path.join(root, 'foreign');
    fs.mkdirSync(foreign);
    fs.chownSync(foreign, 65534, 65534);
    await assert.rejects(ensurePrivateDir(foreign), /belongs to another user \(uid 65534\)/);
  } else t.diagnostic('not root: the other-owner case needs chown');

  assert.equal(defaultUserCacheDir({ XDG_CACHE_HOME: '/x/cache' }, 'linux', '/home/u'), '/x/cache/fast-style-transfer');
  assert.equal(
    defaultUserCacheDir({ XDG_CACHE_HOME: 'relative' }, 'linux', '/home/u'),
    '/home/u/.cache/fast-style-transfer',
  );
  assert.equal(defaultUserCacheDir({}, 'darwin', '/Users/u'), '/Users/u/Library/Caches/fast-style-transfer');
});

test("without a cache folder the engine uses the user's private cache, not $TMPDIR/fast-style-transfer-cache", async () => {
  const root = tempDir('fst-trust-');
  const xdg = path.join(root, 'xdg');
  const dir = await writeTinyStyle(path.join(root, 'styles', 'ro'), 'ro', TINY_ARCH, 5);
  const shared = path.join(os.tmpdir(), 'fast-style-transfer-cache');
  const sharedBefore = fs.existsSync(shared) ? snapshot(shared) : undefined;
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = xdg;
  try {
    const engine = await createStylizeEngine({
      runtime: 'onnx',
      threads: 1,
      readOnlyRoots: [path.join(root, 'styles')],
    });
    try {
      await engine.stylize(await loadStyle(dir), img);
    } finally {
      engine.dispose();
    }
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  }
  const cache = path.join(xdg, 'fast-style-transfer');
  assert.equal(fs.statSync(cache).mode & 0o777, 0o700);
  assert.equal(fs.statSync(path.join(cache, 'onnx')).mode & 0o777, 0o700);
  assert.ok(
    fs.readdirSync(path.join(cache, 'onnx')).some((n) => n.endsWith('.onnx')),
    'the graphs are in the private cache',
  );
  assert.deepEqual(
    fs.readdirSync(dir).filter((n) => n.includes('onnx')),
    [],
    'nothing written into the read-only style',
  );
  assert.deepEqual(
    fs.existsSync(shared) ? snapshot(shared) : undefined,
    sharedBefore,
    'the shared temp cache is not used',
  );
});

test('the tfjs WebAssembly worker script gets a fresh folder of unpredictable name, never a planted file', () => {
  const parent = tempDir('fst-trust-');
  const workerModule = createRequire(__filename).resolve(
    '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js',
  );
  // What another user could plant at the old predictable names.
  const planted = path.join(parent, 'fst-tfjs-wasm-pthread-planted.js');
  fs.writeFileSync(planted, 'process.exit(66)');
  for (const n of ['fst-tfjs-wasm-pthread-4.22.0-0.js']) fs.symlinkSync(planted, path.join(parent, n));
  const a = workerScript(workerModule, parent);
  assert.equal(workerScript(workerModule, parent), a, 'once per process');
  assert.match(path.basename(path.dirname(a)), /^fst-tfjs-wasm-[A-Za-z0-9]{6}$/);
  assert.equal(path.dirname(path.dirname(a)), parent);
  assert.equal(fs.lstatSync(a).isFile(), true);
  if (process.platform !== 'win32') assert.equal(fs.statSync(path.dirname(a)).mode & 0o777, 0o700);
  assert.match(fs.readFileSync(a, 'utf8'), /importScripts|onmessage/);
  assert.equal(fs.readFileSync(planted, 'utf8'), 'process.exit(66)', 'the planted file is neither used nor written');
});

test('a verified graph swapped for another between the check and the load is not run: the session is made from the verified bytes', async () => {
  const root = tempDir('fst-swap-');
  const a = await writeTinyStyle(path.join(root, 'a'), 'a', TINY_ARCH, 3);
  const b = await writeTinyStyle(path.join(root, 'b'), 'b', TINY_ARCH, 4);
  const cache = path.join(root, 'cache');
  const styleA = await loadStyle(a);
  const styleB = await loadStyle(b);
  const ra = await ensureOnnxModel({
    arch: TINY_ARCH,
    weights: styleA.weights,
    weightsSha256: styleA.hash,
    dir: a,
    fallbackCacheDir: cache,
  });
  const rb = await ensureOnnxModel({
    arch: TINY_ARCH,
    weights: styleB.weights,
    weightsSha256: styleB.hash,
    dir: b,
    fallbackCacheDir: cache,
  });
  assert.notEqual(ra.sha256, rb.sha256);
  const ok = await createOnnxSession(ra.path, { providers: ['cpu'], expectSha256: ra.sha256 });
  await ok.release();
  fs.copyFileSync(rb.path, ra.path); // another valid graph in its place, after the cache's check
  await assert.rejects(
    createOnnxSession(ra.path, { providers: ['cpu'], expectSha256: ra.sha256 }),
    (e: unknown) =>
      e instanceof StyleTransferError && e.code === 'bad-checkpoint' && /changed after it was verified/.test(e.message),
  );
  fs.rmSync(ra.path);
  fs.symlinkSync(rb.path, ra.path); // or a link out of the folder
  await assert.rejects(
    createOnnxSession(ra.path, { providers: ['cpu'], expectSha256: ra.sha256 }),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'bad-checkpoint',
  );
});
