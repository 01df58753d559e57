// The blend of the gallery (other styles mixed into the selected one) as plain data: shares in
// whole percent, the selected style keeping what the others leave. Pure code without the DOM,
// so the rules (shares never add up to more than 100 %, the norm mode only for styles of one
// shape, what a request carries) are unit-tested (test/unit/gallery-blend.test.ts).
import type { BlendMode, GALLERY_LIMITS, GalleryBlendPart, GalleryStyle } from '../../src/protocol/gallery';

/** The most styles mixed in (the host's validator refuses more; the type keeps both equal). */
export const MAX_BLEND_STYLES: (typeof GALLERY_LIMITS)['maxBlendStyles'] = 4;
/** A newly mixed-in style's share when it is the first one. */
export const FIRST_SHARE = 50;

export interface BlendPart {
  readonly styleId: string;
  /** Whole percent, 0..100. */
  readonly pct: number;
}

export interface BlendState {
  readonly parts: readonly BlendPart[];
  readonly mode: BlendMode;
}

export const NO_BLEND: BlendState = { parts: [], mode: 'outputs' };

const clampPct = (v: number) => Math.max(0, Math.min(100, Math.round(Number.isFinite(v) ? v : 0)));

/** What the selected style keeps. */
export function mainShare(parts: readonly BlendPart[]): number {
  return Math.max(0, 100 - parts.reduce((t, p) => t + p.pct, 0));
}

/**
 * A restored or outdated blend made valid: parts that are not usable styles, the selected style
 * itself and repeats go, at most MAX_BLEND_STYLES stay, and shares are whole percent adding up
 * to at most 100 (scaled down when they do not).
 */
export function pruneBlend(state: BlendState, mainId: string | undefined, usable: (id: string) => boolean): BlendState {
  const parts: BlendPart[] = [];
  for (const p of state.parts) {
    if (parts.length >= MAX_BLEND_STYLES) break;
    if (p.styleId === mainId || !usable(p.styleId) || parts.some((q) => q.styleId === p.styleId)) continue;
    parts.push({ styleId: p.styleId, pct: clampPct(p.pct) });
  }
  const total = parts.reduce((t, p) => t + p.pct, 0);
  const fitted = total > 100 ? fitTo(parts, 100) : parts;
  return { parts: fitted, mode: state.mode === 'norm' ? 'norm' : 'outputs' };
}

/** Scales whole-percent shares down to add up to `budget` exactly (largest remainders round up). */
function fitTo(parts: readonly BlendPart[], budget: number): BlendPart[] {
  const total = parts.reduce((t, p) => t + p.pct, 0);
  if (total <= budget) return [...parts];
  const exact = parts.map((p) => (p.pct * budget) / total);
  const floors = exact.map(Math.floor);
  let left = budget - floors.reduce((a, b) => a + b, 0);
  const order = exact.map((v, i) => [v - floors[i], i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    floors[i]++;
    left--;
  }
  return parts.map((p, i) => ({ styleId: p.styleId, pct: floors[i] }));
}

/**
 * Sets one part's share; when the shares would add up to more than 100 %, the other parts give
 * way in proportion (the selected style has nothing left then).
 */
export function setShare(state: BlendState, index: number, pct: number): BlendState {
  if (index < 0 || index >= state.parts.length) return state;
  const v = clampPct(pct);
  const others = state.parts.filter((_, i) => i !== index);
  const fitted = fitTo(others, 100 - v);
  const parts = [...fitted.slice(0, index), { styleId: state.parts[index].styleId, pct: v }, ...fitted.slice(index)];
  return { ...state, parts };
}

/** Mixes in another style: the first one at 50 %, later ones at half of what the selected style keeps (at least 10 %). */
export function addPart(state: BlendState, styleId: string): BlendState {
  if (state.parts.length >= MAX_BLEND_STYLES || state.parts.some((p) => p.styleId === styleId)) return state;
  const share = state.parts.length === 0 ? FIRST_SHARE : Math.max(10, Math.round(mainShare(state.parts) / 2));
  return setShare({ ...state, parts: [...state.parts, { styleId, pct: 0 }] }, state.parts.length, share);
}

/** Another style in the place of part `index` (its share stays). */
export function replacePart(state: BlendState, index: number, styleId: string): BlendState {
  if (index < 0 || index >= state.parts.length || state.parts.some((p, i) => i !== index && p.styleId === styleId))
    return state;
  return { ...state, parts: state.parts.map((p, i) => (i === index ? { styleId, pct: p.pct } : p)) };
}

export function removePart(state: BlendState, index: number): BlendState {
  return { ...state, parts: state.parts.filter((_, i) => i !== index) };
}

/** Styles that may be chosen for part `index` (or a new part): usable, not the selected one, not in another part. */
export function candidates(
  styles: readonly GalleryStyle[],
  state: BlendState,
  mainId: string | undefined,
  index = -1,
): GalleryStyle[] {
  return styles.filter(
    (s) => !s.error && s.id !== mainId && !state.parts.some((p, i) => i !== index && p.styleId === s.id),
  );
}

/** Mixing norm parameters needs one network shape for every style (the engine also checks that the convolutions are the same). */
export function normPossible(styles: readonly GalleryStyle[], state: BlendState, mainId: string | undefined): boolean {
  if (state.parts.length === 0) return false;
  const arch = (id: string | undefined) => styles.find((s) => s.id === id)?.architecture;
  const first = arch(mainId);
  return first !== undefined && state.parts.every((p) => arch(p.styleId) === first);
}

/** The blend fields of a 'preview' or 'save' message: nothing when no part has a share. */
export function blendRequest(
  styles: readonly GalleryStyle[],
  state: BlendState,
  mainId: string | undefined,
): { blend?: GalleryBlendPart[]; blendMode?: BlendMode } {
  const parts = state.parts.filter((p) => p.pct > 0);
  if (parts.length === 0) return {};
  const blend = parts.map((p) => ({ styleId: p.styleId, weight: p.pct / 100 }));
  return state.mode === 'norm' && normPossible(styles, state, mainId) ? { blend, blendMode: 'norm' } : { blend };
}

/** The part of the preview's identity that the blend adds ('' without one). */
export function blendKey(request: { blend?: readonly GalleryBlendPart[]; blendMode?: BlendMode }): string {
  if (!request.blend) return '';
  return [request.blendMode ?? 'outputs', ...request.blend.map((b) => `${b.styleId}=${b.weight}`)].join('|');
}

/** "Starry Night 70 % · udnie 30 %" as parts, the selected style first; parts with no share are left out. */
export function composition(
  styles: readonly GalleryStyle[],
  state: BlendState,
  mainId: string | undefined,
): { name: string; pct: number; index: number }[] {
  const name = (id: string | undefined) => styles.find((s) => s.id === id)?.name ?? '';
  return [
    { name: name(mainId), pct: mainShare(state.parts), index: -1 },
    ...state.parts.map((p, i) => ({ name: name(p.styleId), pct: p.pct, index: i })),
  ].filter((p) => p.pct > 0);
}

/** A blend restored from getState(): anything malformed becomes no blend. */
export function restoreBlend(raw: unknown): BlendState {
  if (typeof raw !== 'object' || raw === null) return NO_BLEND;
  const r = raw as { parts?: unknown; mode?: unknown };
  if (!Array.isArray(r.parts)) return NO_BLEND;
  const parts: BlendPart[] = [];
  for (const p of r.parts.slice(0, 64)) {
    if (parts.length >= MAX_BLEND_STYLES) break;
    const q = p as { styleId?: unknown; pct?: unknown } | null;
    if (q && typeof q.styleId === 'string' && typeof q.pct === 'number' && Number.isFinite(q.pct))
      parts.push({ styleId: q.styleId, pct: clampPct(q.pct) });
  }
  return { parts: fitTo(parts, 100), mode: r.mode === 'norm' ? 'norm' : 'outputs' };
}
