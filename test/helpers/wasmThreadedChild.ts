// Child process for test/unit/wasm-threaded.test.ts: starts the threaded wasm build (which
// replaces the process's 'wasm' backend and keeps pthread workers alive, hence a separate
// process), runs conv2d and its gradients there and on cpu, and prints one JSON line.
import { tf } from '../../src/model/tf';
import '@tensorflow/tfjs-backend-cpu';
import { registerWasmTrainingKernels } from '../../src/engine/tfjs/wasmKernels';
import { useThreadedWasmBackend } from '../../src/engine/tfjs/wasmKernels/threadedBackend';

async function grads(backend: string): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const x = tf.randomUniform([2, 19, 17, 24], -1, 1, 'float32', 1);
  const w = tf.randomUniform([3, 3, 24, 40], -1, 1, 'float32', 2);
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))),
  );
  const out = g([x, w]);
  const data = await Promise.all(out.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([x, w, ...out]);
  return data;
}

async function main(): Promise<void> {
  registerWasmTrainingKernels();
  const threads = await useThreadedWasmBackend({ threads: Number(process.argv[2] ?? 2) });
  const onWasm = await grads('wasm');
  const backendName = tf.getBackend();
  const onCpu = await grads('cpu');
  const rel = onCpu.map((e, i) => {
    let d = 0,
      m = 0;
    e.forEach((v, j) => {
      d = Math.max(d, Math.abs(v - onWasm[i][j]));
      m = Math.max(m, Math.abs(v));
    });
    return d / m;
  });
  console.log(JSON.stringify({ threads, backendName, rel }));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.log(JSON.stringify({ error: String(e) }));
    process.exit(1);
  },
);
