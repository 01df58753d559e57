// Style management: import (ml5 folders or our checkpoints), download pretrained styles,
// rename, delete (with confirmation), reveal, export to ONNX.
import fsp from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { STYLE_FILE, type StyleSummary } from '../protocol/styles';
import { retryWhileBusy } from '../shared/busyRetry';
import { codeOf, messageOf } from '../protocol/errors';
import { pickStyle } from './pickStyle';
import { newStyleFolder, type CommandContext } from '../services/context';

type StyleArg = string | { style?: StyleSummary } | undefined;

async function resolveStyle(ctx: CommandContext, arg: StyleArg, title: string): Promise<StyleSummary | undefined> {
  await ctx.store.refresh();
  const id = typeof arg === 'string' ? arg : arg?.style?.id;
  return id ? ctx.store.find(id) : pickStyle(ctx, title);
}

export async function importStyleCommand(ctx: CommandContext, folder?: vscode.Uri): Promise<string | undefined> {
  const picked = folder
    ? [folder]
    : await vscode.window.showOpenDialog({
        canSelectFiles: false,
        canSelectFolders: true,
        canSelectMany: false,
        title:
          'Import a style: an ml5 / deeplearn.js model folder (manifest.json + Variable files) or a style checkpoint folder',
        openLabel: 'Import',
      });
  if (!picked?.length) return undefined;
  const source = picked[0].fsPath;
  const target = newStyleFolder(ctx, path.basename(source));
  try {
    const r = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Importing ${path.basename(source)}…` },
      () => ctx.engine.request({ type: 'import', source, target }),
    );
    ctx.log.info(`imported ${source} as “${r.name}” → ${r.checkpoint}`);
    await ctx.store.refresh();
    void vscode.window
      .showInformationMessage(`Imported style “${r.name}”.`, 'Stylize Image…')
      .then((a) => a && vscode.commands.executeCommand('fastStyleTransfer.stylizeWithStyle', r.checkpoint));
    return r.checkpoint;
  } catch (e) {
    ctx.log.error(`import of ${source} failed: ${messageOf(e)}`);
    void vscode.window.showErrorMessage(`Could not import ${path.basename(source)}: ${messageOf(e)}`);
    return undefined;
  }
}

export async function downloadPretrainedCommand(ctx: CommandContext, ids?: string[]): Promise<string[]> {
  const available = await ctx.engine.request({ type: 'listPretrained' });
  let chosen = available.filter((a) => ids?.includes(a.id));
  if (!ids) {
    const picks = await vscode.window.showQuickPick(
      available.map((a) => ({
        label: a.title,
        description: a.license,
        detail: `${a.description} — ${a.url}`,
        picked: false,
        a,
      })),
      {
        title: 'Download Pretrained Styles',
        placeHolder: 'Choose styles to download (each file is checked against a known SHA-256)',
        canPickMany: true,
      },
    );
    chosen = (picks ?? []).map((p) => p.a);
  }
  const done: string[] = [];
  for (const a of chosen) {
    const target = newStyleFolder(ctx, a.id);
    try {
      const r = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Downloading “${a.title}”`, cancellable: true },
        (progress, token) => {
          const controller = new AbortController();
          token.onCancellationRequested(() => controller.abort());
          let last = 0;
          return ctx.engine.request(
            { type: 'downloadPretrained', id: a.id, target },
            {
              signal: controller.signal,
              onProgress: (p) => {
                if (p.type !== 'download' || !p.total) return;
                const pct = (100 * p.bytes) / p.total;
                progress.report({ increment: pct - last, message: `${p.bytes}/${p.total} files` });
                last = pct;
              },
            },
          );
        },
      );
      ctx.log.info(`downloaded pretrained style ${a.id} → ${r.checkpoint}`);
      done.push(r.checkpoint);
    } catch (e) {
      if (codeOf(e) === 'cancelled') break;
      ctx.log.error(`download of ${a.id} failed: ${messageOf(e)}`);
      const offline =
        codeOf(e) === 'network' && /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH/.test(messageOf(e));
      void vscode.window.showErrorMessage(
        offline
          ? `Could not download “${a.title}”: this computer cannot reach ${new URL(a.url).host}. Check the connection or proxy, or import a model folder you already have with Import Style….`
          : `Could not download “${a.title}”: ${messageOf(e)}`,
      );
    }
  }
  await ctx.store.refresh();
  if (done.length)
    void vscode.window.showInformationMessage(`Downloaded ${done.length} style${done.length === 1 ? '' : 's'}.`);
  return done;
}

/** Changes the display name in style.json (atomically: temp file + rename). */
export async function renameStyleCommand(ctx: CommandContext, arg?: StyleArg, newName?: string): Promise<boolean> {
  const style = await resolveStyle(ctx, arg, 'Rename which style?');
  if (!style) return false;
  if (!style.editable) {
    void vscode.window.showWarningMessage(`“${style.name}” is bundled with the extension and cannot be renamed.`);
    return false;
  }
  const taken = new Set(ctx.store.all.filter((s) => s.id !== style.id).map((s) => s.name.toLowerCase()));
  const name =
    newName ??
    (await vscode.window.showInputBox({
      title: 'Rename Style',
      value: style.name,
      prompt: 'New name',
      validateInput: (v) =>
        !v.trim()
          ? 'Enter a name.'
          : v.trim().length > 64
            ? 'Use at most 64 characters.'
            : taken.has(v.trim().toLowerCase())
              ? 'Another style has this name.'
              : undefined,
    }));
  if (!name?.trim() || name.trim() === style.name) return false;
  const file = path.join(style.id, STYLE_FILE);
  try {
    const json = JSON.parse(await fsp.readFile(file, 'utf8'));
    json.name = name.trim();
    json.updatedAt = new Date().toISOString();
    const tmp = path.join(style.id, `.style.json.${process.pid}.tmp`);
    await fsp.writeFile(tmp, JSON.stringify(json, null, 2));
    await retryWhileBusy(() => fsp.rename(tmp, file), process.platform);
  } catch (e) {
    void vscode.window.showErrorMessage(`Could not rename “${style.name}”: ${messageOf(e)}`);
    return false;
  }
  await ctx.store.refresh();
  return true;
}

export async function deleteStyleCommand(ctx: CommandContext, arg?: StyleArg, confirmed = false): Promise<boolean> {
  const style = await resolveStyle(ctx, arg, 'Delete which style?');
  if (!style) return false;
  if (!style.editable) {
    void vscode.window.showWarningMessage(`“${style.name}” is bundled with the extension and cannot be deleted.`);
    return false;
  }
  if (ctx.training.running && ctx.training.current?.checkpoint === style.id) {
    void vscode.window.showWarningMessage(`“${style.name}” is training; cancel the training first.`);
    return false;
  }
  if (!confirmed) {
    const ok = await vscode.window.showWarningMessage(
      `Delete the style “${style.name}”?`,
      { modal: true, detail: `Its checkpoint folder will be removed:\n${style.id}` },
      'Delete',
    );
    if (ok !== 'Delete') return false;
  }
  try {
    await vscode.workspace.fs.delete(vscode.Uri.file(style.id), { recursive: true, useTrash: true });
  } catch {
    try {
      await vscode.workspace.fs.delete(vscode.Uri.file(style.id), { recursive: true, useTrash: false });
    } catch (e) {
      void vscode.window.showErrorMessage(`Could not delete “${style.name}”: ${messageOf(e)}`);
      return false;
    }
  }
  ctx.log.info(`deleted style “${style.name}” (${style.id})`);
  await ctx.store.refresh();
  return true;
}

export async function revealStyleCommand(ctx: CommandContext, arg?: StyleArg): Promise<void> {
  const style = await resolveStyle(ctx, arg, 'Reveal which style?');
  if (!style) return;
  const uri = vscode.Uri.file(style.id);
  if (vscode.workspace.getWorkspaceFolder(uri)) {
    await vscode.commands.executeCommand('revealInExplorer', uri);
  } else if (vscode.env.uiKind === vscode.UIKind.Desktop && !vscode.env.remoteName) {
    await vscode.commands.executeCommand('revealFileInOS', uri);
  } else {
    // Remote/web: the OS file manager is not ours to open; show the folder path instead.
    const a = await vscode.window.showInformationMessage(
      `“${style.name}” is stored in ${style.id}`,
      'Copy Path',
      'Open style.json',
    );
    if (a === 'Copy Path') await vscode.env.clipboard.writeText(style.id);
    if (a === 'Open style.json') await vscode.window.showTextDocument(vscode.Uri.file(path.join(style.id, STYLE_FILE)));
  }
}

export async function exportOnnxCommand(
  ctx: CommandContext,
  arg?: StyleArg,
  target?: vscode.Uri,
): Promise<string | undefined> {
  const style = await resolveStyle(ctx, arg, 'Export which style to ONNX?');
  if (!style) return undefined;
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri;
  const dest =
    target ??
    (await vscode.window.showSaveDialog({
      title: `Export “${style.name}” as ONNX`,
      filters: { 'ONNX model': ['onnx'] },
      defaultUri: ws ? vscode.Uri.joinPath(ws, `${path.basename(style.id)}.onnx`) : undefined,
    }));
  if (!dest) return undefined;
  try {
    const r = await ctx.engine.request({ type: 'exportOnnx', style: style.id, target: dest.fsPath });
    ctx.log.info(`exported “${style.name}” to ${r.path}`);
    void vscode.window.showInformationMessage(
      `Exported “${style.name}” to ${path.basename(r.path)} (input: float32 NCHW RGB 0–255, any size).`,
    );
    return r.path;
  } catch (e) {
    void vscode.window.showErrorMessage(`Could not export “${style.name}”: ${messageOf(e)}`);
    return undefined;
  }
}
