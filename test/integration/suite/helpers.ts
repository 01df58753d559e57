// Shared helpers of the integration suites (not a suite itself: no .test.ts suffix).
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
