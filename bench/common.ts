// Shared by the bench scripts: weights, input images, medians.
import fs from 'node:fs';
import path from 'node:path';
import {
  PAPER_ARCHITECTURE,
  paramSpecs,
  type TransformNetArchitecture,
  type WeightMap,
} from '../src/model/architecture';
import type { FloatImage } from '../src/model/pixels';

export const REPO = path.resolve(__dirname, '..');
export const SHARED = process.env.FST_SHARED_DATA ?? path.resolve(REPO, '..', 'shared', 'data');

export function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * The figures of a training-step run: seconds, the median wall time; bestSeconds, the fastest step (least
 * disturbed by other work on the machine); cpuSeconds, this process's CPU time (all threads); gflopPerStep and
 * gflops, the GFLOP/s of the median step (src/model/trainFlops.ts counts a step); all, every step's wall time.
 */
export function stepFigures(times: number[], cpu: number[], gflop: number) {
  return {
    seconds: +median(times).toFixed(3),
    bestSeconds: +Math.min(...times).toFixed(3),
    cpuSeconds: +median(cpu).toFixed(3),
    gflopPerStep: +gflop.toFixed(2),
    gflops: +(gflop / median(times)).toFixed(1),
    all: times.map((t) => +t.toFixed(3)),
  };
}

export function randomWeights(arch: TransformNetArchitecture): WeightMap {
  let s = 1;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2;
  return new Map(
    paramSpecs(arch).map((p) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      return [
        p.name,
        Float32Array.from({ length: n }, () => (p.role === 'scale' ? 1 : p.role === 'shift' ? 0 : rnd())),
      ];
    }),
  );
}

/** The udnie network when the shared data is there (real activations matter for int8), else seeded random weights. */
export async function loadWeights(
  weightsChoice: 'auto' | 'udnie' | 'random' = 'auto',
): Promise<{ arch: TransformNetArchitecture; weights: WeightMap; source: string }> {
  const udnie = path.join(SHARED, 'pretrained', 'udnie');
  if (weightsChoice !== 'random' && fs.existsSync(path.join(udnie, 'manifest.json'))) {
    const { readMl5Folder } = await import('../src/io/ml5Import');
    const { arch, weights } = await readMl5Folder(udnie);
    return { arch, weights, source: 'udnie' };
  }
  if (weightsChoice === 'udnie') throw new Error(`--weights udnie: ${udnie} not found`);
  return { arch: PAPER_ARCHITECTURE, weights: randomWeights(PAPER_ARCHITECTURE), source: 'random' };
}

/** A smooth synthetic scene with edges and texture (needs no image decoder). */
export function syntheticImage(n: number): FloatImage {
  const data = new Float32Array(n * n * 3);
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      const u = x / n,
        v = y / n;
      const ring = Math.sin(40 * Math.hypot(u - 0.6, v - 0.4)) > 0 ? 40 : 0;
      const i = (y * n + x) * 3;
      data[i] = 60 + 150 * u + ring;
      data[i + 1] = 40 + 160 * v * (1 - u);
      data[i + 2] = 200 - 120 * v + (((x * 7919 + y * 104729) % 31) - 15);
    }
  return { width: n, height: n, channels: 3, data };
}

export async function loadImage(
  n: number,
  imageChoice: 'auto' | 'photo' | 'synthetic' = 'auto',
): Promise<{ img: FloatImage; source: string }> {
  const photo = path.join(REPO, 'media', 'samples', 'photos', 'astronaut.png');
  if (imageChoice !== 'synthetic' && fs.existsSync(photo)) {
    try {
      const { readImage, resizeImage } = await import('../src/io/image');
      const decoded = await readImage(photo);
      const resized = await resizeImage(decoded, { width: n, height: n, fit: 'cover', enlarge: true });
      return { img: resized.rgb, source: 'astronaut.png' };
    } catch (e) {
      if (imageChoice === 'photo') throw e;
      console.error(`photo input unavailable (${(e as Error).message.split('\n')[0]}); using a synthetic image`);
    }
  }
  return { img: syntheticImage(n), source: 'synthetic' };
}
