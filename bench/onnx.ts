// ONNX Runtime stylize timings for a few session settings, printed as JSON lines.
// usage: npx tsx bench/onnx.ts [sizes=256,512,1024] [providers=cpu] [reps=3]
// GFLOP/s counts 2 FLOPs per multiply-accumulate of the network (macsPerPixel), at the padded size.
import { PAPER_ARCHITECTURE, macsPerPixel, paramSpecs, type WeightMap } from '../src/model/architecture';
import { exportTransformNetToOnnx } from '../src/model/onnx/onnxExport';
import { createOnnxSession, type OnnxProvider, type OnnxSessionOptions } from '../src/engine/onnx/onnxRunner';
import { stylizeWithOnnx } from '../src/engine/onnx/onnxStylize';
import type { FloatImage } from '../src/model/pixels';
import os from 'node:os';

const sizes = (process.argv[2] ?? '256,512,1024').split(',').map(Number);
const providers = (process.argv[3] ?? 'cpu').split(',') as OnnxProvider[];
const reps = Number(process.argv[4] ?? 3);

function randomWeights(): WeightMap {
  let s = 1;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2;
  return new Map(
    paramSpecs(PAPER_ARCHITECTURE).map((p) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      return [
        p.name,
        Float32Array.from({ length: n }, () => (p.role === 'scale' ? 1 : p.role === 'shift' ? 0 : rnd())),
      ];
    }),
  );
}

const variants: Record<string, OnnxSessionOptions> = {
  default: {},
  'threads=1': { threads: 1 },
  'threads=2': { threads: 2 },
  'opt=basic': { graphOptimizationLevel: 'basic' },
  'opt=all': { graphOptimizationLevel: 'all' },
  'mode=parallel': { executionMode: 'parallel' },
  'arena=off': { enableCpuMemArena: false },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  const bytes = exportTransformNetToOnnx(PAPER_ARCHITECTURE, randomWeights());
  const macs = macsPerPixel(PAPER_ARCHITECTURE);
  console.log(
    JSON.stringify({
      host: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg() },
      gflopPerMegapixel: (2 * macs * 1e6) / 1e9,
    }),
  );
  // Per size, all variants' sessions side by side and run round-robin, so that load from other
  // processes on a shared machine spreads evenly over the variants.
  for (const n of sizes) {
    const img: FloatImage = {
      width: n,
      height: n,
      channels: 3,
      data: Float32Array.from({ length: n * n * 3 }, (_, i) => (i * 7919) % 256),
    };
    const runs = [];
    for (const [name, base] of Object.entries(variants)) {
      const t0 = performance.now();
      const session = await createOnnxSession(bytes, { ...base, providers });
      const createMs = performance.now() - t0;
      const w0 = performance.now();
      await stylizeWithOnnx(session, img); // first run: allocations, arena growth
      runs.push({ name, session, createMs, firstMs: performance.now() - w0, times: [] as number[] });
    }
    for (let r = 0; r < reps; r++) {
      for (const run of runs) {
        const t = performance.now();
        await stylizeWithOnnx(run.session, img);
        run.times.push(performance.now() - t);
      }
    }
    for (const run of runs) {
      const best = Math.min(...run.times);
      console.log(
        JSON.stringify({
          variant: run.name,
          provider: run.session.provider,
          size: n,
          createMs: Math.round(run.createMs),
          firstMs: Math.round(run.firstMs),
          bestMs: Math.round(best),
          medianMs: Math.round(median(run.times)),
          gflopsBest: +((2 * macs * n * n) / (best / 1000) / 1e9).toFixed(1),
          gflopsMedian: +((2 * macs * n * n) / (median(run.times) / 1000) / 1e9).toFixed(1),
        }),
      );
      await run.session.release();
    }
    console.log(
      JSON.stringify({ size: n, rssMiBAfter: Math.round(process.memoryUsage().rss / 2 ** 20), loadavg: os.loadavg() }),
    );
  }
})();
