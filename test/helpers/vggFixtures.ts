// Small VGG-shaped weights for tests that must not depend on the shared data: a seeded random
// prefix of VGG19 with few channels, and a writer of tfjs layers-model folders (model.json +
// one shard per conv, Keras names) to exercise the Keras loader and its error paths.
import fs from 'node:fs';
import path from 'node:path';
import { mulberry32 } from '../../src/model/train';
import { VGG19_CONV_NAMES, type VggConvWeights, type VggWeights } from '../../src/model/vggSpec';

/** A deterministic pseudo-random generator in [0, 1) (the training loop's mulberry32). */
export const rng = mulberry32;

/** Standard normal samples (Box–Muller). */
export function gaussian(r: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/**
 * The first `channels.length` convs of VGG19 with the given output widths, He-scaled random
 * kernels (so activations keep the scale of real VGG features) and small random biases.
 */
export function syntheticVggWeights(
  channels: number[],
  seed = 1,
  input: Pick<VggWeights, 'channelOrder' | 'mean'> = { channelOrder: 'rgb', mean: [123.68, 116.779, 103.939] },
): VggWeights {
  const g = gaussian(rng(seed));
  let inC = 3;
  const layers: VggConvWeights[] = channels.map((outC, i) => {
    const scale = Math.sqrt(2 / (9 * inC));
    const kernel = Float32Array.from({ length: 9 * inC * outC }, () => g() * scale);
    const bias = Float32Array.from({ length: outC }, () => g() * 0.1);
    const l = { name: VGG19_CONV_NAMES[i], kernel, bias, inChannels: inC, outChannels: outC };
    inC = outC;
    return l;
  });
  return { source: 'synthetic', origin: `seed ${seed}`, channelOrder: input.channelOrder, mean: input.mean, layers };
}

/** Writes `w` as a Keras VGG19 tfjs layers model: group i holds block_conv/kernel then /bias. */
export function writeKerasFolder(dir: string, w: VggWeights): void {
  fs.mkdirSync(dir, { recursive: true });
  const manifest = w.layers.map((l, i) => {
    const [, b, c] = /^conv(\d)_(\d)$/.exec(l.name)!;
    const file = `group${i + 1}-shard1of1`;
    const bytes = Buffer.alloc((l.kernel.length + l.bias.length) * 4);
    l.kernel.forEach((v, k) => bytes.writeFloatLE(v, k * 4));
    l.bias.forEach((v, k) => bytes.writeFloatLE(v, (l.kernel.length + k) * 4));
    fs.writeFileSync(path.join(dir, file), bytes);
    return {
      paths: [file],
      weights: [
        { name: `block${b}_conv${c}/kernel`, shape: [3, 3, l.inChannels, l.outChannels], dtype: 'float32' },
        { name: `block${b}_conv${c}/bias`, shape: [l.outChannels], dtype: 'float32' },
      ],
    };
  });
  const modelTopology = {
    class_name: 'Model',
    config: { name: 'vgg19', layers: [] },
    keras_version: '2.1.4',
    backend: 'tensorflow',
  };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ modelTopology, weightsManifest: manifest }));
}
