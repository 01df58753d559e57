// Geometry of tiled stylize: where the tiles go, how far the network "sees", and the feather
// weights that blend overlapping tiles into one image. Pure arithmetic, no tensors.
//
// With every instance norm fed the same statistics (normStats.ts), the network is a
// translation-equivariant function of its input on the stride-4 grid, except near the edges
// of its input where its convolutions pad with zeros. An output pixel whose receptive field
// lies inside a tile is therefore exactly the pixel the whole-image pass would produce when
// the tile starts on a multiple of 4 (so every stride-2 layer samples the same grid as in the
// whole image). Tiles overlap by twice that field's radius plus a short ramp; each tile
// contributes only where its outputs are exact, and neighbours cross-fade over the ramp.
import { SIZE_MULTIPLE, layerSpecs, type TransformNetArchitecture } from './architecture';
import { roundUpTo } from './pixels';

/**
 * How many input pixels to each side an output pixel depends on (the receptive field's
 * radius, exact for the SAME padding and stride grid of the network, worst case over the
 * stride phases). 57 for the paper's network.
 */
export function receptiveRadius(arch: TransformNetArchitecture): number {
  const layers = layerSpecs(arch);
  let radius = 0;
  // Follow each output phase back through the layers as an index range [lo, hi].
  for (let phase = 0; phase < 4 * SIZE_MULTIPLE; phase++) {
    const o = 10_000 * SIZE_MULTIPLE + phase; // far from any border
    let lo = o;
    let hi = o;
    for (let i = layers.length - 1; i >= 0; i--) {
      const l = layers[i];
      const k = l.kernel;
      if (l.kind === 'conv') {
        // TensorFlow SAME: total padding max(k − s, 0) for sizes divisible by s, the smaller half before.
        const before = Math.floor(Math.max(k - l.stride, 0) / 2);
        lo = l.stride * lo - before;
        hi = l.stride * hi - before + k - 1;
      } else if (l.kind === 'upconv') {
        const before = Math.floor((k - 1) / 2);
        lo = Math.floor((lo - before) / l.stride);
        hi = Math.floor((hi - before + k - 1) / l.stride);
      } else {
        // Transposed conv: output o = s·i + t − before for taps t in [0, k).
        const before = Math.floor(Math.max(k - l.stride, 0) / 2);
        lo = Math.ceil((lo + before - (k - 1)) / l.stride);
        hi = Math.floor((hi + before) / l.stride);
      }
    }
    radius = Math.max(radius, o - lo, hi - o);
  }
  return radius;
}

/** One tile along one axis, in the coordinates of the image padded to SIZE_MULTIPLE. */
export interface AxisTile {
  /** The tile's input: [start, end), start a multiple of SIZE_MULTIPLE. */
  readonly start: number;
  readonly end: number;
  /** Where this tile's output is used (weight > 0): [keepStart, keepEnd). */
  readonly keepStart: number;
  readonly keepEnd: number;
  /** Blend weight of each pixel of [keepStart, keepEnd); over all tiles they sum to 1. */
  readonly weights: Float32Array;
}

export interface AxisPlanOptions {
  /** Largest tile length, a multiple of SIZE_MULTIPLE. */
  readonly tile: number;
  /** Least overlap of neighbouring tiles, a multiple of SIZE_MULTIPLE, at most tile / 2. */
  readonly overlap: number;
  /** Pixels next to an interior tile edge whose output is not trusted (≤ overlap / 2 to blend only trusted pixels). */
  readonly margin: number;
}

/** Cosine ramp 0 → 1 over n pixels, sampled at pixel centres. */
function ramp(n: number): Float32Array {
  const r = new Float32Array(n);
  for (let i = 0; i < n; i++) r[i] = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / n);
  return r;
}

/**
 * Tiles covering [0, length) (length a multiple of SIZE_MULTIPLE): as few as keep every
 * overlap ≥ `overlap`, spread evenly, each starting on a multiple of SIZE_MULTIPLE; the first
 * and last end at the image's edges (which the whole-image pass sees the same way). Between
 * neighbours the blend ramp is centred in their overlap and spans it less `margin` on each
 * side, so with margin ≥ receptiveRadius only exact outputs are blended.
 */
export function planAxis(length: number, opts: AxisPlanOptions): AxisTile[] {
  const m = SIZE_MULTIPLE;
  const { tile, overlap, margin } = opts;
  if (length % m !== 0 || length <= 0) throw new Error(`planAxis: length ${length} is not a positive multiple of ${m}`);
  if (tile % m !== 0 || overlap % m !== 0 || tile <= 0 || overlap < 0 || 2 * overlap > tile) {
    throw new Error(`planAxis: tile ${tile} and overlap ${overlap} must be multiples of ${m} with overlap ≤ tile / 2`);
  }
  if (length <= tile)
    return [{ start: 0, end: length, keepStart: 0, keepEnd: length, weights: new Float32Array(length).fill(1) }];
  const n = Math.ceil((length - overlap) / (tile - overlap));
  // The smallest tile that still covers the length with n tiles: less overlap computed twice.
  const size = Math.min(tile, roundUpTo(Math.ceil((length - overlap) / n) + overlap, m));
  // Evenly spread starts, rounded down to the grid: neighbouring starts then differ by at
  // most `step` (a multiple of m), so every overlap is ≥ `overlap`.
  const starts = Array.from({ length: n }, (_, i) =>
    i === n - 1 ? length - size : Math.floor((i * (length - size)) / (n - 1) / m) * m,
  );
  // Ramps between neighbours i and i+1: [rampStart[i], rampEnd[i]).
  // (No overlap: tiles that merely partition the length, for statistics.)
  const rampLength =
    overlap === 0 ? 0 : overlap >= 2 * margin + 2 ? overlap - 2 * margin : Math.max(2, Math.floor(overlap / 2));
  const rampStart: number[] = [];
  for (let i = 0; i + 1 < n; i++) {
    const mid = (starts[i + 1] + starts[i] + size) / 2;
    rampStart.push(Math.round(mid - rampLength / 2));
  }
  const tiles: AxisTile[] = [];
  const up = ramp(rampLength);
  for (let i = 0; i < n; i++) {
    const start = starts[i];
    const end = start + size;
    const keepStart = i === 0 ? 0 : rampStart[i - 1];
    const keepEnd = i === n - 1 ? length : rampStart[i] + rampLength;
    if (keepStart < start || keepEnd > end || (i > 0 && keepStart < tiles[i - 1].keepStart + rampLength)) {
      throw new Error(
        `planAxis: internal error, tile ${i} of ${n} [${start}, ${end}) keeps [${keepStart}, ${keepEnd})`,
      );
    }
    const w = new Float32Array(keepEnd - keepStart).fill(1);
    if (i > 0) w.set(up, 0);
    if (i < n - 1) for (let j = 0; j < rampLength; j++) w[keepEnd - keepStart - rampLength + j] = 1 - up[j];
    tiles.push({ start, end, keepStart, keepEnd, weights: w });
  }
  return tiles;
}

/** Default blend ramp between neighbouring tiles, beyond the untrusted margins. */
export const DEFAULT_BLEND_RAMP = 16;

export interface TilePlanOptions {
  /** Largest tile side (rounded down to a multiple of SIZE_MULTIPLE). */
  readonly tileSize: number;
  /** Least overlap of neighbours; default 2 × margin + DEFAULT_BLEND_RAMP (rounded up to the grid); 0: tiles only partition the image. */
  readonly overlap?: number;
  /** Untrusted pixels at interior tile edges; default receptiveRadius(arch) rounded up to the grid. */
  readonly margin?: number;
}

export interface TilePlan {
  /** The image's size. */
  readonly width: number;
  readonly height: number;
  /** Rows/columns of reflection padding before the image (as pixels.ts padToMultiple pads). */
  readonly padTop: number;
  readonly padLeft: number;
  /** Tile columns and rows, in padded coordinates. */
  readonly cols: readonly AxisTile[];
  readonly rows: readonly AxisTile[];
  readonly tileSize: number;
  readonly overlap: number;
  readonly margin: number;
}

export function defaultMargin(arch: TransformNetArchitecture): number {
  return roundUpTo(receptiveRadius(arch), SIZE_MULTIPLE);
}

/** Tiles for a width × height image; tiles never exceed tileSize per side. */
export function planTiles(
  width: number,
  height: number,
  arch: TransformNetArchitecture,
  opts: TilePlanOptions,
): TilePlan {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0))
    throw new Error(`planTiles: bad size ${width}×${height}`);
  const margin = opts.margin ?? defaultMargin(arch);
  const overlap = roundUpTo(opts.overlap ?? 2 * margin + DEFAULT_BLEND_RAMP, SIZE_MULTIPLE);
  const tileSize = Math.floor(opts.tileSize / SIZE_MULTIPLE) * SIZE_MULTIPLE;
  if (tileSize < 2 * overlap || tileSize < SIZE_MULTIPLE) {
    throw new Error(
      `tile size ${opts.tileSize} is too small for an overlap of ${overlap} pixels (it must be at least twice the overlap)`,
    );
  }
  const W = roundUpTo(width, SIZE_MULTIPLE);
  const H = roundUpTo(height, SIZE_MULTIPLE);
  const axis = { tile: tileSize, overlap, margin };
  return {
    width,
    height,
    padTop: H - height,
    padLeft: W - width,
    cols: planAxis(W, axis),
    rows: planAxis(H, axis),
    tileSize,
    overlap,
    margin,
  };
}
