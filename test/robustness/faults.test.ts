// Faults, and the state they leave: the engine worker killed mid-stylize and mid-training, a
// worker that throws, exits or talks nonsense, a full disk, a read-only output folder, output
// names already taken, cancellation at every phase, two jobs at once. After each: the engine
// still works, the last good checkpoint loads, no partial output, no temp files, originals
// byte-identical. (VS Code-level faults: test/integration/suite/faults.test.ts and the e2e
// reload scenario.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import crypto from 'node:crypto';
import path from 'node:path';
import sharp from 'sharp';
import { EngineClient } from '../../src/services/engineClient';
import { StyleTransferError } from '../../src/protocol/errors';
import type { EngineSettings, JobProgress, TrainOptions } from '../../src/protocol/jobs';
import { readCheckpoint, writeCheckpoint } from '../../src/io/checkpoint';
import { readTrainingState } from '../../src/io/trainingState';
import { downloadFile } from '../../src/io/download';
import { createStylizeEngine } from '../../src/engine/stylize/engines';
import { stylizeFiles } from '../../src/engine/stylize/stylizeJob';
import { resumeTraining, trainStyle } from '../../src/engine/train/trainJob';
import { optimizeWithImage } from '../../src/engine/optimizeJob';
import { runJob } from '../../src/engine/jobs';
import { REPO_ROOT, tempDir } from '../helpers/paths';
import { changedOriginals, hashTree, leftovers } from '../helpers/leftovers';
import { syntheticVggWeights, writeKerasFolder } from '../helpers/vggFixtures';
import { TINY_ARCH, seededWeights, writeTinyStyle } from './lib/styles';

const WORKER = path.join(REPO_ROOT, 'dist', 'worker.js');
const MISBEHAVING = path.join(__dirname, 'fixtures', 'misbehaving-worker.mjs');

function settingsFor(root: string): EngineSettings {
  return {
    trainingBackend: 'cpu',
    stylizeRuntime: 'onnx',
    threads: 1,
    cacheDir: path.join(root, 'cache'),
    extraModuleRoots: [],
    maxInputPixels: 100_000_000,
  };
}

const isCode = (code: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof StyleTransferError, `expected a StyleTransferError, got ${(e as Error)?.stack ?? e}`);
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

async function photo(file: string, width = 40, height = 30, noise = false): Promise<string> {
  await sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#3070b0',
      ...(noise ? { noise: { type: 'gaussian' as const, mean: 128, sigma: 60 } } : {}),
    },
  })
    .png()
    .toFile(file);
  return file;
}

/** A tiny style, a VGG prefix to relu3_1 with 4 channels, a style image and two photos: training in seconds. */
async function trainingFixture(
  root: string,
): Promise<{ vgg: string; styleImage: string; dataDir: string; style: string }> {
  const vgg = path.join(root, 'vgg');
  writeKerasFolder(vgg, syntheticVggWeights([4, 4, 4, 4, 4], 3));
  const styleImage = await photo(path.join(root, 'style.png'), 24, 20, true);
  const dataDir = path.join(root, 'data');
  fs.mkdirSync(dataDir);
  await photo(path.join(dataDir, 'a.png'), 20, 20, true);
  await photo(path.join(dataDir, 'b.png'), 22, 18, true);
  const style = await writeTinyStyle(path.join(root, 'styles', 'tiny'), 'tiny');
  return { vgg, styleImage, dataDir, style };
}

function trainOptions(
  f: { vgg: string; styleImage: string; dataDir: string },
  output: string,
  iterations: number,
  extra: Partial<TrainOptions> = {},
): TrainOptions {
  return {
    styleImage: f.styleImage,
    dataDir: f.dataDir,
    output,
    name: path.basename(output),
    preset: 'quick',
    vggPath: f.vgg,
    overrides: {
      iterations,
      imageSize: 16,
      batchSize: 1,
      checkpointEvery: 2,
      previewEvery: 0,
      styleSize: 24,
      architecture: TINY_ARCH,
    },
    ...extra,
  };
}

function assertClean(dirs: string[], what: string, allow: RegExp[] = []): void {
  assert.deepEqual(leftovers(dirs, allow), [], `${what}: no temp files left behind`);
}

function client(root: string, workerPath = WORKER): EngineClient {
  assert.ok(fs.existsSync(workerPath), `${workerPath} missing: run \`node esbuild.mjs\` first`);
  return new EngineClient({ workerPath, settings: () => settingsFor(root) });
}

// ---- the worker dies ----------------------------------------------------------------------------

test('worker terminated mid-stylize: the job fails clearly, nothing partial is written, the next job works', async (t) => {
  const root = tempDir('fst-fault-');
  const f = await trainingFixture(root);
  const dir = path.join(root, 'photos');
  fs.mkdirSync(dir);
  const big = await photo(path.join(dir, 'big.png'), 1800, 1400, true);
  const small = await photo(path.join(dir, 'small.png'));
  const originals = hashTree(dir);
  const styleBefore = hashTree(f.style);
  const c = client(root);
  t.after(() => c.dispose());
  await c.request({ type: 'info' });
  const first = c.workerThreadId;
  const job = c.request(
    { type: 'stylize', inputs: [big], style: f.style, options: { runtime: 'tfjs' } },
    {
      onProgress: (p) => {
        if (p.type === 'stylize' && p.done === 0) void c.terminateWorker();
      },
    },
  );
  await assert.rejects(
    job,
    isCode('internal', /stopped unexpectedly.*stylize job was stopped.*next job starts a fresh engine/),
  );
  assert.equal(c.busy, 0);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['big.png', 'small.png'], 'no output, complete or partial');
  assert.deepEqual(changedOriginals(originals, hashTree(dir)), []);
  assert.deepEqual(changedOriginals(styleBefore, hashTree(f.style)), [], 'the style is untouched');
  const again = await c.request({ type: 'stylize', inputs: [small], style: f.style, options: {} });
  assert.equal(again.outputs.length, 1);
  assert.notEqual(c.workerThreadId, first, 'a fresh worker');
  assert.deepEqual((await sharp(again.outputs[0].output).metadata()).width, 40);
  assertClean([root], 'after the kill and the next job');
});

test('worker terminated mid-training: the last good checkpoint loads, and Resume finishes the run', async (t) => {
  const root = tempDir('fst-fault-');
  const f = await trainingFixture(root);
  const output = path.join(root, 'styles', 'killed');
  const inputsBefore = hashTree(f.dataDir);
  const c = client(root);
  t.after(() => c.dispose());
  const saved: number[] = [];
  const job = c.request(
    { type: 'train', options: trainOptions(f, output, 400) },
    {
      onProgress: (p) => {
        if (p.type === 'checkpoint') saved.push(p.iteration);
        // Kill in the middle of the next step after the second checkpoint.
        if (p.type === 'train' && saved.length >= 2 && p.iteration === saved[saved.length - 1] + 1)
          void c.terminateWorker();
      },
    },
  );
  await assert.rejects(job, isCode('internal', /stopped unexpectedly.*train job was stopped/));
  assert.ok(saved.length >= 2, `checkpoints seen: ${saved}`);
  const ck = await readCheckpoint(output);
  assert.ok(saved.includes(ck.info.iteration), `checkpoint at ${ck.info.iteration}, saves seen ${saved}`);
  const state = await readTrainingState(output, ck.info.architecture);
  assert.equal(state.json.iteration, ck.info.iteration, 'weights and optimizer state are from the same step');
  // A hard kill may interrupt a checkpoint write: only the writer's own hidden folder can be left, and the next write removes it.
  assert.deepEqual(
    leftovers([root]).filter((p) => !/\.killed\.writing-/.test(p)),
    [],
  );
  const resumed = await c.request({
    type: 'resume',
    options: { checkpoint: output, vggPath: f.vgg, iterations: ck.info.iteration + 2 },
  });
  assert.equal(resumed.iterations, ck.info.iteration + 2);
  assert.equal((await readCheckpoint(output)).info.iteration, ck.info.iteration + 2);
  assertClean([root], 'after the resume');
  assert.deepEqual(changedOriginals(inputsBefore, hashTree(f.dataDir)), []);
});

test('a worker that throws, exits or talks nonsense: one clear error per job, then a fresh worker', async (t) => {
  const root = tempDir('fst-fault-');
  const logs: string[] = [];
  const c = new EngineClient({
    workerPath: MISBEHAVING,
    settings: () => settingsFor(root),
    log: (_l, m) => logs.push(m),
  });
  t.after(() => c.dispose());
  const run = (how: string) => c.request({ type: 'stylize', inputs: [how], style: '/s', options: {} });
  await run('ok');
  const first = c.workerThreadId;
  await assert.rejects(run('throw'), isCode('internal', /crashed: boom in the engine.*next job starts a fresh engine/));
  assert.equal(c.busy, 0);
  await run('ok');
  const second = c.workerThreadId;
  assert.notEqual(second, first);
  await assert.rejects(run('exit'), isCode('internal', /stopped unexpectedly \(exit code 3\)/));
  await run('ok');
  assert.notEqual(c.workerThreadId, second);
  // Malformed messages are logged and ignored; a second answer to one job changes nothing.
  const third = c.workerThreadId;
  assert.deepEqual(await run('garbage'), { outputs: [], failures: [], runtime: 'fake' });
  assert.deepEqual(await run('twice'), { outputs: [], failures: [], runtime: 'fake' });
  assert.deepEqual(await run('unknown-id'), { outputs: [], failures: [], runtime: 'fake' });
  assert.equal(c.workerThreadId, third, 'nonsense does not restart the worker');
  assert.ok(
    logs.some((l) => /malformed message/.test(l)),
    'malformed messages are logged',
  );
  // Several jobs in flight when it dies: each fails once.
  const all = await Promise.allSettled([run('ok'), run('exit'), run('ok')]);
  assert.equal(all.filter((r) => r.status === 'rejected').length >= 1, true);
  assert.equal(c.busy, 0);
});

test('the real worker ignores malformed messages and refuses malformed jobs without dying', async (t) => {
  const root = tempDir('fst-fault-');
  const c = client(root);
  t.after(() => c.dispose());
  await c.request({ type: 'info' });
  const thread = c.workerThreadId;
  const worker = (c as unknown as { worker: import('node:worker_threads').Worker }).worker;
  for (const m of [
    null,
    'run',
    42,
    [],
    { type: 'run' },
    { id: 1 },
    { type: 'cancel', id: 'x' },
    { type: 'run', id: 99, job: null, settings: {} },
  ])
    worker.postMessage(m);
  await assert.rejects(
    c.request({ type: 'stylize', inputs: ['relative.png'], style: '/s', options: {} } as never),
    isCode('bad-input', /^malformed stylize job: "inputs\[0\]" must be an absolute path$/),
  );
  await assert.rejects(
    c.request({ type: 'train', options: null } as never),
    isCode('bad-input', /^malformed train job: "options" must be a plain object$/),
  );
  await assert.rejects(c.request({ type: 'constructor' } as never), isCode('bad-input', /unknown job type/));
  assert.ok((await c.request({ type: 'info' })).versions.node);
  assert.equal(c.workerThreadId, thread);
});

// ---- the file system refuses ----------------------------------------------------------------------

/** Mounts a tmpfs (or a read-only bind mount) at `dir` when this process may; false otherwise. */
function mount(args: string[]): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || process.env.FST_FAULTS_NO_MOUNT === '1') return false;
  return spawnSync('mount', args, { stdio: 'ignore' }).status === 0;
}

function unmount(dir: string): void {
  spawnSync('umount', ['-l', dir], { stdio: 'ignore' });
}

/**
 * Where mounting is not allowed (CI containers), the same errno is injected at the one seam the
 * writers use: fs.promises.open (writes fail with ENOSPC; opening for writing fails with EROFS).
 */
function inject(dir: string, code: 'ENOSPC' | 'EROFS'): () => void {
  const original = { open: fsp.open, mkdir: fsp.mkdir };
  const errno = (syscall: string, p?: string) =>
    Object.assign(
      new Error(`${code}: ${code === 'ENOSPC' ? 'no space left on device' : 'read-only file system'}, ${syscall}`),
      { code, syscall, path: p },
    );
  const under = (p: unknown) => typeof p === 'string' && (path.resolve(p) + path.sep).startsWith(dir + path.sep);
  const writing = (flags: unknown) => /[wax+]/.test(String(flags ?? 'r'));
  (fsp as { open: unknown }).open = async (p: string, flags?: string, mode?: number) => {
    if (!under(p) || !writing(flags)) return original.open(p, flags, mode);
    if (code === 'EROFS') throw errno('open', p);
    const fh = await original.open(p, flags, mode);
    return new Proxy(fh, {
      get(target, key) {
        if (key === 'writeFile' || key === 'write')
          return async () => {
            throw errno('write');
          };
        const v = Reflect.get(target, key);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  };
  (fsp as { mkdir: unknown }).mkdir = async (p: string, opts?: fs.MakeDirectoryOptions) => {
    if (code === 'EROFS' && under(p) && !fs.existsSync(p)) throw errno('mkdir', p);
    return original.mkdir(p, opts);
  };
  return () => Object.assign(fsp, original);
}

test('disk full: stylize, training and a checkpoint rewrite each fail with one clear error and leave everything as it was', async (t) => {
  const root = tempDir('fst-fault-');
  const f = await trainingFixture(root);
  const full = path.join(root, 'full');
  fs.mkdirSync(full);
  const real = mount(['-t', 'tmpfs', '-o', 'size=4096k', 'tmpfs', full]);
  t.diagnostic(
    real
      ? 'a real 4 MB tmpfs (ENOSPC from the kernel)'
      : 'mount not permitted here: ENOSPC injected at fs.promises.open',
  );
  let uninject: (() => void) | undefined;
  /** Leaves `room` bytes free (real) or makes every write fail (injected). */
  const fill = (room: number) => {
    if (!real) {
      uninject ??= inject(full, 'ENOSPC');
      return;
    }
    const st = fs.statfsSync(full);
    fs.writeFileSync(path.join(full, `filler-${Date.now()}`), Buffer.alloc(Math.max(0, st.bavail * st.bsize - room)));
  };
  const unfill = () => {
    if (!real) {
      uninject?.();
      uninject = undefined;
      return;
    }
    for (const n of fs.readdirSync(full)) if (n.startsWith('filler-')) fs.rmSync(path.join(full, n));
  };
  t.after(() => {
    uninject?.();
    if (real) unmount(full);
  });

  // 1. Stylize into the full folder.
  const photos = path.join(root, 'photos');
  fs.mkdirSync(photos);
  const input = await photo(path.join(photos, 'noise.png'), 600, 600, true);
  const originals = hashTree(photos);
  const engine = await createStylizeEngine({ runtime: 'onnx', cacheDir: path.join(root, 'cache') });
  t.after(() => engine.dispose());
  fill(8 * 1024);
  const r = await stylizeFiles({ inputs: [input], style: f.style, options: { outDir: full } }, engine);
  assert.equal(r.outputs.length, 0);
  assert.equal(r.failures[0]?.error.code, 'io', JSON.stringify(r.failures));
  assert.match(r.failures[0].error.message, /disk is full/);
  assert.deepEqual(
    fs.readdirSync(full).filter((n) => !n.startsWith('filler-')),
    [],
    'no temp or partial file in the full folder',
  );
  assert.deepEqual(changedOriginals(originals, hashTree(photos)), []);
  unfill();
  // The engine still works.
  assert.equal((await stylizeFiles({ inputs: [input], style: f.style, options: {} }, engine)).outputs.length, 1);

  // 2. Training whose second checkpoint no longer fits: one clear error, the first checkpoint stays.
  const ckDir = path.join(full, 'trained');
  let filled = false;
  const trainingRun = trainStyle(trainOptions(f, ckDir, 8), settingsFor(root), {
    progress: (p) => {
      if (p.type !== 'checkpoint' || filled) return;
      filled = true;
      const size = fs.readdirSync(ckDir).reduce((n, x) => n + fs.statSync(path.join(ckDir, x)).size, 0);
      fill(Math.floor(size / 2));
    },
  });
  await assert.rejects(trainingRun, isCode('io', /cannot write checkpoint .*trained.*ENOSPC/));
  const kept = await readCheckpoint(ckDir);
  assert.equal(kept.info.iteration, 2, 'the checkpoint from before the disk filled up');
  await readTrainingState(ckDir, kept.info.architecture);
  assertClean([root], 'after the failed checkpoint write');

  // 3. Rewriting that checkpoint directly (a smaller one, without optimizer state) on a disk with 4 KB left.
  fill(4096);
  const before = hashTree(ckDir);
  await assert.rejects(
    writeCheckpoint(ckDir, { ...kept.info, iteration: 99 }, seededWeights(TINY_ARCH, 9)),
    isCode('io', /cannot write checkpoint/),
  );
  assert.deepEqual(changedOriginals(before, hashTree(ckDir)), []);
  assertClean([root], 'after the failed rewrite');
});

test('read-only output folder: stylize and checkpoint writes fail clearly and write nothing', async (t) => {
  const root = tempDir('fst-fault-');
  const f = await trainingFixture(root);
  const src = path.join(root, 'ro-source');
  const ro = path.join(root, 'read-only');
  fs.mkdirSync(src);
  fs.mkdirSync(ro);
  fs.writeFileSync(path.join(src, 'existing.txt'), 'already here');
  let real = mount(['--bind', src, ro]);
  if (real && !mount(['-o', 'remount,bind,ro', ro])) {
    unmount(ro);
    real = false;
  }
  if (!real) fs.writeFileSync(path.join(ro, 'existing.txt'), 'already here');
  const uninject = real ? undefined : inject(ro, 'EROFS');
  t.after(() => {
    uninject?.();
    if (real) unmount(ro);
  });
  t.diagnostic(
    real
      ? 'a real read-only bind mount (EROFS from the kernel)'
      : 'mount not permitted here: EROFS injected at fs.promises.open',
  );
  const before = hashTree(ro);
  const photos = path.join(root, 'photos');
  fs.mkdirSync(photos);
  const input = await photo(path.join(photos, 'p.png'));
  const originals = hashTree(photos);
  const engine = await createStylizeEngine({ runtime: 'onnx', cacheDir: path.join(root, 'cache') });
  t.after(() => engine.dispose());
  const r = await stylizeFiles({ inputs: [input], style: f.style, options: { outDir: ro } }, engine);
  assert.equal(r.failures[0]?.error.code, 'io', JSON.stringify(r));
  assert.match(r.failures[0].error.message, /read-only file system/);
  await assert.rejects(
    writeCheckpoint(
      path.join(ro, 'ck'),
      { name: 'x', architecture: TINY_ARCH, source: { kind: 'trained' }, iteration: 1, createdAt: '', updatedAt: '' },
      seededWeights(TINY_ARCH, 1),
    ),
    isCode('io', /EROFS/),
  );
  assert.deepEqual([...hashTree(ro).keys()], [...before.keys()], 'nothing written');
  assert.deepEqual(changedOriginals(before, hashTree(ro)), []);
  assert.deepEqual(changedOriginals(originals, hashTree(photos)), []);
  assertClean([root], 'read-only folder');
});

test('output names already taken (a file, a folder, a dangling link, a file held open) are never overwritten', async (t) => {
  const root = tempDir('fst-fault-');
  const f = await trainingFixture(root);
  const dir = path.join(root, 'photos');
  fs.mkdirSync(dir);
  const input = await photo(path.join(dir, 'photo.png'));
  fs.writeFileSync(path.join(dir, 'photo.tiny.png'), 'an earlier result');
  fs.mkdirSync(path.join(dir, 'photo.tiny-2.png'));
  fs.symlinkSync('/nonexistent/target', path.join(dir, 'photo.tiny-3.png'));
  fs.writeFileSync(path.join(dir, 'photo.tiny-4.png'), 'open in another program');
  const held = await fsp.open(path.join(dir, 'photo.tiny-4.png'), 'r+');
  t.after(() => held.close());
  const originals = hashTree(dir);
  const engine = await createStylizeEngine({ runtime: 'onnx', cacheDir: path.join(root, 'cache') });
  t.after(() => engine.dispose());
  const r = await stylizeFiles({ inputs: [input], style: f.style, options: {} }, engine);
  assert.equal(r.outputs[0].output, path.join(dir, 'photo.tiny-5.png'));
  assert.deepEqual(changedOriginals(originals, hashTree(dir)), []);
  // Racing writers on the same input and style: every result gets its own name.
  const racing = await Promise.all(
    [1, 2, 3].map(() => stylizeFiles({ inputs: [input], style: f.style, options: {} }, engine)),
  );
  const names = racing.map((x) => x.outputs[0].output);
  assert.equal(new Set(names).size, 3, `distinct names: ${names}`);
  for (const n of names) assert.equal((await sharp(n).metadata()).width, 40);
  assert.deepEqual(changedOriginals(originals, hashTree(dir)), []);
  assertClean([root], 'after racing writers');
});

// ---- cancellation at every phase ---------------------------------------------------------------

test('cancelling a stylize job before it starts, during decode and between files leaves only whole results', async (t) => {
  const root = tempDir('fst-fault-');
  const f = await trainingFixture(root);
  const dir = path.join(root, 'photos');
  fs.mkdirSync(dir);
  const a = await photo(path.join(dir, 'a.png'));
  const b = await photo(path.join(dir, 'b.png'));
  const originals = hashTree(dir);
  const engine = await createStylizeEngine({ runtime: 'onnx', cacheDir: path.join(root, 'cache') });
  t.after(() => engine.dispose());
  const settings = settingsFor(root);
  // Before start: the job is refused at once.
  const pre = new AbortController();
  pre.abort();
  await assert.rejects(
    runJob({ type: 'stylize', inputs: [a], style: f.style, options: {} }, settings, { signal: pre.signal }),
    isCode('cancelled'),
  );
  const c = client(root);
  t.after(() => c.dispose());
  await assert.rejects(
    c.request({ type: 'stylize', inputs: [a], style: f.style, options: {} }, { signal: pre.signal }),
    isCode('cancelled'),
  );
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a.png', 'b.png']);
  // During decode: the input file is being read when the cancel arrives; nothing is written.
  const during = new AbortController();
  const readFile = fsp.readFile;
  (fsp as { readFile: unknown }).readFile = async (...args: Parameters<typeof fsp.readFile>) => {
    if (args[0] === a) during.abort();
    return readFile(...args);
  };
  try {
    const r = await stylizeFiles({ inputs: [a, b], style: f.style, options: {} }, engine, { signal: during.signal });
    assert.equal(r.cancelled, true);
    assert.deepEqual(r.outputs, []);
  } finally {
    (fsp as { readFile: unknown }).readFile = readFile;
  }
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a.png', 'b.png']);
  // Between files: the first result is whole, the second file is not touched.
  const between = new AbortController();
  const r = await stylizeFiles({ inputs: [a, b], style: f.style, options: {} }, engine, {
    signal: between.signal,
    progress: (p: JobProgress) => {
      if (p.type === 'stylize' && p.done === 1) between.abort();
    },
  });
  assert.equal(r.cancelled, true);
  assert.deepEqual(
    r.outputs.map((o) => path.basename(o.output)),
    ['a.tiny.png'],
  );
  assert.equal((await sharp(r.outputs[0].output).metadata()).height, 30);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a.png', 'a.tiny.png', 'b.png']);
  assert.deepEqual(changedOriginals(originals, hashTree(dir)), []);
  assertClean([root], 'stylize cancels');
});

test('cancelling training while loading, between steps and during a checkpoint write keeps a consistent checkpoint', async () => {
  const root = tempDir('fst-fault-');
  const f = await trainingFixture(root);
  const settings = settingsFor(root);
  const inputs = hashTree(f.dataDir);
  // While loading (before the first step): nothing is written.
  const early = new AbortController();
  const fresh = path.join(root, 'styles', 'early');
  await assert.rejects(
    trainStyle(trainOptions(f, fresh, 6), settings, {
      signal: early.signal,
      progress: (p) => {
        if (p.type === 'phase') early.abort();
      },
    }),
    isCode('cancelled'),
  );
  assert.equal(fs.existsSync(fresh), false, 'no checkpoint folder for a run cancelled before its first step');
  // Between steps: stops after the step in progress and saves it.
  const mid = new AbortController();
  const out = path.join(root, 'styles', 'mid');
  const r = await trainStyle(trainOptions(f, out, 40), settings, {
    signal: mid.signal,
    progress: (p) => {
      if (p.type === 'train' && p.iteration === 3) mid.abort();
    },
  });
  assert.deepEqual([r.cancelled, r.iterations], [true, 3]);
  const ck = await readCheckpoint(out);
  assert.equal(ck.info.iteration, 3);
  assert.equal((await readTrainingState(out, ck.info.architecture)).json.iteration, 3);
  // A resume cancelled while loading leaves that checkpoint byte-identical.
  const before = hashTree(out);
  const resumeEarly = new AbortController();
  await assert.rejects(
    resumeTraining({ checkpoint: out, vggPath: f.vgg, iterations: 10 }, settings, {
      signal: resumeEarly.signal,
      progress: (p) => {
        if (p.type === 'phase') resumeEarly.abort();
      },
    }),
    isCode('cancelled'),
  );
  assert.deepEqual(changedOriginals(before, hashTree(out)), []);
  // During a checkpoint write (the cancel lands while the new folder is being swapped in).
  const during = new AbortController();
  const rename = fsp.rename;
  (fsp as { rename: unknown }).rename = async (from: fs.PathLike, to: fs.PathLike) => {
    if (String(from).includes('.writing-')) during.abort();
    return rename(from, to);
  };
  let r2;
  try {
    r2 = await trainStyle(trainOptions(f, path.join(root, 'styles', 'during'), 40), settings, {
      signal: during.signal,
    });
  } finally {
    (fsp as { rename: unknown }).rename = rename;
  }
  assert.equal(r2.cancelled, true);
  const ck2 = await readCheckpoint(path.join(root, 'styles', 'during'));
  assert.equal(ck2.info.iteration, r2.iterations, 'the saved checkpoint is the step the result reports');
  assertClean([root], 'training cancels');
  assert.deepEqual(changedOriginals(inputs, hashTree(f.dataDir)), []);
});

test('cancelling a VGG download keeps only its resume point; cancelling optimise writes nothing (or, if asked, one whole image)', async (t) => {
  const root = tempDir('fst-fault-');
  const payload = crypto.randomBytes(256 * 1024);
  const sha256 = crypto.createHash('sha256').update(payload).digest('hex');
  const server = http.createServer((req, res) => {
    const start = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0);
    res.writeHead(start ? 206 : 200, {
      'content-length': payload.length - start,
      ...(start ? { 'content-range': `bytes ${start}-${payload.length - 1}/${payload.length}` } : {}),
    });
    let at = start;
    const tick = setInterval(() => {
      if (at >= payload.length) {
        clearInterval(tick);
        res.end();
        return;
      }
      res.write(payload.subarray(at, at + 16 * 1024));
      at += 16 * 1024;
    }, 5);
    res.on('close', () => clearInterval(tick));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/imagenet-vgg-verydeep-19.mat`;
  const cache = path.join(root, 'vgg');
  const dest = path.join(cache, 'imagenet-vgg-verydeep-19.mat');
  const abort = new AbortController();
  await assert.rejects(
    downloadFile(url, dest, {
      sha256,
      signal: abort.signal,
      progressIntervalMs: 0,
      onProgress: (n) => {
        if (n > 0) abort.abort();
      },
    }),
    isCode('cancelled'),
  );
  assert.equal(fs.existsSync(dest), false, 'no unverified file under the final name');
  assert.deepEqual(fs.readdirSync(cache), ['imagenet-vgg-verydeep-19.mat.partial'], 'only the resume point');
  const done = await downloadFile(url, dest, { sha256 });
  assert.equal(done.resumed, true);
  assertClean([root], 'after the resumed download');

  // Optimise: cancelled after two steps.
  const f = await trainingFixture(root);
  const photos = path.join(root, 'photos');
  fs.mkdirSync(photos);
  const image = await photo(path.join(photos, 'p.png'), 24, 20, true);
  const originals = hashTree(photos);
  const run = async (saveOnCancel: boolean) => {
    const c = new AbortController();
    return optimizeWithImage(
      {
        image,
        styleImage: f.styleImage,
        vggPath: f.vgg,
        size: 24,
        steps: 50,
        method: 'adam',
        saveOnCancel,
        previewEvery: 0,
      },
      settingsFor(root),
      {
        signal: c.signal,
        progress: (p) => {
          if (p.type === 'optimize' && p.step >= 2) c.abort();
        },
      },
    );
  };
  const nothing = await run(false);
  assert.equal(nothing.cancelled, true);
  assert.equal(nothing.output, undefined);
  assert.deepEqual(fs.readdirSync(photos), ['p.png']);
  const kept = await run(true);
  assert.ok(kept.output && fs.existsSync(kept.output));
  assert.equal((await sharp(kept.output).metadata()).width, 24);
  assert.deepEqual(changedOriginals(originals, hashTree(photos)), []);
  assertClean([root], 'optimise cancels');
});

// ---- two jobs at once ---------------------------------------------------------------------

test('two stylize jobs at once, and stylize during training, all complete correctly', async (t) => {
  const root = tempDir('fst-fault-');
  const f = await trainingFixture(root);
  const dir = path.join(root, 'photos');
  fs.mkdirSync(dir);
  const a = await photo(path.join(dir, 'a.png'), 50, 40, true);
  const b = await photo(path.join(dir, 'b.png'), 30, 60, true);
  const originals = hashTree(dir);
  const c = client(root);
  t.after(() => c.dispose());
  const [ra, rb, ra2] = await Promise.all([
    c.request({ type: 'stylize', inputs: [a], style: f.style, options: {} }),
    c.request({ type: 'stylize', inputs: [b], style: f.style, options: { format: 'jpeg' } }),
    c.request({ type: 'stylize', inputs: [a], style: f.style, options: {} }),
  ]);
  const outs = [ra, rb, ra2].map((r) => r.outputs[0].output);
  assert.equal(new Set(outs).size, 3);
  assert.deepEqual(
    await Promise.all(
      outs.map(async (o) => {
        const m = await sharp(o).metadata();
        return [m.width, m.height];
      }),
    ),
    [
      [50, 40],
      [30, 60],
      [50, 40],
    ],
  );
  // Stylize while a training job runs in the same worker.
  const output = path.join(root, 'styles', 'busy');
  let stylizedDuring = -1;
  let lastIteration = 0;
  let stylize: Promise<unknown> | undefined;
  const training = c.request(
    { type: 'train', options: trainOptions(f, output, 12) },
    {
      onProgress: (p) => {
        if (p.type !== 'train') return;
        lastIteration = p.iteration;
        if (p.iteration === 2)
          stylize = c.request({ type: 'stylize', inputs: [b], style: f.style, options: {} }).then((r) => {
            stylizedDuring = lastIteration;
            return r;
          });
      },
    },
  );
  const trained = await training;
  const s = (await stylize) as { outputs: { output: string }[] };
  assert.equal(trained.iterations, 12);
  assert.ok(
    stylizedDuring >= 2 && stylizedDuring < 12,
    `the stylize finished while training ran (at step ${stylizedDuring})`,
  );
  assert.equal((await sharp(s.outputs[0].output).metadata()).width, 30);
  assert.equal((await readCheckpoint(output)).info.iteration, 12);
  assert.deepEqual(changedOriginals(originals, hashTree(dir)), []);
  assertClean([root], 'concurrent jobs');
});

// ---- a crash in the middle of a checkpoint swap (power loss) -----------------------------------

test('a checkpoint swap cut short by a crash is recovered on read, and its debris removed by the next write', async () => {
  const root = tempDir('fst-fault-');
  const dir = path.join(root, 'styles', 'ck');
  await writeCheckpoint(
    dir,
    { name: 'ck', architecture: TINY_ARCH, source: { kind: 'trained' }, iteration: 5, createdAt: '', updatedAt: '' },
    seededWeights(TINY_ARCH, 5),
  );
  // Crash after "move the old one aside", before "move the new one in".
  fs.renameSync(dir, path.join(root, 'styles', '.ck.previous'));
  fs.mkdirSync(path.join(root, 'styles', '.ck.writing-dead'));
  fs.writeFileSync(path.join(root, 'styles', '.ck.writing-dead', 'weights.bin'), 'half');
  assert.equal((await readCheckpoint(dir)).info.iteration, 5, 'the old checkpoint is put back');
  await writeCheckpoint(
    dir,
    { name: 'ck', architecture: TINY_ARCH, source: { kind: 'trained' }, iteration: 6, createdAt: '', updatedAt: '' },
    seededWeights(TINY_ARCH, 6),
  );
  assert.equal((await readCheckpoint(dir)).info.iteration, 6);
  assertClean([root], 'after recovery and a new write');
});
