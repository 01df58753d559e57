// One stylize figure: a backend at one size, median of `reps` runs after a warm-up, the
// process's peak RSS. Prints ONE JSON line on stdout (notes on stderr). bench/run.mjs runs it
// once per figure in a fresh process, so that peak RSS belongs to that figure alone.
//
//   node --import tsx bench/stylize.ts --backend onnx --provider cpu --precision fp32 --size 1024 [--reps 3]
//        [--threads N] [--arena engine|on|off] [--weights udnie|random] [--image synthetic|photo] [--save out.f32]
//   node --import tsx bench/stylize.ts --backend tfjs --tfjs wasm --size 256
//
// --precision: reference (the core export with ONNX Runtime's default settings: the state
// before the performance work), fp32 (the engine's fast graph), int8 (experimental).
import fs from 'node:fs';
import os from 'node:os';
import { borderPadding, macsPerPixel } from '../src/model/architecture';
import { REPO, loadImage, loadWeights, median } from './common';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const backend = opt('backend', 'onnx');
const provider = opt('provider', 'cpu');
const precision = opt('precision', 'fp32');
const tfjsBackend = opt('tfjs', 'wasm');
const size = Number(opt('size', '256'));
const reps = Math.max(1, Number(opt('reps', '3')));
const threads = opt('threads', '');
// engine: the engine's session settings (ENGINE_SESSION_OPTIONS, what users run); on / off:
// ONNX Runtime's defaults with the memory arena on / off. The reference graph always runs with
// ONNX Runtime's defaults (the state before the performance work).
const arena = opt('arena', 'engine');
const weightsChoice = opt('weights', 'auto') as 'auto' | 'udnie' | 'random';
const imageChoice = opt('image', 'auto') as 'auto' | 'photo' | 'synthetic';
const save = opt('save', '');
const label = opt('label', '');

function emit(line: Record<string, unknown>): void {
  const base = { type: 'stylize', backend: backendName(), size, ...(label ? { label } : {}) };
  console.log(
    JSON.stringify({
      ...base,
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      ...line,
      loadavg: os.loadavg().map((l) => +l.toFixed(2)),
    }),
  );
}

function backendName(): string {
  if (backend === 'tfjs') return tfjsBackend.startsWith('tfjs-') ? tfjsBackend : `tfjs-${tfjsBackend}`;
  const extra = [
    arena !== 'engine' && precision !== 'reference' ? `arena-${arena}` : '',
    threads ? `threads-${threads}` : '',
  ]
    .filter(Boolean)
    .join(',');
  return `onnxruntime-${provider}-${precision}${extra ? `(${extra})` : ''}`;
}

/** Wall times of `reps` runs after a warm-up, and this process's CPU time of each (all threads). */
async function timeRuns(
  run: () => Promise<Float32Array>,
): Promise<{ warmup: number; times: number[]; cpu: number[]; out: Float32Array }> {
  let t = performance.now();
  let out = await run();
  const warmup = (performance.now() - t) / 1000;
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    t = performance.now();
    const c0 = process.cpuUsage();
    out = await run();
    times.push((performance.now() - t) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  return { warmup, times, cpu, out };
}

async function main(): Promise<void> {
  const { arch, weights, source: weightsSource } = await loadWeights(weightsChoice);
  const { img, source: imageSource } = await loadImage(size, imageChoice);
  const gflop = (2 * macsPerPixel(arch) * size * size) / 1e9;
  const common = { weights: weightsSource, image: imageSource, gflopPerRun: +gflop.toFixed(2) };

  if (backend === 'tfjs') {
    const { initTfjsBackend } = await import('../src/engine/tfjs/backends');
    let report;
    try {
      report = await initTfjsBackend(tfjsBackend as 'wasm', {});
    } catch (e) {
      emit({ available: false, reason: (e as Error).message });
      return;
    }
    const { TransformNet } = await import('../src/model/transformNet');
    const { stylizeWithTfjs } = await import('../src/model/stylize');
    const net = TransformNet.fromWeights(arch, weights);
    const r = await timeRuns(async () => (await stylizeWithTfjs(net, img)).data);
    net.dispose();
    if (save) fs.writeFileSync(save, Buffer.from(r.out.buffer, r.out.byteOffset, r.out.byteLength));
    emit({
      available: true,
      tfjs: report.tfjsName,
      ...common,
      seconds: +median(r.times).toFixed(3),
      runs: r.times.map((t) => +t.toFixed(3)),
      warmupSeconds: +r.warmup.toFixed(3),
      gflops: +(gflop / median(r.times)).toFixed(1),
    });
    return;
  }

  const { ENGINE_SESSION_OPTIONS, createOnnxSession } = await import('../src/engine/onnx/onnxRunner');
  const { stylizeWithOnnx } = await import('../src/engine/onnx/onnxStylize');
  const { exportTransformNetToOnnx } = await import('../src/model/onnx/onnxExport');
  const { exportFastTransformNet } = await import('../src/model/onnx/onnxFast');
  const q = await import('../src/engine/onnx/onnxQuantized');
  let model: Uint8Array;
  let extra: Record<string, unknown> = {};
  const t0 = performance.now();
  if (precision === 'reference') model = exportTransformNetToOnnx(arch, weights);
  else if (precision === 'fp32') model = exportFastTransformNet(arch, weights, q.fastGraphLayout(arch));
  else if (precision === 'int8') {
    const dir = q.samplePhotosDir(REPO);
    if (!dir) {
      emit({ available: false, reason: 'int8 needs the sample photos (media/samples/photos) for calibration' });
      return;
    }
    const images = await q.loadCalibrationImages(dir);
    const stats = await q.collectCalibrationStats(arch, weights, images.calibration);
    model = q.exportInt8Model(arch, weights, stats);
    extra = { calibrationSeconds: +((performance.now() - t0) / 1000).toFixed(2) };
  } else throw new Error(`unknown --precision ${precision}`);
  let session;
  try {
    session = await createOnnxSession(model, {
      providers: [provider as 'cpu'],
      ...(threads ? { threads: Number(threads) } : {}),
      ...(precision === 'reference'
        ? {}
        : arena === 'engine'
          ? ENGINE_SESSION_OPTIONS
          : arena === 'off'
            ? { enableCpuMemArena: false }
            : {}),
      ...(precision === 'int8' ? { sessionConfig: q.INT8_SESSION_CONFIG } : {}),
    });
  } catch (e) {
    emit({ available: false, reason: (e as Error).message });
    return;
  }
  const r = await timeRuns(async () => (await stylizeWithOnnx(session, img, borderPadding(arch))).data);
  const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024); // before the check below
  if (precision !== 'reference' && size <= 1024) {
    // Agreement with the reference graph on this input (fp32: rounding only; int8: its error).
    const ref = await createOnnxSession(exportTransformNetToOnnx(arch, weights), { providers: ['cpu'] });
    extra.psnrVsReference = +q
      .clampedPsnr((await stylizeWithOnnx(ref, img, borderPadding(arch))).data, r.out)
      .toFixed(2);
    await ref.release();
  }
  if (save) fs.writeFileSync(save, Buffer.from(r.out.buffer, r.out.byteOffset, r.out.byteLength));
  await session.release();
  emit({
    available: true,
    provider: session.provider,
    peakRssMB,
    ...common,
    ...extra,
    seconds: +median(r.times).toFixed(3),
    runs: r.times.map((t) => +t.toFixed(3)),
    warmupSeconds: +r.warmup.toFixed(3),
    gflops: +(gflop / median(r.times)).toFixed(1),
    cpuSeconds: +median(r.cpu).toFixed(3),
  });
}

main().catch((e) => {
  emit({ available: false, error: String((e as Error)?.message ?? e).slice(0, 400) });
  process.exitCode = 1;
});
