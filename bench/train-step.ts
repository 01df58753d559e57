// Times one training step on the tfjs WebAssembly (or WebGPU) backend: the transform network forward,
// a VGG19-shaped loss network (random weights, real layer shapes) up to relu5_1 or
// relu3_1, content + Gram style + total-variation losses, backward, and an Adam update.
// Prints one JSON line per figure; with --profile also the kernels' shares of a step.
//
//   node --import tsx bench/train-step.ts [--sizes 128,256] [--batches 1,4]
//        [--vgg relu5_1,relu3_1] [--kernels ours|stock] [--steps 2] [--threads N] [--backend wasm|webgpu]
//        [--profile] [--profile-shapes]
//
// --backend webgpu runs the step on tfjs's WebGPU backend (src/engine/tfjs/webgpuBackend.ts; the
// webgpu and @tensorflow/tfjs-backend-webgpu packages must be installed), accepting a software
// adapter where there is no GPU.
//
// --threads N (N ≥ 1) runs tfjs's multi-threaded wasm build with N XNNPACK threads
// (src/engine/tfjs/wasmKernels/threadedBackend.ts); without it, the stock single-threaded build.
//
// --kernels stock: the backend as shipped (scalar Conv2DBackpropInput and transposed
// BatchMatMul) plus a stop-gap Conv2DBackpropFilter (transposes + one dilated conv), i.e.
// the state before src/engine/tfjs/wasmKernels.
// --vgg-op frozen (default): the loss network's layers are frozenConv2dRelu (one fused
// kernel, only the output kept for backward); fused: tf.fused.conv2d with relu, which
// tfjs runs unfused (conv2d, add, relu) under a gradient tape.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { tf, type Tensor4D } from '../src/model/tf';
import { TransformNet } from '../src/model/transformNet';
import { PAPER_ARCHITECTURE } from '../src/model/architecture';
import { registerWasmTrainingKernels } from '../src/engine/tfjs/wasmKernels';
import { withScope } from '../src/engine/tfjs/wasmKernels/heap';
import { frozenConv2dRelu } from '../src/model/frozenConv';
import { useThreadedWasmBackend } from '../src/engine/tfjs/wasmKernels/threadedBackend';
import { initTfjsBackend } from '../src/engine/tfjs/backends';
import { trainStepFlops } from '../src/model/trainFlops';
import { stepFigures } from './common';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const flag = (name: string) => args.includes(`--${name}`);
const sizes = opt('sizes', '128,256').split(',').map(Number);
const batches = opt('batches', '1,4').split(',').map(Number);
const depths = opt('vgg', 'relu5_1,relu3_1').split(',') as Depth[];
const kernels = opt('kernels', 'ours');
const steps = Number(opt('steps', '2'));
const profile = flag('profile') || flag('profile-shapes');
const threadsWanted = Number(opt('threads', '0'));
const vggOp = opt('vgg-op', 'frozen');
const backendName = opt('backend', 'wasm');

type Depth = 'relu5_1' | 'relu3_1';
// VGG19 convolutions up to relu5_1; 'P' is a 2×2 max pool.
const VGG19: (number | 'P')[] = [64, 64, 'P', 128, 128, 'P', 256, 256, 256, 256, 'P', 512, 512, 512, 512, 'P', 512];
const VGG_NAMES = [
  'relu1_1',
  'relu1_2',
  'relu2_1',
  'relu2_2',
  'relu3_1',
  'relu3_2',
  'relu3_3',
  'relu3_4',
  'relu4_1',
  'relu4_2',
  'relu4_3',
  'relu4_4',
  'relu5_1',
];
const LOSS_LAYERS: Record<Depth, { style: string[]; content: string }> = {
  relu5_1: { style: ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'], content: 'relu4_2' },
  relu3_1: { style: ['relu1_1', 'relu2_1', 'relu3_1'], content: 'relu2_2' },
};

interface Vgg {
  filters: tf.Tensor4D[];
  biases: tf.Tensor1D[];
}

function makeVgg(): Vgg {
  const filters: tf.Tensor4D[] = [],
    biases: tf.Tensor1D[] = [];
  let c = 3;
  VGG19.forEach((l, i) => {
    if (l === 'P') return;
    // He-scaled random weights keep activations at a sane size through 13 layers.
    filters.push(tf.randomNormal([3, 3, c, l], 0, Math.sqrt(2 / (9 * c)), 'float32', i) as tf.Tensor4D);
    biases.push(tf.randomUniform([l], -0.1, 0.1, 'float32', 100 + i) as tf.Tensor1D);
    c = l;
  });
  return { filters, biases };
}

/** Activations named in `want`, stopping after the deepest one. */
function vggFeatures(vgg: Vgg, x: Tensor4D, want: string[]): Map<string, Tensor4D> {
  const out = new Map<string, Tensor4D>();
  const last = Math.max(...want.map((n) => VGG_NAMES.indexOf(n)));
  let h = tf.sub(x, 120) as Tensor4D;
  let conv = 0;
  for (const l of VGG19) {
    if (conv > last) break;
    if (l === 'P') {
      h = tf.maxPool(h, 2, 2, 'valid');
      continue;
    }
    const f = vgg.filters[conv],
      b = vgg.biases[conv];
    h =
      vggOp === 'frozen'
        ? frozenConv2dRelu(h, f, b)
        : tf.fused.conv2d({ x: h, filter: f, strides: 1, pad: 'same', bias: b, activation: 'relu' });
    if (want.includes(VGG_NAMES[conv])) out.set(VGG_NAMES[conv], h);
    conv++;
  }
  return out;
}

function gram(f: Tensor4D): tf.Tensor3D {
  const [b, h, w, c] = f.shape;
  const flat = tf.reshape(f, [b, h * w, c]);
  return tf.div(tf.matMul(flat, flat, true, false), h * w * c);
}

function totalVariation(y: Tensor4D): tf.Scalar {
  const [, h, w] = y.shape;
  const dy = tf.sub(tf.slice(y, [0, 1, 0, 0], [-1, h - 1, -1, -1]), tf.slice(y, [0, 0, 0, 0], [-1, h - 1, -1, -1]));
  const dx = tf.sub(tf.slice(y, [0, 0, 1, 0], [-1, -1, w - 1, -1]), tf.slice(y, [0, 0, 0, 0], [-1, -1, w - 1, -1]));
  return tf.add(tf.mean(tf.square(dy)), tf.mean(tf.square(dx)));
}

/** Kernel CPU time per kernel name, collected by wrapping every registered wasm kernel. */
const kernelMs = new Map<string, { ms: number; calls: number }>();
/** The same per kernel and input shapes (--profile-shapes). */
const shapeMs = new Map<string, { ms: number; calls: number }>();
const profileShapes = flag('profile-shapes');
let recording = false;
/** Kernels called from inside a kernel count towards the outer one only. */
let depth = 0;
function instrumentKernels(): void {
  for (const k of tf.getKernelsForBackend('wasm')) {
    const inner = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({
      ...k,
      kernelFunc: ((a: Parameters<KernelFunc>[0]) => {
        const c0 = process.cpuUsage();
        depth++;
        let r;
        try {
          r = inner(a);
        } finally {
          depth--;
        }
        if (recording && depth === 0) {
          const s = kernelMs.get(k.kernelName) ?? { ms: 0, calls: 0 };
          const c = process.cpuUsage(c0);
          s.ms += (c.user + c.system) / 1000;
          s.calls++;
          kernelMs.set(k.kernelName, s);
          if (profileShapes) {
            const key = `${k.kernelName} ${Object.values(a.inputs)
              .filter((t) => t != null)
              .map((t) => `[${(t as TensorInfo).shape}]`)
              .join(' ')}`;
            const d = shapeMs.get(key) ?? { ms: 0, calls: 0 };
            d.ms += (c.user + c.system) / 1000;
            d.calls++;
            shapeMs.set(key, d);
          }
        }
        return r;
      }) as KernelFunc,
    });
  }
}

/** The pre-existing stop-gap: dW as one dilated convolution of transposed x and dy. */
function registerStopGapFilterKernel(): void {
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: (({
      inputs,
      backend,
      attrs,
    }: {
      inputs: Record<string, TensorInfo>;
      backend: BackendWasm;
      attrs: NamedAttrMap;
    }) => {
      const { x, dy } = inputs;
      const a = attrs as unknown as {
        filterShape: [number, number, number, number];
        strides: number | [number, number];
        pad: 'same' | 'valid';
        dimRoundingMode?: 'floor';
      };
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        a.filterShape,
        a.strides,
        1,
        a.pad,
        a.dimRoundingMode,
      );
      const [KH, KW, Ci, Co] = a.filterShape;
      return withScope(backend, (s) => {
        const xT = s.run('Transpose', { x }, { perm: [3, 1, 2, 0] });
        const { top, bottom, left, right } = info.padInfo;
        const need = (o: number, st: number, k: number) => (o - 1) * st + k;
        const padB = Math.max(bottom, need(info.outHeight, info.strideHeight, KH) - x.shape[1] - top);
        const padR = Math.max(right, need(info.outWidth, info.strideWidth, KW) - x.shape[2] - left);
        const xP = s.run(
          'PadV2',
          { x: xT },
          {
            paddings: [
              [0, 0],
              [top, padB],
              [left, padR],
              [0, 0],
            ],
            constantValue: 0,
          },
        );
        const dyT = s.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
        const conv = s.run(
          'Conv2D',
          { x: xP, filter: dyT },
          { strides: 1, pad: 'valid', dilations: [info.strideHeight, info.strideWidth], dataFormat: 'NHWC' },
        );
        const cut = s.run('Slice', { x: conv }, { begin: [0, 0, 0, 0], size: [Ci, KH, KW, Co] });
        return s.keep(s.run('Transpose', { x: cut }, { perm: [1, 2, 0, 3] }));
      });
    }) as unknown as KernelFunc,
  });
}

/** The wasm heap's size: it only grows, so this is the peak so far (the limit is 4096). */
function wasmHeapMB(): number {
  const m = (tf.backend() as BackendWasm).wasm as unknown as {
    HEAPU8: Uint8Array;
    wasmMemory?: { buffer: ArrayBufferLike };
  };
  return Math.round((m.wasmMemory?.buffer ?? m.HEAPU8.buffer).byteLength / 2 ** 20);
}

async function main(): Promise<void> {
  let threads = 1;
  let adapter: string | undefined;
  if (backendName === 'webgpu') {
    adapter = (await initTfjsBackend('webgpu', { allowSoftwareWebGpu: true })).label;
  } else {
    if (kernels === 'ours') registerWasmTrainingKernels();
    else registerStopGapFilterKernel();
    if (threadsWanted > 0) threads = await useThreadedWasmBackend({ threads: threadsWanted });
    else await tf.setBackend('wasm');
  }
  await tf.ready();
  if (profile) instrumentKernels();

  for (const depth of depths) {
    const vgg = makeVgg();
    const layers = LOSS_LAYERS[depth];
    for (const size of sizes) {
      for (const batch of batches) {
        const net = TransformNet.init(PAPER_ARCHITECTURE, 1);
        const optimizer = tf.train.adam(1e-3);
        const content = tf.randomUniform([batch, size, size, 3], 0, 255, 'float32', 7) as Tensor4D;
        const style = tf.randomUniform([1, size, size, 3], 0, 255, 'float32', 8) as Tensor4D;
        const styleGrams = tf.tidy(() => {
          const f = vggFeatures(vgg, style, layers.style);
          return layers.style.map((n) => tf.keep(gram(f.get(n)!)));
        });
        const step = async () => {
          const target = tf.tidy(() => vggFeatures(vgg, content, [layers.content]).get(layers.content)!);
          const cost = optimizer.minimize(
            () => {
              const y = net.apply(content);
              const f = vggFeatures(vgg, y, [...layers.style, layers.content]);
              const contentLoss = tf.mul(7.5, tf.mean(tf.squaredDifference(f.get(layers.content)!, target)));
              let styleLoss: tf.Tensor = tf.scalar(0);
              layers.style.forEach((n, i) => {
                styleLoss = tf.add(styleLoss, tf.mean(tf.squaredDifference(gram(f.get(n)!), styleGrams[i])));
              });
              return tf.add(tf.add(contentLoss, tf.mul(100, styleLoss)), tf.mul(200, totalVariation(y))) as tf.Scalar;
            },
            true,
            net.variables(),
          );
          const v = (await cost!.data())[0]; // WebGPU has no dataSync in Node
          cost!.dispose();
          target.dispose();
          if (!Number.isFinite(v)) throw new Error(`loss is ${v}`);
        };
        const base = adapter
          ? { name: 'train_step_webgpu', size, batch, vgg: depth, adapter, vggOp }
          : {
              name: 'train_step_wasm',
              size,
              batch,
              vgg: depth,
              kernels,
              threads,
              wasmBuild: threadsWanted > 0 ? 'threaded-simd' : 'simd',
              vggOp,
            };
        try {
          await step(); // warm-up: operator creation, heap growth, shader compilation
          kernelMs.clear();
          shapeMs.clear();
          recording = profile;
          const times: number[] = [],
            cpu: number[] = [];
          for (let i = 0; i < steps; i++) {
            const t0 = performance.now(),
              c0 = process.cpuUsage();
            await step();
            times.push((performance.now() - t0) / 1000);
            const c = process.cpuUsage(c0);
            cpu.push((c.user + c.system) / 1e6);
          }
          recording = false;
          const rss = process.memoryUsage().rss;
          const gflop =
            trainStepFlops({ arch: PAPER_ARCHITECTURE, batch, height: size, width: size, layers }).total / 1e9;
          // The figures are stepFigures' (bench/common.ts).
          console.log(
            JSON.stringify({
              ...base,
              ...stepFigures(times, cpu, gflop),
              rssMB: Math.round(rss / 2 ** 20),
              ...(adapter ? {} : { wasmHeapMB: wasmHeapMB() }),
            }),
          );
          if (profile) {
            const total = [...kernelMs.values()].reduce((p, q) => p + q.ms, 0);
            const stepMs = cpu.reduce((p, q) => p + q, 0) * 1000;
            /** One line of the per-kernel profile of this configuration. */
            const profileRow = (row: object) =>
              console.log(
                JSON.stringify({ name: 'train_step_wasm_profile', size, batch, vgg: depth, kernels, ...row }),
              );
            const rows = [...kernelMs.entries()].sort((p, q) => q[1].ms - p[1].ms).slice(0, 12);
            for (const [kernel, s] of rows) {
              profileRow({
                kernel,
                calls: s.calls / steps,
                seconds: +(s.ms / 1000 / steps).toFixed(3),
                share: +(s.ms / stepMs).toFixed(3),
              });
            }
            for (const [key, d] of [...shapeMs.entries()].sort((p, q) => q[1].ms - p[1].ms).slice(0, 25)) {
              console.log(
                JSON.stringify({
                  name: 'train_step_wasm_profile_shape',
                  size,
                  batch,
                  key,
                  calls: d.calls / steps,
                  seconds: +(d.ms / 1000 / steps).toFixed(3),
                }),
              );
            }
            profileRow({
              kernel: '(outside kernels)',
              seconds: +((stepMs - total) / 1000 / steps).toFixed(3),
              share: +((stepMs - total) / stepMs).toFixed(3),
            });
          }
        } catch (e) {
          console.log(JSON.stringify({ ...base, error: String((e as Error).message ?? e).slice(0, 300) }));
        }
        content.dispose();
        style.dispose();
        styleGrams.forEach((g) => g.dispose());
        optimizer.dispose();
        net.dispose();
      }
    }
    vgg.filters.forEach((t) => t.dispose());
    vgg.biases.forEach((t) => t.dispose());
  }
}

// Exit explicitly: the threaded build's pthread workers keep Node's event loop alive.
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
