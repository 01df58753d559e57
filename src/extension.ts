// Composition root: builds the services, registers commands and views. The extension host
// never loads tfjs, ONNX Runtime or sharp: all heavy work runs in the engine worker.
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { EngineClient } from './services/engineClient';
import { turnOffThirdPartyTelemetry } from './protocol/telemetry';
import { engineSettings, onSettingsChanged, readSettings } from './services/settings';
import { StyleStore, type StyleRoot } from './services/styleStore';
import { TrainingMonitor } from './services/trainingMonitor';
import { StatusBar } from './views/statusBar';
import { StylesTreeProvider } from './views/stylesTree';
import { GALLERY_VIEW_ID, GalleryController } from './views/gallery/galleryController';
import type { CommandContext } from './services/context';
import { stylizeCommand, stylizeWithStyleCommand } from './commands/stylize';
import { stylizeAnyImageCommand } from './commands/stylizeAnyImage';
import { setUpGpuCommand } from './commands/setUpGpu';
import { setUpVideoCommand } from './commands/setUpVideo';
import { downloadVggCommand, resumeTrainingCommand, trainCommand } from './commands/train';
import { evaluateStyleCommand } from './commands/evaluateStyle';
import {
  deleteStyleCommand,
  downloadPretrainedCommand,
  exportOnnxCommand,
  importStyleCommand,
  renameStyleCommand,
  revealStyleCommand,
} from './commands/manageStyles';

/** What activate() returns: used by the integration tests (and by other extensions, read-only). */
export interface FastStyleTransferApi {
  readonly engine: EngineClient;
  readonly store: StyleStore;
  readonly training: TrainingMonitor;
  readonly context: CommandContext;
  readonly gallery: GalleryController;
}

function styleRoots(ctx: vscode.ExtensionContext, storageDir: string): StyleRoot[] {
  const s = readSettings();
  const roots: StyleRoot[] = [
    { dir: ctx.asAbsolutePath('styles'), kind: 'bundled' },
    { dir: path.join(storageDir, 'styles'), kind: 'user' },
  ];
  if (s.stylesFolder) roots.push({ dir: s.stylesFolder, kind: 'user' });
  return roots;
}

export async function activate(context: vscode.ExtensionContext): Promise<FastStyleTransferApi> {
  // No telemetry from the libraries the engine runs, whatever telemetry.telemetryLevel says: we send nothing.
  turnOffThirdPartyTelemetry();
  const storageDir = context.globalStorageUri.fsPath;
  fs.mkdirSync(path.join(storageDir, 'styles'), { recursive: true });
  const log = vscode.window.createOutputChannel('Fast Style Transfer', { log: true });
  const status = new StatusBar();
  const training = new TrainingMonitor();
  const engine = new EngineClient({
    workerPath: context.asAbsolutePath(path.join('dist', 'worker.js')),
    settings: () => engineSettings(readSettings(), storageDir, context.asAbsolutePath('styles')),
    log: (level, message) =>
      level === 'error' ? log.error(message) : level === 'warn' ? log.warn(message) : log.info(message),
  });
  const store = new StyleStore([]);
  await store.setRoots(styleRoots(context, storageDir));

  const ctx: CommandContext = {
    extension: context,
    engine,
    store,
    training,
    status,
    log,
    storageDir,
    settings: (scope) => readSettings(scope),
  };
  const tree = new StylesTreeProvider(store, training);
  const view = vscode.window.createTreeView('fastStyleTransfer.styles', {
    treeDataProvider: tree,
    showCollapseAll: false,
  });
  const gallery = new GalleryController(ctx);
  ctx.openGallery = (styleId, image) => gallery.open(styleId, image);

  const register = (id: string, fn: (...args: never[]) => unknown) =>
    context.subscriptions.push(
      vscode.commands.registerCommand(`fastStyleTransfer.${id}`, fn as (...args: unknown[]) => unknown),
    );
  register('stylize', (uri?: vscode.Uri, uris?: vscode.Uri[]) => stylizeCommand(ctx, uri, uris));
  register('stylizeWithStyle', (arg?: string, images?: vscode.Uri[]) => stylizeWithStyleCommand(ctx, arg, images));
  register('train', (preset?: Parameters<typeof trainCommand>[1]) => trainCommand(ctx, preset));
  register('resumeTraining', (arg?: string) => resumeTrainingCommand(ctx, arg));
  register('downloadVgg', () => downloadVggCommand(ctx));
  register('importStyle', (uri?: vscode.Uri) => importStyleCommand(ctx, uri));
  register('downloadPretrained', (ids?: string[]) => downloadPretrainedCommand(ctx, ids));
  register('renameStyle', (arg?: string, name?: string) => renameStyleCommand(ctx, arg, name));
  register('deleteStyle', (arg?: string, confirmed?: boolean) => deleteStyleCommand(ctx, arg, confirmed));
  register('revealStyle', (arg?: string) => revealStyleCommand(ctx, arg));
  register('exportOnnx', (arg?: string, target?: vscode.Uri) => exportOnnxCommand(ctx, arg, target));
  register('evaluateStyle', (arg?: string, painting?: string) => evaluateStyleCommand(ctx, arg, painting));
  register('refreshStyles', () => store.refresh());
  register('showOutput', () => log.show());
  register('openGallery', () => ctx.openGallery?.());
  register('openGalleryForStyle', (arg?: string) => ctx.openGallery?.(arg));
  register('stylizeAnyImage', (uri?: vscode.Uri, preset?: Parameters<typeof stylizeAnyImageCommand>[2]) =>
    stylizeAnyImageCommand(ctx, uri, preset),
  );
  register('setUpGpu', (target?: Parameters<typeof setUpGpuCommand>[1]) => setUpGpuCommand(ctx, target));
  register('setUpVideo', () => setUpVideoCommand(ctx));

  context.subscriptions.push(
    log,
    status,
    tree,
    view,
    gallery,
    vscode.window.registerWebviewViewProvider(GALLERY_VIEW_ID, gallery),
    { dispose: () => store.dispose() },
    { dispose: () => void engine.dispose() },
    onSettingsChanged(() => void store.setRoots(styleRoots(context, storageDir))),
  );
  log.info(
    `Fast Style Transfer ${context.extension.packageJSON.version} activated; styles in ${path.join(storageDir, 'styles')}`,
  );
  return { engine, store, training, context: ctx, gallery };
}

export function deactivate(): void {
  // Disposables registered in activate() stop the worker and watchers.
}
