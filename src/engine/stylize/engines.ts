// The stylize engine of the jobs: one Stylizer (ONNX Runtime session or tfjs network) per
// style, opened on first use and kept for the next images. ONNX Runtime by default (DESIGN
// §5: ~10× faster here), tfjs when it cannot load; 'onnx' and 'tfjs' force one.
import path from 'node:path';
import type { NormStats } from '../../model/normStats';
import type { FloatImage } from '../../model/pixels';
import type { StylizeRuntime } from '../../protocol/jobs';
import { initTfjsBackend, type TfjsBackendPreference } from '../tfjs/backends';
import { ENGINE_SESSION_OPTIONS } from '../onnx/onnxRunner';
import { defaultUserCacheDir, ensurePrivateDir } from '../../io/privateDir';
import {
  memoryError,
  openStylizer,
  type StatsPass,
  type StylizeEngine,
  type Stylizer,
  type TilePass,
} from './stylizer';
import type { LoadedStyle } from '../styles';
import type { StylizePrecision } from '../onnx/onnxQuantized';
import { isInsideFolder } from '../../shared/paths';

export interface EngineOptions {
  readonly runtime?: StylizeRuntime;
  /**
   * Where ONNX exports go for styles whose folder is not ours to write (ml5 folders, read-only
   * styles): a private folder (0700, checked); default defaultUserCacheDir().
   */
  readonly cacheDir?: string;
  readonly extraModuleRoots?: readonly string[];
  /** ONNX Runtime intra-op threads (0 = one per core). */
  readonly threads?: number;
  /** TensorFlow.js backend for the tfjs path (default: the best available). */
  readonly tfjsBackend?: TfjsBackendPreference;
  /** Style folders not to write into (bundled styles): their ONNX export goes to cacheDir. */
  readonly readOnlyRoots?: readonly string[];
  /** ONNX graph precision (onnxQuantized.ts); default 'auto'. */
  readonly precision?: StylizePrecision;
}

function isUnder(dir: string, roots: readonly string[] = []): boolean {
  return roots.some((r) => isInsideFolder(path.resolve(dir), path.resolve(r), path));
}

const MAX_OPEN = 3;

/** Runs `f` on `img`; an out-of-memory failure of any runtime becomes one 'image-too-large' error. */
async function withMemoryError<T>(img: FloatImage, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw memoryError(e, img) ?? e;
  }
}

class CachingStylizeEngine implements StylizeEngine {
  label = '';
  private readonly open = new Map<string, Promise<Stylizer>>();

  constructor(private readonly opts: EngineOptions) {}

  private stylizerFor(style: LoadedStyle): Promise<Stylizer> {
    const key = `${style.hash}:${style.dir}`;
    let s = this.open.get(key);
    if (!s) {
      const cacheDir = this.opts.cacheDir ?? defaultUserCacheDir();
      s = (async () => {
        // Not a shared temp folder: another local user could pre-create it and plant graphs.
        await ensurePrivateDir(cacheDir);
        return openStylizer({
          // tfjs is the fallback (and the forced runtime): its backend is chosen when it runs.
          prepareTfjs: async () => {
            await initTfjsBackend(this.opts.tfjsBackend ?? 'auto', {
              extraModuleRoots: this.opts.extraModuleRoots,
              threads: this.opts.threads,
            });
          },
          arch: style.arch,
          weights: style.weights,
          weightsSha256: style.hash,
          // Our checkpoints keep their export beside them; other folders (ml5 models, bundled
          // styles) are not ours to write.
          dir:
            style.format === 'checkpoint' && !isUnder(style.dir, this.opts.readOnlyRoots)
              ? style.dir
              : path.join(cacheDir, 'onnx', style.hash.slice(0, 16)),
          fallbackCacheDir: path.join(cacheDir, 'onnx'),
          runtime: this.opts.runtime ?? 'auto',
          onnx: { ...ENGINE_SESSION_OPTIONS, ...(this.opts.threads ? { threads: this.opts.threads } : {}) },
          precision: this.opts.precision ?? 'auto',
        });
      })();
      s.catch(() => this.open.delete(key));
      this.open.set(key, s);
      while (this.open.size > MAX_OPEN) {
        const [oldKey, old] = this.open.entries().next().value as [string, Promise<Stylizer>];
        this.open.delete(oldKey);
        void old.then(
          (x) => x.dispose(),
          () => undefined,
        );
      }
    }
    return s;
  }

  async stylize(style: LoadedStyle, img: FloatImage): Promise<FloatImage> {
    const stylizer = await this.stylizerFor(style);
    this.label = stylizer.description;
    return withMemoryError(img, () => stylizer.stylize(img));
  }

  async openStatsPass(style: LoadedStyle): Promise<StatsPass> {
    const pass = await (await this.stylizerFor(style)).openStatsPass();
    return {
      measure: (img) => withMemoryError(img, () => pass.measure(img)),
      close: () => pass.close(),
    };
  }

  async openTilePass(style: LoadedStyle, stats: NormStats): Promise<TilePass> {
    const stylizer = await this.stylizerFor(style);
    this.label = stylizer.description;
    const pass = await stylizer.openTilePass(stats);
    return {
      stylize: (img, own) => withMemoryError(img, () => pass.stylize(img, own)),
      close: () => pass.close(),
    };
  }

  async runtimeFor(style: LoadedStyle): Promise<'onnx' | 'tfjs'> {
    return (await this.stylizerFor(style)).runtime;
  }

  dispose(): void {
    for (const s of this.open.values())
      void s.then(
        (x) => x.dispose(),
        () => undefined,
      );
    this.open.clear();
  }
}

export async function createStylizeEngine(opts: EngineOptions = {}): Promise<StylizeEngine> {
  return new CachingStylizeEngine(opts);
}
