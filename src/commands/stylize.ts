// Explorer → "Stylize with…" (files, folders, multi-select), the palette command, and the
// Styles view's "Stylize Image…". Results go beside each input (or the output folder),
// never overwriting; a single result opens beside the original.
import path from 'node:path';
import * as vscode from 'vscode';
import type { StylizeResult } from '../protocol/jobs';
import type { StyleSummary } from '../protocol/styles';
import { outputFolderFor, userPathSetting } from '../services/settings';
import { MEDIA_FILTERS, isImagePath, isVideoPath } from '../protocol/fileTypes';
import { codeOf, isMissingFfmpeg, messageOf } from '../protocol/errors';
import { pickStyle } from './pickStyle';
import type { CommandContext } from '../services/context';

/** The image shown in the active editor tab (the built-in image preview), if any. */
function activeImage(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri = input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText ? input.uri : undefined;
  return uri && uri.scheme === 'file' && (isImagePath(uri.fsPath) || isVideoPath(uri.fsPath)) ? uri : undefined;
}

async function chooseTargets(uri?: vscode.Uri, uris?: vscode.Uri[]): Promise<vscode.Uri[] | undefined> {
  const given = uris?.length ? uris : uri instanceof vscode.Uri ? [uri] : [];
  if (given.length) return given;
  const active = activeImage();
  if (active) return [active];
  return vscode.window.showOpenDialog({
    canSelectMany: true,
    canSelectFiles: true,
    canSelectFolders: true,
    filters: MEDIA_FILTERS,
    title: 'Images, videos or folders to stylize',
    openLabel: 'Stylize',
  });
}

export async function stylizeCommand(
  ctx: CommandContext,
  uri?: vscode.Uri,
  uris?: vscode.Uri[],
): Promise<StylizeResult | undefined> {
  const targets = await chooseTargets(uri, uris);
  if (!targets?.length) return undefined;
  const nonLocal = targets.filter((t) => t.scheme !== 'file');
  if (nonLocal.length) {
    void vscode.window.showErrorMessage(
      `Fast Style Transfer works on files on disk; ${nonLocal[0].toString()} is not one.`,
    );
    return undefined;
  }
  const style = await pickStyle(
    ctx,
    `Stylize ${targets.length === 1 ? path.basename(targets[0].fsPath) : `${targets.length} items`} with…`,
  );
  if (!style) return undefined;
  return runStylize(ctx, style, targets);
}

/** From the Styles view: the style is known, ask for the images. */
export async function stylizeWithStyleCommand(
  ctx: CommandContext,
  styleId?: string | { style?: StyleSummary },
  images?: vscode.Uri[],
): Promise<StylizeResult | undefined> {
  const id = typeof styleId === 'string' ? styleId : styleId?.style?.id;
  if (id) await ctx.store.refresh();
  const style = id ? ctx.store.find(id) : await pickStyle(ctx, 'Stylize with…');
  if (!style) return undefined;
  const active = activeImage();
  const targets = images?.length
    ? images
    : active
      ? [active]
      : await vscode.window.showOpenDialog({
          canSelectMany: true,
          canSelectFolders: true,
          filters: MEDIA_FILTERS,
          title: `Images or videos to stylize with ${style.name}`,
          openLabel: 'Stylize',
        });
  if (!targets?.length) return undefined;
  return runStylize(ctx, style, targets);
}

export async function runStylize(
  ctx: CommandContext,
  style: StyleSummary,
  targets: vscode.Uri[],
): Promise<StylizeResult | undefined> {
  // Inputs sharing an output folder run as one job (the folder can depend on the workspace).
  const groups = new Map<string, string[]>();
  for (const t of targets) {
    const out = outputFolderFor(t, ctx.settings(t).outputFolder) ?? '';
    groups.set(out, [...(groups.get(out) ?? []), t.fsPath]);
  }
  const s = ctx.settings(targets[0]);
  const status = ctx.status.begin(`Stylizing with ${style.name}`);
  const merged: {
    outputs: StylizeResult['outputs'][number][];
    failures: StylizeResult['failures'][number][];
    runtime: string;
    cancelled: boolean;
  } = { outputs: [], failures: [], runtime: '', cancelled: false };
  try {
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Stylizing with ${style.name}`, cancellable: true },
      async (progress, token) => {
        const controller = new AbortController();
        const sub = token.onCancellationRequested(() => controller.abort());
        try {
          for (const [outDir, inputs] of groups) {
            if (controller.signal.aborted) break;
            ctx.log.info(`stylize ${inputs.length} input(s) with ${style.name}${outDir ? ` → ${outDir}` : ''}`);
            let lastDone = 0;
            const r = await ctx.engine.request(
              {
                type: 'stylize',
                inputs,
                style: style.id,
                options: {
                  outDir: outDir || undefined,
                  format: s.outputFormat,
                  strength: s.strength,
                  colorMode: s.preserveColors,
                  runtime: s.stylizeRuntime,
                  ffmpegPath: userPathSetting('ffmpegPath'),
                  videoToolsDir: ctx.storageDir,
                },
              },
              {
                signal: controller.signal,
                onProgress: (p) => {
                  if (p.type !== 'stylize') return;
                  if (p.frames && p.file) {
                    const f = p.frames;
                    const left = f.done > 0 ? ` · ${Math.ceil(f.etaSeconds)} s left` : '';
                    progress.report({
                      message: `${p.done + 1}/${p.total} · ${path.basename(p.file)} · frame ${f.done}/${f.total} · ${f.fps.toFixed(1)} fps${left}`,
                    });
                    status.update(`Stylizing ${path.basename(p.file)}: frame ${f.done}/${f.total}`);
                    return;
                  }
                  if (p.tile && p.file) {
                    const what = p.tile.phase === 'stats' ? 'measuring' : `tile ${p.tile.done}/${p.tile.total}`;
                    progress.report({ message: `${p.done + 1}/${p.total} · ${path.basename(p.file)} · ${what}` });
                    return;
                  }
                  const step = p.total ? ((p.done - lastDone) / p.total) * (100 / groups.size) : 0;
                  lastDone = p.done;
                  const msg = p.file ? `${p.done}/${p.total} · ${path.basename(p.file)}` : `0/${p.total}`;
                  progress.report({ message: msg, increment: step });
                  status.update(`Stylizing ${p.done}/${p.total}`);
                },
              },
            );
            merged.outputs.push(...r.outputs);
            merged.failures.push(...r.failures);
            merged.runtime = r.runtime;
            merged.cancelled ||= r.cancelled === true;
          }
        } finally {
          sub.dispose();
        }
      },
    );
  } catch (e) {
    ctx.log.error(`stylize failed: ${messageOf(e)}`);
    if (codeOf(e) !== 'cancelled')
      void vscode.window
        .showErrorMessage(`Could not stylize: ${messageOf(e)}`, 'Show Output')
        .then((a) => a && ctx.log.show());
    return undefined;
  } finally {
    status.end();
  }
  if (merged.runtime) ctx.status.setRuntime(merged.runtime);
  for (const o of merged.outputs) ctx.log.info(`wrote ${o.output}`);
  for (const f of merged.failures) ctx.log.error(`${f.input}: ${f.error.message}`);
  await report(ctx, style, merged, s.openResult);
  return merged;
}

async function report(
  ctx: CommandContext,
  style: StyleSummary,
  r: StylizeResult & { cancelled?: boolean },
  openResult: boolean,
): Promise<void> {
  if (r.failures.length) {
    const first = r.failures[0];
    const msg =
      r.failures.length === 1 && r.outputs.length === 0
        ? `Could not stylize ${path.basename(first.input)}: ${first.error.message}`
        : `${r.failures.length} of ${r.failures.length + r.outputs.length} images could not be stylized (first: ${path.basename(first.input)}: ${first.error.message}).`;
    // No usable ffmpeg for a clip: offer to install one.
    const setUp = r.failures.some((f) => isMissingFfmpeg(f.error.message));
    void vscode.window
      .showErrorMessage(msg, ...(setUp ? ['Set Up Video Support…'] : []), 'Show Output')
      .then(async (a) => {
        if (a === 'Show Output') ctx.log.show();
        if (a === 'Set Up Video Support…') await vscode.commands.executeCommand('fastStyleTransfer.setUpVideo');
      });
  }
  if (r.cancelled) {
    void vscode.window.showInformationMessage(
      `Stylizing cancelled after ${r.outputs.length} image${r.outputs.length === 1 ? '' : 's'}.`,
    );
    return;
  }
  if (r.outputs.length === 1 && openResult) {
    // Original and result side by side: show the original first unless it is already open.
    const input = vscode.Uri.file(r.outputs[0].input);
    const open = vscode.window.tabGroups.all.some((g) =>
      g.tabs.some(
        (t) =>
          (t.input instanceof vscode.TabInputCustom || t.input instanceof vscode.TabInputText) &&
          t.input.uri.fsPath === input.fsPath,
      ),
    );
    if (!open) await vscode.commands.executeCommand('vscode.open', input, { preview: true });
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(r.outputs[0].output), {
      viewColumn: vscode.ViewColumn.Beside,
      preview: false,
    });
  } else if (r.outputs.length > 0) {
    const folder = path.dirname(r.outputs[0].output);
    void vscode.window
      .showInformationMessage(
        `Stylized ${r.outputs.length} image${r.outputs.length === 1 ? '' : 's'} with ${style.name}.`,
        'Reveal',
      )
      .then(async (a) => {
        if (a)
          await vscode.commands
            .executeCommand('revealInExplorer', vscode.Uri.file(r.outputs[0].output))
            .then(undefined, () => vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(folder)));
      });
  }
}
