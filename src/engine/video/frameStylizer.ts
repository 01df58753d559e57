// Stylizes the frames of a clip one after another. Per-frame stylizing flickers: instance norm
// re-measures its statistics on every frame, so sensor noise and small changes swing colours
// and strokes. Steady mode (default) instead normalises every frame of a shot with running
// statistics (an exponential moving average of measured frame statistics, reset at scene
// cuts), the same mechanism tiled stylize uses to keep the tiles of one image alike.
import { resizeImage8 } from '../../io/image';
import { postProcess } from '../../model/color';
import type { NormStats } from '../../model/normStats';
import { toBytes, type FloatImage, type RgbBytes } from '../../model/pixels';
import { StyleTransferError } from '../../protocol/errors';
import type { ColorMode } from '../../protocol/jobs';
import type { StatsPass, StylizeEngine, TilePass } from '../stylize/stylizer';
import type { LoadedStyle } from '../styles';
import { poolNormStats, shouldTile, stylizeTiled } from '../stylize/tiledStylize';

export interface FrameStylizerOptions {
  readonly steady?: boolean;
  readonly colorMode?: ColorMode;
  readonly strength?: number;
  /** Stylize at this scale of the frame (larger strokes below 1); the result is resized back. */
  readonly scale?: number;
  readonly tileSize?: number;
  /** Weight of a new measurement in the running statistics (default STATS_WEIGHT). */
  readonly statsWeight?: number;
  /** Measure statistics every this many frames of a shot (default STATS_INTERVAL; always on a shot's first frame). */
  readonly statsInterval?: number;
  /** Mean absolute difference (grey levels, 0–255) of coarse block means that makes a scene cut (default CUT_THRESHOLD). */
  readonly cutThreshold?: number;
  /** Steady mode: share norm statistics across a shot (default true). */
  readonly shareStats?: boolean;
  /** Steady mode: average still pixels over time before stylizing (default true; StillPixelFilter). */
  readonly stillFilter?: boolean;
}

export const STATS_WEIGHT = 0.25;
export const STATS_INTERVAL = 2;
export const CUT_THRESHOLD = 20;
/** Statistics are measured at most this large (pixels); larger frames on a downscaled copy. */
const STATS_MAX_PIXELS = 1024 * 1024;
const GRID = 16;

/** Means of a GRID × GRID grid of blocks, per channel: a noise-insensitive thumbnail for cut detection. */
export function blockMeans(frame: RgbBytes): Float32Array {
  const { width: W, height: H, data } = frame;
  const sums = new Float64Array(GRID * GRID * 3);
  const counts = new Float64Array(GRID * GRID);
  for (let y = 0; y < H; y++) {
    const by = Math.min(GRID - 1, Math.floor((y * GRID) / H));
    for (let x = 0; x < W; x++) {
      const b = by * GRID + Math.min(GRID - 1, Math.floor((x * GRID) / W));
      const s = (y * W + x) * 3;
      sums[b * 3] += data[s];
      sums[b * 3 + 1] += data[s + 1];
      sums[b * 3 + 2] += data[s + 2];
      counts[b]++;
    }
  }
  const out = new Float32Array(GRID * GRID * 3);
  for (let i = 0; i < out.length; i++) out[i] = counts[Math.floor(i / 3)] ? sums[i] / counts[Math.floor(i / 3)] : 0;
  return out;
}

export function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/**
 * Temporal noise filter for the network's input. Sensor noise passes through the network and
 * comes out as shimmering strokes (measured: sharing norm statistics alone leaves the flicker
 * of a still, noisy shot unchanged), so pixels that stay within the noise of their running
 * average are averaged over time (an exponential average with weight 1/(n+1), n frames still,
 * at most 1/MAX_STILL), and a pixel that changes by more than twice the threshold (motion,
 * a cut) takes its new value at once, with a linear ramp in between so nothing moving smears.
 */
export class StillPixelFilter {
  private avg?: Float32Array;
  private still?: Uint8Array;
  static readonly MAX_STILL = 8;

  /** `threshold`: a change (grey levels, largest channel) still counted as noise. */
  constructor(private readonly threshold = 6) {}

  reset(): void {
    this.avg = undefined;
  }

  apply(frame: RgbBytes): RgbBytes {
    const n = frame.width * frame.height;
    if (!this.avg || this.avg.length !== n * 3) {
      this.avg = Float32Array.from(frame.data);
      this.still = new Uint8Array(n);
      return frame;
    }
    const avg = this.avg;
    const still = this.still!;
    const out = new Uint8Array(n * 3);
    const t = this.threshold;
    for (let p = 0, i = 0; p < n; p++, i += 3) {
      const d0 = frame.data[i] - avg[i];
      const d1 = frame.data[i + 1] - avg[i + 1];
      const d2 = frame.data[i + 2] - avg[i + 2];
      const d = Math.max(Math.abs(d0), Math.abs(d1), Math.abs(d2));
      // 0 within the noise, 1 beyond twice the threshold: how much this pixel moved.
      const moved = Math.min(1, Math.max(0, (d - t) / t));
      still[p] = moved > 0 ? 0 : Math.min(StillPixelFilter.MAX_STILL - 1, still[p] + 1);
      const k = moved + (1 - moved) / (still[p] + 1);
      avg[i] += k * d0;
      avg[i + 1] += k * d1;
      avg[i + 2] += k * d2;
      out[i] = Math.round(avg[i]);
      out[i + 1] = Math.round(avg[i + 1]);
      out[i + 2] = Math.round(avg[i + 2]);
    }
    return { width: frame.width, height: frame.height, data: out };
  }
}

const asFloat = (img: RgbBytes): FloatImage => ({
  width: img.width,
  height: img.height,
  channels: 3,
  data: Float32Array.from(img.data),
});

export class FrameStylizer {
  private statsPass?: StatsPass;
  private tilePass?: TilePass;
  private running?: NormStats;
  private lastBlocks?: Float32Array;
  private sinceMeasure = 0;
  private tiled = false;
  private readonly filter = new StillPixelFilter();
  /** Scene cuts detected so far (steady mode). */
  cuts = 0;

  constructor(
    private readonly engine: StylizeEngine,
    private readonly style: LoadedStyle,
    private readonly opts: FrameStylizerOptions = {},
  ) {
    const strength = opts.strength ?? 1;
    if (!(strength >= 0 && strength <= 1))
      throw new StyleTransferError('bad-input', `strength must be between 0 and 1, got ${strength}`);
    const scale = opts.scale ?? 1;
    if (!(scale > 0 && scale <= 4)) throw new StyleTransferError('bad-input', `scale must be in (0, 4], got ${scale}`);
    const w = opts.statsWeight ?? STATS_WEIGHT;
    if (!(w > 0 && w <= 1)) throw new StyleTransferError('bad-input', `statistics weight must be in (0, 1], got ${w}`);
  }

  get steady(): boolean {
    return this.opts.steady ?? true;
  }

  /** Opens the passes for frames of width × height (after scaling). */
  async open(width: number, height: number): Promise<void> {
    const scale = this.opts.scale ?? 1;
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    this.tiled = shouldTile(w, h, await this.engine.runtimeFor(this.style), this.opts.tileSize);
    if (!this.steady || !(this.opts.shareStats ?? true)) return;
    this.statsPass = await this.engine.openStatsPass(this.style);
  }

  private async measure(frame: RgbBytes): Promise<NormStats> {
    let src = frame;
    const pixels = frame.width * frame.height;
    if (pixels > STATS_MAX_PIXELS) {
      const f = Math.sqrt(STATS_MAX_PIXELS / pixels);
      src = (
        await resizeImage8(
          { width: frame.width, height: frame.height, rgb: frame },
          {
            width: Math.max(1, Math.floor(frame.width * f)),
            height: Math.max(1, Math.floor(frame.height * f)),
            fit: 'fill',
          },
        )
      ).rgb;
    }
    return this.statsPass!.measure(asFloat(src));
  }

  /** The statistics to normalise this frame with: the running ones, updated (or reset at a cut). */
  private async steadyStats(frame: RgbBytes): Promise<NormStats> {
    const blocks = blockMeans(frame);
    const cut =
      this.lastBlocks !== undefined && meanAbsDiff(blocks, this.lastBlocks) > (this.opts.cutThreshold ?? CUT_THRESHOLD);
    this.lastBlocks = blocks;
    if (cut) this.cuts++;
    if (!this.running || cut) {
      this.running = await this.measure(frame);
      this.sinceMeasure = 0;
    } else if (++this.sinceMeasure >= (this.opts.statsInterval ?? STATS_INTERVAL)) {
      const w = this.opts.statsWeight ?? STATS_WEIGHT;
      // Pooled as a mixture (law of total variance), like the tiles of one image.
      this.running = poolNormStats([
        { stats: this.running, weight: 1 - w },
        { stats: await this.measure(frame), weight: w },
      ]);
      this.sinceMeasure = 0;
    }
    return this.running;
  }

  /** Stylizes one RGB frame (width × height × 3 bytes) into a new frame of the same size. */
  async stylize(frame: RgbBytes, signal?: AbortSignal): Promise<Uint8Array> {
    const scale = this.opts.scale ?? 1;
    let src = frame;
    if (scale !== 1) {
      const width = Math.max(1, Math.round(frame.width * scale));
      const height = Math.max(1, Math.round(frame.height * scale));
      src = (
        await resizeImage8(
          { width: frame.width, height: frame.height, rgb: frame },
          { width, height, fit: 'fill', enlarge: true },
        )
      ).rgb;
    }
    const stats = this.steady && (this.opts.shareStats ?? true) ? await this.steadyStats(src) : undefined;
    if (this.steady && (this.opts.stillFilter ?? true)) src = this.filter.apply(src);
    let out: RgbBytes;
    if (this.tiled) {
      out = await stylizeTiled(this.engine, this.style, src, {
        tileSize: this.opts.tileSize || undefined,
        normStats: stats,
        colorMode: this.opts.colorMode,
        strength: this.opts.strength,
        signal,
      });
    } else {
      const content = asFloat(src);
      // Tiled frames open a tile pass per frame (stylizeTiled); others keep this one open.
      if (stats) this.tilePass ??= await this.engine.openTilePass(this.style, stats);
      const raw = stats ? await this.tilePass!.stylize(content, stats) : await this.engine.stylize(this.style, content);
      const post = postProcess(content, raw, { colorMode: this.opts.colorMode, strength: this.opts.strength ?? 1 });
      out = { width: src.width, height: src.height, data: toBytes(post.data) };
    }
    if (scale === 1) return out.data;
    return (
      await resizeImage8(
        { width: out.width, height: out.height, rgb: out },
        { width: frame.width, height: frame.height, fit: 'fill', enlarge: true },
      )
    ).rgb.data;
  }

  async close(): Promise<void> {
    await Promise.all([this.statsPass?.close(), this.tilePass?.close()]);
    this.statsPass = undefined;
    this.tilePass = undefined;
  }
}
