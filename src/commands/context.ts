// What every command gets from the composition root (src/extension.ts).
import path from 'node:path';
import * as vscode from 'vscode';
import { VIDEO_EXTENSIONS } from '../protocol/media';
import type { EngineClient } from '../services/engineClient';
import type { Settings } from '../services/settings';
import type { StyleStore } from '../services/styleStore';
import type { TrainingMonitor } from '../services/trainingMonitor';
import type { StatusBar } from '../views/statusBar';
import type { StyleSummary } from '../protocol/styles';

export interface CommandContext {
  readonly extension: vscode.ExtensionContext;
  readonly engine: EngineClient;
  readonly store: StyleStore;
  readonly training: TrainingMonitor;
  readonly status: StatusBar;
  readonly log: vscode.LogOutputChannel;
  /** The extension's global storage folder (created on activation). */
  readonly storageDir: string;
  settings(scope?: vscode.Uri): Settings;
  /** Opens the gallery, optionally on a style (set once the gallery is registered). */
  openGallery?(styleId?: string, image?: vscode.Uri): Promise<void>;
}

export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'avif', 'tif', 'tiff', 'gif'];
export const IMAGE_FILTERS = { Images: IMAGE_EXTENSIONS };
/** What Stylize with… takes: images, and videos (stylized frame by frame through ffmpeg). */
export const MEDIA_FILTERS = { 'Images and videos': [...IMAGE_EXTENSIONS, ...VIDEO_EXTENSIONS.map((e) => e.slice(1))] };

export function isVideoPath(p: string): boolean {
  return VIDEO_EXTENSIONS.includes(path.extname(p).toLowerCase());
}

export function isImagePath(p: string): boolean {
  const ext = p.toLowerCase().split('.').pop() ?? '';
  return IMAGE_EXTENSIONS.includes(ext);
}

/** Error text of anything thrown, for messages. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The code of a StyleTransferError (or similar) crossing from the worker. */
export function codeOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** Styles that can be used (style.json read fine). */
export function usableStyles(ctx: CommandContext): StyleSummary[] {
  return ctx.store.all.filter((s) => !s.error);
}

/** A quick pick of styles with thumbnails; offers Train/Import when there are none. */
export async function pickStyle(ctx: CommandContext, title: string): Promise<StyleSummary | undefined> {
  await ctx.store.refresh();
  const styles = usableStyles(ctx);
  if (styles.length === 0) {
    const choice = await vscode.window.showInformationMessage('There are no styles yet.', 'Train a Style…', 'Import Style…', 'Download Pretrained Styles…');
    if (choice === 'Train a Style…') await vscode.commands.executeCommand('fastStyleTransfer.train');
    if (choice === 'Import Style…') await vscode.commands.executeCommand('fastStyleTransfer.importStyle');
    if (choice === 'Download Pretrained Styles…') await vscode.commands.executeCommand('fastStyleTransfer.downloadPretrained');
    return undefined;
  }
  type Item = vscode.QuickPickItem & { style?: StyleSummary };
  const items: Item[] = [];
  let lastOrigin = '';
  for (const s of styles) {
    if (s.origin !== lastOrigin) {
      items.push({ label: s.origin === 'bundled' ? 'Bundled' : s.origin === 'trained' ? 'Trained' : 'Imported', kind: vscode.QuickPickItemKind.Separator });
      lastOrigin = s.origin;
    }
    items.push({
      label: s.name,
      description: [s.iteration ? `${s.iteration.toLocaleString('en-US')} iterations` : '', s.preset ? `${s.preset} preset` : ''].filter(Boolean).join(' · '),
      iconPath: s.thumbnail ? vscode.Uri.file(s.thumbnail) : new vscode.ThemeIcon('symbol-color'),
      style: s,
    });
  }
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: 'Choose a style', matchOnDescription: true });
  return pick?.style;
}
