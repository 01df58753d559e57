// Instance-norm statistics taken out of the network, so that they can be computed once for a
// whole image and reused for every tile of it (tiled stylize of images too large for one
// pass). Instance norm normalises each channel by its mean and variance over the image; tiles
// stylized with their own statistics would each be normalised differently and drift apart in
// colour and contrast.
import { layerSpecs, type TransformNetArchitecture } from './architecture';

/** Mean and (biased) variance of one layer's pre-norm activations, per channel. */
export interface ChannelStats {
  readonly mean: Float32Array;
  readonly variance: Float32Array;
}

/** Layer name (architecture.ts `LayerSpec.name`) → that layer's statistics. */
export type NormStats = ReadonlyMap<string, ChannelStats>;

/** Throws unless `stats` holds finite statistics of the right size for every layer of `arch`. */
export function validateNormStats(stats: NormStats, arch: TransformNetArchitecture): void {
  const layers = layerSpecs(arch);
  for (const l of layers) {
    const s = stats.get(l.name);
    if (!s) throw new Error(`norm statistics: layer "${l.name}" is missing`);
    if (s.mean.length !== l.outChannels || s.variance.length !== l.outChannels) {
      throw new Error(
        `norm statistics: layer "${l.name}" has ${s.mean.length}/${s.variance.length} channels, expected ${l.outChannels}`,
      );
    }
    for (let c = 0; c < l.outChannels; c++) {
      if (!Number.isFinite(s.mean[c]) || !(s.variance[c] >= 0) || !Number.isFinite(s.variance[c])) {
        throw new Error(
          `norm statistics: layer "${l.name}" channel ${c} has mean ${s.mean[c]}, variance ${s.variance[c]}`,
        );
      }
    }
  }
  if (stats.size !== layers.length) {
    const known = new Set(layers.map((l) => l.name));
    const extra = [...stats.keys()].find((k) => !known.has(k));
    throw new Error(`norm statistics: unexpected layer "${extra}"`);
  }
}
