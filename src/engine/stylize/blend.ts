// Style blending: one image in the look of several styles at once. The default mixes the
// styles' outputs in linear light (any styles, any architectures); 'norm' mixes the
// instance-norm shift/scale of styles that share their convolution weights (styles
// fine-tuned from one another: Dumoulin et al.'s conditional instance norm), which gives a
// single network in between. Both plug into the normal stylize path — one piece or tiled —
// as a StylizeEngine over a composite style, so scale, tiling, colours and strength apply
// to the blend unchanged.
import crypto from 'node:crypto';
import { paramSpecs, type WeightMap } from '../../model/architecture';
import { linearToSrgb, srgbToLinear } from '../../model/color';
import type { NormStats, ChannelStats } from '../../model/normStats';
import type { FloatImage } from '../../model/pixels';
import { receptiveRadius } from '../../model/tiling';
import { StyleTransferError } from '../../protocol/errors';
import type { StylizeOptions } from '../../protocol/jobs';
import type { StatsPass, StylizeEngine, TilePass } from './stylizer';
import { loadStyle, type LoadedStyle } from '../styles';

export interface BlendPart {
  readonly style: LoadedStyle;
  /** Share of the result; the parts' weights sum to 1. */
  readonly weight: number;
}

export type BlendMode = NonNullable<StylizeOptions['blendMode']>;

/**
 * The parts of a blend: `main` takes what the listed styles leave (1 − Σ weights). Weights
 * must be ≥ 0 and sum to at most 1 (exactly 1 when they list `main` itself too).
 */
export async function resolveBlend(
  main: LoadedStyle,
  blend: NonNullable<StylizeOptions['blend']>,
): Promise<BlendPart[]> {
  const parts = new Map<string, BlendPart>();
  let listed = 0;
  for (const b of blend) {
    if (!(Number.isFinite(b.weight) && b.weight >= 0 && b.weight <= 1))
      throw new StyleTransferError('bad-input', `blend weight of ${b.style} must be between 0 and 1, got ${b.weight}`);
    const style = await loadStyle(b.style);
    const prev = parts.get(style.dir);
    parts.set(style.dir, { style, weight: (prev?.weight ?? 0) + b.weight });
    listed += b.weight;
  }
  if (listed > 1 + 1e-6)
    throw new StyleTransferError(
      'bad-input',
      `blend weights add up to ${+listed.toFixed(4)}; they must add up to at most 1`,
    );
  const rest = Math.max(0, 1 - listed);
  if (rest > 1e-6) parts.set(main.dir, { style: main, weight: (parts.get(main.dir)?.weight ?? 0) + rest });
  const out = [...parts.values()].filter((p) => p.weight > 0);
  if (out.length === 0) throw new StyleTransferError('bad-input', 'every blend weight is 0');
  const total = out.reduce((s, p) => s + p.weight, 0);
  return out.map((p) => ({ style: p.style, weight: p.weight / total }));
}

/** "Starry Night-70+udnie-30": the name of a blend (also the style part of output file names). */
export function blendName(parts: readonly BlendPart[]): string {
  return parts.map((p) => `${p.style.name}-${Math.round(p.weight * 100)}`).join('+');
}

/** Weighted mean of equally sized images in linear light (so a 50/50 mix keeps its brightness). */
export function mixLinear(images: readonly FloatImage[], weights: readonly number[]): FloatImage {
  const [first] = images;
  for (const img of images) {
    if (img.width !== first.width || img.height !== first.height) throw new Error('mixLinear: images differ in size');
  }
  const out = new Float32Array(first.data.length);
  for (let i = 0; i < out.length; i++) {
    let l = 0;
    for (let k = 0; k < images.length; k++) l += weights[k] * srgbToLinear(images[k].data[i]);
    out[i] = linearToSrgb(l);
  }
  return { width: first.width, height: first.height, channels: 3, data: out };
}

/** 'norm' mode: one network whose instance-norm parameters are the weighted mean of the parts'. */
export function blendNormParameters(parts: readonly BlendPart[]): LoadedStyle {
  const [first] = parts;
  for (const p of parts) {
    if (JSON.stringify(p.style.arch) !== JSON.stringify(first.style.arch)) {
      throw new StyleTransferError(
        'bad-input',
        `"${p.style.name}" and "${first.style.name}" have different network architectures; blend their outputs instead`,
      );
    }
  }
  const weights: WeightMap = new Map();
  for (const spec of paramSpecs(first.style.arch)) {
    const base = first.style.weights.get(spec.name)!;
    if (spec.role === 'weight') {
      for (const p of parts) {
        const w = p.style.weights.get(spec.name)!;
        if (w.some((v, i) => v !== base[i])) {
          throw new StyleTransferError(
            'bad-input',
            `"${p.style.name}" and "${first.style.name}" do not share their convolution weights, so their instance-norm parameters cannot be mixed; blend their outputs instead`,
          );
        }
      }
      weights.set(spec.name, base);
    } else {
      const mixed = new Float32Array(base.length);
      for (const p of parts) {
        const w = p.style.weights.get(spec.name)!;
        for (let i = 0; i < mixed.length; i++) mixed[i] += p.weight * w[i];
      }
      weights.set(spec.name, mixed);
    }
  }
  return compositeStyle(parts, first.style.arch, weights);
}

function compositeStyle(parts: readonly BlendPart[], arch: LoadedStyle['arch'], weights: WeightMap): LoadedStyle {
  const hash = crypto.createHash('sha256');
  for (const p of parts) hash.update(`${p.style.hash}:${p.weight};`);
  return { name: blendName(parts), dir: parts[0].style.dir, arch, weights, hash: hash.digest('hex'), format: 'ml5' };
}

/**
 * A StylizeEngine whose every call stylizes with all parts and mixes the results; use it with
 * `composite` as the style. Tiled stylize works too: each part's norm statistics travel in
 * one map under "<part>/<layer>" keys (pooled over tiles like any statistics).
 */
export class BlendEngine implements StylizeEngine {
  readonly composite: LoadedStyle;

  constructor(
    private readonly inner: StylizeEngine,
    private readonly parts: readonly BlendPart[],
  ) {
    // Tiles need the widest receptive field of the parts; the weights are never used directly.
    const widest = parts.reduce((a, p) => (receptiveRadius(p.style.arch) > receptiveRadius(a.style.arch) ? p : a));
    this.composite = compositeStyle(parts, widest.style.arch, widest.style.weights);
  }

  get label(): string {
    return this.inner.label;
  }

  private mix(images: FloatImage[]): FloatImage {
    return mixLinear(
      images,
      this.parts.map((p) => p.weight),
    );
  }

  async stylize(_style: LoadedStyle, img: FloatImage): Promise<FloatImage> {
    const outs: FloatImage[] = [];
    for (const p of this.parts) outs.push(await this.inner.stylize(p.style, img));
    return this.mix(outs);
  }

  async openStatsPass(): Promise<StatsPass> {
    const passes: StatsPass[] = [];
    try {
      for (const p of this.parts) passes.push(await this.inner.openStatsPass(p.style));
    } catch (e) {
      await Promise.all(passes.map((s) => s.close()));
      throw e;
    }
    return {
      measure: async (img) => {
        const merged = new Map<string, ChannelStats>();
        for (const [k, pass] of passes.entries())
          for (const [layer, s] of await pass.measure(img)) merged.set(`${k}/${layer}`, s);
        return merged;
      },
      close: async () => {
        await Promise.all(passes.map((s) => s.close()));
      },
    };
  }

  async openTilePass(_style: LoadedStyle, stats: NormStats): Promise<TilePass> {
    const passes: TilePass[] = [];
    // Part k's statistics: the "<k>/<layer>" entries of the merged map.
    const partStats = (all: NormStats, k: number) => {
      const own = new Map<string, ChannelStats>();
      for (const [key, s] of all) if (key.startsWith(`${k}/`)) own.set(key.slice(key.indexOf('/') + 1), s);
      return own;
    };
    try {
      for (const [k, p] of this.parts.entries())
        passes.push(await this.inner.openTilePass(p.style, partStats(stats, k)));
    } catch (e) {
      await Promise.all(passes.map((s) => s.close()));
      throw e;
    }
    return {
      stylize: async (img, own) => {
        const outs: FloatImage[] = [];
        for (const [k, pass] of passes.entries()) outs.push(await pass.stylize(img, own && partStats(own, k)));
        return this.mix(outs);
      },
      close: async () => {
        await Promise.all(passes.map((s) => s.close()));
      },
    };
  }

  runtimeFor(): Promise<'onnx' | 'tfjs'> {
    return this.inner.runtimeFor(this.parts[0].style);
  }

  dispose(): void {
    // The inner engine belongs to the caller.
  }
}

/** The engine and style a stylize job uses for `main` with `opts.blend` applied (unchanged without a blend). */
export async function withBlend(
  engine: StylizeEngine,
  main: LoadedStyle,
  opts: StylizeOptions,
): Promise<{ engine: StylizeEngine; style: LoadedStyle }> {
  if (!opts.blend?.length) return { engine, style: main };
  const parts = await resolveBlend(main, opts.blend);
  if (parts.length === 1) return { engine, style: parts[0].style };
  if ((opts.blendMode ?? 'outputs') === 'norm') return { engine, style: blendNormParameters(parts) };
  const blended = new BlendEngine(engine, parts);
  return { engine: blended, style: blended.composite };
}
