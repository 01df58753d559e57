// The gallery webview (browser code; talks to src/views/gallery/galleryController.ts through
// the typed messages of src/protocol/gallery.ts). Two layouts from one bundle: the "Style
// Gallery" panel (style cards, before/after preview with controls, live training tab) and
// the compact "Preview" view in the sidebar.
//
// Why compositing happens here: the host sends the preview once per (image, style, size,
// scale) — the input as the network saw it and the raw stylization. Strength and colour
// preservation are then computed on the pixels in this page (composite.ts, the engine's maths),
// so moving the strength slider or switching colours repaints immediately without a job.
// UI state (selection, controls, blend, tab, divider) is kept with setState and restored when
// the webview is rebuilt after being hidden; images are re-sent by the host from its cache.
// A blend (other styles mixed into the selected one; blend.ts) is part of the preview's
// identity: changing it runs a new preview job, and Save sends it along.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-icon/index.js';
import '@vscode-elements/elements/dist/vscode-radio/index.js';
import '@vscode-elements/elements/dist/vscode-radio-group/index.js';
import './gallery.css';
import type { GalleryLayout, HostToWebview, PreviewSize } from '../../src/protocol/gallery';
import type { ColorMode, EncodedImage, OutputFormat } from '../../src/protocol/jobs';
import { blendKey, type BlendState } from './blend';
import { BlendControl } from './blendControl';
import { CompareView } from './compare';
import { Compositor } from './composite';
import { action, blobUrl, button, clear, formatCount, h, icon, setDisabled } from './dom';
import { post, storeState } from './host';
import { StyleSelection } from './selection';
import { FORMAT_LABELS, INITIAL_STATE, SCALES, restoreState, type UiState } from './state';
import { StyleGrid } from './styleGrid';
import { StylePicker } from './stylePicker';
import { TrainingPane } from './trainingPane';

const MAX_DROP_BYTES = 64 * 1024 * 1024;
const COLOR_LABELS: Record<ColorMode, string> = { none: 'From the style', luminance: 'Keep original', histogram: 'Match original' };

async function decodePixels(img: EncodedImage): Promise<ImageData> {
  const bitmap = await createImageBitmap(new Blob([img.bytes as Uint8Array<ArrayBuffer>], { type: img.mime }), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  if (!g) throw new Error('no 2D canvas');
  g.drawImage(bitmap, 0, 0);
  bitmap.close();
  return g.getImageData(0, 0, canvas.width, canvas.height);
}

interface CurrentPreview {
  readonly key: string;
  readonly compositor: Compositor;
  readonly width: number;
  readonly height: number;
  readonly beforeUrl: string;
  readonly rawUrl: string;
  readonly canvas: HTMLCanvasElement;
  readonly pixels: ImageData;
  readonly sourceWidth?: number;
  readonly sourceHeight?: number;
  readonly runtime: string;
  readonly elapsedMs: number;
  readonly size: PreviewSize;
  /** What the preview shows: "udnie 70% + Starry Night 30%", or the style's name. */
  readonly label: string;
}

class GalleryApp {
  private layout: GalleryLayout = document.body.dataset.layout === 'sidebar' ? 'sidebar' : 'panel';
  private state: UiState;
  private selection!: StyleSelection;
  private current: CurrentPreview | undefined;
  private requestSeq = 0;
  private pendingRequest = 0;
  private pendingKey = '';
  private pendingLabel = '';
  private previewTimer: number | undefined;
  private compositeQueued = false;
  private encoding = false;
  private encodeAgain = false;
  private afterUrl: string | undefined;
  private saving = false;
  private initialised = false;

  // elements
  private readonly root = document.getElementById('app')!;
  private tabs!: HTMLElement & { selectedIndex: number };
  private grid: StyleGrid | undefined;
  private picker: StylePicker | undefined;
  private selectedName!: HTMLElement;
  private imageName!: HTMLElement;
  private imagePath!: HTMLElement;
  private stage!: HTMLElement;
  private dropzone!: HTMLElement;
  private compare!: CompareView;
  private stageMessage!: HTMLElement;
  private strengthInput!: HTMLInputElement;
  private strengthValue!: HTMLElement;
  private colorSelect!: HTMLElement & { value: string };
  private blendControl: BlendControl | undefined;
  private scaleSelect: (HTMLElement & { value: string }) | undefined;
  private formatSelect: (HTMLElement & { value: string }) | undefined;
  private outputSize: HTMLElement | undefined;
  private fullSizeButton: HTMLElement | undefined;
  private saveButton!: HTMLElement;
  private saveAsButton!: HTMLElement;
  private copyButton!: HTMLElement;
  private statusLine!: HTMLElement;
  private savedLine!: HTMLElement;
  private training!: TrainingPane;

  constructor() {
    // Report CSP violations and errors to the output channel (they would otherwise fail
    // silently), from before the page is built so that a failing build is reported too.
    document.body.dataset.cspViolations = '0';
    document.addEventListener('securitypolicyviolation', (e) => {
      document.body.dataset.cspViolations = String(Number(document.body.dataset.cspViolations) + 1);
      post({ type: 'log', level: 'error', message: `CSP blocked ${e.blockedURI || 'inline content'} (${e.violatedDirective})` });
    });
    window.addEventListener('error', (e) => post({ type: 'log', level: 'error', message: `${e.message} (${e.filename}:${e.lineno})`.slice(0, 1900) }));
    const restored = restoreState();
    this.state = restored ?? { ...INITIAL_STATE };
    this.build();
    window.addEventListener('message', (e: MessageEvent<HostToWebview>) => this.onMessage(e.data));
    post({ type: 'ready' });
  }

  private persist(): void {
    storeState(this.state);
  }

  // ---- building the page --------------------------------------------------------------------

  private build(): void {
    clear(this.root);
    this.selection = new StyleSelection(this.state, this.layout === 'panel');
    this.compare = new CompareView((p) => { this.state.split = p; this.persist(); });
    this.compare.setPosition(this.state.split);
    this.training = new TrainingPane(this.layout, this.state, {
      persist: () => this.persist(),
      tryStyle: (id) => { this.tabs.selectedIndex = 0; this.state.tab = 'gallery'; this.selectStyle(id); this.grid?.reveal(id); this.persist(); },
    });
    if (this.layout === 'panel') this.buildPanel(); else this.buildSidebar();
    this.installDrop();
    this.root.removeAttribute('aria-busy');
  }

  private buildPanel(): void {
    this.root.classList.add('layout-panel');
    const addons = h('div', { slot: 'addons', class: 'tab-addons' },
      action(button('Train a Style…', { icon: 'beaker', secondary: true, title: 'Train a new style from any painting' }), () => post({ type: 'runCommand', command: 'train' })),
      action(button('Import Style…', { icon: 'cloud-download', secondary: true, iconOnly: true }), () => post({ type: 'runCommand', command: 'importStyle' })),
      action(button('Refresh Styles', { icon: 'refresh', secondary: true, iconOnly: true }), () => post({ type: 'runCommand', command: 'refreshStyles' })),
    );
    this.tabs = h('vscode-tabs', { panel: true, 'selected-index': this.state.tab === 'training' ? 1 : 0, class: 'tabs' },
      h('vscode-tab-header', { slot: 'header', 'data-tab': 'gallery' }, icon('symbol-color', 'tab-icon'), 'Gallery'),
      h('vscode-tab-header', { slot: 'header', 'data-tab': 'training' }, icon('pulse', 'tab-icon'), 'Training', this.training.tabLabel),
      addons,
      h('vscode-tab-panel', { panel: true }, this.buildGalleryTab()),
      h('vscode-tab-panel', { panel: true }, this.training.element),
    ) as HTMLElement & { selectedIndex: number };
    this.tabs.addEventListener('vsc-tabs-select', (e) => {
      this.state.tab = (e as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex === 1 ? 'training' : 'gallery';
      this.persist();
      if (this.state.tab === 'training') this.training.redraw();
    });
    this.root.append(this.tabs);
  }

  private buildGalleryTab(): HTMLElement {
    this.grid = new StyleGrid(this.state, this.selection, { select: (id) => this.selectStyle(id), persist: () => this.persist() });
    this.picker = undefined;
    return h('div', { class: 'gallery-layout' }, this.grid.element, this.buildPreviewPane());
  }

  private buildPreviewPane(): HTMLElement {
    const panel = this.layout === 'panel';
    this.selectedName = h('span', { class: 'selected-style' });
    this.imageName = h('span', { class: 'image-name' }, 'No image');
    this.imagePath = h('span', { class: 'image-path' });
    const sourceButtons = h('div', { class: 'source-buttons', role: 'toolbar', 'aria-label': 'Choose an image' },
      action(button('Choose Image File…', { icon: 'folder-opened', secondary: true, iconOnly: true }), () => post({ type: 'pickImage' })),
      action(button('Pick from Workspace…', { icon: 'search', secondary: true, iconOnly: true }), () => post({ type: 'pickWorkspaceImage' })),
      action(button('Use the Image in the Active Editor', { icon: 'file-media', secondary: true, iconOnly: true }), () => post({ type: 'useActiveEditorImage' })),
      action(button('Use the Sample Photo', { icon: 'sparkle', secondary: true, iconOnly: true, id: 'sample-photo' }), () => post({ type: 'useSampleImage' })),
    );
    const source = h('div', { class: 'source' }, icon('file-media', 'source-icon'), h('div', { class: 'source-text' }, this.imageName, this.imagePath), sourceButtons);

    this.dropzone = h('div', { class: 'dropzone', id: 'dropzone' },
      icon('cloud-upload', 'drop-icon'),
      h('div', { class: 'drop-title' }, 'Drop an image here'),
      h('div', { class: 'drop-sub' }, 'PNG, JPEG, WebP, AVIF, TIFF or GIF — from your computer or the Explorer'),
      h('div', { class: 'drop-actions' },
        action(button('Choose File…', { icon: 'folder-opened', id: 'choose-file' }), () => post({ type: 'pickImage' })),
        action(button('From Workspace…', { icon: 'search', secondary: true, id: 'pick-workspace' }), () => post({ type: 'pickWorkspaceImage' })),
        action(button('Active Editor', { icon: 'file-media', secondary: true }), () => post({ type: 'useActiveEditorImage' })),
        action(button('Sample Photo', { icon: 'sparkle', secondary: true }), () => post({ type: 'useSampleImage' })),
      ));
    this.stageMessage = h('div', { class: 'stage-message', role: 'status', hidden: true });
    this.stage = h('div', { class: 'stage', id: 'stage' }, this.dropzone, this.compare.element, this.stageMessage);

    this.strengthInput = h('input', { type: 'range', id: 'strength', min: 0, max: 100, step: 1, value: Math.round(this.state.strength * 100), 'aria-label': 'Style strength' });
    this.strengthValue = h('output', { class: 'value', for: 'strength' }, `${Math.round(this.state.strength * 100)}%`);
    this.strengthInput.addEventListener('input', () => {
      this.state.strength = Number(this.strengthInput.value) / 100;
      this.strengthValue.textContent = `${this.strengthInput.value}%`;
      this.updateRangeFill();
      this.persist();
      this.queueComposite();
    });
    this.colorSelect = h('vscode-single-select', { id: 'colors', 'aria-label': 'Colours' },
      ...(['none', 'luminance', 'histogram'] as const).map((c) => h('vscode-option', { value: c, selected: this.state.colorMode === c, description: c === 'luminance' ? 'The style\'s light and texture, the photo\'s colours exactly' : c === 'histogram' ? 'The style\'s colour variety, shifted to the photo\'s palette' : 'The painting\'s colours' }, COLOR_LABELS[c]))) as HTMLElement & { value: string };
    this.colorSelect.addEventListener('change', () => { this.state.colorMode = this.colorSelect.value as ColorMode; this.persist(); this.queueComposite(); });

    const strengthRow = h('div', { class: 'control control-wide' },
      h('label', { for: 'strength', class: 'control-label' }, icon('flame'), 'Strength'),
      h('div', { class: 'range-row' }, h('span', { class: 'range-end', 'aria-hidden': 'true' }, 'Photo'), this.strengthInput, h('span', { class: 'range-end', 'aria-hidden': 'true' }, 'Style'), this.strengthValue));
    const colorRow = h('div', { class: 'control' }, h('span', { class: 'control-label', id: 'colors-label' }, icon('symbol-color'), 'Colours'), this.colorSelect);
    this.colorSelect.setAttribute('aria-labelledby', 'colors-label');
    const controls = h('div', { class: 'controls' }, strengthRow, colorRow);
    this.blendControl = undefined;
    if (panel) {
      this.blendControl = new BlendControl((b) => this.onBlendChange(b));
      controls.insertBefore(this.blendControl.element, colorRow);
      this.scaleSelect = h('vscode-single-select', { id: 'scale', 'aria-label': 'Scale' },
        ...SCALES.map((s) => h('vscode-option', { value: String(s), selected: this.state.scale === s, description: s < 1 ? 'Larger brush strokes, faster' : s > 1 ? 'Finer strokes, slower' : undefined }, `${Math.round(s * 100)}%`))) as HTMLElement & { value: string };
      this.scaleSelect.addEventListener('change', () => {
        this.state.scale = Number(this.scaleSelect!.value);
        this.persist();
        this.renderOutputSize();
        if (this.state.size === 'full') this.schedulePreview();
      });
      this.formatSelect = h('vscode-single-select', { id: 'format', 'aria-label': 'Output format' },
        ...(Object.keys(FORMAT_LABELS) as OutputFormat[]).map((f) => h('vscode-option', { value: f, selected: this.state.format === f }, FORMAT_LABELS[f]))) as HTMLElement & { value: string };
      this.formatSelect.addEventListener('change', () => { this.state.format = this.formatSelect!.value as OutputFormat; this.persist(); });
      this.outputSize = h('span', { class: 'control-hint', id: 'output-size' });
      controls.append(
        h('div', { class: 'control' }, h('span', { class: 'control-label' }, icon('screen-full'), 'Scale', this.outputSize), this.scaleSelect),
        h('div', { class: 'control' }, h('span', { class: 'control-label' }, icon('file-binary'), 'Format'), this.formatSelect),
      );
      this.fullSizeButton = action(button('Full Size', { icon: 'screen-full', secondary: true, id: 'full-size', title: 'Render the whole image at the output scale (what Save writes)' }), () => {
        this.state.size = this.state.size === 'full' ? 'preview' : 'full';
        this.persist();
        this.renderSizeButton();
        this.schedulePreview(0);
      });
    }
    this.saveButton = action(button('Save', { icon: 'save', id: 'save', title: 'Stylize the full image with these settings and save it beside the original (never overwrites)' }), () => this.requestSave('save'));
    this.saveAsButton = action(button('Save As…', { secondary: true, id: 'save-as' }), () => this.requestSave('saveAs'));
    this.copyButton = action(button('Copy Path', { icon: 'copy', secondary: true, id: 'copy-path', disabled: true, iconOnly: !panel }), () => {
      if (this.state.saved) post({ type: 'copyPath', path: this.state.saved.path });
    });
    this.statusLine = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', id: 'status' });
    this.savedLine = h('div', { class: 'saved', hidden: true, id: 'saved' });
    const actions = h('div', { class: 'actions' }, this.fullSizeButton ?? null, h('div', { class: 'spacer' }), this.copyButton, this.saveAsButton, this.saveButton);
    return h('section', { class: 'pane preview-pane', 'aria-labelledby': 'preview-heading' },
      panel ? h('div', { class: 'pane-header' }, h('h2', { id: 'preview-heading' }, 'Preview'), this.selectedName,
        action(button('Evaluate Style…', { icon: 'graph', secondary: true, iconOnly: true, id: 'evaluate-style', title: 'Measure the selected style on the sample photos: style and content distance, blown-out blobs, a contact sheet' }),
          () => { if (this.state.styleId) post({ type: 'evaluateStyle', styleId: this.state.styleId }); }))
        : h('h2', { id: 'preview-heading', class: 'visually-hidden' }, 'Preview'),
      source, this.stage, controls, actions, this.savedLine, this.statusLine);
  }

  private buildSidebar(): void {
    this.root.classList.add('layout-sidebar');
    this.grid = undefined;
    this.picker = new StylePicker(this.selection, (id) => this.selectStyle(id));
    this.root.append(this.picker.element, this.picker.empty, this.buildPreviewPane(), this.training.element);
  }

  private installDrop(): void {
    const target = this.stage;
    let depth = 0;
    const isFileDrag = (e: DragEvent) => !!e.dataTransfer && [...e.dataTransfer.types].some((t) => t === 'Files' || t === 'text/uri-list' || t === 'application/vnd.code.uri-list');
    target.addEventListener('dragenter', (e) => { if (!isFileDrag(e)) return; e.preventDefault(); depth++; target.classList.add('drag-over'); });
    target.addEventListener('dragover', (e) => { if (!isFileDrag(e)) return; e.preventDefault(); if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'; });
    target.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (depth === 0) target.classList.remove('drag-over'); });
    target.addEventListener('drop', (e) => {
      e.preventDefault();
      depth = 0;
      target.classList.remove('drag-over');
      void this.onDrop(e.dataTransfer);
    });
    // A drop elsewhere must not navigate the webview to the file.
    document.addEventListener('dragover', (e) => e.preventDefault());
    document.addEventListener('drop', (e) => e.preventDefault());
  }

  private async onDrop(dt: DataTransfer | null): Promise<void> {
    if (!dt) return;
    const file = dt.files[0];
    if (file) {
      if (file.size > MAX_DROP_BYTES) { this.notice('error', `${file.name} is larger than 64 MB.`); return; }
      if (file.size === 0) { this.notice('error', `${file.name} is empty.`); return; }
      this.notice('info', `Reading ${file.name}…`);
      const bytes = new Uint8Array(await file.arrayBuffer());
      post({ type: 'dropImage', name: file.name.replace(/[\\/]/g, '_').slice(0, 255) || 'image', bytes });
      return;
    }
    const list = dt.getData('application/vnd.code.uri-list') || dt.getData('text/uri-list');
    const first = list.split(/\r?\n/).map((l) => l.trim()).find((l) => l && !l.startsWith('#'));
    if (!first) return;
    try {
      const u = new URL(first);
      let p = decodeURIComponent(u.pathname);
      if (/^\/[A-Za-z]:[\\/]/.test(p)) p = p.slice(1); // file:///c:/… on Windows
      post({ type: 'openImagePath', path: p });
    } catch {
      this.notice('error', 'That drop did not contain a file.');
    }
  }

  // ---- messages -----------------------------------------------------------------------------

  private onMessage(m: HostToWebview): void {
    switch (m.type) {
      case 'init': {
        const first = !this.initialised;
        this.initialised = true;
        if (m.layout !== this.layout) { this.layout = m.layout; this.build(); }
        if (first && !restoreState()) {
          this.state.strength = m.settings.strength;
          this.state.colorMode = m.settings.colorMode;
          this.state.format = m.settings.format;
          this.syncControls();
        }
        this.selection.styles = m.styles;
        if (m.focusStyle) this.selection.focus(m.focusStyle);
        // A restored image the host no longer holds (the extension restarted) is forgotten.
        if (this.state.image && !m.images.some((i) => i.token === this.state.image!.token)) { this.state.image = undefined; this.state.saved = undefined; }
        if (m.image) { this.state.image = m.image; this.state.saved = undefined; }
        this.ensureSelection();
        this.renderStyles();
        this.syncBlend();
        this.renderImage();
        this.training.set(m.training);
        this.renderSaved();
        this.persist();
        this.schedulePreview(0);
        if (m.focusStyle) this.grid?.reveal(m.focusStyle);
        return;
      }
      case 'styles':
        this.selection.styles = m.styles;
        this.ensureSelection();
        this.renderStyles();
        this.syncBlend();
        this.schedulePreview();
        return;
      case 'styleImages':
        this.grid?.setImages(m.styleId, m.thumbnail, m.sample);
        return;
      case 'image':
        this.state.image = m.image;
        this.state.saved = undefined;
        this.state.size = 'preview';
        this.persist();
        this.renderImage();
        this.renderSaved();
        this.renderSizeButton();
        this.schedulePreview(0);
        return;
      case 'focusStyle':
        this.selectStyle(m.styleId);
        this.grid?.reveal(m.styleId);
        if (this.tabs) { this.tabs.selectedIndex = 0; this.state.tab = 'gallery'; this.persist(); }
        return;
      case 'preview':
        void this.onPreview(m);
        return;
      case 'previewFailed':
        if (m.requestId !== this.pendingRequest) return;
        this.pendingKey = '';
        this.compare.busy(undefined);
        this.showStageMessage(`Could not preview: ${m.message}`, true);
        return;
      case 'training':
        this.training.set(m.training);
        return;
      case 'trainingPreview':
        this.training.showPreview(m.image, m.iteration);
        return;
      case 'saving':
        this.saving = true;
        this.renderActions();
        this.setStatus(m.message, 'busy');
        return;
      case 'saved':
        this.saving = false;
        this.state.saved = { path: m.path, displayPath: m.displayPath };
        this.persist();
        this.renderActions();
        this.renderSaved();
        this.setStatus('', 'ok');
        return;
      case 'saveFailed':
        this.saving = false;
        this.renderActions();
        this.setStatus(`Not saved: ${m.message}`, 'error');
        return;
      case 'saveCancelled':
        this.saving = false;
        this.renderActions();
        this.setStatus('Save cancelled.', 'info');
        return;
      case 'notice':
        this.notice(m.level, m.message);
        return;
    }
  }

  private notice(level: 'info' | 'error', message: string): void {
    this.setStatus(message, level === 'error' ? 'error' : 'info');
  }

  private setStatus(text: string, kind: 'info' | 'ok' | 'error' | 'busy'): void {
    clear(this.statusLine);
    this.statusLine.hidden = !text;
    if (!text) return;
    const glyph = kind === 'ok' ? 'pass' : kind === 'error' ? 'error' : kind === 'busy' ? 'loading' : 'info';
    this.statusLine.append(icon(glyph, kind === 'busy' ? 'codicon-modifier-spin' : ''), h('span', {}, text));
    this.statusLine.dataset.kind = kind;
  }

  // ---- styles -------------------------------------------------------------------------------

  private ensureSelection(): void {
    if (this.selection.ensure()) this.persist();
  }

  private selectStyle(id: string): void {
    if (!this.selection.select(id)) { this.renderSelection(); return; }
    this.state.saved = undefined;
    this.persist();
    this.renderSelection();
    this.syncBlend();
    this.renderSaved();
    this.schedulePreview();
  }

  private renderStyles(): void {
    this.grid?.render();
    this.picker?.render();
    this.renderSelection();
  }

  private renderSelectedName(): void {
    if (!this.selectedName) return;
    const s = this.selection.selected;
    clear(this.selectedName);
    if (!s) return;
    this.selectedName.append(icon('symbol-color'), s.name);
    for (const p of this.selection.mixedIn()) this.selectedName.append(h('span', { class: 'selected-plus' }, ` + ${p.name}`));
  }

  private renderSelection(): void {
    this.renderSelectedName();
    this.grid?.renderSelection();
    this.renderActions();
  }

  // ---- image and preview --------------------------------------------------------------------

  private renderImage(): void {
    const img = this.state.image;
    this.imageName.textContent = img ? img.name : 'No image selected';
    this.imagePath.textContent = img ? (img.displayPath ?? (img.origin === 'drop' ? 'dropped file' : img.origin === 'sample' ? 'sample photo' : '')) : 'Drop one below or choose a file';
    this.dropzone.hidden = !!img;
    this.compare.element.hidden = !img;
    if (!img) this.stageMessage.hidden = true;
    this.renderActions();
  }

  private renderSizeButton(): void {
    if (!this.fullSizeButton) return;
    const full = this.state.size === 'full';
    this.fullSizeButton.textContent = full ? 'Preview Size' : 'Full Size';
    this.fullSizeButton.setAttribute('icon', full ? 'screen-normal' : 'screen-full');
    this.fullSizeButton.setAttribute('aria-pressed', String(full));
  }

  private renderOutputSize(): void {
    if (!this.outputSize) return;
    const c = this.current;
    this.outputSize.textContent = c?.sourceWidth && c.sourceHeight
      ? `${formatCount(c.sourceWidth * this.state.scale)} × ${formatCount(c.sourceHeight * this.state.scale)}`
      : '';
  }

  private renderActions(): void {
    const ready = !!this.state.image && !!this.selection.selected;
    if (this.saveButton) {
      setDisabled(this.saveButton, !ready || this.saving);
      setDisabled(this.saveAsButton, !ready || this.saving);
      setDisabled(this.copyButton, !this.state.saved);
    }
    if (this.fullSizeButton) setDisabled(this.fullSizeButton, !ready);
  }

  private renderSaved(): void {
    clear(this.savedLine);
    const s = this.state.saved;
    this.savedLine.hidden = !s;
    setDisabled(this.copyButton, !s);
    if (!s) return;
    const open = h('button', { type: 'button', class: 'link' }, 'Open');
    open.addEventListener('click', () => post({ type: 'openResult', path: s.path }));
    this.savedLine.append(icon('pass-filled'), h('span', { class: 'saved-path', title: s.path }, s.displayPath), open);
  }

  private syncControls(): void {
    this.strengthInput.value = String(Math.round(this.state.strength * 100));
    this.strengthValue.textContent = `${Math.round(this.state.strength * 100)}%`;
    this.updateRangeFill();
    this.colorSelect.value = this.state.colorMode;
    if (this.formatSelect) this.formatSelect.value = this.state.format;
    if (this.scaleSelect) this.scaleSelect.value = String(this.state.scale);
    this.renderSizeButton();
  }

  private updateRangeFill(): void {
    this.strengthInput.style.setProperty('--fill', `${this.strengthInput.value}%`);
  }

  private previewKey(): string | undefined {
    const img = this.state.image, style = this.selection.selected;
    if (!img || !style) return undefined;
    return [img.token, style.id, style.updatedAt ?? '', style.iteration, this.state.size, this.state.size === 'full' ? this.state.scale : 1, blendKey(this.selection.blendFields())].join('|');
  }

  private onBlendChange(blend: BlendState): void {
    this.selection.setBlend(blend);
    this.persist();
    this.renderBlend();
    this.schedulePreview();
  }

  /** Drops parts that are no longer usable (or became the selected style) and shows the blend everywhere. */
  private syncBlend(): void {
    if (this.selection.pruneBlend()) this.persist();
    this.renderBlend();
  }

  private renderBlend(): void {
    if (!this.blendControl) return;
    this.blendControl.render(this.selection.styles, this.selection.id, this.selection.blend);
    this.renderSelectedName();
    this.grid?.renderMix();
  }

  /** Debounced: clicking through styles or scales sends one request, for the last choice. */
  private schedulePreview(delay = 200): void {
    clearTimeout(this.previewTimer);
    this.previewTimer = window.setTimeout(() => this.requestPreview(), delay);
  }

  private requestPreview(): void {
    const key = this.previewKey();
    const img = this.state.image, style = this.selection.selected;
    if (!key || !img || !style) { this.compare.busy(undefined); return; }
    if (this.current?.key === key) { this.compare.busy(undefined); this.stageMessage.hidden = true; this.queueComposite(); return; }
    if (this.pendingKey === key) return;
    this.pendingKey = key;
    this.pendingRequest = ++this.requestSeq;
    this.stageMessage.hidden = true;
    const label = this.selection.label();
    this.pendingLabel = label;
    this.compare.busy(this.state.size === 'full' ? `Rendering full size with ${label}…` : `Stylizing with ${label}…`);
    post({ type: 'preview', requestId: this.pendingRequest, imageToken: img.token, styleId: style.id, size: this.state.size, scale: this.state.scale, ...this.selection.blendFields() });
  }

  private async onPreview(m: Extract<HostToWebview, { type: 'preview' }>): Promise<void> {
    if (m.requestId !== this.pendingRequest) return; // superseded
    const key = this.pendingKey;
    const label = this.pendingLabel;
    try {
      const [orig, styl] = await Promise.all([decodePixels(m.original), decodePixels(m.stylized)]);
      if (m.requestId !== this.pendingRequest) return;
      if (orig.width !== styl.width || orig.height !== styl.height) throw new Error(`the preview sizes differ (${orig.width}×${orig.height} vs ${styl.width}×${styl.height})`);
      if (this.current) { URL.revokeObjectURL(this.current.beforeUrl); URL.revokeObjectURL(this.current.rawUrl); }
      const canvas = document.createElement('canvas');
      canvas.width = orig.width;
      canvas.height = orig.height;
      this.current = {
        key, compositor: new Compositor(orig.data, styl.data, orig.width, orig.height), width: orig.width, height: orig.height,
        beforeUrl: blobUrl(m.original), rawUrl: blobUrl(m.stylized), canvas, pixels: new ImageData(orig.width, orig.height),
        sourceWidth: m.sourceWidth, sourceHeight: m.sourceHeight, runtime: m.runtime, elapsedMs: m.elapsedMs, size: m.size, label,
      };
      this.pendingKey = '';
      this.compare.setAspect(orig.width, orig.height);
      this.compare.before.src = this.current.beforeUrl;
      this.compare.busy(undefined);
      this.renderOutputSize();
      const sizeText = m.size === 'full' ? 'Full size' : 'Preview';
      this.setStatus(`${sizeText} ${formatCount(orig.width)} × ${formatCount(orig.height)} · ${(m.elapsedMs / 1000).toFixed(2)} s · ${m.runtime}`, 'info');
      this.queueComposite();
    } catch (e) {
      this.pendingKey = '';
      this.compare.busy(undefined);
      this.showStageMessage(`Could not show the preview: ${e instanceof Error ? e.message : String(e)}`, true);
    }
  }

  private showStageMessage(text: string, error: boolean): void {
    clear(this.stageMessage);
    this.stageMessage.append(icon(error ? 'error' : 'info'), h('span', {}, text));
    this.stageMessage.hidden = false;
  }

  /** Repaints the "after" layer once per frame at most; strength/colours never wait for the engine. */
  private queueComposite(): void {
    if (this.compositeQueued) return;
    this.compositeQueued = true;
    requestAnimationFrame(() => { this.compositeQueued = false; this.composite(); });
  }

  private composite(): void {
    const c = this.current;
    if (!c) return;
    if (this.encoding) { this.encodeAgain = true; return; }
    const t0 = performance.now();
    const { strength, colorMode } = this.state;
    if (strength === 1 && colorMode === 'none') {
      this.setAfter(c.rawUrl, false, t0);
      return;
    }
    c.compositor.render(strength, colorMode, c.pixels.data);
    const g = c.canvas.getContext('2d');
    if (!g) return;
    g.putImageData(c.pixels, 0, 0);
    this.encoding = true;
    c.canvas.toBlob((blob) => {
      this.encoding = false;
      if (blob && this.current === c) this.setAfter(URL.createObjectURL(blob), true, t0);
      if (this.encodeAgain) { this.encodeAgain = false; this.queueComposite(); }
    }, 'image/png');
  }

  private setAfter(url: string, owned: boolean, t0: number): void {
    const previous = this.afterUrl;
    this.afterUrl = owned ? url : undefined;
    const img = this.compare.after;
    img.onload = () => {
      if (previous) URL.revokeObjectURL(previous);
      // For tests and diagnostics: how long a strength/colour change took to reach the screen.
      document.body.dataset.compositeMs = (performance.now() - t0).toFixed(1);
      document.body.dataset.strength = String(this.state.strength);
      document.body.dataset.colorMode = this.state.colorMode;
      document.body.dataset.previewOf = this.current?.label ?? '';
      img.dataset.loaded = 'true';
    };
    img.src = url;
  }

  private requestSave(mode: 'save' | 'saveAs'): void {
    const img = this.state.image, style = this.selection.selected;
    if (!img || !style || this.saving) return;
    this.saving = true;
    this.renderActions();
    this.setStatus(mode === 'save' ? 'Saving…' : 'Choose where to save…', 'busy');
    post({ type: 'save', mode, imageToken: img.token, styleId: style.id, strength: this.state.strength, colorMode: this.state.colorMode, format: this.state.format, scale: this.state.scale, ...this.selection.blendFields() });
  }
}

new GalleryApp();
