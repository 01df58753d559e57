// The preview's picture: a drop zone while no image is chosen, then the before/after comparison
// (compare.ts). It sends the preview request for the page and shows the reply.
//
// Why compositing happens here: the host sends the preview once per (image, style, size,
// scale, blend) — the input as the network saw it and the raw stylization. Strength and colour
// preservation are then computed on the pixels in this page (composite.ts, the engine's maths),
// so moving the strength slider or switching colours repaints immediately without a job.
import type { HostToWebview, WebviewToHost } from '../../src/protocol/gallery';
import type { ColorMode, EncodedImage } from '../../src/protocol/jobs';
import { CompareView } from './compare';
import { Compositor } from './composite';
import { action, blobUrl, button, clear, h, icon } from './dom';
import { installDrop, type Notice } from './dropTarget';
import { post } from './host';
import type { UiState } from './state';

type PreviewReply = Extract<HostToWebview, { type: 'preview' }>;
export type PreviewRequest = Omit<Extract<WebviewToHost, { type: 'preview' }>, 'type' | 'requestId'>;

/** How the stylization is composited over the original (the strength and colour controls). */
export interface Look {
  readonly strength: number;
  readonly colorMode: ColorMode;
}

export interface PreviewStageEvents {
  /** The divider moved. */
  persist(): void;
  /** A new preview is on screen. */
  shown(reply: PreviewReply, width: number, height: number): void;
  notice: Notice;
}

interface CurrentPreview {
  readonly key: string;
  readonly compositor: Compositor;
  readonly beforeUrl: string;
  readonly rawUrl: string;
  readonly canvas: HTMLCanvasElement;
  readonly pixels: ImageData;
  /** What the preview shows: "udnie 70% + Starry Night 30%", or the style's name. */
  readonly label: string;
}

async function decodePixels(img: EncodedImage): Promise<ImageData> {
  const bitmap = await createImageBitmap(new Blob([img.bytes as Uint8Array<ArrayBuffer>], { type: img.mime }), {
    colorSpaceConversion: 'none',
    premultiplyAlpha: 'none',
  });
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  if (!g) throw new Error('no 2D canvas');
  g.drawImage(bitmap, 0, 0);
  bitmap.close();
  return g.getImageData(0, 0, canvas.width, canvas.height);
}

export class PreviewStage {
  readonly element: HTMLElement;
  private readonly dropzone: HTMLElement;
  private readonly compare: CompareView;
  private readonly message: HTMLElement;
  private current: CurrentPreview | undefined;
  private requestSeq = 0;
  /** The request whose reply is awaited (older replies are superseded), its key and label. */
  private pending = { requestId: 0, key: '', label: '' };
  private compositeQueued = false;
  private encoding = false;
  private encodeAgain = false;
  private afterUrl: string | undefined;

  constructor(
    state: Pick<UiState, 'split'>,
    private readonly look: () => Look,
    private readonly events: PreviewStageEvents,
  ) {
    this.compare = new CompareView((p) => {
      state.split = p;
      events.persist();
    });
    this.compare.setPosition(state.split);
    this.dropzone = h(
      'div',
      { class: 'dropzone', id: 'dropzone' },
      icon('cloud-upload', 'drop-icon'),
      h('div', { class: 'drop-title' }, 'Drop an image here'),
      h('div', { class: 'drop-sub' }, 'PNG, JPEG, WebP, AVIF, TIFF or GIF — from your computer or the Explorer'),
      h(
        'div',
        { class: 'drop-actions' },
        action(button('Choose File…', { icon: 'folder-opened', id: 'choose-file' }), () => post({ type: 'pickImage' })),
        action(button('From Workspace…', { icon: 'search', secondary: true, id: 'pick-workspace' }), () =>
          post({ type: 'pickWorkspaceImage' }),
        ),
        action(button('Active Editor', { icon: 'file-media', secondary: true }), () =>
          post({ type: 'useActiveEditorImage' }),
        ),
        action(button('Sample Photo', { icon: 'sparkle', secondary: true }), () => post({ type: 'useSampleImage' })),
      ),
    );
    this.message = h('div', { class: 'stage-message', role: 'status', hidden: true });
    this.element = h('div', { class: 'stage', id: 'stage' }, this.dropzone, this.compare.element, this.message);
    installDrop(this.element, events.notice);
  }

  /** The drop zone without an image, the comparison with one. */
  showImage(has: boolean): void {
    this.dropzone.hidden = has;
    this.compare.element.hidden = !has;
    if (!has) this.message.hidden = true;
  }

  /**
   * Shows the preview identified by `key` (undefined: nothing to preview): at once when it is
   * the one on screen, else after asking the host (unless that request is already out).
   */
  request(key: string | undefined, label: string, request: PreviewRequest): void {
    if (!key) {
      this.compare.busy(undefined);
      return;
    }
    if (this.current?.key === key) {
      this.compare.busy(undefined);
      this.message.hidden = true;
      this.queueComposite();
      return;
    }
    if (this.pending.key === key) return;
    this.pending = { requestId: ++this.requestSeq, key, label };
    this.message.hidden = true;
    this.compare.busy(request.size === 'full' ? `Rendering full size with ${label}…` : `Stylizing with ${label}…`);
    post({ type: 'preview', requestId: this.pending.requestId, ...request });
  }

  /** Nothing to ask the host yet (what the image is is on its way): the busy line only. */
  hold(text: string): void {
    this.compare.busy(text);
  }

  /** Nothing to preview (no image or no usable style). */
  idle(): void {
    this.compare.busy(undefined);
  }

  async receive(m: PreviewReply): Promise<void> {
    if (m.requestId !== this.pending.requestId) return; // superseded
    const { key, label } = this.pending;
    try {
      const [orig, styl] = await Promise.all([decodePixels(m.original), decodePixels(m.stylized)]);
      if (m.requestId !== this.pending.requestId) return;
      if (orig.width !== styl.width || orig.height !== styl.height)
        throw new Error(`the preview sizes differ (${orig.width}×${orig.height} vs ${styl.width}×${styl.height})`);
      if (this.current) {
        URL.revokeObjectURL(this.current.beforeUrl);
        URL.revokeObjectURL(this.current.rawUrl);
      }
      const canvas = document.createElement('canvas');
      canvas.width = orig.width;
      canvas.height = orig.height;
      this.current = {
        key,
        label,
        compositor: new Compositor(orig.data, styl.data, orig.width, orig.height),
        beforeUrl: blobUrl(m.original),
        rawUrl: blobUrl(m.stylized),
        canvas,
        pixels: new ImageData(orig.width, orig.height),
      };
      this.pending = { ...this.pending, key: '' };
      this.compare.setAspect(orig.width, orig.height);
      this.compare.before.src = this.current.beforeUrl;
      this.compare.busy(undefined);
      this.events.shown(m, orig.width, orig.height);
      this.queueComposite();
    } catch (e) {
      this.showFailure(`Could not show the preview: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The host could not make preview `requestId` (ignored when it was superseded). */
  failed(requestId: number, message: string): void {
    if (requestId === this.pending.requestId) this.showFailure(`Could not preview: ${message}`);
  }

  private showFailure(text: string): void {
    this.pending = { ...this.pending, key: '' };
    this.compare.busy(undefined);
    clear(this.message);
    this.message.append(icon('error'), h('span', {}, text));
    this.message.hidden = false;
  }

  /** Repaints the "after" layer once per frame at most; strength/colours never wait for the engine. */
  queueComposite(): void {
    if (this.compositeQueued) return;
    this.compositeQueued = true;
    requestAnimationFrame(() => {
      this.compositeQueued = false;
      this.composite();
    });
  }

  private composite(): void {
    const c = this.current;
    if (!c) return;
    if (this.encoding) {
      this.encodeAgain = true;
      return;
    }
    const t0 = performance.now();
    const { strength, colorMode } = this.look();
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
      if (this.encodeAgain) {
        this.encodeAgain = false;
        this.queueComposite();
      }
    }, 'image/png');
  }

  private setAfter(url: string, owned: boolean, t0: number): void {
    const previous = this.afterUrl;
    this.afterUrl = owned ? url : undefined;
    const img = this.compare.after;
    img.onload = () => {
      if (previous) URL.revokeObjectURL(previous);
      // For tests and diagnostics: how long a strength/colour change took to reach the screen.
      const look = this.look();
      document.body.dataset.compositeMs = (performance.now() - t0).toFixed(1);
      document.body.dataset.strength = String(look.strength);
      document.body.dataset.colorMode = look.colorMode;
      document.body.dataset.previewOf = this.current?.label ?? '';
      img.dataset.loaded = 'true';
    };
    img.src = url;
  }
}
