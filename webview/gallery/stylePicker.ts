// The sidebar's style chooser: one drop-down of the usable styles (the panel has the grid,
// styleGrid.ts), a button that opens the full gallery, and how to get a style when there is none.
import { action, button, clear, formatCount, h, icon } from './dom';
import { post } from './host';
import type { StyleSelection } from './selection';
import { ORIGIN_LABEL, noStylesYet } from './styleGrid';

export class StylePicker {
  /** The row with the drop-down. */
  readonly element: HTMLElement;
  /** Shown below the row while there are no styles. */
  readonly empty: HTMLElement;
  private readonly select: HTMLElement & { value: string };

  constructor(
    private readonly selection: StyleSelection,
    onSelect: (id: string) => void,
  ) {
    this.select = h('vscode-single-select', {
      id: 'style-select',
      'aria-label': 'Style',
      class: 'style-select',
    }) as HTMLElement & { value: string };
    this.select.addEventListener('change', () => onSelect(this.select.value));
    this.element = h(
      'div',
      { class: 'sidebar-top' },
      h('label', { class: 'control-label', id: 'style-select-label' }, icon('symbol-color'), 'Style'),
      this.select,
      action(button('Open Style Gallery', { icon: 'preview', secondary: true, iconOnly: true }), () =>
        post({ type: 'runCommand', command: 'openGallery' }),
      ),
    );
    this.select.setAttribute('aria-labelledby', 'style-select-label');
    this.empty = h('div', { class: 'empty empty-compact', hidden: true });
  }

  render(): void {
    const { styles, id } = this.selection;
    clear(this.select);
    for (const s of styles.filter((x) => !x.error))
      this.select.append(
        h(
          'vscode-option',
          {
            value: s.id,
            selected: s.id === id,
            description: `${ORIGIN_LABEL[s.origin]}${s.iteration ? ` · ${formatCount(s.iteration)} iterations` : ''}`,
          },
          s.name,
        ),
      );
    if (id) this.select.value = id;
    clear(this.empty);
    this.empty.hidden = styles.length > 0;
    if (styles.length === 0) this.empty.append(...noStylesYet());
  }
}
