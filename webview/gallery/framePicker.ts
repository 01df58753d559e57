// The frame picker of a clip (a video or an animated GIF / WebP / PNG): a slider over its frames
// with the time shown, so one frame is previewed with the current style and settings before the
// whole clip is stylized. The host says what the image is ('clip'); where ffmpeg is missing
// this shows that in one line with Set Up Video Support…. Owns its slice of the stored state
// (`frame`: which frame of which clip).
import type { GalleryClip, HostToWebview } from '../../src/protocol/gallery';
import { action, button, h, icon } from './dom';
import { post } from './host';
import type { UiState } from './state';

type ClipInfoMessage = Extract<HostToWebview, { type: 'clip' }>;

export interface FramePickerEvents {
  /** Another frame was picked, or the host said what the image is (`answered`: preview at once). */
  changed(answered: boolean): void;
  persist(): void;
}

/** "1:02.50" from seconds. */
export function formatClipTime(seconds: number): string {
  const s = Math.max(0, seconds);
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(2).padStart(5, '0')}`;
}

export class FramePicker {
  readonly element: HTMLElement;
  private readonly slider: HTMLInputElement;
  private readonly timeLabel: HTMLElement;
  private readonly picker: HTMLElement;
  private readonly unavailable: HTMLElement;
  private readonly unavailableText: HTMLElement;
  private readonly setUpButton: HTMLElement;
  /** The image shown, and what the host said of it. */
  private token: string | undefined;
  private clip: GalleryClip | undefined;
  private blocked = false;
  /** The host is asking what the image is (GalleryImage.clipPending) and has not said yet. */
  private waiting = false;

  constructor(
    private readonly state: Pick<UiState, 'frame'>,
    private readonly events: FramePickerEvents,
  ) {
    this.slider = h('input', {
      type: 'range',
      id: 'frame-picker',
      min: 0,
      max: 0,
      step: 1,
      value: 0,
      'aria-label': 'Frame to preview',
    });
    this.timeLabel = h('output', { class: 'value frame-time', for: 'frame-picker', id: 'frame-time' });
    this.slider.addEventListener('input', () => {
      if (!this.token) return;
      this.state.frame = { token: this.token, index: Number(this.slider.value) };
      this.render();
      this.events.persist();
      this.events.changed(false);
    });
    this.picker = h(
      'div',
      { class: 'control control-wide frame-picker', hidden: true },
      h('label', { for: 'frame-picker', class: 'control-label' }, icon('device-camera-video'), 'Frame'),
      h('div', { class: 'range-row' }, this.slider, this.timeLabel),
    );
    this.unavailableText = h('span', {});
    this.setUpButton = action(
      button('Set Up Video Support…', { icon: 'tools', secondary: true, id: 'set-up-video' }),
      () => post({ type: 'runCommand', command: 'setUpVideo' }),
    );
    this.unavailable = h(
      'div',
      { class: 'clip-unavailable', hidden: true, id: 'clip-unavailable', role: 'status' },
      icon('warning'),
      this.unavailableText,
      this.setUpButton,
    );
    this.element = h('div', { class: 'frame-picker-row' }, this.picker, this.unavailable);
  }

  /** The image changed: nothing is known of it until the host says (`clipPending`: it will). */
  setImage(token: string | undefined, clipPending = false): void {
    if (token === this.token) return;
    this.token = token;
    this.clip = undefined;
    this.blocked = false;
    this.waiting = clipPending;
    this.render();
  }

  /** The host's word on an image (ignored unless it is the one shown). */
  receive(m: ClipInfoMessage): void {
    if (m.imageToken !== this.token) return;
    this.waiting = false;
    this.clip = m.clip;
    this.blocked = !m.clip && m.unavailable !== undefined;
    this.unavailableText.textContent = m.unavailable ?? '';
    this.setUpButton.hidden = !m.setUpVideo;
    if (this.clip && this.state.frame?.token !== this.token) this.state.frame = { token: m.imageToken, index: 0 };
    this.render();
    this.events.changed(true);
  }

  /** The clip shown, when the image is one. */
  get current(): GalleryClip | undefined {
    return this.clip;
  }

  /** Whether the host has still to say whether the image is a clip (its preview waits). */
  get pending(): boolean {
    return this.waiting;
  }

  /** Whether the image cannot be previewed here (a clip without ffmpeg). */
  get unusable(): boolean {
    return this.blocked;
  }

  /** The time of the frame to preview (the middle of the frame), or undefined for a still image. */
  time(): number | undefined {
    const c = this.clip;
    if (!c) return undefined;
    const index = Math.min(this.index(), c.frameCount - 1);
    return Math.min(c.duration, (index + 0.5) / (c.fps || 1));
  }

  private index(): number {
    return this.state.frame && this.state.frame.token === this.token ? this.state.frame.index : 0;
  }

  private render(): void {
    const c = this.clip;
    this.picker.hidden = !c;
    this.unavailable.hidden = !this.blocked;
    if (!c) return;
    const index = Math.min(this.index(), c.frameCount - 1);
    this.slider.max = String(Math.max(0, c.frameCount - 1));
    this.slider.value = String(index);
    this.slider.disabled = c.frameCount < 2;
    this.slider.style.setProperty('--fill', `${c.frameCount > 1 ? (100 * index) / (c.frameCount - 1) : 0}%`);
    this.timeLabel.textContent = `${formatClipTime(index / (c.fps || 1))} / ${formatClipTime(c.duration)} · frame ${index + 1} of ${c.frameCount}`;
  }
}
