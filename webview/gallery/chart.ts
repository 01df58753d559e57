// The training loss chart: four series (total, content, style, total variation) on a
// logarithmic y axis, drawn on a <canvas> in the theme's chart colours, with an HTML legend
// whose entries toggle series (buttons, so they are keyboard reachable) and a read-out of
// the values under the pointer.
import { formatCount, formatLoss, h } from './dom';

export interface LossPoint {
  readonly iteration: number;
  readonly total: number;
  readonly content: number;
  readonly style: number;
  readonly tv: number;
}

type SeriesKey = 'total' | 'content' | 'style' | 'tv';
const SERIES: readonly { key: SeriesKey; label: string; colorVar: string; fallback: string }[] = [
  { key: 'total', label: 'Total', colorVar: '--vscode-charts-blue', fallback: '#3794ff' },
  { key: 'content', label: 'Content', colorVar: '--vscode-charts-green', fallback: '#89d185' },
  { key: 'style', label: 'Style', colorVar: '--vscode-charts-orange', fallback: '#d18616' },
  { key: 'tv', label: 'Total variation', colorVar: '--vscode-charts-purple', fallback: '#b180d7' },
];

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

/** "Nice" tick values for a log axis between lo and hi (both > 0). */
export function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo)),
    b = Math.ceil(Math.log10(hi));
  const decades = b - a;
  const steps = decades <= 1 ? [1, 2, 5] : decades <= 3 ? [1, 3] : [1];
  const out: number[] = [];
  const stride = Math.max(1, Math.ceil(decades / 6));
  for (let e = a; e <= b; e += stride)
    for (const s of steps) {
      const v = s * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  return out;
}

const SUPERSCRIPT = '⁰¹²³⁴⁵⁶⁷⁸⁹';

/** Axis labels for a log scale: 0.01 … 1000 as numbers, beyond that 10⁶ or 2·10⁶. */
export function formatTick(v: number): string {
  const e = Math.floor(Math.log10(v) + 1e-9);
  if (e >= -2 && e <= 3) return String(Number(v.toPrecision(2)));
  const m = Math.round(v / 10 ** e);
  const sup = (e < 0 ? '⁻' : '') + [...String(Math.abs(e))].map((d) => SUPERSCRIPT[Number(d)]).join('');
  return `${m === 1 ? '' : `${m}·`}10${sup}`;
}

export class LossChart {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly readout: HTMLElement;
  private readonly hidden = new Set<SeriesKey>();
  private points: readonly LossPoint[] = [];
  private hoverX: number | undefined;
  private readonly observer: ResizeObserver;

  constructor(private readonly opts: { compact?: boolean } = {}) {
    this.canvas = h('canvas', {
      class: 'chart-canvas',
      role: 'img',
      'aria-label': 'Training losses by iteration (logarithmic scale)',
    });
    this.readout = h('div', { class: 'chart-readout', 'aria-live': 'off' });
    const legend = h('div', { class: 'chart-legend', role: 'group', 'aria-label': 'Series' });
    for (const s of SERIES) {
      const swatch = h('span', { class: `swatch swatch-${s.key}`, 'aria-hidden': 'true' });
      const b = h(
        'button',
        {
          class: 'legend-item',
          type: 'button',
          'aria-pressed': 'true',
          title: `Show or hide the ${s.label.toLowerCase()} loss`,
        },
        swatch,
        s.label,
      );
      b.addEventListener('click', () => {
        if (this.hidden.has(s.key)) this.hidden.delete(s.key);
        else this.hidden.add(s.key);
        b.setAttribute('aria-pressed', String(!this.hidden.has(s.key)));
        this.draw();
      });
      legend.append(b);
    }
    this.element = h(
      'div',
      { class: `chart${opts.compact ? ' chart-compact' : ''}` },
      this.canvas,
      opts.compact ? null : legend,
      opts.compact ? null : this.readout,
    );
    this.canvas.addEventListener('pointermove', (e) => {
      this.hoverX = e.offsetX;
      this.draw();
    });
    this.canvas.addEventListener('pointerleave', () => {
      this.hoverX = undefined;
      this.draw();
    });
    this.observer = new ResizeObserver(() => this.draw());
    this.observer.observe(this.canvas);
  }

  setData(points: readonly LossPoint[]): void {
    this.points = points;
    this.draw();
  }

  draw(): void {
    const c = this.canvas;
    const cssW = c.clientWidth,
      cssH = c.clientHeight;
    if (cssW === 0 || cssH === 0) return;
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(cssW * dpr) || c.height !== Math.round(cssH * dpr)) {
      c.width = Math.round(cssW * dpr);
      c.height = Math.round(cssH * dpr);
    }
    const g = c.getContext('2d');
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, cssW, cssH);
    const fg = cssVar('--vscode-charts-foreground', cssVar('--vscode-foreground', '#ccc'));
    const grid = cssVar('--vscode-charts-lines', 'rgba(128,128,128,0.35)');
    const font = cssVar('--vscode-font-family', 'sans-serif');
    const compact = this.opts.compact === true;
    const pad = compact ? { l: 6, r: 6, t: 6, b: 6 } : { l: 52, r: 14, t: 10, b: 30 };
    const w = cssW - pad.l - pad.r,
      hgt = cssH - pad.t - pad.b;
    const visible = SERIES.filter((s) => !this.hidden.has(s.key));
    const pts = this.points;
    g.font = `11px ${font}`;
    g.fillStyle = fg;
    if (pts.length < 2 || visible.length === 0) {
      g.globalAlpha = 0.7;
      g.textAlign = 'center';
      g.fillText(pts.length < 2 ? 'Waiting for the first iterations…' : 'All series hidden', cssW / 2, cssH / 2);
      g.globalAlpha = 1;
      this.readout.textContent = '';
      return;
    }
    let lo = Infinity,
      hi = -Infinity;
    for (const p of pts)
      for (const s of visible) {
        const v = p[s.key];
        if (v > 0 && Number.isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    if (!(lo < Infinity)) return;
    if (hi / lo < 10) {
      const mid = Math.sqrt(hi * lo);
      lo = mid / 4;
      hi = mid * 4;
    }
    const ly0 = Math.log10(lo),
      ly1 = Math.log10(hi);
    const x0 = pts[0].iteration,
      x1 = pts[pts.length - 1].iteration;
    const X = (it: number) => pad.l + (x1 === x0 ? w / 2 : ((it - x0) / (x1 - x0)) * w);
    const Y = (v: number) => pad.t + hgt - ((Math.log10(v) - ly0) / (ly1 - ly0)) * hgt;

    if (!compact) {
      g.strokeStyle = grid;
      g.lineWidth = 1;
      g.textAlign = 'right';
      g.textBaseline = 'middle';
      for (const t of logTicks(lo, hi)) {
        const y = Math.round(Y(t)) + 0.5;
        g.beginPath();
        g.moveTo(pad.l, y);
        g.lineTo(pad.l + w, y);
        g.stroke();
        g.fillText(formatTick(t), pad.l - 8, y);
      }
      g.textAlign = 'center';
      g.textBaseline = 'top';
      const xTicks = 5;
      for (let i = 0; i <= xTicks; i++) {
        const it = x0 + ((x1 - x0) * i) / xTicks;
        g.fillText(formatCount(it), X(it), pad.t + hgt + 8);
      }
    }
    for (const s of visible) {
      g.strokeStyle = cssVar(s.colorVar, s.fallback);
      g.lineWidth = s.key === 'total' ? 2 : 1.5;
      g.lineJoin = 'round';
      g.beginPath();
      let started = false;
      for (const p of pts) {
        const v = p[s.key];
        if (!(v > 0) || !Number.isFinite(v)) {
          started = false;
          continue;
        }
        const x = X(p.iteration),
          y = Y(v);
        if (started) g.lineTo(x, y);
        else {
          g.moveTo(x, y);
          started = true;
        }
      }
      g.stroke();
    }
    if (!compact && this.hoverX !== undefined && this.hoverX >= pad.l && this.hoverX <= pad.l + w) {
      const target = x0 + ((this.hoverX - pad.l) / w) * (x1 - x0);
      let best = pts[0];
      for (const p of pts) if (Math.abs(p.iteration - target) < Math.abs(best.iteration - target)) best = p;
      const x = Math.round(X(best.iteration)) + 0.5;
      g.strokeStyle = fg;
      g.globalAlpha = 0.5;
      g.beginPath();
      g.moveTo(x, pad.t);
      g.lineTo(x, pad.t + hgt);
      g.stroke();
      g.globalAlpha = 1;
      this.readout.textContent = `Iteration ${formatCount(best.iteration)} · ${SERIES.map((s) => `${s.label.toLowerCase()} ${formatLoss(best[s.key])}`).join(' · ')}`;
    } else if (!compact) {
      const last = pts[pts.length - 1];
      this.readout.textContent = `Latest (iteration ${formatCount(last.iteration)}): ${SERIES.map((s) => `${s.label.toLowerCase()} ${formatLoss(last[s.key])}`).join(' · ')}`;
    }
  }
}
