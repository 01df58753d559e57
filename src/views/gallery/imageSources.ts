// Where the gallery's image comes from: the open dialog, a quick pick of the workspace's
// images, the image in an editor, the sample photo, a path dropped from the Explorer, or bytes
// dropped from the operating system. Each is checked (PathGuard, the image's own bytes) before
// it is registered and sent to the webview as a token.
import path from 'node:path';
import * as vscode from 'vscode';
import { MEDIA_EXTENSIONS, MEDIA_FILTERS, isMediaPath } from '../../protocol/fileTypes';
import type { GalleryImage, WebviewToHost } from '../../protocol/gallery';
import type { GallerySession } from './gallerySession';
import type { ImageRegistry } from './imageRegistry';
import { type PathGuard, sniffImageType, sniffVideoType } from './pathGuard';

/** The gallery's files (images and clips) without dots, for globs and messages. */
const MEDIA_NAMES = MEDIA_EXTENSIONS.map((e) => e.slice(1));

type ImageMessage = Extract<
  WebviewToHost,
  {
    type:
      'pickImage' | 'pickWorkspaceImage' | 'useActiveEditorImage' | 'useSampleImage' | 'openImagePath' | 'dropImage';
  }
>;

/** The image or video shown in any visible editor group (the gallery itself may be the active tab). */
export function activeEditorImage(): vscode.Uri | undefined {
  const groups = [vscode.window.tabGroups.activeTabGroup, ...vscode.window.tabGroups.all];
  for (const g of groups) {
    const input = g.activeTab?.input;
    const uri = input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText ? input.uri : undefined;
    if (uri && uri.scheme === 'file' && isMediaPath(uri.fsPath)) return uri;
  }
  return undefined;
}

export class ImageSources {
  constructor(
    private readonly registry: ImageRegistry,
    private readonly guard: PathGuard,
    /** The bundled sample photo. */
    private readonly samplePhoto: string,
    /** Logs a refused request (bad input from the webview). */
    private readonly reject: (reason: string) => void,
  ) {}

  async handle(m: ImageMessage, s: GallerySession): Promise<void> {
    switch (m.type) {
      case 'pickImage': {
        const picked = await vscode.window.showOpenDialog({
          canSelectMany: false,
          canSelectFiles: true,
          filters: MEDIA_FILTERS,
          title: 'Image or video to preview',
          openLabel: 'Preview',
        });
        if (!picked?.length || picked[0].scheme !== 'file') return;
        await this.guard.grant(picked[0].fsPath);
        return this.usePath(s, picked[0].fsPath, 'dialog');
      }
      case 'pickWorkspaceImage':
        return this.pickWorkspaceImage(s);
      case 'useActiveEditorImage': {
        const uri = activeEditorImage();
        if (!uri) {
          s.post({
            type: 'notice',
            level: 'info',
            message: 'No image is open in an editor. Open one, or choose a file.',
          });
          return;
        }
        await this.guard.grant(uri.fsPath);
        return this.usePath(s, uri.fsPath, 'editor');
      }
      case 'useSampleImage':
        return this.usePath(s, this.samplePhoto, 'sample');
      case 'openImagePath':
        return this.usePath(s, m.path, 'workspace');
      case 'dropImage': {
        if (!sniffImageType(m.bytes) && !sniffVideoType(m.bytes)) {
          this.reject(
            `dropped file ${JSON.stringify(m.name.slice(0, 80))} is not an image or video this extension reads (PNG, JPEG, WebP, AVIF, HEIF, TIFF, GIF, MP4, MOV, WebM or MKV)`,
          );
          s.post({
            type: 'notice',
            level: 'error',
            message: `${m.name} is not an image in a format this extension reads.`,
          });
          return;
        }
        s.post({ type: 'image', image: this.registry.registerBytes(m.name, m.bytes).info });
        return;
      }
    }
  }

  private async usePath(s: GallerySession, p: string, origin: GalleryImage['origin']): Promise<void> {
    const file = await this.guard.checkFile(p);
    if (file instanceof Error) {
      this.reject(`${origin === 'workspace' ? 'openImagePath' : 'image'}: ${file.message}`);
      s.post({
        type: 'notice',
        level: 'error',
        message: `Cannot use ${path.basename(p)}: it is not a readable image inside the workspace.`,
      });
      return;
    }
    if (!isMediaPath(file)) {
      this.reject(`openImagePath: ${file} is not an image or video file (${MEDIA_NAMES.join(', ')})`);
      s.post({ type: 'notice', level: 'error', message: `${path.basename(file)} is not an image or a video.` });
      return;
    }
    s.post({ type: 'image', image: this.registry.registerPath(file, origin).info });
  }

  private async pickWorkspaceImage(s: GallerySession): Promise<void> {
    if (!vscode.workspace.workspaceFolders?.length) {
      s.post({ type: 'notice', level: 'info', message: 'No folder is open; choose an image file instead.' });
      return;
    }
    const files = await vscode.workspace.findFiles(
      `**/*.{${MEDIA_NAMES.join(',')}}`,
      '**/{node_modules,.git,.vscode-test,dist,out}/**',
      2000,
    );
    if (!files.length) {
      s.post({ type: 'notice', level: 'info', message: 'There are no images or videos in the workspace.' });
      return;
    }
    files.sort((a, b) => a.fsPath.localeCompare(b.fsPath));
    const folderOf = (u: vscode.Uri) => {
      const d = path.dirname(vscode.workspace.asRelativePath(u));
      return d === '.' ? '' : d;
    };
    const pick = await vscode.window.showQuickPick(
      files.map((u) => ({ label: path.basename(u.fsPath), description: folderOf(u), iconPath: u, uri: u })),
      {
        title: 'Preview an image or video from the workspace',
        placeHolder: 'Choose an image or a video',
        matchOnDescription: true,
      },
    );
    if (pick) await this.usePath(s, pick.uri.fsPath, 'workspace');
  }
}
