// Stylizing a whole clip from the gallery and playing the result: the Stylize Clip button (in
// place of Save for clips), progress in frames with the rate and the time left, Cancel (the host
// leaves no partial file), and then the result: a <video> of the WebM the host made (VS Code's
// webviews play VP8/VP9, not the H.264 written beside the input), the animated image itself, or
// its frames shown in turn where ffmpeg had no VP8/VP9 encoder. The player reports to the host
// whether it plays.
import type { ClipMessage, GalleryPlayback } from '../../src/protocol/gallery';
import { action, blobUrl, button, clear, formatCount, formatDuration, h, icon, setDisabled } from './dom';
import { post } from './host';

type ClipJobMessage = Exclude<ClipMessage, { type: 'clip' }>;

export class ClipBar {
  readonly element: HTMLElement;
  private readonly stylizeButton: HTMLElement;
  private readonly cancelButton: HTMLElement;
  private readonly progress: HTMLElement & { value?: number; max: number };
  private readonly progressText: HTMLElement;
  private readonly progressRow: HTMLElement;
  private readonly result: HTMLElement;
  private readonly player: HTMLElement;
  private readonly setUpButton: HTMLElement;
  private ready = false;
  private running = false;
  private urls: string[] = [];
  private timer: number | undefined;

  constructor(stylize: () => void) {
    this.stylizeButton = action(
      button('Stylize Clip', {
        icon: 'play',
        id: 'stylize-clip',
        title: 'Stylize every frame with these settings and save the clip beside the original (never overwrites)',
      }),
      () => {
        if (this.running) return;
        this.setRunning(true);
        this.progressText.textContent = 'Starting…';
        stylize();
      },
    );
    this.cancelButton = action(button('Cancel', { icon: 'close', secondary: true, id: 'cancel-clip' }), () =>
      post({ type: 'cancelClip' }),
    );
    this.setUpButton = action(
      button('Set Up Video Support…', { icon: 'tools', secondary: true, id: 'clip-set-up-video' }),
      () => post({ type: 'runCommand', command: 'setUpVideo' }),
    );
    this.setUpButton.hidden = true;
    this.progress = h('vscode-progress-bar', { class: 'clip-progress', max: 1 }) as unknown as HTMLElement & {
      value?: number;
      max: number;
    };
    this.progressText = h('span', { class: 'clip-progress-text', id: 'clip-progress-text', role: 'status' });
    this.progressRow = h('div', { class: 'clip-progress-row', hidden: true }, this.progress, this.progressText);
    this.result = h('div', { class: 'saved', hidden: true, id: 'clip-saved' });
    this.player = h('div', { class: 'clip-player', hidden: true, id: 'clip-player' });
    this.element = h(
      'div',
      { class: 'clip-bar', hidden: true },
      h(
        'div',
        { class: 'actions' },
        h('div', { class: 'spacer' }),
        this.setUpButton,
        this.cancelButton,
        this.stylizeButton,
      ),
      this.progressRow,
      this.result,
      this.player,
    );
    this.renderButtons();
  }

  get busy(): boolean {
    return this.running;
  }

  /** Shown for clips only (Save is for still images). */
  show(visible: boolean): void {
    this.element.hidden = !visible;
  }

  /** Whether there is something to stylize (a clip and a usable style). */
  setReady(ready: boolean): void {
    this.ready = ready;
    this.renderButtons();
  }

  /** Another image: its result is not this one. */
  reset(): void {
    if (this.running) return;
    this.result.hidden = true;
    this.progressRow.hidden = true;
    this.setUpButton.hidden = true;
    this.showPlayback(undefined);
  }

  receive(m: ClipJobMessage): void {
    switch (m.type) {
      case 'clipProgress': {
        this.setRunning(true);
        this.progress.max = m.total;
        this.progress.value = m.done;
        this.progressText.textContent = `Frame ${formatCount(m.done)} of ${formatCount(m.total)} · ${m.fps.toFixed(1)} frames/s · ${m.done > 0 ? `${formatDuration(m.etaSeconds)} left` : 'starting'}`;
        return;
      }
      case 'clipDone': {
        this.setRunning(false);
        this.progressRow.hidden = true;
        clear(this.result);
        const open = h('button', { type: 'button', class: 'link' }, 'Open');
        open.addEventListener('click', () => post({ type: 'openResult', path: m.path }));
        this.result.append(icon('pass-filled'), h('span', { class: 'saved-path', title: m.path }, m.displayPath), open);
        this.result.hidden = false;
        this.showPlayback(m.playback);
        return;
      }
      case 'clipFailed':
        this.setRunning(false);
        this.progressRow.hidden = false;
        this.progress.hidden = true;
        this.progressText.textContent = `Not stylized: ${m.message}`;
        this.setUpButton.hidden = !m.setUpVideo;
        return;
      case 'clipCancelled':
        this.setRunning(false);
        this.progressRow.hidden = false;
        this.progress.hidden = true;
        this.progressText.textContent = 'Cancelled; nothing was written.';
        return;
    }
  }

  private setRunning(running: boolean): void {
    this.running = running;
    if (running) {
      this.progressRow.hidden = false;
      this.progress.hidden = false;
      this.setUpButton.hidden = true;
    }
    this.renderButtons();
  }

  private renderButtons(): void {
    setDisabled(this.stylizeButton, !this.ready || this.running);
    this.cancelButton.hidden = !this.running;
  }

  /** Plays the result (or clears the player), telling the host whether it plays. */
  private showPlayback(p: GalleryPlayback | undefined): void {
    window.clearInterval(this.timer);
    for (const u of this.urls) URL.revokeObjectURL(u);
    this.urls = [];
    clear(this.player);
    this.player.hidden = !p;
    if (!p) return;
    const report = (state: 'playing' | 'failed', detail: string) =>
      post({ type: 'playback', state, detail: detail.slice(0, 500) });
    if (p.kind === 'video') {
      const video = h('video', { controls: true, loop: true, muted: true, autoplay: true, playsinline: true });
      video.addEventListener('loadeddata', () =>
        report(
          'playing',
          `WebM (${p.encoder}) ${video.videoWidth}×${video.videoHeight}, ${video.duration.toFixed(2)} s`,
        ),
      );
      video.addEventListener('error', () =>
        report('failed', `video: ${video.error?.message || `media error ${video.error?.code ?? '?'}`}`),
      );
      video.src = p.src;
      this.player.append(video);
      video.scrollIntoView({ block: 'nearest' });
      return;
    }
    const img = h('img', { alt: 'The stylized clip' });
    img.addEventListener('load', () => report('playing', `${p.kind} ${img.naturalWidth}×${img.naturalHeight}`), {
      once: true,
    });
    img.addEventListener('error', () => report('failed', `${p.kind}: the image did not load`), { once: true });
    if (p.kind === 'image') {
      this.urls = [blobUrl(p.image)];
      img.src = this.urls[0];
    } else {
      // Frames in turn: the fallback where ffmpeg could not write a WebM.
      this.urls = p.frames.map((f) => blobUrl(f));
      let i = 0;
      img.src = this.urls[0];
      this.timer = window.setInterval(
        () => {
          i = (i + 1) % this.urls.length;
          img.src = this.urls[i];
        },
        1000 / Math.max(1, p.fps),
      );
    }
    this.player.append(img);
    img.scrollIntoView({ block: 'nearest' });
  }
}
