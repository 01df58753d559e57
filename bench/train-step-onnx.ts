// Times one training step on ONNX Runtime's CPU provider (src/engine/train/onnxTrainer.ts: the
// forward, written-out backward and Adam in one graph) on the workload of train-step.ts: the
// paper's transform network, a VGG19-shaped loss network with random He-scaled weights to
// relu5_1 or relu3_1, content + Gram style + total-variation losses. One JSON line per figure.
//
//   node --import tsx bench/train-step-onnx.ts [--sizes 128,256] [--batches 1,4] [--vgg relu5_1,relu3_1]
//        [--steps 2] [--threads N]   (default: the trainer's, one thread per logical CPU)
//        [--spinning on|off]         (off: idle ONNX Runtime threads sleep instead of spinning)
//        [--provider cpu|cuda|webgpu] (the execution provider; bench/gpu-check.sh times the GPU ones)
// gflops: GFLOP/s of the median step, with the step counted by src/model/trainFlops.ts.
import os from 'node:os';
import { OnnxTrainer } from '../src/engine/train/onnxTrainer';
import type { OnnxProvider } from '../src/engine/onnx/onnxRunner';
import { trainStepFlops } from '../src/model/trainFlops';
import { PAPER_ARCHITECTURE } from '../src/model/architecture';
import { DEFAULT_LOSS_WEIGHTS, BLOCK1_3_LOSS_LAYERS, REFERENCE_LOSS_LAYERS } from '../src/model/losses';
import { VGG19_CONV_NAMES, VGG19_BLOCKS, type VggWeights } from '../src/model/vggSpec';
import { randomWeights, stepFigures } from './common';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const sizes = opt('sizes', '128,256').split(',').map(Number);
const batches = opt('batches', '1,4').split(',').map(Number);
const depths = opt('vgg', 'relu5_1,relu3_1').split(',');
const steps = Number(opt('steps', '2'));
const threads = opt('threads', '');
const spinning = opt('spinning', 'on') !== 'off';
const provider = opt('provider', 'cpu') as OnnxProvider;

/** VGG19's first `convs` convolutions with seeded He-scaled weights (the shapes are what is timed). */
function syntheticVgg(convs: number): VggWeights {
  let s = 7;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 3.46; // unit variance
  const widths = VGG19_BLOCKS.flatMap((b) => Array<number>(b.convs).fill(b.channels));
  let inC = 3;
  const layers = VGG19_CONV_NAMES.slice(0, convs).map((name, i) => {
    const outC = widths[i];
    const k = Math.sqrt(2 / (9 * inC));
    const l = {
      name,
      inChannels: inC,
      outChannels: outC,
      kernel: Float32Array.from({ length: 9 * inC * outC }, () => rnd() * k),
      bias: Float32Array.from({ length: outC }, () => rnd() * 0.05),
    };
    inC = outC;
    return l;
  });
  return { source: 'synthetic', channelOrder: 'rgb', mean: [120, 120, 120], layers };
}

async function main(): Promise<void> {
  for (const depth of depths) {
    const layers = depth === 'relu5_1' ? REFERENCE_LOSS_LAYERS : BLOCK1_3_LOSS_LAYERS;
    const vgg = syntheticVgg(depth === 'relu5_1' ? 13 : 5);
    const targetGrams: Record<string, Float32Array> = {};
    for (const l of layers.style) {
      const c = VGG19_BLOCKS[Number(l[4]) - 1].channels;
      targetGrams[l] = new Float32Array(c * c).fill(0.01);
    }
    for (const size of sizes) {
      for (const batch of batches) {
        const base = {
          name: 'train_step_onnx',
          provider,
          size,
          batch,
          vgg: depth,
          threads: threads === '' ? os.availableParallelism() : Number(threads),
          spinning,
        };
        let trainer: OnnxTrainer | undefined;
        try {
          const t0 = performance.now();
          trainer = await OnnxTrainer.create({
            arch: PAPER_ARCHITECTURE,
            batch,
            height: size,
            width: size,
            vgg,
            layers,
            lossWeights: DEFAULT_LOSS_WEIGHTS,
            targetGrams,
            weights: randomWeights(PAPER_ARCHITECTURE),
            ...(threads === '' ? {} : { threads: Number(threads) }),
            spinning,
            provider,
          });
          const sessionSeconds = (performance.now() - t0) / 1000;
          const content = Float32Array.from({ length: batch * size * size * 3 }, (_, i) => (i * 7919) % 256);
          await trainer.trainStep(content); // warm-up: first run allocates and plans
          const times: number[] = [],
            cpu: number[] = [];
          for (let i = 0; i < steps; i++) {
            const w0 = performance.now(),
              c0 = process.cpuUsage();
            const l = await trainer.trainStep(content);
            if (!Number.isFinite(l.total)) throw new Error(`loss is ${l.total}`);
            times.push((performance.now() - w0) / 1000);
            const c = process.cpuUsage(c0);
            cpu.push((c.user + c.system) / 1e6);
          }
          const gflop =
            trainStepFlops({ arch: PAPER_ARCHITECTURE, batch, height: size, width: size, layers }).total / 1e9;
          console.log(
            JSON.stringify({
              ...base,
              ...stepFigures(times, cpu, gflop),
              sessionSeconds: +sessionSeconds.toFixed(2),
              rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
            }),
          );
        } catch (e) {
          console.log(JSON.stringify({ ...base, error: String((e as Error).message ?? e).slice(0, 300) }));
        } finally {
          await trainer?.release();
        }
      }
    }
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
