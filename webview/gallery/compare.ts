// The before/after comparison: the original below, the stylized image on top clipped at a
// movable divider. Drag anywhere on the image, or focus the handle (a slider for assistive
// technology) and use ←/→ (Shift: larger steps), Home/End, PageUp/PageDown.
import { h, icon } from './dom';

export class CompareView {
  readonly element: HTMLElement;
  readonly before: HTMLImageElement;
  readonly after: HTMLImageElement;
  private readonly divider: HTMLElement;
  private readonly handle: HTMLElement;
  private readonly overlay: HTMLElement;
  private readonly overlayText: HTMLElement;
  private position = 50;

  constructor(private readonly onMove: (position: number) => void) {
    this.before = h('img', { class: 'compare-img compare-before', alt: 'Original image', draggable: 'false' });
    this.after = h('img', {
      id: 'preview-img',
      class: 'compare-img compare-after',
      alt: 'Stylized preview',
      draggable: 'false',
    });
    this.handle = h(
      'div',
      {
        class: 'compare-handle',
        role: 'slider',
        tabindex: 0,
        'aria-label': 'Comparison divider: original on the left, stylized on the right',
        'aria-valuemin': 0,
        'aria-valuemax': 100,
        'aria-valuenow': 50,
        'aria-valuetext': '50% original',
      },
      icon('arrow-both'),
    );
    this.divider = h('div', { class: 'compare-divider', 'aria-hidden': 'false' }, this.handle);
    this.overlayText = h('span', { class: 'compare-overlay-text' });
    this.overlay = h(
      'div',
      { class: 'compare-overlay', hidden: true },
      h('vscode-progress-ring', { 'aria-label': 'Stylizing' }),
      this.overlayText,
    );
    this.element = h(
      'div',
      { class: 'compare', role: 'group', 'aria-label': 'Before and after comparison' },
      this.before,
      this.after,
      this.divider,
      h('span', { class: 'compare-tag compare-tag-before', 'aria-hidden': 'true' }, 'Original'),
      h('span', { class: 'compare-tag compare-tag-after', 'aria-hidden': 'true' }, 'Stylized'),
      this.overlay,
    );

    this.element.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      this.element.setPointerCapture(e.pointerId);
      this.element.classList.add('dragging');
      this.fromPointer(e);
      this.handle.focus({ preventScroll: true });
    });
    this.element.addEventListener('pointermove', (e) => {
      if (this.element.hasPointerCapture(e.pointerId)) this.fromPointer(e);
    });
    const end = (e: PointerEvent) => {
      if (this.element.hasPointerCapture(e.pointerId)) this.element.releasePointerCapture(e.pointerId);
      this.element.classList.remove('dragging');
    };
    this.element.addEventListener('pointerup', end);
    this.element.addEventListener('pointercancel', end);
    this.handle.addEventListener('keydown', (e) => {
      const step = e.shiftKey ? 10 : 2;
      const next: Record<string, number> = {
        ArrowLeft: this.position - step,
        ArrowDown: this.position - step,
        ArrowRight: this.position + step,
        ArrowUp: this.position + step,
        PageDown: this.position - 25,
        PageUp: this.position + 25,
        Home: 0,
        End: 100,
      };
      if (!(e.key in next)) return;
      e.preventDefault();
      this.setPosition(next[e.key], true);
    });
  }

  private fromPointer(e: PointerEvent): void {
    const r = this.element.getBoundingClientRect();
    if (r.width > 0) this.setPosition(((e.clientX - r.left) / r.width) * 100, true);
  }

  setPosition(p: number, notify = false): void {
    this.position = Math.round(Math.min(100, Math.max(0, p)) * 10) / 10;
    // CSSOM, not style attributes: allowed by the CSP.
    this.after.style.clipPath = `inset(0 0 0 ${this.position}%)`;
    this.divider.style.left = `${this.position}%`;
    this.handle.setAttribute('aria-valuenow', String(Math.round(this.position)));
    this.handle.setAttribute('aria-valuetext', `${Math.round(this.position)}% original`);
    if (notify) this.onMove(this.position);
  }

  /** Sets the box to the image's aspect ratio so both layers align pixel for pixel. */
  setAspect(width: number, height: number): void {
    if (width > 0 && height > 0) this.element.style.setProperty('--ratio', `${width / height}`);
  }

  busy(text: string | undefined): void {
    this.overlay.hidden = text === undefined;
    this.overlayText.textContent = text ?? '';
    this.element.classList.toggle('is-busy', text !== undefined);
    this.element.setAttribute('aria-busy', String(text !== undefined));
  }
}
