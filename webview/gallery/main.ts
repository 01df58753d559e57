// The gallery webview (browser code; talks to src/views/gallery/galleryController.ts through
// the typed messages of src/protocol/gallery.ts). Two layouts from one bundle: the "Style
// Gallery" panel (a Gallery tab with the style grid beside the preview, and a Training tab) and
// the compact "Preview" view in the sidebar (a style drop-down over the preview).
//
// This page is a shell: it builds the components (styleGrid / stylePicker, previewPane,
// trainingPane, blendControl), routes the host's messages to them, and keeps what they share —
// the selected style and its blend (selection.ts) and the stored UI state (state.ts), of which
// each component is handed the fields it owns. Images are re-sent by the host from its cache
// when the webview is rebuilt after being hidden.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-icon/index.js';
import '@vscode-elements/elements/dist/vscode-radio/index.js';
import '@vscode-elements/elements/dist/vscode-radio-group/index.js';
import './gallery.css';
import type { GalleryLayout, HostToWebview } from '../../src/protocol/gallery';
import type { BlendState } from './blend';
import { BlendControl } from './blendControl';
import { action, button, h, icon } from './dom';
import { post, storeState } from './host';
import { PreviewPane } from './previewPane';
import { StyleSelection } from './selection';
import { INITIAL_STATE, restoreState, type UiState } from './state';
import { StyleGrid } from './styleGrid';
import { StylePicker } from './stylePicker';
import { TrainingPane } from './trainingPane';

type Tabs = HTMLElement & { selectedIndex: number };

/** Report CSP violations and errors to the output channel (they would otherwise fail silently). */
function reportProblems(): void {
  document.body.dataset.cspViolations = '0';
  document.addEventListener('securitypolicyviolation', (e) => {
    document.body.dataset.cspViolations = String(Number(document.body.dataset.cspViolations) + 1);
    post({
      type: 'log',
      level: 'error',
      message: `CSP blocked ${e.blockedURI || 'inline content'} (${e.violatedDirective})`,
    });
  });
  window.addEventListener('error', (e) =>
    post({ type: 'log', level: 'error', message: `${e.message} (${e.filename}:${e.lineno})`.slice(0, 1900) }),
  );
}

class GalleryPage {
  private layout: GalleryLayout = document.body.dataset.layout === 'sidebar' ? 'sidebar' : 'panel';
  private readonly state: UiState = restoreState() ?? { ...INITIAL_STATE };
  private initialised = false;
  private readonly root = document.getElementById('app')!;
  private selection!: StyleSelection;
  private grid: StyleGrid | undefined;
  private picker: StylePicker | undefined;
  private blend: BlendControl | undefined;
  private preview!: PreviewPane;
  private training!: TrainingPane;
  private tabs: Tabs | undefined;
  private readonly persist = () => storeState(this.state);

  constructor() {
    this.build();
    window.addEventListener('message', (e: MessageEvent<HostToWebview>) => this.onMessage(e.data));
    post({ type: 'ready' });
  }

  // ---- building the page --------------------------------------------------------------------

  private build(): void {
    this.root.replaceChildren();
    const panel = this.layout === 'panel';
    this.selection = new StyleSelection(this.state, panel);
    this.blend = panel ? new BlendControl((b) => this.onBlendChange(b)) : undefined;
    this.preview = new PreviewPane(this.state, this.selection, this.blend?.element, this.persist);
    this.training = new TrainingPane(this.layout, this.state, {
      persist: this.persist,
      tryStyle: (id) => this.focusStyle(id),
    });
    const select = (id: string) => this.selectStyle(id);
    if (panel) {
      this.grid = new StyleGrid(this.state, this.selection, { select, persist: this.persist });
      this.picker = undefined;
      this.buildPanel(this.grid);
    } else {
      this.grid = undefined;
      this.picker = new StylePicker(this.selection, select);
      this.tabs = undefined;
      this.root.classList.add('layout-sidebar');
      this.root.append(this.picker.element, this.picker.empty, this.preview.element, this.training.element);
    }
    this.root.removeAttribute('aria-busy');
  }

  private buildPanel(grid: StyleGrid): void {
    this.root.classList.add('layout-panel');
    const command = (
      label: string,
      name: 'train' | 'importStyle' | 'refreshStyles',
      opts: Parameters<typeof button>[1],
    ) => action(button(label, { secondary: true, ...opts }), () => post({ type: 'runCommand', command: name }));
    const addons = h(
      'div',
      { slot: 'addons', class: 'tab-addons' },
      command('Train a Style…', 'train', { icon: 'beaker', title: 'Train a new style from any painting' }),
      command('Import Style…', 'importStyle', { icon: 'cloud-download', iconOnly: true }),
      command('Refresh Styles', 'refreshStyles', { icon: 'refresh', iconOnly: true }),
    );
    const tabs = h(
      'vscode-tabs',
      { panel: true, 'selected-index': this.state.tab === 'training' ? 1 : 0, class: 'tabs' },
      h('vscode-tab-header', { slot: 'header', 'data-tab': 'gallery' }, icon('symbol-color', 'tab-icon'), 'Gallery'),
      h(
        'vscode-tab-header',
        { slot: 'header', 'data-tab': 'training' },
        icon('pulse', 'tab-icon'),
        'Training',
        this.training.tabLabel,
      ),
      addons,
      h('vscode-tab-panel', { panel: true }, h('div', { class: 'gallery-layout' }, grid.element, this.preview.element)),
      h('vscode-tab-panel', { panel: true }, this.training.element),
    ) as Tabs;
    tabs.addEventListener('vsc-tabs-select', (e) => {
      this.state.tab =
        (e as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex === 1 ? 'training' : 'gallery';
      this.persist();
      if (this.state.tab === 'training') this.training.redraw();
    });
    this.tabs = tabs;
    this.root.append(tabs);
  }

  // ---- messages -----------------------------------------------------------------------------

  private onMessage(m: HostToWebview): void {
    switch (m.type) {
      case 'init': {
        const first = !this.initialised;
        this.initialised = true;
        if (m.layout !== this.layout) {
          this.layout = m.layout;
          this.build();
        }
        // The host's defaults only for a page that has never stored its own.
        if (first && !restoreState()) this.preview.applySettings(m.settings);
        this.selection.styles = m.styles;
        if (m.focusStyle) this.selection.focus(m.focusStyle);
        this.preview.restoreImage(m.images, m.image);
        this.ensureSelection();
        this.renderStyles();
        this.syncBlend();
        this.training.set(m.training);
        this.persist();
        this.preview.schedulePreview(0);
        if (m.focusStyle) this.grid?.reveal(m.focusStyle);
        return;
      }
      case 'styles':
        this.selection.styles = m.styles;
        this.ensureSelection();
        this.renderStyles();
        this.syncBlend();
        this.preview.schedulePreview();
        return;
      case 'styleImages':
        this.grid?.setImages(m.styleId, m.thumbnail, m.sample);
        return;
      case 'focusStyle':
        this.focusStyle(m.styleId);
        return;
      case 'training':
        this.training.set(m.training);
        return;
      case 'trainingPreview':
        this.training.showPreview(m.image, m.iteration);
        return;
      default:
        this.preview.receive(m);
    }
  }

  // ---- the selected style and its blend -----------------------------------------------------

  private ensureSelection(): void {
    if (this.selection.ensure()) this.persist();
  }

  private selectStyle(id: string): void {
    if (!this.selection.select(id)) {
      this.renderSelection();
      return;
    }
    this.persist();
    this.preview.styleChanged();
    this.renderSelection();
    this.syncBlend();
    this.preview.schedulePreview();
  }

  /** Selects `id`, shows its card and the Gallery tab (the host asked, or "Try It in the Gallery"). */
  private focusStyle(id: string): void {
    this.selectStyle(id);
    this.grid?.reveal(id);
    if (!this.tabs) return;
    this.tabs.selectedIndex = 0;
    this.state.tab = 'gallery';
    this.persist();
  }

  private renderStyles(): void {
    this.grid?.render();
    this.picker?.render();
    this.preview.renderSelection();
  }

  private renderSelection(): void {
    this.grid?.renderSelection();
    this.preview.renderSelection();
  }

  private onBlendChange(blend: BlendState): void {
    this.selection.setBlend(blend);
    this.persist();
    this.renderBlend();
    this.preview.schedulePreview();
  }

  /** Drops parts that are no longer usable (or became the selected style) and shows the blend everywhere. */
  private syncBlend(): void {
    if (this.selection.pruneBlend()) this.persist();
    this.renderBlend();
  }

  private renderBlend(): void {
    if (!this.blend) return;
    this.blend.render(this.selection.styles, this.selection.id, this.selection.blend);
    this.preview.renderSelectedName();
    this.grid?.renderMix();
  }
}

reportProblems();
new GalleryPage();
