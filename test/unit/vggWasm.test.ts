// The loss gradient through VGG on the WebAssembly backend: VGG's weights are constants, so
// only the input gradient (Conv2DBackpropInput, MaxPoolGrad) is needed, which wasm has;
// its missing Conv2DBackpropFilter must not be reached. Checked against the cpu backend.
// (Its own file: importing the wasm backend makes it the default for the whole process.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { tf, type Tensor4D } from '../../src/model/tf';
import { Vgg19 } from '../../src/model/vgg';
import { PerceptualLoss } from '../../src/model/losses';
import { syntheticVggWeights } from '../helpers/vggFixtures';

test('the perceptual-loss gradient through VGG on wasm equals the cpu one and leaks nothing', async () => {
  const weights = syntheticVggWeights([16, 16, 24, 24, 32], 4);
  const grads: Record<string, Float32Array> = {};
  for (const backend of ['wasm', 'cpu']) {
    assert.ok(await tf.setBackend(backend), `${backend} backend available`);
    const vgg = Vgg19.fromWeights(weights);
    const style = tf.randomUniform([1, 24, 24, 3], 0, 255, 'float32', 1) as Tensor4D;
    const content = tf.randomUniform([2, 16, 16, 3], 0, 255, 'float32', 2) as Tensor4D;
    const x = tf.randomUniform([2, 16, 16, 3], 0, 255, 'float32', 3) as Tensor4D;
    const loss = PerceptualLoss.create(vgg, style);
    const before = tf.memory().numTensors;
    const g = tf.grad((t) => loss.compute(t as Tensor4D, content).total)(x);
    grads[backend] = (await g.data()) as Float32Array;
    g.dispose();
    assert.equal(tf.memory().numTensors, before, `${backend}: no leaks`);
    tf.dispose([style, content, x]);
    loss.dispose();
    vgg.dispose();
  }
  let diff = 0,
    scale = 0;
  grads.cpu.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(v - grads.wasm[i]));
    scale = Math.max(scale, Math.abs(v));
  });
  assert.ok(scale > 0 && diff / scale < 1e-4, `wasm vs cpu: max difference ${diff} of ${scale}`);
});
