// Shared helpers of the integration suites (not a suite itself: no .test.ts suffix).
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FastStyleTransferApi } from '../../../src/extension';
import type { HostToWebview } from '../../../src/protocol/gallery';

export const EXTENSION_ID = 'fast-style-transfer.fast-style-transfer';
export const SHARED_DATA =
  process.env.FST_SHARED_DATA ?? path.resolve(process.env.FST_REPO_ROOT ?? '.', '..', 'shared', 'data');

export async function api(): Promise<FastStyleTransferApi> {
  const ext = vscode.extensions.getExtension<FastStyleTransferApi>(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not loaded`);
  return ext.activate();
}

export function workspaceDir(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  if (!f) throw new Error('no workspace folder');
  return f.uri.fsPath;
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Imports the public udnie network once (as a user would with Import Style…). */
export async function udnieStyle(a: FastStyleTransferApi): Promise<string> {
  await a.store.refresh();
  const existing = a.store.all.find((s) => s.name === 'udnie');
  if (existing) return existing.id;
  const id = await vscode.commands.executeCommand<string | undefined>(
    'fastStyleTransfer.importStyle',
    vscode.Uri.file(path.join(SHARED_DATA, 'pretrained', 'udnie')),
  );
  if (!id) throw new Error('import of udnie failed');
  return id;
}

/** The VGG weights of the shared data (blocks 1 to 3, all training needs). */
export const VGG_PATH = path.join(SHARED_DATA, 'vgg19-keras-block1-3');

/** Points the vggWeightsPath setting (user scope) at VGG_PATH. */
export async function useSharedVgg(): Promise<void> {
  await vscode.workspace
    .getConfiguration('fastStyleTransfer')
    .update('vggWeightsPath', VGG_PATH, vscode.ConfigurationTarget.Global);
}

/** A network and batch small enough to train a few steps in seconds. */
export const TINY_TRAINING = {
  imageSize: 32,
  batchSize: 1,
  checkpointEvery: 2,
  previewEvery: 2,
  styleSize: 64,
  architecture: { type: 'johnson2016', filters: [8, 16, 16], residualBlocks: 1 },
};

/** The arguments of `fastStyleTransfer.train`: the workspace's Starry Night on its photos, TINY_TRAINING with `overrides`. */
export function trainArgs(name: string, overrides: Record<string, unknown>) {
  return {
    styleImage: path.join(workspaceDir(), 'styles', 'starry_night.jpg'),
    dataDir: path.join(workspaceDir(), 'photos'),
    preset: 'quick',
    name,
    overrides: { ...TINY_TRAINING, ...overrides },
  };
}

/** Resumes a checkpoint saved at step `iteration` for two more steps in the worker; the style list then shows them. */
export async function resumeTwoMoreSteps(
  a: FastStyleTransferApi,
  checkpoint: string,
  iteration: number,
): Promise<void> {
  const more = await a.engine.request({
    type: 'resume',
    options: { checkpoint, vggPath: VGG_PATH, iterations: iteration + 2 },
  });
  assert.equal(more.iterations, iteration + 2);
  await until(
    async () => {
      await a.store.refresh();
      return a.store.find(checkpoint)?.iteration === iteration + 2;
    },
    10_000,
    'the store to see the resumed checkpoint',
  );
}

/** Records what the host posts to the gallery webviews. */
export async function recorder() {
  const a = await api();
  const seen: HostToWebview[] = [];
  const sub = a.gallery.onDidPost((m) => seen.push(m));
  const next = async <T extends HostToWebview['type']>(
    type: T,
    from: number,
    timeoutMs = 60_000,
    pred: (m: Extract<HostToWebview, { type: T }>) => boolean = () => true,
  ) => {
    let found: Extract<HostToWebview, { type: T }> | undefined;
    await until(
      () => {
        found = seen
          .slice(from)
          .find(
            (m): m is Extract<HostToWebview, { type: T }> =>
              m.type === type && pred(m as Extract<HostToWebview, { type: T }>),
          );
        return found !== undefined;
      },
      timeoutMs,
      `a '${type}' message to the webview`,
    );
    return found!;
  };
  return { a, seen, sub, next };
}

export async function openReadyGallery(): Promise<void> {
  const a = await api();
  await vscode.commands.executeCommand('fastStyleTransfer.openGallery');
  await until(() => a.gallery.panelReady, 60_000, 'the gallery webview to load and say ready');
}
