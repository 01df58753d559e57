// What every command and view gets from the composition root (src/extension.ts): the services
// and a few host facilities, as interfaces, so commands and views never import each other.
import fs from 'node:fs';
import path from 'node:path';
import type * as vscode from 'vscode';
import type { EngineClient } from './engineClient';
import type { Settings } from './settings';
import type { StyleStore } from './styleStore';
import type { TrainingMonitor } from './trainingMonitor';

/** The status bar as commands and views use it (views/statusBar.ts implements it). */
export interface StatusReporter {
  setRuntime(label: string): void;
  /** Shows `text` while a job runs; returns an updater and a done function. */
  begin(text: string): { update(text: string): void; end(): void };
}

export interface CommandContext {
  readonly extension: vscode.ExtensionContext;
  readonly engine: EngineClient;
  readonly store: StyleStore;
  readonly training: TrainingMonitor;
  readonly status: StatusReporter;
  readonly log: vscode.LogOutputChannel;
  /** The extension's global storage folder (created on activation). */
  readonly storageDir: string;
  settings(scope?: vscode.Uri): Settings;
  /** Opens the gallery, optionally on a style (set once the gallery is registered). */
  openGallery?(styleId?: string, image?: vscode.Uri): Promise<void>;
}

/**
 * A folder for a new (trained or imported) style named after `name`, not yet taken: in the
 * styles folder setting, else in the extension's storage; `name-2`, `name-3`… when taken.
 */
export function newStyleFolder(ctx: CommandContext, name: string): string {
  const root = ctx.settings().stylesFolder || path.join(ctx.storageDir, 'styles');
  const base =
    name
      .normalize('NFC')
      .replace(/[<>:"/\\|?*\u0000-\u001f\s]+/g, '-')
      .replace(/^[.-]+|[.-]+$/g, '')
      .slice(0, 64) || 'style';
  let dir = path.join(root, base);
  for (let i = 2; fs.existsSync(dir); i++) dir = path.join(root, `${base}-${i}`);
  return dir;
}
