// The live view of a training run: status, progress, Pause / Cancel / Resume, the loss chart
// and the test photo as the network being trained stylizes it. The panel shows it as a tab
// (with the tile row and a label on the tab header); the sidebar shows a compact version only
// while there is a run.
import './trainingPane.css';
import type { GalleryLayout, TrainingView } from '../../src/protocol/gallery';
import type { EncodedImage } from '../../src/protocol/jobs';
import { LossChart } from './chart';
import { action, append, blobUrl, button, clear, formatCount, formatDuration, formatLoss, h, icon } from './dom';
import { post } from './host';
import type { UiState } from './state';

export interface TrainingPaneEvents {
  /** The stop intent changed (it decides whether a cancelled run reads "Paused" or "Stopped"). */
  persist(): void;
  /** "Try It in the Gallery" on a finished run. */
  tryStyle(styleId: string): void;
}

const isRunning = (t: TrainingView | undefined) => !!t && (t.status === 'running' || t.status === 'starting');

export class TrainingPane {
  readonly element: HTMLElement;
  /** The status on the panel's tab header ("42%", "Finished"). */
  readonly tabLabel: HTMLElement;
  private readonly chart: LossChart;
  private readonly image: HTMLImageElement;
  private imageUrl: string | undefined;
  private training: TrainingView | undefined;

  constructor(
    private readonly layout: GalleryLayout,
    private readonly state: Pick<UiState, 'stopIntent'>,
    private readonly events: TrainingPaneEvents,
  ) {
    this.chart = new LossChart({ compact: layout === 'sidebar' });
    this.image = h('img', { class: 'training-image', alt: 'The test photo stylized by the network being trained' });
    this.tabLabel = h('span', { class: 'tab-status', hidden: true });
    this.element =
      layout === 'panel'
        ? h('div', { class: 'training', id: 'training' })
        : h('div', { class: 'training training-mini', id: 'training', hidden: true });
  }

  set(t: TrainingView | undefined): void {
    const wasRunning = isRunning(this.training);
    this.training = t;
    // A new run forgets how the last one was stopped.
    if (isRunning(t) && !wasRunning) {
      this.state.stopIntent = undefined;
      this.events.persist();
    }
    this.chart.setData(t?.losses ?? []);
    this.render();
  }

  showPreview(image: EncodedImage, iteration: number): void {
    if (this.imageUrl) URL.revokeObjectURL(this.imageUrl);
    this.imageUrl = blobUrl(image);
    this.image.src = this.imageUrl;
    this.image.dataset.iteration = String(iteration);
    this.render();
  }

  /** Draws the chart on the next frame (its canvas has a size only once it is shown). */
  redraw(): void {
    requestAnimationFrame(() => this.chart.draw());
  }

  private statusLabel(t: TrainingView): { text: string; kind: string } {
    switch (t.status) {
      case 'starting':
        return { text: 'Starting', kind: 'running' };
      case 'running':
        return { text: 'Training', kind: 'running' };
      case 'done':
        return { text: 'Finished', kind: 'ok' };
      case 'failed':
        return { text: 'Failed', kind: 'error' };
      case 'cancelled':
        return this.state.stopIntent === 'pause'
          ? { text: 'Paused', kind: 'paused' }
          : { text: 'Stopped', kind: 'paused' };
    }
  }

  private stopButton(label: string, intent: 'pause' | 'cancel', opts: Parameters<typeof button>[1]): HTMLElement {
    return action(button(label, opts), () => {
      this.state.stopIntent = intent;
      this.events.persist();
      post({ type: intent === 'pause' ? 'pauseTraining' : 'cancelTraining' });
    });
  }

  private render(): void {
    const t = this.training;
    const pane = this.element;
    const running = isRunning(t);
    this.tabLabel.hidden = !t;
    this.tabLabel.textContent = t
      ? running
        ? t.totalIterations
          ? `${Math.floor((100 * t.iteration) / t.totalIterations)}%`
          : '…'
        : this.statusLabel(t).text
      : '';
    this.tabLabel.dataset.kind = t ? this.statusLabel(t).kind : '';
    if (this.layout === 'sidebar') pane.hidden = !t;
    clear(pane);
    if (!t) {
      if (this.layout === 'panel') {
        pane.append(
          h(
            'div',
            { class: 'empty' },
            h('div', { class: 'empty-art', 'aria-hidden': 'true' }, icon('pulse')),
            h('h3', {}, 'No training running'),
            h(
              'p',
              {},
              'Start one with Train a Style…: its losses, speed and preview images appear here live, and you can come back to this tab at any time.',
            ),
            h(
              'div',
              { class: 'empty-actions' },
              action(button('Train a Style…', { icon: 'beaker' }), () =>
                post({ type: 'runCommand', command: 'train' }),
              ),
            ),
          ),
        );
      }
      return;
    }
    const label = this.statusLabel(t);
    const pct = t.totalIterations ? Math.min(100, (100 * t.iteration) / t.totalIterations) : 0;
    const bar = h('div', { class: 'progress-fill' });
    bar.style.width = `${pct}%`;
    const progress = h(
      'div',
      {
        class: `progress progress-${label.kind}`,
        role: 'progressbar',
        'aria-label': 'Training progress',
        'aria-valuemin': 0,
        'aria-valuemax': 100,
        'aria-valuenow': Math.round(pct),
      },
      bar,
    );
    const buttons = h('div', { class: 'training-actions' });
    if (running) {
      buttons.append(
        this.stopButton('Pause', 'pause', {
          icon: 'debug-pause',
          id: 'pause-training',
          title: 'Stop after saving a checkpoint; Resume continues exactly where it stopped',
        }),
        this.stopButton('Cancel', 'cancel', {
          icon: 'debug-stop',
          secondary: true,
          id: 'cancel-training',
          title: 'Stop training; the last checkpoint is kept as a usable style',
        }),
      );
    } else if (t.resumable) {
      buttons.append(
        action(button('Resume', { icon: 'debug-continue', id: 'resume-training' }), () =>
          post({ type: 'resumeTraining', styleId: t.checkpoint }),
        ),
      );
    }
    if (t.status === 'done' && this.layout === 'panel') {
      buttons.append(
        action(button('Try It in the Gallery', { icon: 'symbol-color', secondary: true }), () =>
          this.events.tryStyle(t.checkpoint),
        ),
      );
    }
    const head = h(
      'div',
      { class: 'training-head' },
      h(
        'div',
        { class: 'training-title' },
        h('h2', {}, t.name),
        h(
          'span',
          { class: `pill pill-${label.kind}` },
          running ? icon('loading', 'codicon-modifier-spin') : null,
          label.text,
        ),
      ),
      buttons,
    );
    const counts = t.totalIterations
      ? `${formatCount(t.iteration)} / ${formatCount(t.totalIterations)} iterations · epoch ${t.epoch + 1}`
      : (t.phase ?? 'Preparing…');
    const sub = h(
      'div',
      { class: 'training-sub' },
      h('span', {}, counts),
      running && t.phase ? h('span', { class: 'phase' }, t.phase) : null,
    );
    if (this.layout === 'sidebar') {
      pane.append(head, progress, sub, this.chart.element);
      this.redraw();
      return;
    }
    append(
      pane,
      head,
      progress,
      sub,
      t.error ? h('div', { class: 'training-error', role: 'alert' }, icon('error'), t.error) : null,
      this.tiles(t, running),
      this.figures(),
      h(
        'p',
        { class: 'hint' },
        icon('info'),
        running
          ? 'Pause stops after saving a checkpoint; Resume continues from it with the same optimizer state. Cancel also keeps the last checkpoint as a usable style.'
          : t.resumable
            ? 'Resume continues training from the last checkpoint.'
            : '',
      ),
    );
    this.redraw();
  }

  private tiles(t: TrainingView, running: boolean): HTMLElement {
    const last = t.losses[t.losses.length - 1];
    const tile = (title: string, value: string, hint?: string) =>
      h(
        'div',
        { class: 'tile' },
        h('div', { class: 'tile-title' }, title),
        h('div', { class: 'tile-value' }, value),
        hint ? h('div', { class: 'tile-hint' }, hint) : null,
      );
    return h(
      'div',
      { class: 'tiles' },
      tile(
        'Iteration',
        formatCount(t.iteration),
        t.totalIterations ? `of ${formatCount(t.totalIterations)}` : undefined,
      ),
      tile(
        'Speed',
        t.imagesPerSecond > 0 ? `${t.imagesPerSecond.toFixed(t.imagesPerSecond < 10 ? 2 : 1)}` : '—',
        'images / s',
      ),
      tile('Time left', running ? formatDuration(t.etaSeconds) : '—', running ? 'estimated' : undefined),
      tile(
        'Total loss',
        last ? formatLoss(last.total) : '—',
        last ? `content ${formatLoss(last.content)} · style ${formatLoss(last.style)}` : undefined,
      ),
      tile(
        'Checkpoint',
        t.lastCheckpointIteration !== undefined ? formatCount(t.lastCheckpointIteration) : '—',
        t.lastCheckpointIteration !== undefined ? 'saved at iteration' : 'none saved yet',
      ),
    );
  }

  /** The loss chart beside the test photo. */
  private figures(): HTMLElement {
    const previewFigure = h(
      'figure',
      { class: 'training-preview' },
      this.image.src
        ? this.image
        : h(
            'div',
            { class: 'training-preview-empty' },
            icon('file-media'),
            'The test photo appears here after the first preview step',
          ),
      h(
        'figcaption',
        {},
        this.image.dataset.iteration
          ? `Test photo at iteration ${formatCount(Number(this.image.dataset.iteration))}`
          : 'Test photo',
      ),
    );
    const chartFigure = h(
      'figure',
      { class: 'training-chart' },
      this.chart.element,
      h('figcaption', {}, 'Losses (logarithmic scale)'),
    );
    return h('div', { class: 'training-grid' }, chartFigure, previewFigure);
  }
}
