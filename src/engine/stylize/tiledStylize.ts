// Stylizes images of any size in overlapping tiles with memory bounded by the tile size
// (DESIGN §5: ONNX Runtime needs ≈ 700 bytes per pixel, so a 48-megapixel photo in one pass
// would need ~33 GB). Three things make the tiles one seamless image:
// - statistics: every instance norm uses one set of statistics for the whole image
//   (normStats.ts), so tiles do not drift apart in colour and contrast;
// - geometry: tiles start on the network's stride grid and overlap by twice its receptive
//   field, so each tile's kept output equals the whole-image pass's (model/tiling.ts);
// - blending: neighbours cross-fade over a cosine ramp inside the overlap.
// The image stays 8-bit (3 bytes per pixel in, 3 out); only one band of tile rows is held as
// floats, and colour/strength post-processing runs band by band.
import { resizeImage8 } from '../../io/image';
import {
  ColorMomentsAccumulator,
  applyColorTransform,
  applyStrength,
  histogramMatchTransform,
  postProcess,
} from '../../model/color';
import { validateNormStats, type ChannelStats, type NormStats } from '../../model/normStats';
import { SIZE_MULTIPLE, borderPadding, type BorderPadding } from '../../model/architecture';
import { reflectIndex, toBytes, type FloatImage, type RgbBytes } from '../../model/pixels';
import { planTiles, type AxisTile, type TilePlan } from '../../model/tiling';
import { StyleTransferError, cancelledError } from '../../protocol/errors';
import type { ColorMode } from '../../protocol/jobs';
import { DEFAULT_TILE_SIZE, type StylizeEngine, type TilePass } from './stylizer';
import type { LoadedStyle } from '../styles';

/**
 * Where the instance-norm statistics come from. A network's statistics depend on the scale
 * it sees, so they are best taken at full resolution (figures below: PSNR against a
 * one-piece pass, which the tiles reproduce exactly when given its statistics):
 * - 'auto' (default): the whole image in one statistics pass when it has at most
 *   statsMaxPixels pixels (exact), else 'sampled';
 * - 'sampled': full-resolution tiles of up to statsMaxPixels, each with its own statistics,
 *   pooled weighted by area: all of them when there are fewer than 8, else every other one
 *   in a checkerboard (+50 % compute). 34.5 dB on 2048² (udnie, stata.jpg), 34.5 dB on
 *   2400×1600 and 34.0 dB on 3072×2304 (kodim05 enlarged);
 * - 'downscaled': one pass over a copy shrunk to statsMaxPixels: cheap, but visibly hazier
 *   and flatter as the image grows (25.9, 24.6 and 20.5 dB on those photos).
 */
export type TileStatsMode = 'auto' | 'sampled' | 'downscaled';

export interface TiledStylizeOptions {
  /** Largest tile side in pixels; default DEFAULT_TILE_SIZE of the engine's runtime. */
  readonly tileSize?: number;
  /** Least overlap of neighbouring tiles; default twice the receptive field's radius plus a 16-pixel ramp (128 for the paper's network). */
  readonly overlap?: number;
  readonly stats?: TileStatsMode;
  /** Statistics to use instead of measuring them (e.g. one set for every frame of a sequence). */
  readonly normStats?: NormStats;
  /** Pixels of one statistics pass (see TileStatsMode); default the square of the runtime's DEFAULT_TILE_SIZE. */
  readonly statsMaxPixels?: number;
  readonly colorMode?: ColorMode;
  /** 0 = the input, 1 = the full stylization (blended in linear light, as postProcess). */
  readonly strength?: number;
  readonly onProgress?: (p: TileProgress) => void;
  /** Checked before every tile; a cancel throws StyleTransferError('cancelled'). */
  readonly signal?: AbortSignal;
}

export interface TileProgress {
  readonly phase: 'stats' | 'stylize';
  readonly done: number;
  readonly total: number;
}

/**
 * Images with more pixels than this are tiled automatically: about 1.4 GB in one piece for
 * ONNX Runtime, and for tfjs on WebAssembly (≈ 1.8 GB at 1024², a 4 GiB heap) a megapixel.
 */
export const AUTO_TILE_PIXELS: Readonly<Record<'onnx' | 'tfjs', number>> = Object.freeze({
  onnx: 2 * 1024 * 1024,
  tfjs: 1024 * 1024,
});

/** Whether a width × height image is tiled: always with an explicit tile size (> 0), else above AUTO_TILE_PIXELS. */
export function shouldTile(width: number, height: number, runtime: 'onnx' | 'tfjs', tileSize?: number): boolean {
  return tileSize !== undefined && tileSize > 0 ? true : width * height > AUTO_TILE_PIXELS[runtime];
}

function checkOptions(opts: TiledStylizeOptions): void {
  const positiveInt = (v: number | undefined, name: string, min: number) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= 65_536)) {
      throw new StyleTransferError('bad-input', `${name} must be a whole number from ${min} to 65536, got ${v}`);
    }
  };
  positiveInt(opts.tileSize, 'tile size', 64);
  positiveInt(opts.overlap, 'tile overlap', 0);
  if (opts.statsMaxPixels !== undefined && !(Number.isInteger(opts.statsMaxPixels) && opts.statsMaxPixels >= 4096)) {
    throw new StyleTransferError(
      'bad-input',
      `statistics size must be a whole number of pixels ≥ 4096, got ${opts.statsMaxPixels}`,
    );
  }
  if (opts.stats !== undefined && !['auto', 'sampled', 'downscaled'].includes(opts.stats)) {
    throw new StyleTransferError(
      'bad-input',
      `tile statistics must be "auto", "sampled" or "downscaled", got "${String(opts.stats)}"`,
    );
  }
  // Strength: checked where the request arrived; postProcess asserts it (a bug would shift colours silently).
}

/**
 * Where a tile's input starts in padded coordinates: at the tile's start, except that 'zero'
 * border padding feeds no padding, so a first tile starts at the image's edge.
 */
export function tileOrigin(
  plan: TilePlan,
  col: AxisTile,
  row: AxisTile,
  padding: BorderPadding = 'reflect',
): { x: number; y: number } {
  return padding === 'zero'
    ? { x: Math.max(col.start, plan.padLeft), y: Math.max(row.start, plan.padTop) }
    : { x: col.start, y: row.start };
}

/**
 * The tile at column `col`, row `row` of the plan as a float image, as a one-piece pass feeds
 * the image: padded to the size multiple by reflection before its top/left edge ('reflect'),
 * or cut at the image's edge ('zero' border padding: the network computes that padding
 * itself, and a tile that starts at the image's edge sees the same grid as the whole image,
 * since the other tiles start and end on multiples of 4 in padded coordinates).
 */
export function extractTile(
  src: RgbBytes,
  plan: TilePlan,
  col: AxisTile,
  row: AxisTile,
  padding: BorderPadding = 'reflect',
): FloatImage {
  const origin = tileOrigin(plan, col, row, padding);
  const w = col.end - origin.x;
  const h = row.end - origin.y;
  const out = new Float32Array(w * h * 3);
  const xs = new Int32Array(w);
  for (let x = 0; x < w; x++) xs[x] = reflectIndex(origin.x + x - plan.padLeft, src.width) * 3;
  for (let y = 0; y < h; y++) {
    const rowStart = reflectIndex(origin.y + y - plan.padTop, src.height) * src.width * 3;
    let d = y * w * 3;
    for (let x = 0; x < w; x++, d += 3) {
      const s = rowStart + xs[x];
      out[d] = src.data[s];
      out[d + 1] = src.data[s + 1];
      out[d + 2] = src.data[s + 2];
    }
  }
  return { width: w, height: h, channels: 3, data: out };
}

/** Pools per-tile statistics weighted by `weights`: the mean and variance of the union. */
export function poolNormStats(parts: readonly { stats: NormStats; weight: number }[]): NormStats {
  if (parts.length === 0) throw new Error('poolNormStats: nothing to pool');
  const total = parts.reduce((a, p) => a + p.weight, 0);
  const out = new Map<string, ChannelStats>();
  for (const [layer, first] of parts[0].stats) {
    const C = first.mean.length;
    const mean = new Float32Array(C);
    const variance = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      let m = 0;
      for (const p of parts) m += p.weight * p.stats.get(layer)!.mean[c];
      m /= total;
      // Law of total variance: within-tile variance plus the spread of the tile means.
      let v = 0;
      for (const p of parts) {
        const s = p.stats.get(layer)!;
        v += p.weight * (s.variance[c] + (s.mean[c] - m) ** 2);
      }
      mean[c] = m;
      variance[c] = v / total;
    }
    out.set(layer, { mean, variance });
  }
  return out;
}

const weightSum = (t: AxisTile) => t.weights.reduce((a, b) => a + b, 0);

function nextTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Statistics grids with fewer tiles than this are measured whole (see imageStats). */
const MIN_TILES_TO_SAMPLE = 8;

async function imageStats(
  engine: StylizeEngine,
  style: LoadedStyle,
  src: RgbBytes,
  maxPixels: number,
  opts: TiledStylizeOptions,
): Promise<NormStats> {
  const throwIfCancelled = () => {
    if (opts.signal?.aborted) throw cancelledError('stylize');
  };
  const mode = opts.stats ?? 'auto';
  const pixels = src.width * src.height;
  throwIfCancelled();
  const pass = await engine.openStatsPass(style);
  try {
    if (mode === 'sampled' || (mode === 'auto' && pixels > maxPixels)) {
      // Statistics tiles as large as the budget allows: their zero-padded borders bias the
      // statistics less the larger they are. They need no overlap.
      const side = Math.max(64, Math.floor(Math.sqrt(maxPixels) / SIZE_MULTIPLE) * SIZE_MULTIPLE);
      const grid = planTiles(src.width, src.height, style.arch, { tileSize: side, overlap: 0 });
      // Half of them in a checkerboard once there are enough for half to sample the image
      // evenly (12 tiles: 34.0 dB vs 34.1 with all); fewer are all measured (4 tiles: two
      // diagonal ones gave 28.9 dB, all four 34.5).
      const all = grid.rows.flatMap((row, j) => grid.cols.map((col, i) => ({ row, col, checker: (i + j) % 2 === 0 })));
      const picked = all.length < MIN_TILES_TO_SAMPLE ? all : all.filter((t) => t.checker);
      const parts: { stats: NormStats; weight: number }[] = [];
      for (const { row, col } of picked) {
        throwIfCancelled();
        parts.push({
          stats: await pass.measure(extractTile(src, grid, col, row, borderPadding(style.arch))),
          weight: weightSum(col) * weightSum(row),
        });
        opts.onProgress?.({ phase: 'stats', done: parts.length, total: picked.length });
        await nextTick();
      }
      return poolNormStats(parts);
    }
    let small = src;
    if (pixels > maxPixels) {
      const f = Math.sqrt(maxPixels / pixels);
      const width = Math.max(1, Math.floor(src.width * f));
      const height = Math.max(1, Math.floor(src.height * f));
      small = (await resizeImage8({ width: src.width, height: src.height, rgb: src }, { width, height, fit: 'fill' }))
        .rgb;
    }
    opts.onProgress?.({ phase: 'stats', done: 0, total: 1 });
    const stats = await pass.measure({
      width: small.width,
      height: small.height,
      channels: 3,
      data: Float32Array.from(small.data),
    });
    opts.onProgress?.({ phase: 'stats', done: 1, total: 1 });
    return stats;
  } finally {
    await pass.close();
  }
}

/**
 * Stylizes `src` tile by tile and returns the 8-bit result, post-processed (colour mode,
 * strength) like stylizeDecoded's one-piece path. Errors: StyleTransferError('cancelled')
 * when `signal` aborts (checked before every tile), 'bad-input' for bad options, and
 * whatever the engine throws.
 */
export async function stylizeTiled(
  engine: StylizeEngine,
  style: LoadedStyle,
  src: RgbBytes,
  opts: TiledStylizeOptions = {},
): Promise<RgbBytes> {
  checkOptions(opts);
  const { width: W, height: H } = src;
  if (!(W > 0 && H > 0) || src.data.length !== W * H * 3)
    throw new StyleTransferError('bad-input', `tiled stylize: image of ${W}×${H} has ${src.data.length} bytes`);
  const budgetSide = DEFAULT_TILE_SIZE[await engine.runtimeFor(style)];
  const tileSize = opts.tileSize ?? budgetSide;
  let plan: TilePlan;
  try {
    plan = planTiles(W, H, style.arch, { tileSize, overlap: opts.overlap });
  } catch (e) {
    throw new StyleTransferError('bad-input', (e as Error).message);
  }
  if (opts.normStats) {
    try {
      validateNormStats(opts.normStats, style.arch);
    } catch (e) {
      throw new StyleTransferError('bad-input', (e as Error).message);
    }
  }
  const stats =
    opts.normStats ?? (await imageStats(engine, style, src, opts.statsMaxPixels ?? budgetSide * budgetSide, opts));

  const colorMode = opts.colorMode ?? 'none';
  const strength = opts.strength ?? 1;
  const histogram = colorMode === 'histogram';
  const stylizedMoments = histogram ? new ColorMomentsAccumulator() : undefined;
  const out = new Uint8Array(W * H * 3);
  const pass = await engine.openTilePass(style, stats);
  try {
    await stylizeBands(
      pass,
      plan,
      src,
      out,
      { colorMode, strength, moments: stylizedMoments },
      opts,
      borderPadding(style.arch),
    );
  } finally {
    await pass.close();
  }
  if (histogram) {
    const content = new ColorMomentsAccumulator();
    content.add(src.data);
    const transform = histogramMatchTransform(content.result(), stylizedMoments!.result());
    // Band by band over the stored result; values outside 0..255 were clipped before this
    // step, the one difference from the one-piece path.
    const rows = 256;
    for (let y = 0; y < H; y += rows) {
      const h = Math.min(rows, H - y);
      const range = [y * W * 3, (y + h) * W * 3] as const;
      let img: FloatImage = applyColorTransform(
        { width: W, height: h, channels: 3, data: Float32Array.from(out.subarray(...range)) },
        transform,
      );
      if (strength !== 1)
        img = applyStrength(
          { width: W, height: h, channels: 3, data: Float32Array.from(src.data.subarray(...range)) },
          img,
          strength,
        );
      out.set(toBytes(img.data), range[0]);
    }
  }
  return { width: W, height: H, data: out };
}

/**
 * The tile loop: one band of tile rows at a time, so only that band is held as floats. Each
 * band's rows are final once the next band's ramp starts; the ramp rows carry over.
 */
async function stylizeBands(
  pass: TilePass,
  plan: TilePlan,
  src: RgbBytes,
  out: Uint8Array,
  post: PostOptions,
  opts: TiledStylizeOptions,
  padding: BorderPadding,
): Promise<void> {
  const Wp = src.width + plan.padLeft;
  const total = plan.rows.length * plan.cols.length;
  let done = 0;
  let carry: { start: number; data: Float32Array } | undefined;
  for (let j = 0; j < plan.rows.length; j++) {
    const row = plan.rows[j];
    const band = new Float32Array((row.keepEnd - row.keepStart) * Wp * 3);
    if (carry) band.set(carry.data, (carry.start - row.keepStart) * Wp * 3);
    for (const col of plan.cols) {
      if (opts.signal?.aborted) throw cancelledError('stylize');
      const tile = await pass.stylize(extractTile(src, plan, col, row, padding));
      accumulate(band, Wp, row, col, tile, tileOrigin(plan, col, row, padding));
      opts.onProgress?.({ phase: 'stylize', done: ++done, total });
      await nextTick(); // lets a cancel message in between tiles
    }
    const next = plan.rows[j + 1];
    finishRows(band, Wp, row.keepStart, next ? next.keepStart : row.keepEnd, plan, src, out, post);
    carry = next ? { start: next.keepStart, data: band.slice((next.keepStart - row.keepStart) * Wp * 3) } : undefined;
  }
}

interface PostOptions {
  colorMode: ColorMode;
  strength: number;
  moments?: ColorMomentsAccumulator;
}

/**
 * Adds a tile's output (starting at `origin` in padded coordinates), weighted, to the band
 * (band starts at row.keepStart). Kept pixels before the origin lie in the padding, which is
 * never written out.
 */
function accumulate(
  band: Float32Array,
  Wp: number,
  row: AxisTile,
  col: AxisTile,
  tile: FloatImage,
  origin: { x: number; y: number },
): void {
  const tw = col.end - origin.x;
  const x0 = Math.max(col.keepStart, origin.x);
  const n = col.keepEnd - x0;
  for (let y = Math.max(row.keepStart, origin.y); y < row.keepEnd; y++) {
    const wy = row.weights[y - row.keepStart];
    let d = ((y - row.keepStart) * Wp + x0) * 3;
    let s = ((y - origin.y) * tw + (x0 - origin.x)) * 3;
    for (let i = 0; i < n; i++, d += 3, s += 3) {
      const w = wy * col.weights[i + x0 - col.keepStart];
      band[d] += w * tile.data[s];
      band[d + 1] += w * tile.data[s + 1];
      band[d + 2] += w * tile.data[s + 2];
    }
  }
}

/** Post-processes padded rows [from, to) of the band (those inside the image) into `out`. */
function finishRows(
  band: Float32Array,
  Wp: number,
  bandStart: number,
  to: number,
  plan: TilePlan,
  src: RgbBytes,
  out: Uint8Array,
  post: PostOptions,
): void {
  const W = src.width;
  const first = Math.max(bandStart, plan.padTop);
  if (to <= first) return;
  const h = to - first;
  const stylized = new Float32Array(h * W * 3);
  for (let y = 0; y < h; y++) {
    const s = ((first + y - bandStart) * Wp + plan.padLeft) * 3;
    stylized.set(band.subarray(s, s + W * 3), y * W * 3);
  }
  const y0 = first - plan.padTop;
  const range = [y0 * W * 3, (y0 + h) * W * 3] as const;
  let img: FloatImage = { width: W, height: h, channels: 3, data: stylized };
  if (post.moments) {
    post.moments.add(stylized); // histogram matching needs the whole image: applied afterwards
  } else if (post.colorMode !== 'none' || post.strength !== 1) {
    const content: FloatImage = {
      width: W,
      height: h,
      channels: 3,
      data: Float32Array.from(src.data.subarray(...range)),
    };
    img = postProcess(content, img, { colorMode: post.colorMode, strength: post.strength });
  }
  out.set(toBytes(img.data), range[0]);
}
