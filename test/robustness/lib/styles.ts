// Small real styles for the fuzz families: a tiny transform network with seeded weights,
// written as a real checkpoint folder by the project's own writer.
import path from 'node:path';
import {
  paramSpecs,
  sizeOfShape,
  type TransformNetArchitecture,
  type WeightMap,
} from '../../../src/model/architecture';
import { writeCheckpoint } from '../../../src/io/checkpoint';
import { Rng } from './prng';

export const TINY_ARCH: TransformNetArchitecture = {
  type: 'johnson2016',
  filters: [4, 8, 8],
  residualBlocks: 1,
  upsample: 'nearest',
};

export function seededWeights(arch: TransformNetArchitecture, seed: number): WeightMap {
  const rng = new Rng(seed);
  const w: WeightMap = new Map();
  for (const p of paramSpecs(arch)) {
    const a = new Float32Array(sizeOfShape(p.shape));
    for (let i = 0; i < a.length; i++) {
      a[i] =
        p.role === 'scale'
          ? 0.8 + 0.4 * rng.next()
          : p.role === 'shift'
            ? 0.2 * (rng.next() - 0.5)
            : 0.3 * (rng.next() - 0.5);
    }
    w.set(p.name, a);
  }
  return w;
}

/** The style.json fields of a trained style (TINY_ARCH unless given) at `iteration`, dated 1970. */
export function tinyStyleInfo(name: string, iteration = 1, architecture: TransformNetArchitecture = TINY_ARCH) {
  const now = new Date(0).toISOString();
  return {
    name,
    architecture,
    source: { kind: 'trained' as const },
    iteration,
    createdAt: now,
    updatedAt: now,
  };
}

/** Writes a tiny checkpoint at `dir` (named `name`) and returns its folder. */
export async function writeTinyStyle(
  dir: string,
  name = 'fuzzstyle',
  arch: TransformNetArchitecture = TINY_ARCH,
  seed = 7,
): Promise<string> {
  await writeCheckpoint(dir, tinyStyleInfo(name, 3, arch), seededWeights(arch, seed));
  return path.resolve(dir);
}
