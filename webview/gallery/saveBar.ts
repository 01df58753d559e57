// Saving the preview: Save (beside the original, never overwriting), Save As…, Copy Path, and
// the line naming the last saved file with an Open link. The page sends the save request; this
// keeps the buttons right while one runs and remembers what was saved.
import { action, button, clear, h, icon, setDisabled } from './dom';
import { post } from './host';
import type { UiState } from './state';

export type SaveMode = 'save' | 'saveAs';

export class SaveBar {
  /** The row of buttons. */
  readonly element: HTMLElement;
  /** "✓ photo.udnie.png  Open", below the row. */
  readonly savedLine: HTMLElement;
  private readonly saveButton: HTMLElement;
  private readonly saveAsButton: HTMLElement;
  private readonly copyButton: HTMLElement;
  private ready = false;
  private saving = false;

  /** `leading`: a button at the row's start (the panel's Full Size); `compact`: Copy Path as an icon. */
  constructor(
    private readonly state: Pick<UiState, 'saved'>,
    leading: HTMLElement | undefined,
    compact: boolean,
    private readonly events: { save(mode: SaveMode): void; persist(): void },
  ) {
    this.saveButton = action(
      button('Save', {
        icon: 'save',
        id: 'save',
        title: 'Stylize the full image with these settings and save it beside the original (never overwrites)',
      }),
      () => events.save('save'),
    );
    this.saveAsButton = action(button('Save As…', { secondary: true, id: 'save-as' }), () => events.save('saveAs'));
    this.copyButton = action(
      button('Copy Path', { icon: 'copy', secondary: true, id: 'copy-path', disabled: true, iconOnly: compact }),
      () => {
        if (this.state.saved) post({ type: 'copyPath', path: this.state.saved.path });
      },
    );
    this.savedLine = h('div', { class: 'saved', hidden: true, id: 'saved' });
    this.element = h(
      'div',
      { class: 'actions' },
      leading ?? null,
      h('div', { class: 'spacer' }),
      this.copyButton,
      this.saveAsButton,
      this.saveButton,
    );
  }

  get busy(): boolean {
    return this.saving;
  }

  /** Whether there is something to save (an image and a usable style). */
  setReady(ready: boolean): void {
    this.ready = ready;
    this.renderButtons();
  }

  setSaving(saving: boolean): void {
    this.saving = saving;
    this.renderButtons();
  }

  /** The file just saved, or undefined when the image or style changed since. */
  setSaved(saved: UiState['saved']): void {
    this.state.saved = saved;
    this.events.persist();
    this.render();
  }

  /** Shows the saved line as the state says. */
  render(): void {
    clear(this.savedLine);
    const s = this.state.saved;
    this.savedLine.hidden = !s;
    setDisabled(this.copyButton, !s);
    if (!s) return;
    const open = h('button', { type: 'button', class: 'link' }, 'Open');
    open.addEventListener('click', () => post({ type: 'openResult', path: s.path }));
    this.savedLine.append(icon('pass-filled'), h('span', { class: 'saved-path', title: s.path }, s.displayPath), open);
  }

  private renderButtons(): void {
    setDisabled(this.saveButton, !this.ready || this.saving);
    setDisabled(this.saveAsButton, !this.ready || this.saving);
    setDisabled(this.copyButton, !this.state.saved);
  }
}
