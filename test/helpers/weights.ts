// Test networks: a small architecture and seeded weights whose instance-norm shifts and scales
// are not the identity, so a swapped or mis-laid parameter changes the output.
import type { TransformNetArchitecture, WeightMap } from '../../src/model/architecture';
import { TransformNet } from '../../src/model/transformNet';

export const SMALL_ARCHITECTURE: TransformNetArchitecture = {
  type: 'johnson2016',
  filters: [16, 32, 64],
  residualBlocks: 3,
};

/** Seeded initial weights of `arch` with non-trivial norm shift/scale. */
export async function smallWeights(
  seed: number,
  arch: TransformNetArchitecture = SMALL_ARCHITECTURE,
): Promise<WeightMap> {
  const net = TransformNet.init(arch, seed);
  const w = await net.toWeights();
  net.dispose();
  let k = seed;
  for (const [name, v] of w) {
    if (name.endsWith('/shift'))
      w.set(
        name,
        v.map(() => Math.sin(k++) * 0.5),
      );
    if (name.endsWith('/scale'))
      w.set(
        name,
        v.map(() => 1 + Math.cos(k++) * 0.3),
      );
  }
  return w;
}
