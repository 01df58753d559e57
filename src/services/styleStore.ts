// Lists the styles the user can pick: bundled with the extension, trained or imported into
// the extension's storage, and an optional extra folder. Reads style.json summaries only
// (no weights, no heavy libraries) and watches the folders so views refresh on changes.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { LossValues } from '../protocol/jobs';
import {
  CHECKPOINT_FORMAT_VERSION,
  STYLE_FILE,
  THUMBNAIL_FILE,
  TRAINING_STATE_FILE,
  type StyleOrigin,
  type StyleSummary,
} from '../protocol/styles';

export interface StyleRoot {
  readonly dir: string;
  /** Styles here are bundled (read-only) or the user's (trained/imported, decided per style). */
  readonly kind: 'bundled' | 'user';
}

function lastLosses(history: unknown): LossValues | undefined {
  if (!Array.isArray(history) || history.length === 0) return undefined;
  const l = history[history.length - 1] as Record<string, unknown>;
  const n = (k: string) => (typeof l?.[k] === 'number' ? (l[k] as number) : NaN);
  const v = { total: n('total'), content: n('content'), style: n('style'), tv: n('tv') };
  return Number.isFinite(v.total) ? v : undefined;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Summary of one checkpoint folder, or undefined when the folder is not a checkpoint. */
export async function readStyleSummary(dir: string, root: StyleRoot): Promise<StyleSummary | undefined> {
  let text: string;
  try {
    // Only a regular file of sane size: a FIFO or /dev/zero here would block the listing forever.
    const st = await fsp.stat(path.join(dir, STYLE_FILE));
    if (!st.isFile() || st.size > 64 * 1024 * 1024) return undefined;
    text = await fsp.readFile(path.join(dir, STYLE_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const base = { id: dir, name: path.basename(dir), iteration: 0, resumable: false, editable: root.kind === 'user' };
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text);
    if (o === null || typeof o !== 'object') throw new Error('not an object');
  } catch (e) {
    return {
      ...base,
      origin: root.kind === 'bundled' ? 'bundled' : 'trained',
      error: `style.json is not valid JSON (${(e as Error).message})`,
    };
  }
  const source = (o.source ?? {}) as { kind?: string };
  const origin: StyleOrigin = root.kind === 'bundled' ? 'bundled' : source.kind === 'imported' ? 'imported' : 'trained';
  // style.json names the thumbnail: only a plain file name inside the folder counts.
  const named = typeof o.thumbnail === 'string' ? path.basename(o.thumbnail) : '';
  const thumb = path.join(dir, named && named !== '.' && named !== '..' ? named : THUMBNAIL_FILE);
  const arch = o.architecture as StyleSummary['architecture'] | undefined;
  const version = typeof o.formatVersion === 'number' ? o.formatVersion : 0;
  return {
    ...base,
    name: typeof o.name === 'string' && o.name.trim() ? o.name : base.name,
    origin,
    iteration: typeof o.iteration === 'number' ? o.iteration : 0,
    lastLosses: lastLosses(o.lossHistory),
    createdAt: typeof o.createdAt === 'string' ? o.createdAt : undefined,
    updatedAt: typeof o.updatedAt === 'string' ? o.updatedAt : undefined,
    thumbnail: isFile(thumb) ? thumb : undefined,
    resumable: root.kind === 'user' && fs.existsSync(path.join(dir, TRAINING_STATE_FILE)),
    architecture:
      arch && Array.isArray(arch.filters) ? { filters: arch.filters, residualBlocks: arch.residualBlocks } : undefined,
    preset:
      typeof (o.hyperparameters as { preset?: unknown } | undefined)?.preset === 'string'
        ? (o.hyperparameters as { preset: string }).preset
        : undefined,
    error:
      version > CHECKPOINT_FORMAT_VERSION
        ? `made by a newer version of Fast Style Transfer (format ${version}); update the extension`
        : undefined,
  };
}

export class StyleStore {
  private styles: StyleSummary[] = [];
  private readonly listeners = new Set<() => void>();
  private watchers: fs.FSWatcher[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  private loading: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private roots: StyleRoot[]) {}

  /** Replaces the folders to list (settings changed) and reloads. */
  async setRoots(roots: StyleRoot[]): Promise<void> {
    this.roots = roots;
    this.watch();
    await this.refresh();
  }

  get all(): readonly StyleSummary[] {
    return this.styles;
  }

  find(id: string): StyleSummary | undefined {
    return this.styles.find((s) => s.id === id);
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Lists the folders again; resolves once a listing that began after this call is in. */
  refresh(): Promise<void> {
    if (!this.loading) {
      this.loading = this.load().finally(() => {
        this.loading = undefined;
      });
      return this.loading;
    }
    // A listing already under way may have read the folders before the caller's change (a new
    // style folder): one more listing follows it, shared by every caller that arrives meanwhile.
    this.queued ??= this.loading
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.refresh();
      });
    return this.queued;
  }

  private async load(): Promise<void> {
    const found: StyleSummary[] = [];
    for (const root of this.roots) {
      let entries: fs.Dirent[];
      try {
        entries = await fsp.readdir(root.dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        if (!e.isDirectory() || e.name.startsWith('.')) continue; // dot folders: writes in progress
        const s = await readStyleSummary(path.join(root.dir, e.name), root);
        if (s) found.push(s);
      }
    }
    const order: Record<StyleOrigin, number> = { bundled: 0, trained: 1, imported: 2 };
    found.sort((a, b) => order[a.origin] - order[b.origin] || a.name.localeCompare(b.name));
    this.styles = found;
    for (const l of this.listeners) l();
  }

  private watch(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    for (const root of this.roots) {
      try {
        fs.mkdirSync(root.dir, { recursive: true });
        // Recursive watching is not available everywhere; the root plus a debounce catches
        // folders appearing, disappearing and being renamed, which is what lists need.
        const w = fs.watch(root.dir, { persistent: false }, () => this.scheduleRefresh());
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch {
        /* a root that cannot be watched is still listed on explicit refreshes */
      }
    }
  }

  /** Coalesces bursts of file events (a checkpoint write touches several files). */
  scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.refresh(), 300);
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    for (const w of this.watchers) w.close();
    this.listeners.clear();
  }
}
