// "Evaluate Style…" (Styles view, gallery style card): runs the engine's evaluate job — the
// figures of `fst evaluate` on the sample photos — writes a contact sheet into the extension's
// storage, opens it beside the editor and logs the figures per photo in the output channel.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import type { EvaluateFigures, EvaluateResult } from '../protocol/jobs';
import { STYLE_FILE, type StyleSummary } from '../protocol/styles';
import { IMAGE_FILTERS } from '../protocol/fileTypes';
import { codeOf, messageOf } from '../protocol/errors';
import { pickStyle } from './pickStyle';
import type { CommandContext } from '../services/context';
import { ensureVggWeights } from './train';

/** The painting the style was trained on, when style.json names one that exists here (or a shipped sample of that name). */
function recordedPainting(ctx: CommandContext, style: StyleSummary): string | undefined {
  let recorded: unknown;
  try {
    recorded = (
      JSON.parse(fs.readFileSync(path.join(style.id, STYLE_FILE), 'utf8')) as { source?: { styleImage?: unknown } }
    ).source?.styleImage;
  } catch {
    return undefined;
  }
  if (typeof recorded !== 'string' || !recorded) return undefined;
  const candidates = [
    path.isAbsolute(recorded) ? recorded : '',
    ctx.extension.asAbsolutePath(path.join('media', 'samples', path.basename(recorded))),
  ];
  return candidates.find((c) => c && fs.existsSync(c));
}

async function choosePainting(ctx: CommandContext, style: StyleSummary): Promise<string | undefined> {
  const recorded = recordedPainting(ctx, style);
  if (recorded) {
    const pick = await vscode.window.showQuickPick(
      [
        { label: path.basename(recorded), description: 'the painting it was trained on', file: recorded },
        { label: 'Choose another painting…', file: '' },
      ],
      { title: `Evaluate ${style.name}: the painting to measure against` },
    );
    if (!pick) return undefined;
    if (pick.file) return pick.file;
  }
  const uris = await vscode.window.showOpenDialog({
    title: `The painting ${style.name} was trained on`,
    canSelectMany: false,
    filters: IMAGE_FILTERS,
    openLabel: 'Measure Against This Painting',
  });
  return uris?.[0]?.fsPath;
}

const percent = (x: number) => `${(100 * x).toFixed(2)} %`;
const figures = (f: EvaluateFigures) =>
  `style distance ${f.styleDistance.toFixed(3)}, content distance ${f.contentDistance.toFixed(3)}, blobs ${percent(f.blobShare)}`;

/** `painting` skips the painting prompt (scripts, tests). */
export async function evaluateStyleCommand(
  ctx: CommandContext,
  arg?: string | { style?: StyleSummary },
  paintingArg?: string,
): Promise<EvaluateResult | undefined> {
  await ctx.store.refresh();
  const id = typeof arg === 'string' ? arg : arg?.style?.id;
  const style = id ? ctx.store.find(id) : await pickStyle(ctx, 'Evaluate a style');
  if (!style) {
    if (id) void vscode.window.showErrorMessage(`No style at ${id}`);
    return undefined;
  }
  const painting = paintingArg ?? (await choosePainting(ctx, style));
  if (!painting) return undefined;
  const vggPath = await ensureVggWeights(ctx);
  if (!vggPath) return undefined;
  const dir = path.join(ctx.storageDir, 'evaluations');
  await fsp.mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const sheet = path.join(dir, `${style.name.replace(/[^\p{L}\p{N}_-]+/gu, '-').slice(0, 40) || 'style'}-${stamp}.png`);
  let result: EvaluateResult;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Evaluating ${style.name}`, cancellable: true },
      (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        return ctx.engine.request(
          { type: 'evaluate', options: { styles: [style.id], painting, vggPath, sheet } },
          {
            signal: controller.signal,
            onProgress: (p) => {
              if (p.type === 'phase') progress.report({ message: p.message });
              if (p.type === 'evaluate' && p.photo)
                progress.report({
                  message: `photo ${p.done + 1} of ${p.total}: ${path.basename(p.photo)}`,
                  increment: 100 / p.total,
                });
            },
          },
        );
      },
    );
  } catch (e) {
    ctx.log.error(`evaluate ${style.name} failed: ${messageOf(e)}`);
    if (codeOf(e) !== 'cancelled')
      void vscode.window
        .showErrorMessage(`Could not evaluate ${style.name}: ${messageOf(e)}`, 'Show Output')
        .then((a) => a && ctx.log.show());
    return undefined;
  }
  const m = result.models[0];
  ctx.log.info(`evaluate ${style.name} against ${path.basename(painting)} (${result.vgg}):`);
  for (const p of m.photos) ctx.log.info(`  ${path.basename(p.photo)}: ${figures(p)}`);
  ctx.log.info(`  mean: ${figures(m.mean)}${result.sheet ? `; contact sheet ${result.sheet.path}` : ''}`);
  if (result.sheet)
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(result.sheet.path), {
      viewColumn: vscode.ViewColumn.Beside,
      preview: true,
    });
  void vscode.window
    .showInformationMessage(
      `${style.name}, mean of ${m.photos.length} photos: ${figures(m.mean)} (lower is better)`,
      'Show Output',
    )
    .then((a) => a && ctx.log.show());
  return result;
}
