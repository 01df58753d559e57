// `npm run bench`: one JSON line per figure on stdout (human notes on stderr).
//   {"type":"machine", …}                        cores, CPU model, memory, versions
//   {"type":"stylize", "backend", "size", …}     median seconds of ≥ 3 runs after a warm-up, peak RSS, GFLOP/s
//   {"type":"process", "size", "seconds", …}     a whole `fst stylize` process (cold, first image) next to the warm figure
//   {"type":"train", "backend", "size", "batch", "seconds", "gflops"}  one training step (bench/train-step.ts,
//                                                bench/train-step-onnx.ts): median seconds, GFLOP/s of it (gflopPerStep
//                                                from src/model/trainFlops.ts), CPU seconds
//   {"type":"video", "size", "pipelinedFps", …}   720p clip through the video job next to compute only, peak memory (bench/video.ts)
//   {"type":"summary", …}                        speed-ups against the reference graph, measured in this run; "training":
//                                                the ONNX Runtime step against threaded wasm and against stylize GFLOP/s
// A backend that cannot run here gets one line with "available": false and the reason.
//
//   node bench/run.mjs [--quick] [--only stylize|train|video] [--sizes 256,512] [--reps 3] [--gpu] [--all]
//
// --quick (CI, < 4 minutes): ONNX Runtime at 256² and 512² (fp32 also 1024²), whole fst stylize
// processes at 256² and 1024², wasm at 256², a 128² batch-1 training step (VGG19 to relu5_1)
// on threaded wasm and on ONNX Runtime side by side, and the availability of every other backend.
// --only train: the training figures, and the fp32 stylize figure at 512² they are compared with.
// --pairs 128x1,256x4: only these training sizes × batches side by side (no single-threaded wasm).
// --gpu: only the GPU-capable backends (ONNX Runtime WebGPU/CUDA, tfjs-node-gpu) next to the CPU
// reference, with each GPU output saved for bench/gpu-check.sh's PSNR check.
// --all: also the slow combinations skipped by default (plain-JS tfjs beyond 256², wasm at 4096²).
// Each figure runs in a fresh Node process, so peak RSS is that figure's own.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// ONNX Runtime's telemetry off in every process this starts (src/protocol/telemetry.ts).
process.env.ORT_DISABLE_TELEMETRY = '1';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (n) => args.includes(`--${n}`);
const opt = (n, d) => {
  const i = args.indexOf(`--${n}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : d;
};
const quick = flag('quick');
const gpu = flag('gpu');
const all = flag('all');
const only = opt('only', '');
const wants = (part) => only === '' || only === part;
const reps = opt('reps', '3');
const outDir = opt('out', '');
const figureTimeout = Number(opt('timeout', '0')); // seconds per figure; 0 = 600 (1500 at 4096²)
const started = Date.now();

// bench/gpu-check.sh runs pre-bundled scripts (no tsx there); here TypeScript runs through tsx.
const bundleDir = process.env.FST_BENCH_BUNDLE;
const script = (name) =>
  bundleDir ? [path.join(bundleDir, `${name}.js`)] : ['--import', 'tsx', path.join(root, 'bench', `${name}.ts`)];

const note = (s) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${s}\n`);
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');

/** Runs a bench script; returns its JSON lines (other stdout lines go to stderr). */
function runScript(name, scriptArgs, { timeoutSec = 900, env = {} } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...script(name), ...scriptArgs], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutSec * 1000);
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = [];
      for (const l of out.split('\n')) {
        if (!l.trim()) continue;
        try {
          lines.push(JSON.parse(l));
        } catch {
          process.stderr.write(`${l}\n`);
        }
      }
      const tail = err
        .split('\n')
        .filter((l) => l.trim() && !/Serializing optimized model/.test(l))
        .slice(-3)
        .join(' | ');
      resolve({ lines, code, signal, tail });
    });
  });
}

function versionOf(pkg) {
  try {
    return JSON.parse(fs.readFileSync(path.join(bundleDir ?? root, 'node_modules', pkg, 'package.json'), 'utf8'))
      .version;
  } catch {
    return undefined;
  }
}

function gpuInfo() {
  try {
    const v = fs.readFileSync('/proc/driver/nvidia/version', 'utf8').split('\n')[0];
    return v.trim();
  } catch {
    return undefined;
  }
}

// ---- what to run ----
const SIZES = opt('sizes', quick ? '256,512' : '256,512,1024,4096')
  .split(',')
  .map(Number);
/** Seconds per run at 256² measured here, to skip hopeless combinations by default. */
const SLOW = { 'tfjs-cpu': 80, 'tfjs-wasm': 2.7 };

function stylizeJobs() {
  const jobs = [];
  const onnx = (provider, precision, extra = [], sizes = SIZES) =>
    sizes.forEach((size) =>
      jobs.push({
        args: ['--backend', 'onnx', '--provider', provider, '--precision', precision, ...extra],
        size,
        save: `${provider}-${precision}-${size}`,
      }),
    );
  const tfjs = (name, sizes) =>
    sizes.forEach((size) => jobs.push({ args: ['--backend', 'tfjs', '--tfjs', name], size, save: `${name}-${size}` }));
  const skip = (backend, sizes, reason) =>
    sizes.forEach((size) => jobs.push({ skip: { type: 'stylize', backend, size, available: false, reason } }));
  if (gpu) {
    onnx('cpu', 'reference');
    onnx('cpu', 'fp32');
    onnx('webgpu', 'fp32');
    onnx('cuda', 'fp32');
    tfjs(
      'tfjs-node-gpu',
      SIZES.filter((s) => s <= 1024),
    );
    return jobs;
  }
  // The reference graph at 4096² was OOM-killed at 23.5 GB RSS on a 23.5 GB machine; the fast
  // graph peaks at 14.9 GB there. Only try it where it can fit.
  const bigRef = all || os.totalmem() >= 40 * 2 ** 30;
  onnx(
    'cpu',
    'reference',
    [],
    SIZES.filter((s) => s < 4096 || bigRef),
  );
  skip(
    'onnxruntime-cpu-reference',
    SIZES.filter((s) => s >= 4096 && !bigRef),
    'skipped: the reference graph needs more than 23.5 GB at 4096² (OOM-killed at 23.5 GB RSS here; the fast fp32 graph peaks at 14.9 GB); --all tries it',
  );
  onnx('cpu', 'fp32');
  // The warm figure the whole-process cold figure at 1024² is compared with (processFigures).
  if (!SIZES.includes(1024)) onnx('cpu', 'fp32', [], [1024]);
  if (!quick) {
    onnx(
      'cpu',
      'int8',
      [],
      SIZES.filter((s) => s <= 1024),
    );
    // Settings checked once: memory arena off (RSS), one thread.
    onnx(
      'cpu',
      'fp32',
      ['--arena', 'off'],
      SIZES.filter((s) => s >= 1024),
    );
    onnx(
      'cpu',
      'fp32',
      ['--threads', '1'],
      SIZES.filter((s) => s === 1024),
    );
  }
  // GPU providers and native tfjs: one availability line each where they cannot run.
  onnx('webgpu', 'fp32', [], quick ? [256] : SIZES);
  onnx('cuda', 'fp32', [], quick ? [256] : SIZES);
  tfjs('tfjs-node-gpu', quick ? [256] : SIZES);
  tfjs('tfjs-node', quick ? [256] : SIZES);
  const wasmMax = all ? 4096 : quick ? 256 : 1024;
  tfjs(
    'wasm',
    SIZES.filter((s) => s <= wasmMax),
  );
  skip(
    'tfjs-wasm',
    SIZES.filter((s) => s > wasmMax),
    quick ? 'skipped in --quick' : 'skipped: the wasm heap is capped at 4 GiB (DESIGN §5); --all tries it',
  );
  const cpuMax = all ? 4096 : quick ? 0 : 256;
  tfjs(
    'cpu',
    SIZES.filter((s) => s <= cpuMax),
  );
  skip(
    'tfjs-cpu',
    SIZES.filter((s) => s > cpuMax),
    `skipped: plain-JavaScript tfjs takes ~${SLOW['tfjs-cpu']} s per 256² image here, ×16 per doubling of the side; --all runs it`,
  );
  return jobs;
}

async function main() {
  const cpus = os.cpus();
  emit({
    type: 'machine',
    cores: cpus.length,
    cpuModel: cpus[0]?.model,
    memoryGB: +(os.totalmem() / 2 ** 30).toFixed(1),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    gpu: gpuInfo() ?? null,
    loadavg: os.loadavg().map((l) => +l.toFixed(2)),
    mode: quick ? 'quick' : gpu ? 'gpu' : 'full',
    versions: {
      node: process.versions.node,
      'onnxruntime-node': versionOf('onnxruntime-node'),
      '@tensorflow/tfjs-core': versionOf('@tensorflow/tfjs-core'),
      '@tensorflow/tfjs-backend-wasm': versionOf('@tensorflow/tfjs-backend-wasm'),
      sharp: versionOf('sharp'),
    },
  });
  const results = [];
  const unavailable = new Set();
  if (wants('stylize')) {
    for (const job of stylizeJobs()) {
      if (job.skip) {
        emit(job.skip);
        continue;
      }
      const key = job.args.join(' ');
      if (unavailable.has(key)) continue; // one "unavailable" line per backend is enough
      const a = [...job.args, '--size', String(job.size), '--reps', reps];
      if (outDir) a.push('--save', path.join(outDir, `${job.save}.f32`));
      // The GPU machine gets neither the shared data nor sharp: seeded weights, a synthetic image.
      if (gpu) a.push('--image', 'synthetic', '--weights', 'random');
      note(`stylize ${a.join(' ')}`);
      const r = await runScript('stylize', a, { timeoutSec: figureTimeout || (job.size >= 4096 ? 1500 : 600) });
      if (r.lines.length === 0) {
        emit({
          type: 'stylize',
          args: a.join(' '),
          size: job.size,
          available: false,
          reason: r.signal
            ? `killed (${r.signal}: time limit or out of memory)`
            : `exited with code ${r.code}: ${r.tail}`,
        });
        continue;
      }
      for (const l of r.lines) {
        emit(l);
        results.push(l);
        if (l.available === false && !l.error) unavailable.add(key);
      }
    }
  }
  if (wants('stylize') && !gpu) {
    // The side-by-side figure the speed-ups are read from (round-robin in one process).
    for (const size of quick ? [512] : [1024]) {
      note(`compare reference / fp32${quick ? '' : ' / int8'} at ${size}²`);
      const r = await runScript('compare', [
        '--size',
        String(size),
        '--rounds',
        quick ? '3' : '5',
        '--precisions',
        quick ? 'reference,fp32' : 'reference,fp32,int8',
      ]);
      for (const l of r.lines) {
        emit(l);
        results.push(l);
      }
      if (r.lines.length === 0)
        emit({ type: 'compare', size, available: false, reason: `exited with code ${r.code}: ${r.tail}` });
    }
  }
  if (wants('stylize') && !gpu) await processFigures(results);
  if (wants('video') && !gpu) await videoFigures(results);
  if (only === 'train' && !gpu) {
    // The stylize GFLOP/s the training figures are compared with (trainingSummary).
    note('stylize fp32 at 512² (for the training summary)');
    const r = await runScript('stylize', [
      '--backend',
      'onnx',
      '--provider',
      'cpu',
      '--precision',
      'fp32',
      '--size',
      '512',
      '--reps',
      reps,
    ]);
    for (const l of r.lines) {
      emit(l);
      results.push(l);
    }
  }
  if (wants('train') && !gpu) await trainFigures(results);
  if (wants('train') && gpu) {
    // bench/gpu-check.sh: a 256² batch-4 step on the GPU providers next to the CPU one.
    const emitTrain = (backend, r) => {
      if (r.lines.length === 0)
        emit({
          type: 'train',
          backend,
          available: false,
          reason: `train-step-onnx exited with code ${r.code}: ${r.tail}`,
        });
      for (const { name: _n, error, ...rest } of r.lines)
        emit(
          error
            ? { type: 'train', backend, available: false, reason: error, ...rest }
            : { type: 'train', backend, available: true, ...rest },
        );
    };
    note('train-step-onnx cpu at 256² batch 4');
    emitTrain(
      'onnxruntime-cpu',
      await runScript('train-step-onnx', ['--sizes', '256', '--batches', '4', '--vgg', 'relu5_1', '--steps', reps], {
        timeoutSec: figureTimeout || 600,
      }),
    );
    await onnxGpuTrainFigures([[256, 4]], emitTrain);
  }
  summary(results);
  note(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/**
 * What users wait for: whole `fst stylize` processes (bench/process.ts), each the first image
 * of a fresh process, next to the warm figure of the same graph and size from this run.
 */
async function processFigures(results) {
  const sizes = quick ? [256, 1024] : [256, 1024, 4096];
  note(`whole processes: fst stylize at ${sizes.join(', ')}`);
  const r = await runScript('process', ['--sizes', sizes.join(','), '--reps', quick ? '2' : '3'], { timeoutSec: 1800 });
  if (r.lines.length === 0)
    emit({ type: 'process', available: false, reason: `exited with code ${r.code}: ${r.tail}` });
  for (const l of r.lines) {
    const warm = results.find(
      (x) =>
        x.type === 'stylize' &&
        x.backend === 'onnxruntime-cpu-fp32' &&
        x.size === l.size &&
        typeof x.seconds === 'number',
    );
    const line = warm ? { ...l, warmSeconds: warm.seconds, coldOverWarm: +(l.seconds / warm.seconds).toFixed(2) } : l;
    emit(line);
    results.push(line);
  }
}

/** A 720p clip (1 minute; --quick: 8 s) through the whole video job, next to compute only (bench/video.ts). */
async function videoFigures(results) {
  // 2 frames a second keeps a minute of 720p within minutes of CPU time here; memory is bounded per frame, not per second.
  const a = quick ? ['--seconds', '8', '--fps', '2'] : ['--seconds', '60', '--fps', '2'];
  note(`video ${a.join(' ')}`);
  const r = await runScript('video', a, { timeoutSec: quick ? 600 : 3600 });
  if (r.lines.length === 0) emit({ type: 'video', available: false, reason: `exited with code ${r.code}: ${r.tail}` });
  for (const l of r.lines) {
    emit(l);
    results.push(l);
  }
}

async function trainFigures(results) {
  // Backends other than wasm: availability from the same probe as stylize; plain JS is far too slow.
  for (const name of ['tfjs-node-gpu', 'tfjs-node']) {
    const r = await runScript('stylize', [
      '--backend',
      'tfjs',
      '--tfjs',
      name,
      '--size',
      '4',
      '--reps',
      '1',
      '--weights',
      'random',
      '--image',
      'synthetic',
    ]);
    const l = r.lines[0] ?? {};
    emit({
      type: 'train',
      backend: name,
      available: false,
      reason:
        l.available === false ? l.reason : 'not measured by this bench when available (train-step.ts measures wasm)',
    });
  }
  if (quick)
    emit({
      type: 'train',
      backend: 'tfjs-webgpu',
      available: false,
      reason: 'skipped in --quick (the full run times a 128² step, on a software adapter where there is no GPU)',
    });
  else {
    note('train-step webgpu 128 batch 1 vgg relu5_1');
    const r = await runScript(
      'train-step',
      ['--backend', 'webgpu', '--sizes', '128', '--batches', '1', '--vgg', 'relu5_1', '--steps', '2'],
      { timeoutSec: 600 },
    );
    const l = r.lines[0];
    emit(
      l && !l.error
        ? {
            type: 'train',
            backend: 'tfjs-webgpu',
            available: true,
            ...Object.fromEntries(Object.entries(l).filter(([k]) => k !== 'name')),
          }
        : {
            type: 'train',
            backend: 'tfjs-webgpu',
            available: false,
            reason: l?.error ?? `train-step exited with code ${r.code}: ${r.tail}`,
          },
    );
  }
  emit({
    type: 'train',
    backend: 'tfjs-cpu',
    available: false,
    reason: 'skipped: plain-JavaScript tfjs needs ~1000 s per 128² step here (DESIGN §5)',
  });
  const cores = String(os.cpus().length);
  const emitTrain = (backend, r, what) => {
    if (r.lines.length === 0)
      emit({ type: 'train', backend, available: false, reason: `${what} exited with code ${r.code}: ${r.tail}` });
    for (const l of r.lines) {
      const { name: _name, error, ...rest } = l;
      const line = error
        ? { type: 'train', backend, available: false, reason: error, ...rest }
        : { type: 'train', backend, available: true, ...rest };
      emit(line);
      results.push(line);
    }
  };
  // Full mode: the single-threaded WebAssembly build (what threads = 1 trains on).
  if (!quick && !opt('pairs', '')) {
    note('train-step wasm (single-threaded) sizes 128,256 batches 1,4 vgg relu5_1');
    emitTrain(
      'tfjs-wasm',
      await runScript('train-step', ['--sizes', '128,256', '--batches', '1,4', '--vgg', 'relu5_1', '--steps', reps], {
        timeoutSec: 3600,
      }),
      'train-step',
    );
  }
  // Side by side, one pair at a time so both see the same machine state: the threaded
  // WebAssembly build with one thread per core (what tfjs training runs on) and the ONNX Runtime
  // step (forward, written-out backward and Adam in one graph), VGG19 to relu5_1.
  const pairs = opt('pairs', quick ? '128x1' : '128x1,128x4,256x1,256x4')
    .split(',')
    .map((p) => p.split('x').map(Number));
  for (const [size, batch] of pairs) {
    const common = ['--sizes', String(size), '--batches', String(batch), '--vgg', 'relu5_1', '--steps', reps];
    note(`train-step wasm threads ${cores} and train-step-onnx at ${size}² batch ${batch}`);
    emitTrain(
      'tfjs-wasm-threaded',
      await runScript('train-step', [...common, '--threads', cores], { timeoutSec: figureTimeout || 1800 }),
      'train-step',
    );
    emitTrain(
      'onnxruntime-cpu',
      await runScript('train-step-onnx', common, { timeoutSec: figureTimeout || 1800 }),
      'train-step-onnx',
    );
  }
  await onnxGpuTrainFigures(quick ? [[128, 1]] : [[256, 4]], emitTrain);
}

/** The ONNX Runtime step on the CUDA and WebGPU providers: a figure, or one line saying why not. */
async function onnxGpuTrainFigures(pairs, emitTrain) {
  for (const provider of ['cuda', 'webgpu']) {
    for (const [size, batch] of pairs) {
      note(`train-step-onnx ${provider} at ${size}² batch ${batch}`);
      const r = await runScript(
        'train-step-onnx',
        [
          '--provider',
          provider,
          '--sizes',
          String(size),
          '--batches',
          String(batch),
          '--vgg',
          'relu5_1',
          '--steps',
          reps,
        ],
        { timeoutSec: figureTimeout || 600 },
      );
      emitTrain(`onnxruntime-${provider}`, r, 'train-step-onnx');
      if (r.lines.some((l) => l.error)) break; // one "unavailable" line per provider
    }
  }
}

/**
 * Training against stylizing, from this run: per size and batch, the ONNX Runtime step's speed-up
 * over the threaded WebAssembly step (wall and CPU time) and its GFLOP/s as a share of the
 * ONNX Runtime fp32 stylize GFLOP/s (the 512² figure, else the largest up to 1024²).
 */
function trainingSummary(results) {
  const fp32 = results.filter(
    (r) =>
      r.type === 'stylize' && r.backend === 'onnxruntime-cpu-fp32' && typeof r.gflops === 'number' && r.size <= 1024,
  );
  const stylize = fp32.find((r) => r.size === 512) ?? fp32.sort((a, b) => b.size - a.size)[0];
  const ok = (backend) =>
    results.filter((r) => r.type === 'train' && r.backend === backend && r.available && typeof r.seconds === 'number');
  return ok('onnxruntime-cpu').map((o) => {
    const w = ok('tfjs-wasm-threaded').find((x) => x.size === o.size && x.batch === o.batch && x.vgg === o.vgg);
    return {
      size: o.size,
      batch: o.batch,
      vgg: o.vgg,
      onnxSeconds: o.seconds,
      onnxCpuSeconds: o.cpuSeconds,
      onnxGflops: o.gflops,
      ...(w
        ? {
            wasmThreadedSeconds: w.seconds,
            wasmThreadedCpuSeconds: w.cpuSeconds,
            speedup: +(w.seconds / o.seconds).toFixed(2),
            cpuSpeedup: +(w.cpuSeconds / o.cpuSeconds).toFixed(2),
          }
        : {}),
      ...(stylize
        ? {
            stylizeGflops: stylize.gflops,
            stylizeSize: stylize.size,
            trainOverStylize: +(o.gflops / stylize.gflops).toFixed(2),
          }
        : {}),
      // The same per CPU-second (GFLOP ÷ CPU time of all threads), which other jobs on the machine disturb less.
      ...(stylize?.cpuSeconds
        ? {
            trainOverStylizePerCpuSecond: +(
              o.gflopPerStep /
              o.cpuSeconds /
              (stylize.gflopPerRun / stylize.cpuSeconds)
            ).toFixed(2),
          }
        : {}),
    };
  });
}

function summary(results) {
  const compared = results
    .filter((r) => r.type === 'compare' && typeof r.speedup === 'number')
    .map((r) => ({
      backend: r.backend,
      size: r.size,
      seconds: r.seconds,
      speedup: r.speedup,
      bestSpeedup: r.bestSpeedup,
      psnrVsReference: r.psnrVsReference,
    }));
  const ok = results.filter((r) => r.type === 'stylize' && r.available && typeof r.seconds === 'number');
  const ref = new Map(ok.filter((r) => r.backend === 'onnxruntime-cpu-reference').map((r) => [r.size, r.seconds]));
  const speedups = ok
    .filter((r) => r.backend !== 'onnxruntime-cpu-reference' && ref.has(r.size))
    .map((r) => ({
      backend: r.backend,
      size: r.size,
      seconds: r.seconds,
      referenceSeconds: ref.get(r.size),
      speedup: +(ref.get(r.size) / r.seconds).toFixed(2),
    }));
  const cold = results
    .filter((r) => r.type === 'process' && typeof r.seconds === 'number')
    .map((r) => ({
      size: r.size,
      processSeconds: r.seconds,
      warmSeconds: r.warmSeconds,
      coldOverWarm: r.coldOverWarm,
      peakRssMB: r.peakRssMB,
    }));
  const video = results
    .filter((r) => r.type === 'video' && r.available)
    .map(({ size, pipelinedFps, computeFps, pipelinedOverCompute, peakRssMB, clipSeconds }) => ({
      size,
      clipSeconds,
      pipelinedFps,
      computeFps,
      pipelinedOverCompute,
      peakRssMB,
    }));
  emit({
    type: 'summary',
    wholeProcess: cold,
    training: trainingSummary(results),
    video,
    reference: 'onnxruntime-cpu-reference = the core ONNX export with ONNX Runtime default settings (before this work)',
    sideBySide: compared,
    separateProcesses: speedups,
    seconds: Math.round((Date.now() - started) / 1000),
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
