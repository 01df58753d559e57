// Which style is selected and which styles are mixed into it (blend.ts), over the styles the
// host last listed. Plain data without the DOM, shared by the page's components: the style
// grid marks it, the preview pane requests and saves it, the blend control edits it.
import type { GalleryStyle } from '../../src/protocol/gallery';
import { blendRequest, composition, pruneBlend, type BlendPart, type BlendState } from './blend';
import type { UiState } from './state';

export class StyleSelection {
  private list: readonly GalleryStyle[] = [];

  /** `blendable`: whether this layout mixes styles at all (the sidebar has no blend control). */
  constructor(
    private readonly state: Pick<UiState, 'styleId' | 'blend'>,
    readonly blendable: boolean,
  ) {}

  get styles(): readonly GalleryStyle[] {
    return this.list;
  }
  set styles(styles: readonly GalleryStyle[]) {
    this.list = [...styles];
  }
  get id(): string | undefined {
    return this.state.styleId;
  }
  get blend(): BlendState {
    return this.state.blend;
  }

  /** The style `id` if the host listed it and it can stylize. */
  usable(id: string | undefined): GalleryStyle | undefined {
    const s = id ? this.list.find((x) => x.id === id) : undefined;
    return s && !s.error ? s : undefined;
  }

  get selected(): GalleryStyle | undefined {
    return this.usable(this.state.styleId);
  }

  /** Keeps a usable selection: else the first usable style not training, else any usable one. False when it was fine. */
  ensure(): boolean {
    if (this.selected) return false;
    this.state.styleId = this.list.find((s) => !s.error && !s.training)?.id ?? this.list.find((s) => !s.error)?.id;
    return true;
  }

  /** Selects `id` when it is usable and new; false otherwise. */
  select(id: string): boolean {
    if (!this.usable(id) || id === this.state.styleId) return false;
    this.state.styleId = id;
    return true;
  }

  /** Sets the selection as given (the host named it), usable or not. */
  focus(id: string): void {
    this.state.styleId = id;
  }

  setBlend(blend: BlendState): void {
    this.state.blend = blend;
  }

  /** Drops blend parts that are no longer usable (or became the selected style); true when it changed. */
  pruneBlend(): boolean {
    const pruned = pruneBlend(this.state.blend, this.state.styleId, (id) => !!this.usable(id));
    if (JSON.stringify(pruned) === JSON.stringify(this.state.blend)) return false;
    this.state.blend = pruned;
    return true;
  }

  /** The blend fields of preview and save messages (none where this layout does not blend). */
  blendFields(): ReturnType<typeof blendRequest> {
    return this.blendable ? blendRequest(this.list, this.state.blend, this.state.styleId) : {};
  }

  /** The styles mixed in, in blend order (none without a blend). */
  mixedIn(): { name: string; pct: number; index: number }[] {
    return this.blendFields().blend
      ? composition(this.list, this.state.blend, this.state.styleId).filter((p) => p.index >= 0)
      : [];
  }

  /** "Starry Night 70% + udnie 30%", or the style's name alone. */
  label(): string {
    if (!this.blendFields().blend) return this.selected?.name ?? '';
    return composition(this.list, this.state.blend, this.state.styleId)
      .map((p) => `${p.name} ${p.pct}%`)
      .join(' + ');
  }

  /** Style `id`'s part in the blend and its place (for the badge on its card). */
  mixPart(id: string | undefined): { part: BlendPart; index: number } | undefined {
    const part = this.blendable ? this.state.blend.parts.find((p) => p.styleId === id) : undefined;
    return part ? { part, index: this.state.blend.parts.indexOf(part) } : undefined;
  }
}
