// The preview pane: which image (name, where from, buttons to choose another), the picture
// (previewStage.ts), for clips the frame picker (framePicker.ts), the controls (settingsRow.ts)
// and saving (saveBar.ts; clipBar.ts stylizes and plays a whole clip), with a status line
// they share. Owns the image and the preview size; asks the host for a preview whenever what
// it would show changes, debounced.
import type { ClipMessage, GalleryImage, GallerySettings, HostToWebview } from '../../src/protocol/gallery';
import { action, button, clear, formatCount, h, icon, setDisabled } from './dom';
import { ClipBar } from './clipBar';
import { FramePicker } from './framePicker';
import { post } from './host';
import { PreviewStage } from './previewStage';
import { SaveBar, type SaveMode } from './saveBar';
import type { StyleSelection } from './selection';
import { SettingsRow } from './settingsRow';
import type { UiState } from './state';
import { blendKey } from './blend';

/** The host's messages about the image, its preview and saving. */
export type PreviewMessage = Extract<
  HostToWebview,
  {
    type:
      | 'image'
      | 'preview'
      | 'previewFailed'
      | 'saving'
      | 'saved'
      | 'saveFailed'
      | 'saveCancelled'
      | 'notice'
      | ClipMessage['type'];
  }
>;
type StatusKind = 'info' | 'ok' | 'error' | 'busy';
type PaneState = Pick<
  UiState,
  'image' | 'size' | 'strength' | 'colorMode' | 'scale' | 'format' | 'split' | 'saved' | 'frame'
>;

export class PreviewPane {
  readonly element: HTMLElement;
  private readonly selectedName: HTMLElement;
  private readonly imageName: HTMLElement;
  private readonly imagePath: HTMLElement;
  private readonly stage: PreviewStage;
  private readonly settings: SettingsRow;
  private readonly saveBar: SaveBar;
  private readonly framePicker: FramePicker;
  private readonly clipBar: ClipBar;
  private readonly fullSizeButton: HTMLElement | undefined;
  private readonly statusLine: HTMLElement;
  private previewTimer: number | undefined;

  /** `blend`: the blend control's element; given in the panel, which has the full controls. */
  constructor(
    private readonly state: PaneState,
    private readonly selection: StyleSelection,
    blend: HTMLElement | undefined,
    persist: () => void,
  ) {
    const panel = blend !== undefined;
    this.selectedName = h('span', { class: 'selected-style' });
    this.imageName = h('span', { class: 'image-name' }, 'No image');
    this.imagePath = h('span', { class: 'image-path' });
    const sourceButtons = h(
      'div',
      { class: 'source-buttons', role: 'toolbar', 'aria-label': 'Choose an image' },
      action(button('Choose Image File…', { icon: 'folder-opened', secondary: true, iconOnly: true }), () =>
        post({ type: 'pickImage' }),
      ),
      action(button('Pick from Workspace…', { icon: 'search', secondary: true, iconOnly: true }), () =>
        post({ type: 'pickWorkspaceImage' }),
      ),
      action(
        button('Use the Image in the Active Editor', { icon: 'file-media', secondary: true, iconOnly: true }),
        () => post({ type: 'useActiveEditorImage' }),
      ),
      action(
        button('Use the Sample Photo', { icon: 'sparkle', secondary: true, iconOnly: true, id: 'sample-photo' }),
        () => post({ type: 'useSampleImage' }),
      ),
    );
    const source = h(
      'div',
      { class: 'source' },
      icon('file-media', 'source-icon'),
      h('div', { class: 'source-text' }, this.imageName, this.imagePath),
      sourceButtons,
    );
    this.statusLine = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', id: 'status' });

    this.stage = new PreviewStage(state, () => state, {
      persist,
      notice: (level, message) => this.setStatus(message, level === 'error' ? 'error' : 'info'),
      shown: (m, width, height) => {
        this.settings.setSourceSize(m.sourceWidth, m.sourceHeight);
        this.setStatus(
          `${m.size === 'full' ? 'Full size' : 'Preview'} ${formatCount(width)} × ${formatCount(height)} · ${(m.elapsedMs / 1000).toFixed(2)} s · ${m.runtime}`,
          'info',
        );
      },
    });
    this.settings = new SettingsRow(state, blend, {
      persist,
      lookChanged: () => this.stage.queueComposite(),
      scaleChanged: () => {
        if (state.size === 'full') this.schedulePreview();
      },
    });
    this.fullSizeButton = panel
      ? action(
          button('Full Size', {
            icon: 'screen-full',
            secondary: true,
            id: 'full-size',
            title: 'Render the whole image at the output scale (what Save writes)',
          }),
          () => {
            state.size = state.size === 'full' ? 'preview' : 'full';
            persist();
            this.renderSizeButton();
            this.schedulePreview(0);
          },
        )
      : undefined;
    this.saveBar = new SaveBar(state, this.fullSizeButton, !panel, { persist, save: (mode) => this.requestSave(mode) });
    this.framePicker = new FramePicker(state, {
      persist,
      changed: (answered) => {
        this.renderClip();
        this.schedulePreview(answered ? 0 : undefined);
      },
    });
    this.clipBar = new ClipBar(() => this.requestStylizeClip());
    this.element = h(
      'section',
      { class: 'pane preview-pane', 'aria-labelledby': 'preview-heading' },
      panel
        ? h(
            'div',
            { class: 'pane-header' },
            h('h2', { id: 'preview-heading' }, 'Preview'),
            this.selectedName,
            action(
              button('Evaluate Style…', {
                icon: 'graph',
                secondary: true,
                iconOnly: true,
                id: 'evaluate-style',
                title:
                  'Measure the selected style on the sample photos: style and content distance, blown-out blobs, a contact sheet',
              }),
              () => {
                if (this.selection.id) post({ type: 'evaluateStyle', styleId: this.selection.id });
              },
            ),
          )
        : h('h2', { id: 'preview-heading', class: 'visually-hidden' }, 'Preview'),
      source,
      this.stage.element,
      this.framePicker.element,
      this.settings.element,
      this.saveBar.element,
      this.saveBar.savedLine,
      this.clipBar.element,
      this.statusLine,
    );
  }

  /** The host's default strength, colours and format (a first page with no stored state). */
  applySettings(s: GallerySettings): void {
    this.state.strength = s.strength;
    this.state.colorMode = s.colorMode;
    this.state.format = s.format;
    this.settings.sync();
    this.renderSizeButton();
  }

  /** On 'init': forgets a stored image the host no longer holds, takes the one it names. */
  restoreImage(held: readonly GalleryImage[], image: GalleryImage | undefined): void {
    if (this.state.image && !held.some((i) => i.token === this.state.image!.token)) {
      this.state.image = undefined;
      this.state.saved = undefined;
    }
    if (image) {
      this.state.image = image;
      this.state.saved = undefined;
    }
    this.renderImage();
    this.saveBar.render();
  }

  receive(m: PreviewMessage): void {
    switch (m.type) {
      case 'image':
        this.state.image = m.image;
        this.state.size = 'preview';
        this.saveBar.setSaved(undefined);
        this.renderImage();
        this.renderSizeButton();
        this.schedulePreview(0);
        return;
      case 'preview':
        void this.stage.receive(m);
        return;
      case 'previewFailed':
        this.stage.failed(m.requestId, m.message);
        return;
      case 'saving':
        this.saveBar.setSaving(true);
        this.setStatus(m.message, 'busy');
        return;
      case 'saved':
        this.saveBar.setSaving(false);
        this.saveBar.setSaved({ path: m.path, displayPath: m.displayPath });
        this.setStatus('', 'ok');
        return;
      case 'saveFailed':
        this.saveBar.setSaving(false);
        this.setStatus(`Not saved: ${m.message}`, 'error');
        return;
      case 'saveCancelled':
        this.saveBar.setSaving(false);
        this.setStatus('Save cancelled.', 'info');
        return;
      case 'notice':
        this.setStatus(m.message, m.level === 'error' ? 'error' : 'info');
        return;
      case 'clip':
        this.framePicker.receive(m);
        if (m.imageToken === this.state.image?.token && m.unavailable) this.stage.idle();
        return;
      default:
        if (m.imageToken === this.state.image?.token || this.clipBar.busy) this.clipBar.receive(m);
    }
  }

  /** Another style was selected: the saved file is not this one's. */
  styleChanged(): void {
    this.saveBar.setSaved(undefined);
  }

  /** The selected style or its blend changed: the header names it; Save needs a usable one. */
  renderSelection(): void {
    this.renderSelectedName();
    this.renderActions();
  }

  renderSelectedName(): void {
    const s = this.selection.selected;
    clear(this.selectedName);
    if (!s) return;
    this.selectedName.append(icon('symbol-color'), s.name);
    for (const p of this.selection.mixedIn())
      this.selectedName.append(h('span', { class: 'selected-plus' }, ` + ${p.name}`));
  }

  /** Debounced: clicking through styles or scales sends one request, for the last choice. */
  schedulePreview(delay = 200): void {
    clearTimeout(this.previewTimer);
    this.previewTimer = window.setTimeout(() => this.requestPreview(), delay);
  }

  private requestPreview(): void {
    const img = this.state.image,
      style = this.selection.selected;
    if (!img || !style || this.framePicker.unusable) {
      this.stage.idle();
      return;
    }
    if (this.framePicker.pending) {
      this.stage.hold(`Reading ${img.name}…`);
      return;
    }
    const time = this.framePicker.time();
    const { size } = this.state;
    const scale = size === 'full' ? this.state.scale : 1;
    const blend = this.selection.blendFields();
    const key = [img.token, style.id, style.updatedAt ?? '', style.iteration, size, scale, blendKey(blend), time].join(
      '|',
    );
    this.stage.request(key, this.selection.label(), {
      imageToken: img.token,
      styleId: style.id,
      size,
      scale: this.state.scale,
      ...(time === undefined ? {} : { time }),
      ...blend,
    });
  }

  /** Stylize Clip: the whole clip with the settings of the preview. */
  private requestStylizeClip(): void {
    const img = this.state.image,
      style = this.selection.selected;
    if (!img || !style) return;
    const { strength, colorMode, scale } = this.state;
    post({
      type: 'stylizeClip',
      imageToken: img.token,
      styleId: style.id,
      strength,
      colorMode,
      scale,
      ...this.selection.blendFields(),
    });
  }

  private requestSave(mode: SaveMode): void {
    const img = this.state.image,
      style = this.selection.selected;
    if (!img || !style || this.saveBar.busy) return;
    this.saveBar.setSaving(true);
    this.setStatus(mode === 'save' ? 'Saving…' : 'Choose where to save…', 'busy');
    const { strength, colorMode, format, scale } = this.state;
    post({
      type: 'save',
      mode,
      imageToken: img.token,
      styleId: style.id,
      strength,
      colorMode,
      format,
      scale,
      ...this.selection.blendFields(),
    });
  }

  private renderImage(): void {
    const img = this.state.image;
    this.imageName.textContent = img ? img.name : 'No image selected';
    this.imagePath.textContent = img
      ? (img.displayPath ?? (img.origin === 'drop' ? 'dropped file' : img.origin === 'sample' ? 'sample photo' : ''))
      : 'Drop one below or choose a file';
    this.stage.showImage(!!img);
    this.framePicker.setImage(img?.token, img?.clipPending === true);
    this.clipBar.reset();
    this.renderClip();
    this.renderActions();
  }

  private renderSizeButton(): void {
    if (!this.fullSizeButton) return;
    const full = this.state.size === 'full';
    this.fullSizeButton.textContent = full ? 'Preview Size' : 'Full Size';
    this.fullSizeButton.setAttribute('icon', full ? 'screen-normal' : 'screen-full');
    this.fullSizeButton.setAttribute('aria-pressed', String(full));
  }

  private renderActions(): void {
    const ready = !!this.state.image && !!this.selection.selected;
    this.saveBar.setReady(ready);
    this.clipBar.setReady(ready && !!this.framePicker.current);
    if (this.fullSizeButton) setDisabled(this.fullSizeButton, !ready);
  }

  /** A clip is stylized as a whole (Stylize Clip) rather than saved as a still image. */
  private renderClip(): void {
    const clip = !!this.framePicker.current;
    this.saveBar.element.hidden = clip;
    this.saveBar.savedLine.hidden = clip || !this.state.saved;
    this.clipBar.show(clip);
    this.renderActions();
  }

  private setStatus(text: string, kind: StatusKind): void {
    clear(this.statusLine);
    this.statusLine.hidden = !text;
    if (!text) return;
    const glyph = kind === 'ok' ? 'pass' : kind === 'error' ? 'error' : kind === 'busy' ? 'loading' : 'info';
    this.statusLine.append(icon(glyph, kind === 'busy' ? 'codicon-modifier-spin' : ''), h('span', {}, text));
    this.statusLine.dataset.kind = kind;
  }
}
