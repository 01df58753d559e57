// The images the gallery's webviews may refer to, by token: the webview never names a file it
// has not been given. Files chosen by the user are held by path; dropped files as bytes in
// memory (written to storage once, when first saved). The oldest go beyond a count and a size.
import fsp from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { MEDIA_EXTENSIONS, mayBeClip } from '../../protocol/fileTypes';
import type { GalleryImage } from '../../protocol/gallery';
import type { ImageSource } from '../../protocol/jobs';
import { ownBytes } from './gallerySession';
import { sniffImageType, sniffVideoType } from './pathGuard';

const MAX_IMAGES = 16;
/** Dropped images are kept in memory (for previews and Save); older ones go beyond this. */
const MAX_HELD_BYTES = 256 * 1024 * 1024;

export interface RegisteredImage {
  readonly info: GalleryImage;
  readonly source: { readonly path: string } | { readonly bytes: Uint8Array; readonly name: string };
  /** Where dropped bytes were written for saving (created on first save). */
  inputFile?: string;
}

export class ImageRegistry {
  private readonly images = new Map<string, RegisteredImage>();
  private nextToken = 1;

  /** `forget`: called with the token of an image that goes (its cached previews go too). */
  constructor(
    private readonly storageDir: string,
    private readonly forget: (token: string) => void,
  ) {}

  get(token: string): RegisteredImage | undefined {
    return this.images.get(token);
  }

  /** Every image held, for a rebuilt webview to check its restored one against. */
  all(): GalleryImage[] {
    return [...this.images.values()].map((i) => i.info);
  }

  /** The file's registration (the existing one when it is held already). */
  registerPath(file: string, origin: GalleryImage['origin']): RegisteredImage {
    for (const img of this.images.values()) if ('path' in img.source && img.source.path === file) return img;
    const uri = vscode.Uri.file(file);
    const inWorkspace = vscode.workspace.getWorkspaceFolder(uri) !== undefined;
    const img: RegisteredImage = {
      info: {
        token: this.mintToken(),
        name: path.basename(file),
        displayPath:
          origin === 'sample' ? 'Sample photo (CC0)' : inWorkspace ? vscode.workspace.asRelativePath(uri) : file,
        origin,
        ...(mayBeClip(file) ? { clipPending: true } : {}),
      },
      source: { path: file },
    };
    this.add(img);
    return img;
  }

  /** Dropped bytes (already checked to be an image or a video). */
  registerBytes(name: string, bytes: Uint8Array): RegisteredImage {
    const img: RegisteredImage = {
      info: { token: this.mintToken(), name, origin: 'drop', ...(mayBeClip(name) ? { clipPending: true } : {}) },
      source: { bytes: ownBytes(bytes), name },
    };
    this.add(img);
    return img;
  }

  sourceOf(img: RegisteredImage): ImageSource {
    return 'path' in img.source ? { path: img.source.path } : { bytes: img.source.bytes, name: img.source.name };
  }

  /** A file the engine can read for `img` (dropped bytes are written once into storage). */
  async inputFileOf(img: RegisteredImage): Promise<string> {
    if ('path' in img.source) return img.source.path;
    if (img.inputFile) return img.inputFile;
    const kind = sniffImageType(img.source.bytes) ?? sniffVideoType(img.source.bytes) ?? 'png';
    const safe =
      img.source.name
        .normalize('NFC')
        .replace(/[<>:"/\\|?*\u0000-\u001f\u007f]+/g, '-')
        .replace(/^[.\-]+/, '')
        .slice(0, 100) || 'image';
    const ext = path.extname(safe).toLowerCase();
    const name = MEDIA_EXTENSIONS.includes(ext)
      ? safe
      : `${safe}${kind === 'jpeg' ? '.jpg' : kind === 'heif' ? '.heic' : `.${kind}`}`;
    const dir = path.join(this.inputsDir(), img.info.token);
    await fsp.mkdir(dir, { recursive: true });
    const file = path.join(dir, name);
    await fsp.writeFile(file, img.source.bytes);
    img.inputFile = file;
    return file;
  }

  /** Removes the files written for dropped images. */
  dispose(): void {
    void fsp.rm(this.inputsDir(), { recursive: true, force: true }).catch(() => undefined);
  }

  private inputsDir(): string {
    return path.join(this.storageDir, 'gallery', 'inputs');
  }

  private mintToken(): string {
    return `img-${this.nextToken++}`;
  }

  private add(img: RegisteredImage): void {
    this.images.set(img.info.token, img);
    const heldBytes = () =>
      [...this.images.values()].reduce((n, i) => n + ('bytes' in i.source ? i.source.bytes.byteLength : 0), 0);
    while (this.images.size > MAX_IMAGES || (this.images.size > 1 && heldBytes() > MAX_HELD_BYTES)) {
      const [oldest, entry] = this.images.entries().next().value as [string, RegisteredImage];
      this.images.delete(oldest);
      if (entry.inputFile) void fsp.rm(path.dirname(entry.inputFile), { recursive: true, force: true });
      this.forget(oldest);
    }
  }
}
