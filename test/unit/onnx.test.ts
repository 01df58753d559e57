// ONNX export and the ONNX Runtime stylize path, checked against the tfjs network.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { tf } from '../../src/model/tf';
import '@tensorflow/tfjs-backend-wasm';
import {
  borderPadding,
  parameterCount,
  type TransformNetArchitecture,
  type WeightMap,
} from '../../src/model/architecture';
import {
  CORE_OP_TYPES,
  PADDING_OP_TYPES,
  ONNX_METADATA_KEYS,
  decodeOnnxModel,
  exportTransformNetToOnnx,
  onnxMetadata,
} from '../../src/model/onnx/onnxExport';
import { psnr, type FloatImage } from '../../src/model/pixels';
import { stylizeWithTfjs } from '../../src/model/stylize';
import { TransformNet } from '../../src/model/transformNet';
import { readMl5Folder } from '../../src/io/ml5Import';
import {
  ENGINE_SESSION_OPTIONS,
  SESSION_IDLE_RELEASE_MS,
  createOnnxSession,
  getOnnxSession,
  isSessionReleased,
  loadOnnxRuntime,
  releaseOnnxSessions,
  setSessionIdleRelease,
  type OnnxStyleSession,
} from '../../src/engine/onnx/onnxRunner';
import { cropChwToHwc, padToChw, stylizeWithOnnx } from '../../src/engine/onnx/onnxStylize';
import { ONNX_FILE, ONNX_SIDECAR, ensureOnnxModel, sha256OfWeights } from '../../src/engine/onnx/onnxCache';
import { openStylizer } from '../../src/engine/stylize/stylizer';
import { StyleTransferError } from '../../src/protocol/errors';
import { hasSharedData, shared, tempDir } from '../helpers/paths';
import { SMALL_ARCHITECTURE, smallWeights } from '../helpers/weights';
import { syntheticImage } from '../helpers/syntheticImage';

const SMALL: TransformNetArchitecture = SMALL_ARCHITECTURE;

async function decodeImage(file: string): Promise<FloatImage> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, data: Float32Array.from(data) };
}

const cpuOnly = { providers: ['cpu'] as const };
let udnie: { arch: TransformNetArchitecture; weights: WeightMap } | undefined;
let udnieNet: TransformNet | undefined;
let udnieSession: OnnxStyleSession | undefined;

before(async () => {
  await tf.setBackend('wasm'); // the cpu backend needs minutes for these sizes
});

async function udnieSetup(): Promise<{ net: TransformNet; session: OnnxStyleSession }> {
  if (!udnie) {
    udnie = await readMl5Folder(shared('pretrained', 'udnie'));
    udnieNet = TransformNet.fromWeights(udnie.arch, udnie.weights);
    udnieSession = await createOnnxSession(exportTransformNetToOnnx(udnie.arch, udnie.weights), cpuOnly);
  }
  return { net: udnieNet!, session: udnieSession! };
}

test('udnie on chicago.jpg: ONNX Runtime (CPU) and tfjs (wasm) agree to ≥ 45 dB', async (t) => {
  if (!hasSharedData(t)) return;
  const { net, session } = await udnieSetup();
  const img = await decodeImage(shared('reference', 'chicago.jpg'));
  const tensorsBefore = tf.memory().numTensors;
  const viaTfjs = await stylizeWithTfjs(net, img);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'tfjs stylize leaked tensors');
  // The imported network's border padding ('zero'): the runner must feed the graph as exported.
  const viaOnnx = await stylizeWithOnnx(session, img, borderPadding(udnie!.arch));
  assert.deepEqual([viaOnnx.width, viaOnnx.height, viaOnnx.channels], [img.width, img.height, 3]);
  const db = psnr(viaTfjs.data, viaOnnx.data);
  let maxDiff = 0;
  for (let i = 0; i < viaOnnx.data.length; i++)
    maxDiff = Math.max(maxDiff, Math.abs(viaOnnx.data[i] - viaTfjs.data[i]));
  t.diagnostic(
    `chicago ${img.width}×${img.height}: PSNR ${db.toFixed(1)} dB, max |difference| ${maxDiff.toFixed(4)} (provider ${session.provider})`,
  );
  assert.ok(db >= 45, `PSNR ${db} dB`);
  // And the output is a stylization, not the input passed through.
  assert.ok(psnr(viaOnnx.data, img.data) < 20);
});

test('odd sizes come out at exactly the input size and agree with tfjs', async (t) => {
  if (!hasSharedData(t)) return;
  const { net, session } = await udnieSetup();
  for (const [w, h] of [
    [1, 1],
    [3, 5],
    [257, 129],
  ]) {
    const img = syntheticImage(w, h, w + h);
    const a = await stylizeWithOnnx(session, img, borderPadding(udnie!.arch));
    const b = await stylizeWithTfjs(net, img);
    assert.deepEqual([a.width, a.height, a.channels, a.data.length], [w, h, 3, w * h * 3], `${w}×${h}`);
    const db = psnr(a.data, b.data);
    t.diagnostic(`${w}×${h}: PSNR ${db.toFixed(1)} dB`);
    assert.ok(db >= 45, `${w}×${h}: PSNR ${db} dB`);
  }
});

test('a small architecture (16/32/64, 3 residual blocks) agrees too, at opsets 13, 17 and 21', async (t) => {
  const weights = await smallWeights(5);
  const net = TransformNet.fromWeights(SMALL, weights);
  const img = syntheticImage(70, 45, 3);
  const ref = await stylizeWithTfjs(net, img);
  net.dispose();
  for (const opset of [13, 17, 21]) {
    const s = await createOnnxSession(exportTransformNetToOnnx(SMALL, weights, { opset }), cpuOnly);
    const out = await stylizeWithOnnx(s, img);
    await s.release();
    const db = psnr(out.data, ref.data);
    t.diagnostic(`small network, opset ${opset}: PSNR ${db.toFixed(1)} dB`);
    assert.ok(db >= 45, `opset ${opset}: PSNR ${db} dB`);
  }
});

test('the resize-convolution variant (nearest ×2 + conv) agrees with tfjs, core and self-contained', async (t) => {
  const arch: TransformNetArchitecture = { ...SMALL, upsample: 'nearest' };
  const weights = await smallWeights(9, arch);
  const net = TransformNet.fromWeights(arch, weights);
  const img = syntheticImage(61, 38, 4);
  const ref = await stylizeWithTfjs(net, img);
  net.dispose();
  for (const selfContained of [false, true]) {
    const bytes = exportTransformNetToOnnx(arch, weights, { selfContained });
    assert.ok(decodeOnnxModel(bytes).graph!.node!.some((n) => n.opType === 'Resize'));
    assert.ok(!decodeOnnxModel(bytes).graph!.node!.some((n) => n.opType === 'ConvTranspose'));
    const s = await createOnnxSession(bytes, cpuOnly);
    const out = await stylizeWithOnnx(s, img);
    await s.release();
    const db = psnr(out.data, ref.data);
    t.diagnostic(`nearest-upsampling network (selfContained ${selfContained}): PSNR ${db.toFixed(1)} dB`);
    assert.ok(db >= 45, `PSNR ${db} dB`);
  }
});

test('the self-contained export pads and crops inside the graph and matches the engine path', async () => {
  const weights = await smallWeights(9);
  const ort = loadOnnxRuntime();
  const core = await createOnnxSession(exportTransformNetToOnnx(SMALL, weights), cpuOnly);
  const self = await createOnnxSession(exportTransformNetToOnnx(SMALL, weights, { selfContained: true }), cpuOnly);
  for (const [w, h] of [
    [3, 5],
    [37, 22],
    [40, 24],
  ]) {
    const img = syntheticImage(w, h, 2);
    const viaEngine = await stylizeWithOnnx(core, img);
    // The self-contained model takes the unpadded image, NCHW.
    const chw = padToChw(img, 1);
    const r = await self.session.run({ input: new ort.Tensor('float32', chw.data, [1, 3, h, w]) });
    const out = r.output as InstanceType<typeof ort.Tensor>;
    assert.deepEqual(out.dims, [1, 3, h, w]);
    const hwc = cropChwToHwc(out.data as Float32Array, w, h, 3, 0, 0, w, h);
    let maxDiff = 0;
    for (let i = 0; i < hwc.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(hwc.data[i] - viaEngine.data[i]));
    assert.ok(maxDiff < 1e-3, `${w}×${h}: max difference ${maxDiff}`);
  }
  await core.release();
  await self.release();
});

test('the export decodes with onnx-proto: allowed ops, symbolic NCHW input/output, ONNX weight layouts, metadata', async () => {
  const weights = await smallWeights(2);
  const sha = sha256OfWeights(SMALL, weights);
  const model = decodeOnnxModel(
    exportTransformNetToOnnx(SMALL, weights, {
      weightsSha256: sha,
      producerVersion: '0.1.0',
      metadata: { 'fst.style': 'test' },
    }),
  );
  assert.equal(Number(model.irVersion), 8);
  assert.deepEqual(
    model.opsetImport.map((o) => [o.domain, Number(o.version)]),
    [['', 17]],
  );
  const g = model.graph!;
  const nodes = g.node!;
  const ops = new Set(nodes.map((n) => n.opType!));
  for (const op of ops) assert.ok(CORE_OP_TYPES.includes(op), `unexpected op ${op}`);
  assert.ok(
    ['Conv', 'ConvTranspose', 'InstanceNormalization', 'Relu', 'Add', 'Tanh', 'Mul'].every((op) => ops.has(op)),
  );
  // 3 + 2·3 + 3 layers: 10 convs, 2 transposed convs, 12 norms.
  assert.equal(nodes.filter((n) => n.opType === 'Conv').length, 10);
  assert.equal(nodes.filter((n) => n.opType === 'ConvTranspose').length, 2);
  assert.equal(nodes.filter((n) => n.opType === 'InstanceNormalization').length, 12);
  type ValueInfo = NonNullable<typeof g.input>[number];
  const dims = (v: ValueInfo) => v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
  assert.deepEqual(
    g.input!.map((i) => i.name),
    ['input'],
  );
  assert.deepEqual(
    g.output!.map((o) => o.name),
    ['output'],
  );
  assert.deepEqual(dims(g.input![0]), ['batch', 3, 'height', 'width']);
  assert.deepEqual(dims(g.output![0]), ['batch', 3, 'height', 'width']);
  const init = new Map(g.initializer!.map((t) => [t.name!, t]));
  const shapeOf = (name: string) => init.get(name)!.dims!.map(Number);
  assert.deepEqual(shapeOf('conv1/weight'), [16, 3, 9, 9]); // [out, in, kh, kw]
  assert.deepEqual(shapeOf('deconv1/weight'), [64, 32, 3, 3]); // [in, out, kh, kw]
  assert.deepEqual(shapeOf('conv4/weight'), [3, 16, 9, 9]);
  // Values land where ONNX expects them: W[o][i][y][x] = tfjs w[y][x][i][o], and deconv W[i][o][y][x] = w[y][x][o][i].
  const f32 = (name: string) => new Float32Array(new Uint8Array(init.get(name)!.rawData!).buffer);
  const cw = f32('conv2/weight'); // tfjs [3, 3, 16, 32]
  const tw = weights.get('conv2/weight')!;
  assert.equal(cw[((5 * 16 + 7) * 3 + 2) * 3 + 1], tw[((2 * 3 + 1) * 16 + 7) * 32 + 5]);
  const dw = f32('deconv2/weight'); // tfjs [3, 3, 16 (out), 32 (in)]
  const tdw = weights.get('deconv2/weight')!;
  assert.equal(dw[((20 * 16 + 3) * 3 + 0) * 3 + 2], tdw[((0 * 3 + 2) * 16 + 3) * 32 + 20]);
  assert.deepEqual([...f32('res1a/scale')], [...weights.get('res1a/scale')!]);
  assert.deepEqual([...f32('res1a/shift')], [...weights.get('res1a/shift')!]);
  const total = g.initializer!.reduce((n, t) => n + t.rawData!.length / 4, 0);
  assert.equal(total, parameterCount(SMALL) + 2); // + output scale and offset
  const eps = nodes.find((n) => n.opType === 'InstanceNormalization')!.attribute!.find((a) => a.name === 'epsilon')!;
  assert.ok(Math.abs(eps.f! - 1e-3) < 1e-9);
  const meta = onnxMetadata(model);
  assert.deepEqual(JSON.parse(meta[ONNX_METADATA_KEYS.architecture]), SMALL);
  assert.equal(meta[ONNX_METADATA_KEYS.weightsSha256], sha);
  assert.equal(meta['fst.style'], 'test');
  assert.equal(model.producerVersion, '0.1.0');
  assert.ok(g.name && g.docString && model.docString && g.input![0].docString);

  const self = decodeOnnxModel(exportTransformNetToOnnx(SMALL, weights, { selfContained: true })).graph!.node!;
  for (const n of self)
    assert.ok(CORE_OP_TYPES.includes(n.opType!) || PADDING_OP_TYPES.includes(n.opType!), `unexpected op ${n.opType}`);
  const pad = self.find((n) => n.opType === 'Pad')!;
  assert.equal(Buffer.from(pad.attribute!.find((a) => a.name === 'mode')!.s!).toString(), 'reflect');
});

test('export rejects bad opsets, mismatched weights and reserved metadata keys with clear errors', async () => {
  const weights = await smallWeights(1);
  assert.throws(
    () => exportTransformNetToOnnx(SMALL, weights, { opset: 11 }),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'bad-input' && /opsets 13–21/.test(e.message),
  );
  const missing = new Map(weights);
  missing.delete('res2b/scale');
  assert.throws(
    () => exportTransformNetToOnnx(SMALL, missing),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'bad-checkpoint' && /res2b\/scale/.test(e.message),
  );
  assert.throws(
    () => exportTransformNetToOnnx(SMALL, weights, { metadata: { [ONNX_METADATA_KEYS.architecture]: 'x' } }),
    /reserved/,
  );
});

test('cache: exported once beside the checkpoint, reused, re-exported when the weights or the file change', async () => {
  const dir = tempDir();
  const weights = await smallWeights(3);
  const sha = sha256OfWeights(SMALL, weights);
  let loads = 0;
  const loader = async () => {
    loads++;
    return weights;
  };
  const first = await ensureOnnxModel({ arch: SMALL, weights: loader, weightsSha256: sha, dir });
  assert.deepEqual([first.exported, first.location, first.path], [true, 'checkpoint', path.join(dir, ONNX_FILE)]);
  const sidecar = JSON.parse(fs.readFileSync(path.join(dir, ONNX_SIDECAR), 'utf8'));
  assert.equal(sidecar.weightsSha256, sha);
  assert.equal(typeof sidecar.exporterVersion, 'number');
  const mtime = fs.statSync(first.path).mtimeMs;

  const second = await ensureOnnxModel({ arch: SMALL, weights: loader, weightsSha256: sha, dir });
  assert.equal(second.exported, false);
  assert.equal(loads, 1, 'a cache hit must not load the weights');
  assert.equal(fs.statSync(first.path).mtimeMs, mtime);
  assert.deepEqual(fs.readdirSync(dir).sort(), [ONNX_FILE, ONNX_SIDECAR].sort(), 'no temporary files left behind');

  // Changed weights (new hash): re-export, and the new file holds the new weights.
  const changed = new Map(weights);
  changed.set(
    'conv1/shift',
    changed.get('conv1/shift')!.map((v) => v + 1),
  );
  const sha2 = sha256OfWeights(SMALL, changed);
  assert.notEqual(sha2, sha);
  const third = await ensureOnnxModel({ arch: SMALL, weights: changed, weightsSha256: sha2, dir });
  assert.equal(third.exported, true);
  assert.equal(onnxMetadata(decodeOnnxModel(fs.readFileSync(third.path)))[ONNX_METADATA_KEYS.weightsSha256], sha2);

  // A damaged cached file (sidecar intact) is noticed and replaced.
  fs.writeFileSync(third.path, fs.readFileSync(third.path).subarray(0, 1000));
  const fourth = await ensureOnnxModel({ arch: SMALL, weights: changed, weightsSha256: sha2, dir });
  assert.equal(fourth.exported, true);
  const s = await createOnnxSession(fourth.path, cpuOnly);
  await s.release();
});

test('cache: a read-only checkpoint folder falls back to the cache folder', async (t) => {
  // Root ignores permission bits, so when chmod does not make a folder read-only, use /sys (read-only to everyone).
  const ro = tempDir();
  fs.chmodSync(ro, 0o555);
  const writable = (d: string) => {
    try {
      fs.writeFileSync(path.join(d, '.probe'), '');
      fs.rmSync(path.join(d, '.probe'));
      return true;
    } catch {
      return false;
    }
  };
  const dir = [ro, '/sys/kernel'].find((d) => fs.existsSync(d) && !writable(d));
  if (!dir) {
    t.skip('no read-only folder available');
    return;
  }
  const cache = path.join(tempDir(), 'onnx-cache');
  const weights = await smallWeights(4);
  const sha = sha256OfWeights(SMALL, weights);
  const a = await ensureOnnxModel({ arch: SMALL, weights, weightsSha256: sha, dir, fallbackCacheDir: cache });
  assert.deepEqual([a.exported, a.location, path.dirname(a.path)], [true, 'cache', cache]);
  const b = await ensureOnnxModel({ arch: SMALL, weights, weightsSha256: sha, dir, fallbackCacheDir: cache });
  assert.deepEqual([b.exported, b.path], [false, a.path]);
  await assert.rejects(
    ensureOnnxModel({ arch: SMALL, weights, weightsSha256: sha, dir }),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'io' && e.message.includes(dir),
  );
  fs.chmodSync(ro, 0o755);
});

test('a corrupt or truncated .onnx gives a clear StyleTransferError', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, Buffer.from('this is not an ONNX model'.repeat(40)));
  const isBad = (e: unknown) =>
    e instanceof StyleTransferError && e.code === 'bad-checkpoint' && /protobuf/i.test(e.message);
  await assert.rejects(
    createOnnxSession(file, cpuOnly),
    (e: unknown) => isBad(e) && (e as Error).message.includes(file),
  );
  const good = exportTransformNetToOnnx(SMALL, await smallWeights(6));
  await assert.rejects(createOnnxSession(good.subarray(0, good.length >> 1), cpuOnly), isBad);
  await assert.rejects(
    createOnnxSession(new Uint8Array(0), cpuOnly),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'bad-checkpoint',
  );
  await assert.rejects(
    createOnnxSession(path.join(dir, 'missing.onnx'), cpuOnly),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'not-found',
  );
  await assert.rejects(getOnnxSession(file, cpuOnly), isBad);
  await assert.rejects(
    createOnnxSession(good, { providers: ['tpu' as 'cpu'] }),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'bad-input',
  );
});

test('providers are tried in order and unavailable GPU providers are skipped with a reason', async (t) => {
  const bytes = exportTransformNetToOnnx(SMALL, await smallWeights(7));
  const s = await createOnnxSession(bytes);
  t.diagnostic(
    `default providers: ran on ${s.provider}; skipped ${s.skipped.map((a) => `${a.provider} (${a.reason})`).join('; ') || 'none'}`,
  );
  const order = ['cuda', 'webgpu', 'cpu'];
  assert.deepEqual(
    s.skipped.map((a) => a.provider),
    order.slice(0, order.indexOf(s.provider)),
  );
  const out = await stylizeWithOnnx(s, syntheticImage(12, 8));
  assert.equal(out.data.length, 12 * 8 * 3);
  await s.release();
  await assert.rejects(
    stylizeWithOnnx(s, syntheticImage(4, 4)),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'backend' && /released/.test(e.message),
  );
  if (s.provider === 'cpu') {
    // No GPU provider here: asking for GPU providers only is a backend error, quickly and again quickly.
    const t0 = Date.now();
    await assert.rejects(
      createOnnxSession(bytes, { providers: ['cuda', 'webgpu'] }),
      (e: unknown) => e instanceof StyleTransferError && e.code === 'backend' && /cuda/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 5000);
  }
});

test('sessions are reused per file and released on request', async () => {
  const dir = tempDir();
  const weights = await smallWeights(8);
  const { path: file } = await ensureOnnxModel({
    arch: SMALL,
    weights,
    weightsSha256: sha256OfWeights(SMALL, weights),
    dir,
  });
  const a = await getOnnxSession(file, cpuOnly);
  const b = await getOnnxSession(file, cpuOnly);
  assert.equal(a, b);
  const c = await getOnnxSession(file, { ...cpuOnly, threads: 1 });
  assert.notEqual(c, a);
  await releaseOnnxSessions(file);
  const d = await getOnnxSession(file, cpuOnly);
  assert.notEqual(d, a);
  await releaseOnnxSessions();
});

test('cached sessions are released after a while without use, so an idle worker gives their memory back', async () => {
  const dir = tempDir();
  const weights = await smallWeights(9);
  const { path: file } = await ensureOnnxModel({
    arch: SMALL,
    weights,
    weightsSha256: sha256OfWeights(SMALL, weights),
    dir,
  });
  setSessionIdleRelease(300);
  try {
    const a = await getOnnxSession(file, cpuOnly);
    await stylizeWithOnnx(a, syntheticImage(16, 16));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await getOnnxSession(file, cpuOnly), a, 'still cached while in use');
    await new Promise((r) => setTimeout(r, 900));
    await assert.rejects(stylizeWithOnnx(a, syntheticImage(16, 16)), isSessionReleased);
    assert.notEqual(await getOnnxSession(file, cpuOnly), a, 'a new session after the idle release');
  } finally {
    setSessionIdleRelease(SESSION_IDLE_RELEASE_MS);
    await releaseOnnxSessions();
  }
});

test("with the engine's session settings the first run of a session does not fault in fresh pages for every tensor", async (t) => {
  if (!hasSharedData(t)) return;
  // Without the memory arena the first run (before ONNX Runtime has planned a memory pattern)
  // allocates every tensor on its own, and above glibc's mmap threshold each is fresh pages from
  // the kernel: 311 thousand faults at 768² (41 thousand on later runs), 1.0 million at 1024²,
  // the 12× cold start users met on their first image. Counted, not timed: page faults do not
  // depend on the load of the machine. The engine's settings: 60 thousand (the arena filling).
  const { arch, weights } = await readMl5Folder(shared('pretrained', 'udnie'));
  const { path: file } = await ensureOnnxModel({
    arch,
    weights,
    weightsSha256: sha256OfWeights(arch, weights),
    dir: tempDir(),
  });
  const session = await createOnnxSession(file, { ...cpuOnly, ...ENGINE_SESSION_OPTIONS });
  const n = 768;
  const img = syntheticImage(n, n);
  const faults: number[] = [];
  for (let i = 0; i < 2; i++) {
    const before = process.resourceUsage().minorPageFault;
    await stylizeWithOnnx(session, img);
    faults.push(process.resourceUsage().minorPageFault - before);
  }
  await session.release();
  t.diagnostic(`page faults per run at ${n}²: ${faults.join(', ')}`);
  assert.ok(faults[0] < 0.2 * n * n, `first run: ${faults[0]} page faults (later: ${faults[1]})`);
});

test('openStylizer uses ONNX Runtime, and falls back to tfjs when ONNX Runtime cannot load', async () => {
  const dir = tempDir();
  const weights = await smallWeights(10);
  const req = { arch: SMALL, weights, weightsSha256: sha256OfWeights(SMALL, weights), dir };
  const img = syntheticImage(20, 13);
  const fast = await openStylizer({ ...req, onnx: cpuOnly });
  assert.equal(fast.runtime, 'onnx');
  assert.match(fast.description, /onnxruntime cpu/);
  const broken = {
    ...cpuOnly,
    loadRuntime: () => {
      throw new Error('libonnxruntime.so.1: cannot open shared object file');
    },
  };
  const slow = await openStylizer({ ...req, onnx: broken });
  assert.equal(slow.runtime, 'tfjs');
  assert.match(slow.fallbackReason!, /ONNX Runtime.*cannot be loaded.*libonnxruntime/);
  const db = psnr((await fast.stylize(img)).data, (await slow.stylize(img)).data);
  assert.ok(db >= 45, `PSNR ${db}`);
  await assert.rejects(
    openStylizer({ ...req, onnx: broken, runtime: 'onnx' }),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'backend',
  );
  await fast.dispose();
  await slow.dispose();
  await releaseOnnxSessions();
});

test('cleanup', async () => {
  udnieNet?.dispose();
  await udnieSession?.release();
});
