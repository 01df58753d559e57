// The styles of a preview or save request, looked up in the store: the webview names styles by
// id, and only styles the store lists and can use are accepted. A blend (other styles mixed into
// the selected one) is passed unchanged to the engine's jobs, selected style first, so a saved
// file is the preview at full size and is named like the engine names blends
// (photo.<A>-70+<B>-30.png).
import type { BlendMode, GalleryBlendPart } from '../../protocol/gallery';
import type { StylizeOptions } from '../../protocol/jobs';
import type { StyleSummary } from '../../protocol/styles';

/** A message's blend with its styles found in the store. */
export interface ResolvedBlend {
  /** What the engine's jobs get: nothing without a blend, else every part, the selected style first. */
  readonly options: Pick<StylizeOptions, 'blend' | 'blendMode'>;
  /** Identity of the blend for the preview cache ('' without one). */
  readonly key: string;
  /** "Starry Night 70% + udnie 30%" (the style's name without a blend). */
  readonly label: string;
  /** The style part of output names, as the engine's blendName() makes it: "Starry Night-70+udnie-30". */
  readonly outputName: string;
}

export type StyleLookup = (id: string) => StyleSummary | undefined;

/** The style `id` if the store lists it and it can stylize. */
export function usableStyle(find: StyleLookup, id: string): StyleSummary | undefined {
  const s = find(id);
  return s && !s.error ? s : undefined;
}

/**
 * The blend of a preview or save (an Error names a style the store does not list or cannot
 * use). Parts of weight 0 are left out; none left is no blend.
 */
export function resolveBlend(
  find: StyleLookup,
  main: StyleSummary,
  blend: readonly GalleryBlendPart[] | undefined,
  mode: BlendMode | undefined,
): ResolvedBlend | Error {
  const parts: { style: StyleSummary; weight: number }[] = [];
  for (const b of blend ?? []) {
    const style = usableStyle(find, b.styleId);
    if (!style) return new Error(`unknown blend style ${b.styleId.slice(0, 200)}`);
    if (b.weight > 0) parts.push({ style, weight: b.weight });
  }
  if (parts.length === 0) return { options: {}, key: '', label: main.name, outputName: main.name };
  const all = [{ style: main, weight: Math.max(0, 1 - parts.reduce((t, p) => t + p.weight, 0)) }, ...parts];
  const blendMode = mode ?? 'outputs';
  const pct = (w: number) => Math.round(w * 100);
  const used = all.filter((p) => p.weight > 0);
  return {
    options: { blend: all.map((p) => ({ style: p.style.id, weight: p.weight })), blendMode },
    key: [
      blendMode,
      ...all.map((p) => `${p.style.id}@${p.style.updatedAt ?? ''}:${p.style.iteration}=${p.weight}`),
    ].join('|'),
    label: used.map((p) => `${p.style.name} ${pct(p.weight)}%`).join(' + '),
    outputName: used.length === 1 ? used[0].style.name : used.map((p) => `${p.style.name}-${pct(p.weight)}`).join('+'),
  };
}

/** What a preview or save request names, found: its image, its style and its blend. */
export interface ResolvedRequest<I> {
  readonly img: I;
  readonly style: StyleSummary;
  readonly blend: ResolvedBlend;
}

/** Why a request names nothing usable: a line for the log, a sentence for the user. */
export interface Unresolved {
  readonly reason: string;
  readonly message: string;
}

/** Looks up the image token, the style and the blend of a preview or save request. */
export function resolveRequest<I>(
  m: {
    readonly imageToken: string;
    readonly styleId: string;
    readonly blend?: readonly GalleryBlendPart[];
    readonly blendMode?: BlendMode;
  },
  image: (token: string) => I | undefined,
  find: StyleLookup,
): ResolvedRequest<I> | Unresolved {
  const img = image(m.imageToken);
  const style = usableStyle(find, m.styleId);
  if (!img)
    return {
      reason: `unknown image token ${m.imageToken}`,
      message: 'The image is no longer available; choose it again.',
    };
  if (!style)
    return { reason: `unknown style ${m.styleId.slice(0, 200)}`, message: 'This style is no longer available.' };
  const blend = resolveBlend(find, style, m.blend, m.blendMode);
  if (blend instanceof Error) return { reason: blend.message, message: 'A style in the blend is no longer available.' };
  return { img, style, blend };
}
