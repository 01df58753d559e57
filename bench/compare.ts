// Side by side in one process: the reference graph with ONNX Runtime's default settings (the
// state before the performance work) and the engine's graphs with the engine's session settings
// (ENGINE_SESSION_OPTIONS: memory arena without memory patterns; `--arena on` gives them ONNX
// Runtime's defaults instead), run round-robin so that load from other processes spreads evenly over them.
// One JSON line per graph, with its speed-up over the reference.
//   node --import tsx bench/compare.ts --size 1024 [--rounds 5] [--precisions reference,fp32,int8] [--arena engine|on]
import os from 'node:os';
import { borderPadding, macsPerPixel } from '../src/model/architecture';
import { exportTransformNetToOnnx } from '../src/model/onnx/onnxExport';
import { exportFastTransformNet } from '../src/model/onnx/onnxFast';
import { ENGINE_SESSION_OPTIONS, createOnnxSession, type OnnxStyleSession } from '../src/engine/onnx/onnxRunner';
import { stylizeWithOnnx } from '../src/engine/onnx/onnxStylize';
import * as q from '../src/engine/onnx/onnxQuantized';
import { REPO, loadImage, loadWeights, median } from './common';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const size = Number(opt('size', '1024'));
const rounds = Number(opt('rounds', '5'));
const precisions = opt('precisions', 'reference,fp32,int8').split(',');
const arena = opt('arena', 'engine');

async function main(): Promise<void> {
  const { arch, weights, source } = await loadWeights();
  const { img, source: imageSource } = await loadImage(size);
  const runs: {
    precision: string;
    session: OnnxStyleSession;
    times: number[];
    cpu: number[];
    out?: Float32Array;
    note?: Record<string, unknown>;
  }[] = [];
  for (const p of precisions) {
    let model: Uint8Array;
    const note: Record<string, unknown> = {};
    if (p === 'reference') model = exportTransformNetToOnnx(arch, weights);
    else if (p === 'fp32') model = exportFastTransformNet(arch, weights, q.fastGraphLayout(arch));
    else {
      const dir = q.samplePhotosDir(REPO);
      if (!dir) continue;
      const images = await q.loadCalibrationImages(dir);
      model = q.exportInt8Model(arch, weights, await q.collectCalibrationStats(arch, weights, images.calibration));
      note.int8Layers = q.int8Layers(arch).join(',');
    }
    const engineSettings = p !== 'reference' && arena === 'engine';
    note.arena = engineSettings ? 'engine' : 'on';
    const session = await createOnnxSession(model, {
      providers: ['cpu'],
      ...(engineSettings ? ENGINE_SESSION_OPTIONS : {}),
      ...(p === 'int8' ? { sessionConfig: q.INT8_SESSION_CONFIG } : {}),
    });
    await stylizeWithOnnx(session, img, borderPadding(arch)); // warm-up
    runs.push({ precision: p, session, times: [], cpu: [], note });
  }
  for (let r = 0; r < rounds; r++) {
    for (const run of runs) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      run.out = (await stylizeWithOnnx(run.session, img, borderPadding(arch))).data;
      run.times.push((performance.now() - t0) / 1000);
      const c = process.cpuUsage(c0);
      run.cpu.push((c.user + c.system) / 1e6);
    }
  }
  const gflop = (2 * macsPerPixel(arch) * size * size) / 1e9;
  const ref = runs.find((r) => r.precision === 'reference');
  for (const run of runs) {
    const s = median(run.times);
    console.log(
      JSON.stringify({
        type: 'compare',
        backend: `onnxruntime-cpu-${run.precision}`,
        size,
        weights: source,
        image: imageSource,
        rounds,
        seconds: +s.toFixed(3),
        bestSeconds: +Math.min(...run.times).toFixed(3),
        cpuSeconds: +median(run.cpu).toFixed(3),
        gflops: +(gflop / s).toFixed(1),
        ...(ref && run !== ref
          ? {
              speedup: +(median(ref.times) / s).toFixed(2),
              bestSpeedup: +(Math.min(...ref.times) / Math.min(...run.times)).toFixed(2),
              psnrVsReference: +q.clampedPsnr(ref.out!, run.out!).toFixed(2),
            }
          : {}),
        ...run.note,
        loadavg: os.loadavg().map((l) => +l.toFixed(2)),
      }),
    );
  }
  for (const run of runs) await run.session.release();
}

main().catch((e) => {
  console.log(
    JSON.stringify({
      type: 'compare',
      size,
      available: false,
      error: String((e as Error)?.message ?? e).slice(0, 400),
    }),
  );
  process.exitCode = 1;
});
