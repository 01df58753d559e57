// The panel's style grid: search and origin filter, one card a style (the sample photo in its
// style, the style image, origin, iterations, a badge while it trains or when it is mixed into
// the selected style), and the empty states. A radio group: arrow keys move focus and selection
// together. Reads the selection (selection.ts) and asks the page to change it through onSelect.
import type { GalleryStyle } from '../../src/protocol/gallery';
import type { EncodedImage } from '../../src/protocol/jobs';
import type { StyleOrigin } from '../../src/protocol/styles';
import { action, blobUrl, button, clear, formatCount, formatLoss, h, icon } from './dom';
import { post } from './host';
import type { StyleSelection } from './selection';
import type { Filter, UiState } from './state';

export const ORIGIN_LABEL: Record<StyleOrigin, string> = {
  bundled: 'Bundled',
  trained: 'Trained',
  imported: 'Imported',
};
const ORIGIN_ICON: Record<StyleOrigin, string> = { bundled: 'package', trained: 'beaker', imported: 'cloud-download' };

/** What both layouts show when there is no style at all: how to get one. */
export function noStylesYet(): HTMLElement[] {
  return [
    h('div', { class: 'empty-art', 'aria-hidden': 'true' }, icon('symbol-color')),
    h('h3', {}, 'No styles yet'),
    h('p', {}, 'Train a style from any painting, import a model you already have, or download a pretrained one.'),
    h(
      'div',
      { class: 'empty-actions' },
      action(button('Train a Style…', { icon: 'beaker' }), () => post({ type: 'runCommand', command: 'train' })),
      action(button('Import Style…', { icon: 'folder-opened', secondary: true }), () =>
        post({ type: 'runCommand', command: 'importStyle' }),
      ),
      action(button('Download Pretrained…', { icon: 'cloud-download', secondary: true }), () =>
        post({ type: 'runCommand', command: 'downloadPretrained' }),
      ),
    ),
  ];
}

export interface StyleGridEvents {
  /** A card was chosen (click, Enter/Space, arrow keys). */
  select(id: string): void;
  /** The search or the filter changed. */
  persist(): void;
}

export class StyleGrid {
  readonly element: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly more: HTMLElement;
  private readonly count: HTMLElement;
  private readonly searchField: HTMLElement & { value: string };
  private readonly filterSelect: HTMLElement & { value: string };
  /** Object URLs of each style's card images, kept while the page lives. */
  private readonly media = new Map<string, { thumb?: string; sample?: string }>();

  constructor(
    private readonly state: Pick<UiState, 'search' | 'filter'>,
    private readonly selection: StyleSelection,
    private readonly events: StyleGridEvents,
  ) {
    this.searchField = h(
      'vscode-textfield',
      { id: 'search', placeholder: 'Search styles', 'aria-label': 'Search styles', value: state.search },
      h('vscode-icon', { slot: 'content-before', name: 'search', 'aria-hidden': 'true' }),
    ) as HTMLElement & { value: string };
    this.searchField.addEventListener('input', () => {
      state.search = this.searchField.value;
      events.persist();
      this.render();
    });
    this.filterSelect = h(
      'vscode-single-select',
      { id: 'filter', 'aria-label': 'Show styles of origin', class: 'filter' },
      ...(['all', 'bundled', 'trained', 'imported'] as const).map((f) =>
        h('vscode-option', { value: f, selected: state.filter === f }, f === 'all' ? 'All origins' : ORIGIN_LABEL[f]),
      ),
    ) as HTMLElement & { value: string };
    this.filterSelect.addEventListener('change', () => {
      state.filter = this.filterSelect.value as Filter;
      events.persist();
      this.render();
    });
    this.count = h('vscode-badge', { variant: 'counter', class: 'count' }, '0');
    this.grid = h('div', { id: 'grid', class: 'grid', role: 'radiogroup', 'aria-label': 'Styles' });
    this.grid.addEventListener('keydown', (e) => this.onKey(e));
    this.empty = h('div', { class: 'empty', hidden: true });
    const link = (label: string, command: 'train' | 'importStyle' | 'downloadPretrained') =>
      action(h('button', { type: 'button', class: 'link' }, label), () => post({ type: 'runCommand', command }));
    this.more = h(
      'div',
      { class: 'more-styles' },
      icon('add'),
      link('Train a Style…', 'train'),
      h('span', { 'aria-hidden': 'true' }, '·'),
      link('Import…', 'importStyle'),
      h('span', { 'aria-hidden': 'true' }, '·'),
      link('Download Pretrained…', 'downloadPretrained'),
    );
    this.element = h(
      'section',
      { class: 'pane styles-pane', 'aria-labelledby': 'styles-heading' },
      h('div', { class: 'pane-header' }, h('h2', { id: 'styles-heading' }, 'Styles'), this.count),
      h('div', { class: 'pane-toolbar' }, this.searchField, this.filterSelect),
      this.grid,
      this.empty,
      this.more,
    );
  }

  /** Rebuilds the cards (the styles, the search or the filter changed). */
  render(): void {
    const styles = this.selection.styles;
    const visible = this.visibleStyles();
    this.count.textContent = String(styles.length);
    clear(this.grid);
    for (const s of visible) this.grid.append(this.card(s));
    this.grid.hidden = visible.length === 0;
    this.renderEmpty(visible.length);
    this.more.hidden = styles.length === 0;
    this.renderSelection();
  }

  renderSelection(): void {
    const cards = this.cards();
    let focusable: HTMLElement | undefined;
    for (const c of cards) {
      const on = c.dataset.styleId === this.selection.id;
      c.classList.toggle('selected', on);
      c.setAttribute('aria-checked', String(on));
      c.tabIndex = -1;
      if (on) focusable = c;
    }
    (focusable ?? cards[0])?.setAttribute('tabindex', '0');
  }

  /** The badges of styles mixed into the selected one. */
  renderMix(): void {
    for (const c of this.cards()) this.renderMixBadge(c);
  }

  /** The host sent a style's card images (either may be missing). */
  setImages(styleId: string, thumbnail: EncodedImage | undefined, sample: EncodedImage | undefined): void {
    const entry = this.media.get(styleId) ?? {};
    if (thumbnail) {
      if (entry.thumb) URL.revokeObjectURL(entry.thumb);
      entry.thumb = blobUrl(thumbnail);
    }
    if (sample) {
      if (entry.sample) URL.revokeObjectURL(entry.sample);
      entry.sample = blobUrl(sample);
    }
    this.media.set(styleId, entry);
    const media = this.cardOf(styleId)?.querySelector<HTMLElement>('.card-media');
    const style = this.selection.styles.find((x) => x.id === styleId);
    if (media && style) this.fillMedia(media, style);
  }

  reveal(id: string): void {
    this.cardOf(id)?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  private visibleStyles(): GalleryStyle[] {
    const q = this.state.search.trim().toLowerCase();
    return this.selection.styles.filter(
      (s) =>
        (this.state.filter === 'all' || s.origin === this.state.filter) &&
        (!q || s.name.toLowerCase().includes(q) || s.origin.includes(q) || (s.preset ?? '').toLowerCase().includes(q)),
    );
  }

  private renderEmpty(visibleCount: number): void {
    clear(this.empty);
    this.empty.hidden = visibleCount > 0;
    if (this.empty.hidden) return;
    if (this.selection.styles.length === 0) {
      this.empty.append(...noStylesYet());
      return;
    }
    this.empty.append(
      h('div', { class: 'empty-art', 'aria-hidden': 'true' }, icon('search')),
      h('h3', {}, 'No matching styles'),
      h('p', {}, this.state.search ? `Nothing matches “${this.state.search}”.` : 'No style has this origin.'),
      h(
        'div',
        { class: 'empty-actions' },
        action(button('Clear Filters', { icon: 'clear-all', secondary: true }), () => {
          this.state.search = '';
          this.state.filter = 'all';
          this.searchField.value = '';
          this.filterSelect.value = 'all';
          this.events.persist();
          this.render();
        }),
      ),
    );
  }

  private card(s: GalleryStyle): HTMLElement {
    const selected = s.id === this.selection.id;
    const meta = [ORIGIN_LABEL[s.origin], s.iteration ? `${formatCount(s.iteration)} it` : '']
      .filter(Boolean)
      .join(' · ');
    const detail = [
      meta,
      s.preset ? `${s.preset} preset` : '',
      s.lastLoss !== undefined ? `loss ${formatLoss(s.lastLoss)}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const media = h('div', { class: 'card-media' });
    const card = h(
      'div',
      {
        class: `card${selected ? ' selected' : ''}${s.error ? ' unusable' : ''}`,
        role: 'radio',
        'aria-checked': String(selected),
        'aria-disabled': s.error ? 'true' : undefined,
        tabindex: -1,
        'data-style-id': s.id,
        'aria-label': `${s.name}, ${detail}${s.error ? `, unusable: ${s.error}` : ''}`,
        title: s.error ?? `${s.name} — ${detail}`,
      },
      media,
      h(
        'div',
        { class: 'card-body' },
        h('div', { class: 'card-title' }, s.name),
        h('div', { class: 'card-meta' }, icon(ORIGIN_ICON[s.origin]), h('span', {}, meta)),
        s.error ? h('div', { class: 'card-error' }, icon('warning'), s.error) : null,
      ),
      h('span', { class: 'card-check', 'aria-hidden': 'true' }, icon('check')),
      s.training ? h('span', { class: 'card-badge' }, icon('loading', 'codicon-modifier-spin'), 'Training') : null,
    );
    this.renderMixBadge(card);
    card.addEventListener('click', () => {
      if (!s.error) this.events.select(s.id);
      card.focus();
    });
    this.fillMedia(media, s);
    return card;
  }

  private fillMedia(media: HTMLElement, s: GalleryStyle): void {
    clear(media);
    const imgs = this.media.get(s.id);
    if (imgs?.sample) media.append(h('img', { class: 'card-sample', src: imgs.sample, alt: '' }));
    else
      media.append(
        h('div', { class: 'card-placeholder' }, imgs ? icon('symbol-color') : icon('loading', 'codicon-modifier-spin')),
      );
    if (imgs?.thumb)
      media.append(
        h('img', { class: 'card-thumb', src: imgs.thumb, alt: `Style image of ${s.name}`, title: 'The style image' }),
      );
  }

  /** A badge on the card of a style mixed into the selected one: its share. */
  private renderMixBadge(card: HTMLElement): void {
    card.querySelector('.card-mix')?.remove();
    const mix = this.selection.mixPart(card.dataset.styleId);
    card.classList.toggle('mixed', !!mix);
    if (mix)
      card.append(
        h(
          'span',
          { class: `card-mix blend-c${mix.index + 1}`, title: `Mixed into the selected style at ${mix.part.pct}%` },
          h('span', { class: 'blend-swatch', 'aria-hidden': 'true' }),
          `${mix.part.pct}%`,
        ),
      );
  }

  private cards(): HTMLElement[] {
    return [...this.grid.querySelectorAll<HTMLElement>('.card')];
  }

  private cardOf(id: string): HTMLElement | null {
    return this.grid.querySelector<HTMLElement>(`.card[data-style-id="${CSS.escape(id)}"]`);
  }

  /** Arrow keys move between cards (a radio group: focus and selection move together), Enter/Space select. */
  private onKey(e: KeyboardEvent): void {
    const cards = this.cards();
    const i = cards.indexOf(document.activeElement as HTMLElement);
    if (i < 0) return;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      const id = cards[i].dataset.styleId;
      if (id) this.events.select(id);
      return;
    }
    const top = cards[i].offsetTop;
    const perRow = Math.max(1, cards.filter((c) => c.offsetTop === top).length);
    const moves: Record<string, number> = {
      ArrowRight: i + 1,
      ArrowLeft: i - 1,
      ArrowDown: i + perRow,
      ArrowUp: i - perRow,
      Home: 0,
      End: cards.length - 1,
    };
    if (!(e.key in moves)) return;
    e.preventDefault();
    const next = cards[Math.min(cards.length - 1, Math.max(0, moves[e.key]))];
    for (const c of cards) c.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
    const id = next.dataset.styleId;
    if (id && this.selection.usable(id)) this.events.select(id);
  }
}
