// The host side of the gallery webview: one "Style Gallery" editor panel (revealed when
// already open) and the compact "Preview" view in the Style Transfer sidebar share this
// controller. It creates and watches the webviews and routes their messages to the parts that
// do the work (see webview/gallery/main.ts for the other side):
// - imageRegistry.ts / imageSources.ts: the images a webview may refer to, by token, and the
//   ways to choose one; previews.ts and saving.ts: the preview and stylize jobs on them;
// - cardSamples.ts: the style cards' images; trainingRelay.ts: the live training view.
// The webview never names a file it has not been given: images by token; styles by their id,
// which must be a style StyleStore lists; paths (Explorer drops, Copy Path) go through
// PathGuard. Every message is parsed by parseWebviewMessage first; a rejected one is logged
// (webviewLog.ts) and otherwise ignored.
import path from 'node:path';
import * as vscode from 'vscode';
import {
  parseWebviewMessage,
  type GalleryLayout,
  type GalleryStyle,
  type HostToWebview,
  type WebviewToHost,
} from '../../protocol/gallery';
import { messageOf } from '../../protocol/errors';
import type { CommandContext } from '../../services/context';
import { CardSamples } from './cardSamples';
import { Clips, playbackDir } from './clips';
import { GallerySession, UserJobs, type SessionHandlers } from './gallerySession';
import { galleryHtml } from './html';
import { ImageRegistry } from './imageRegistry';
import { ImageSources, activeEditorImage } from './imageSources';
import { watchWebviewLoad } from './loadWatchdog';
import { PathGuard } from './pathGuard';
import { Previews } from './previews';
import { Saver } from './saving';
import { TrainingRelay } from './trainingRelay';
import { WebviewLog } from './webviewLog';

const PANEL_TYPE = 'fastStyleTransfer.gallery';
export const GALLERY_VIEW_ID = 'fastStyleTransfer.galleryView';

export class GalleryController implements vscode.WebviewViewProvider, vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private panelSession: GallerySession | undefined;
  private viewSession: GallerySession | undefined;
  private readonly images: ImageRegistry;
  private readonly sources: ImageSources;
  private readonly previews: Previews;
  private readonly saver: Saver;
  private readonly clips: Clips;
  private readonly jobs = new UserJobs();
  private readonly guard: PathGuard;
  private readonly samples: CardSamples;
  private readonly training: TrainingRelay;
  private pendingFocus: string | undefined;
  private pendingImage: string | undefined;
  private readonly subs: vscode.Disposable[] = [];
  private readonly bundleRoot: vscode.Uri;
  private readonly postListeners = new Set<(m: HostToWebview, layout: GalleryLayout) => void>();
  private readonly receiveListeners = new Set<(m: WebviewToHost, layout: GalleryLayout) => void>();
  private readonly log: WebviewLog;
  /** Panels replaced in a row because their webview never loaded (replaceStuckPanel). */
  private stuckPanelReplacements = 0;

  constructor(private readonly ctx: CommandContext) {
    this.bundleRoot = vscode.Uri.joinPath(ctx.extension.extensionUri, 'dist', 'webview');
    this.guard = new PathGuard({
      roots: () => [
        ...(vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath),
        ctx.storageDir,
        ctx.extension.asAbsolutePath(path.join('media', 'samples')),
      ],
      maxBytes: 64 * 1024 * 1024,
    });
    const samplePhoto = ctx.extension.asAbsolutePath(path.join('media', 'samples', 'photos', 'coffee.png'));
    const readySessions = () => this.sessions.filter((s) => s.ready);
    this.images = new ImageRegistry(ctx.storageDir, (token) => {
      this.previews.forgetImage(token);
      this.clips.forgetImage(token);
    });
    this.log = new WebviewLog(ctx.log);
    const reject = (reason: string) => this.log.reject(reason);
    this.previews = new Previews({
      ctx,
      images: this.images,
      jobs: this.jobs,
      reject,
      done: () => this.samples.kick(),
    });
    this.saver = new Saver({ ctx, images: this.images, guard: this.guard, jobs: this.jobs, reject });
    this.clips = new Clips({
      ctx,
      images: this.images,
      guard: this.guard,
      jobs: this.jobs,
      folderFor: (img) => this.saver.saveFolder(img),
      produced: (file) => this.saver.produced(file),
      reject,
    });
    this.sources = new ImageSources(this.images, this.guard, samplePhoto, reject);
    this.samples = new CardSamples({ ctx, jobs: this.jobs, samplePhoto, readySessions });
    this.training = new TrainingRelay(ctx, readySessions, () => this.onStylesChanged(), reject);
    this.subs.push(toDisposable(ctx.store.onDidChange(() => this.onStylesChanged())), this.training);
  }

  // ---- opening ------------------------------------------------------------------------------

  /** Opens (or reveals) the gallery panel, optionally on a style and an image. */
  async open(styleArg?: unknown, image?: vscode.Uri): Promise<void> {
    // From the palette: nothing; from the Styles tree: its id or its node ({ style }).
    const styleId =
      typeof styleArg === 'string' ? styleArg : (styleArg as { style?: { id?: unknown } } | undefined)?.style?.id;
    // A new panel starts on the image in the editor, if any; revealing an open one keeps its image.
    const img = image instanceof vscode.Uri ? image : this.panel ? undefined : activeEditorImage();
    if (img && img.scheme === 'file') {
      await this.guard.grant(img.fsPath);
      const registered = this.images.registerPath(img.fsPath, image ? 'dialog' : 'editor');
      this.pendingImage = registered.info.token;
    }
    if (typeof styleId === 'string') this.pendingFocus = styleId;
    if (this.panel) {
      this.panel.reveal(undefined, false);
      if (this.panelSession?.ready) this.flushPending(this.panelSession);
      return;
    }
    this.createPanel(vscode.ViewColumn.Active);
  }

  private createPanel(column: vscode.ViewColumn): void {
    const panel = vscode.window.createWebviewPanel(PANEL_TYPE, 'Style Gallery', column, {
      enableScripts: true,
      localResourceRoots: this.resourceRoots,
      // Hidden panels are rebuilt from getState/setState and the host's caches instead.
      retainContextWhenHidden: false,
    });
    panel.iconPath = vscode.Uri.joinPath(this.ctx.extension.extensionUri, 'media', 'activitybar.svg');
    this.panel = panel;
    const session = new GallerySession(panel.webview, 'panel', this.sessionHandlers);
    this.panelSession = session;
    panel.webview.html = galleryHtml(panel.webview, this.bundleRoot, 'panel', vscode.Uri.joinPath);
    this.watchLoad(
      session,
      () => panel.visible,
      () => this.replaceStuckPanel(panel),
    );
    // Hidden, the webview is discarded (no retained context); shown again, it is rebuilt and
    // says 'ready' anew: nothing is posted in between, and the rebuilt one is watched too.
    panel.onDidChangeViewState(() => {
      if (!panel.visible) session.ready = false;
      else if (!session.ready)
        this.watchLoad(
          session,
          () => panel.visible,
          () => this.replaceStuckPanel(panel),
        );
    });
    panel.onDidDispose(() => {
      session.dispose();
      if (this.panel === panel) {
        this.panel = undefined;
        this.panelSession = undefined;
      }
    });
  }

  /**
   * A panel whose webview never loaded: VS Code's webview frame can wait forever for its
   * service worker when another webview (an image preview) starts at the same moment, and
   * setting the HTML again does not reach that frame. A new panel in the same place has a new
   * frame. Twice at most in a row; after that the HTML is set again.
   */
  private replaceStuckPanel(panel: vscode.WebviewPanel): void {
    if (this.panel !== panel) return;
    if (this.stuckPanelReplacements >= 2) {
      panel.webview.html = galleryHtml(panel.webview, this.bundleRoot, 'panel', vscode.Uri.joinPath);
      return;
    }
    this.stuckPanelReplacements++;
    const column = panel.viewColumn ?? vscode.ViewColumn.Active;
    panel.dispose();
    this.createPanel(column);
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    view.webview.options = { enableScripts: true, localResourceRoots: this.resourceRoots };
    this.viewSession?.dispose();
    const session = new GallerySession(view.webview, 'sidebar', this.sessionHandlers);
    this.viewSession = session;
    view.webview.html = galleryHtml(view.webview, this.bundleRoot, 'sidebar', vscode.Uri.joinPath);
    const reload = () => {
      view.webview.html = galleryHtml(view.webview, this.bundleRoot, 'sidebar', vscode.Uri.joinPath);
    };
    this.watchLoad(session, () => view.visible, reload);
    view.onDidChangeVisibility(() => {
      if (!view.visible) session.ready = false;
      else if (!session.ready) this.watchLoad(session, () => view.visible, reload);
    });
    view.onDidDispose(() => {
      session.dispose();
      if (this.viewSession === session) this.viewSession = undefined;
    });
  }

  /** Reloads a visible webview that has not said 'ready' in time (a few times at most). */
  private watchLoad(session: GallerySession, visible: () => boolean, reload: () => void): void {
    session.loadWatch?.stop();
    session.loadWatch = watchWebviewLoad({
      what: `${session.layout} gallery webview`,
      ready: () => session.ready,
      disposed: () => session.disposed,
      visible,
      reload,
      warn: (m) => this.ctx.log.warn(`gallery: ${m}`),
      error: (m) => {
        this.ctx.log.error(`gallery: ${m}`);
        // Not a blank panel without a word: say so, and offer a fresh panel (a new webview frame).
        const reopen = session.layout === 'panel' ? ['Reopen Gallery'] : [];
        void vscode.window
          .showWarningMessage(
            "The Style Gallery did not load. VS Code's webview host did not start it; closing other previews and reopening the gallery usually helps.",
            ...reopen,
            'Show Log',
          )
          .then((a) => {
            if (a === 'Show Log') this.ctx.log.show();
            if (a === 'Reopen Gallery' && session === this.panelSession) {
              this.panel?.dispose();
              void this.open();
            }
          });
      },
    });
  }

  /** What a webview may load: the bundle, and the stylized clips' WebM previews. */
  private get resourceRoots(): vscode.Uri[] {
    return [this.bundleRoot, vscode.Uri.file(playbackDir(this.ctx.storageDir))];
  }

  /** What the webview's player said last of a stylized clip (tests). */
  get lastPlayback(): Extract<WebviewToHost, { type: 'playback' }> | undefined {
    return this.clips.lastPlayback;
  }

  /** The panel, while open (tests). */
  get galleryPanel(): vscode.WebviewPanel | undefined {
    return this.panel;
  }

  /** The last rejected messages (newest last), for diagnostics and tests. */
  get rejections(): readonly string[] {
    return this.log.rejections;
  }

  /** True once the panel's webview has loaded and said 'ready' (tests). */
  get panelReady(): boolean {
    return this.panelSession?.ready === true;
  }

  private readonly sessionHandlers: SessionHandlers = {
    receive: (m, s) => void this.receive(m, s),
    posted: (m, s) => {
      for (const l of this.postListeners) l(m, s.layout);
      // A clip gets its frame picker: the host asks what the image is once it is shown. A new or
      // rebuilt webview hears of every image it may show, answers that were on their way included.
      if (m.type === 'image') void this.clips.describe(s, m.image.token);
      if (m.type === 'init') {
        const tokens = new Set([...m.images.map((i) => i.token), ...(m.image ? [m.image.token] : [])]);
        for (const token of tokens) void this.clips.describe(s, token);
      }
    },
  };

  private get sessions(): GallerySession[] {
    return [this.panelSession, this.viewSession].filter((s): s is GallerySession => s !== undefined);
  }

  // ---- messages -----------------------------------------------------------------------------

  /**
   * Handles one message from a webview (the panel's when `from` is omitted: the integration
   * tests inject messages this way). Invalid messages are logged and dropped.
   */
  async receive(raw: unknown, from?: GallerySession): Promise<void> {
    const session = from ?? this.panelSession;
    const msg = parseWebviewMessage(raw);
    if (msg instanceof Error) {
      this.log.reject(msg.message);
      return;
    }
    if (!session) return;
    if (from) for (const l of this.receiveListeners) l(msg, from.layout);
    try {
      await this.dispatch(msg, session);
    } catch (e) {
      this.ctx.log.error(`gallery: ${msg.type} failed: ${messageOf(e)}`);
      session.post({ type: 'notice', level: 'error', message: messageOf(e) });
    }
  }

  private async dispatch(m: WebviewToHost, s: GallerySession): Promise<void> {
    switch (m.type) {
      case 'ready':
        s.ready = true;
        if (s.layout === 'panel') this.stuckPanelReplacements = 0;
        s.lastTrainingPreview = -1;
        s.post({
          type: 'init',
          layout: s.layout,
          styles: this.galleryStyles(),
          settings: this.gallerySettings(),
          focusStyle: this.pendingFocus,
          image: this.pendingImage ? this.images.get(this.pendingImage)?.info : undefined,
          images: this.images.all(),
          training: this.training.view(),
        });
        this.pendingFocus = undefined;
        this.pendingImage = undefined;
        this.training.postPreview(s);
        this.samples.send(s);
        return;
      case 'pickImage':
      case 'pickWorkspaceImage':
      case 'useActiveEditorImage':
      case 'useSampleImage':
      case 'openImagePath':
      case 'dropImage':
        return this.sources.handle(m, s);
      case 'preview':
        return this.previews.preview(s, m);
      case 'save':
        return this.saver.save(s, m);
      case 'stylizeClip':
        return this.clips.stylize(s, m);
      case 'cancelClip':
        return this.clips.cancel(s);
      case 'playback':
        return this.clips.report(m);
      case 'copyPath':
      case 'openResult': {
        const file = await this.saver.checkResult(m.path);
        if (file instanceof Error) {
          this.log.reject(`${m.type}: ${file.message}`);
          return;
        }
        if (m.type === 'copyPath') {
          await vscode.env.clipboard.writeText(file);
          s.post({ type: 'notice', level: 'info', message: `Copied ${file}` });
        } else {
          await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(file), {
            viewColumn: vscode.ViewColumn.Beside,
            preview: true,
          });
        }
        return;
      }
      case 'runCommand':
        if (m.command === 'setUpVideo') {
          // Once ffmpeg is there, the clips that wanted it get their frame pickers.
          if (await vscode.commands.executeCommand<boolean>('fastStyleTransfer.setUpVideo')) this.clips.retryMissing(s);
          return;
        }
        void vscode.commands.executeCommand(`fastStyleTransfer.${m.command}`);
        return;
      case 'cancelTraining':
      case 'pauseTraining':
      case 'resumeTraining':
        return this.training.handle(m);
      case 'evaluateStyle': {
        const style = this.ctx.store.find(m.styleId);
        if (!style || style.error) {
          this.log.reject(`evaluateStyle: ${m.styleId.slice(0, 200)} is not a usable style`);
          return;
        }
        void vscode.commands.executeCommand('fastStyleTransfer.evaluateStyle', style.id);
        return;
      }
      case 'log':
        this.log.write(m.level, `gallery webview: ${m.message}`);
        return;
    }
  }

  // ---- the style list and what waits for a ready webview ------------------------------------

  private galleryStyles(): GalleryStyle[] {
    const training = this.ctx.training.running ? this.ctx.training.current?.checkpoint : undefined;
    return this.ctx.store.all.map((s) => ({
      id: s.id,
      name: s.name,
      origin: s.origin,
      iteration: s.iteration,
      preset: s.preset,
      updatedAt: s.updatedAt ?? s.createdAt,
      resumable: s.resumable && s.id !== training,
      training: s.id === training,
      error: s.error,
      lastLoss: s.lastLosses?.total,
      architecture: s.architecture ? `${s.architecture.filters.join('-')}/${s.architecture.residualBlocks}` : undefined,
    }));
  }

  private gallerySettings() {
    const s = this.ctx.settings();
    return { strength: s.strength, colorMode: s.preserveColors, format: s.outputFormat };
  }

  private onStylesChanged(): void {
    const styles = this.galleryStyles();
    for (const s of this.sessions)
      if (s.ready) {
        s.post({ type: 'styles', styles });
        this.samples.send(s);
      }
  }

  private flushPending(s: GallerySession): void {
    if (this.pendingImage) {
      const img = this.images.get(this.pendingImage);
      if (img) s.post({ type: 'image', image: img.info });
    }
    if (this.pendingFocus) s.post({ type: 'focusStyle', styleId: this.pendingFocus });
    this.pendingFocus = undefined;
    this.pendingImage = undefined;
  }

  // ---- test hooks ---------------------------------------------------------------------------

  /** Called for every message posted to a webview (tests observe the protocol through it). */
  onDidPost(listener: (m: HostToWebview, layout: GalleryLayout) => void): vscode.Disposable {
    this.postListeners.add(listener);
    return new vscode.Disposable(() => this.postListeners.delete(listener));
  }

  /** Called for every valid message a webview sends (tests observe what the webview asks for). */
  onDidReceive(listener: (m: WebviewToHost, layout: GalleryLayout) => void): vscode.Disposable {
    this.receiveListeners.add(listener);
    return new vscode.Disposable(() => this.receiveListeners.delete(listener));
  }

  dispose(): void {
    this.panel?.dispose();
    this.viewSession?.dispose();
    for (const s of this.subs) s.dispose();
    this.images.dispose();
    this.clips.dispose();
  }
}

function toDisposable(d: { dispose(): void }): vscode.Disposable {
  return new vscode.Disposable(() => d.dispose());
}
