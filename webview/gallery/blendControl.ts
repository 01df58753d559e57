// The "Blend" control of the gallery's controls panel: "Mix with" a style (or None), its share
// on a slider, more styles with "Add style", and the blend mode (mixing norm parameters is
// offered only when every chosen style has the same network shape). Holds no state: the page
// passes the blend in and gets the changed one back. Rows are rebuilt only when their styles
// change, so a slider keeps focus and pointer capture while it is dragged.
import type { BlendMode, GalleryStyle } from '../../src/protocol/gallery';
import {
  MAX_BLEND_STYLES,
  addPart,
  candidates,
  composition,
  normPossible,
  removePart,
  replacePart,
  setShare,
  type BlendState,
} from './blend';
import { button, clear, h, icon } from './dom';

const NONE = 'none';
const MODE_LABELS: Record<BlendMode, { label: string; title: string }> = {
  outputs: { label: 'Mix results', title: 'Stylize with each style and mix the pictures (any styles)' },
  norm: {
    label: 'Mix norm parameters',
    title:
      'One network in between: mixes the instance-norm parameters (styles fine-tuned from one another share their convolutions)',
  },
};

type Select = HTMLElement & { value: string };
type Radio = HTMLElement & { checked: boolean; value: string };

export class BlendControl {
  readonly element: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly bar: HTMLElement;
  private readonly rows: HTMLElement;
  /** "Mix with [None]" beside the label while nothing is mixed in (one line, like the other controls). */
  private readonly empty: HTMLElement;
  private readonly foot: HTMLElement;
  private readonly addButton: HTMLElement;
  private readonly modeGroup: HTMLElement;
  private readonly radios: Record<BlendMode, Radio>;
  private styles: readonly GalleryStyle[] = [];
  private mainId: string | undefined;
  private state: BlendState = { parts: [], mode: 'outputs' };
  private structure = '';

  constructor(private readonly onChange: (state: BlendState) => void) {
    this.summary = h('span', { class: 'control-hint blend-summary', id: 'blend-summary' });
    this.bar = h('div', { class: 'blend-bar', role: 'img' });
    this.rows = h('div', { class: 'blend-rows' });
    this.empty = h('div', { class: 'blend-empty' });
    this.addButton = h(
      'button',
      { type: 'button', class: 'link blend-add', id: 'blend-add' },
      icon('add'),
      'Add style',
    );
    this.addButton.addEventListener('click', () => this.addStyle());
    this.radios = {
      outputs: h(
        'vscode-radio',
        { name: 'blend-mode', value: 'outputs', title: MODE_LABELS.outputs.title, id: 'blend-mode-outputs' },
        MODE_LABELS.outputs.label,
      ) as Radio,
      norm: h(
        'vscode-radio',
        { name: 'blend-mode', value: 'norm', title: MODE_LABELS.norm.title, id: 'blend-mode-norm' },
        MODE_LABELS.norm.label,
      ) as Radio,
    };
    for (const r of Object.values(this.radios))
      r.addEventListener('change', () => {
        if (r.checked) this.emit({ ...this.state, mode: r.value === 'norm' ? 'norm' : 'outputs' });
      });
    this.modeGroup = h(
      'vscode-radio-group',
      { class: 'blend-mode', id: 'blend-mode', 'aria-label': 'How the styles are blended' },
      this.radios.outputs,
      this.radios.norm,
    );
    this.foot = h('div', { class: 'blend-foot' }, this.addButton, h('div', { class: 'spacer' }), this.modeGroup);
    this.element = h(
      'div',
      {
        class: 'control control-wide blend',
        id: 'blend',
        role: 'group',
        'aria-labelledby': 'blend-label',
        'aria-describedby': 'blend-summary',
      },
      h(
        'div',
        { class: 'blend-head' },
        h('span', { class: 'control-label', id: 'blend-label' }, icon('layers'), 'Blend'),
        this.summary,
        this.empty,
      ),
      this.bar,
      this.rows,
      this.foot,
    );
  }

  /** Shows `state` for the selected style `mainId`. */
  render(styles: readonly GalleryStyle[], mainId: string | undefined, state: BlendState): void {
    this.styles = styles;
    this.mainId = mainId;
    this.state = state;
    const structure = JSON.stringify([
      mainId,
      state.parts.map((p) => p.styleId),
      styles.map((s) => [s.id, s.name, !!s.error]),
    ]);
    if (structure !== this.structure) {
      this.structure = structure;
      this.buildRows();
    }
    this.updateValues();
  }

  private emit(state: BlendState): void {
    this.state = state;
    this.onChange(state);
  }

  private name(id: string | undefined): string {
    return this.styles.find((s) => s.id === id)?.name ?? '';
  }

  private buildRows(): void {
    clear(this.rows);
    clear(this.empty);
    const { parts } = this.state;
    this.rows.hidden = parts.length === 0;
    this.empty.hidden = parts.length > 0;
    if (parts.length === 0) {
      const select = this.styleSelect(-1, NONE);
      select.id = 'blend-style-0';
      select.setAttribute('aria-label', 'Mix with');
      this.empty.append(h('label', { class: 'blend-with', for: 'blend-style-0' }, 'Mix with'), select);
      return;
    }
    parts.forEach((p, i) => {
      const name = this.name(p.styleId);
      const select = this.styleSelect(i, p.styleId);
      select.id = `blend-style-${i}`;
      select.setAttribute('aria-label', `Style mixed in, ${i + 1} of ${parts.length}`);
      const range = h('input', {
        type: 'range',
        class: 'blend-share',
        id: `blend-share-${i}`,
        min: 0,
        max: 100,
        step: 1,
        value: p.pct,
        'aria-label': `Share of ${name}`,
      });
      range.addEventListener('input', () => this.emit(setShare(this.state, i, Number(range.value))));
      const value = h('output', { class: 'value', for: `blend-share-${i}`, id: `blend-value-${i}` }, `${p.pct}%`);
      const remove = button(`Remove ${name} from the blend`, {
        icon: 'close',
        secondary: true,
        iconOnly: true,
        id: `blend-remove-${i}`,
      });
      remove.classList.add('blend-remove');
      remove.addEventListener('click', () => this.emit(removePart(this.state, i)));
      this.rows.append(
        h(
          'div',
          { class: `blend-row blend-c${i + 1}`, 'data-index': i },
          h('span', { class: 'blend-swatch', 'aria-hidden': 'true' }),
          select,
          range,
          value,
          remove,
        ),
      );
    });
  }

  /** The styles part `index` may take (-1: a new part), "None" first. */
  private styleSelect(index: number, value: string): Select {
    const options = candidates(this.styles, this.state, this.mainId, index);
    const select = h(
      'vscode-single-select',
      { class: 'blend-style' },
      h(
        'vscode-option',
        {
          value: NONE,
          selected: value === NONE,
          description: index < 0 ? 'This style alone' : 'Remove from the blend',
        },
        'None',
      ),
      ...options.map((s) =>
        h(
          'vscode-option',
          {
            value: s.id,
            selected: s.id === value,
            description: s.architecture ? `network ${s.architecture}` : undefined,
          },
          s.name,
        ),
      ),
    ) as Select;
    select.addEventListener('change', () => {
      const v = select.value;
      if (index < 0) {
        if (v !== NONE) this.emitAndFocus(addPart(this.state, v), 0, 'share');
        return;
      }
      if (v === NONE) this.emit(removePart(this.state, index));
      else this.emit(replacePart(this.state, index, v));
    });
    return select;
  }

  private addStyle(): void {
    const next = candidates(this.styles, this.state, this.mainId)[0];
    if (!next) return;
    this.emitAndFocus(addPart(this.state, next.id), this.state.parts.length, 'style');
  }

  /** After a change that adds a row, keyboard focus goes to the new row (rebuilt by render()). */
  private emitAndFocus(state: BlendState, index: number, what: 'style' | 'share'): void {
    this.emit(state);
    requestAnimationFrame(() => this.rows.querySelector<HTMLElement>(`#blend-${what}-${index}`)?.focus());
  }

  private updateValues(): void {
    const { parts } = this.state;
    const parts100 = composition(this.styles, this.state, this.mainId);
    const text = parts100.map((p) => `${p.name} ${p.pct}%`).join(' · ');
    this.summary.textContent = text;
    this.summary.hidden = parts.length === 0;
    clear(this.bar);
    this.bar.hidden = parts.length === 0;
    this.bar.setAttribute('aria-label', `Blend: ${text}`);
    for (const p of parts100) {
      const seg = h('span', { class: `blend-seg blend-c${p.index + 1}`, title: `${p.name} ${p.pct}%` });
      seg.style.flexGrow = String(p.pct);
      this.bar.append(seg);
    }
    parts.forEach((p, i) => {
      const range = this.rows.querySelector<HTMLInputElement>(`#blend-share-${i}`);
      const value = this.rows.querySelector<HTMLElement>(`#blend-value-${i}`);
      if (range) {
        if (range.value !== String(p.pct)) range.value = String(p.pct);
        range.style.setProperty('--fill', `${p.pct}%`);
        range.setAttribute('aria-valuetext', `${p.pct}% ${this.name(p.styleId)}`);
      }
      if (value) value.textContent = `${p.pct}%`;
    });
    const free = candidates(this.styles, this.state, this.mainId).length;
    this.addButton.hidden = parts.length === 0 || parts.length >= MAX_BLEND_STYLES || free === 0;
    const norm = normPossible(this.styles, this.state, this.mainId);
    this.modeGroup.hidden = !norm;
    const mode: BlendMode = norm && this.state.mode === 'norm' ? 'norm' : 'outputs';
    this.radios.outputs.checked = mode === 'outputs';
    this.radios.norm.checked = mode === 'norm';
    this.foot.hidden = this.addButton.hidden && this.modeGroup.hidden;
  }
}
