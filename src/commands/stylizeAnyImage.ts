// Palette → "Stylize with Any Image (slow)": the optimisation method of Gatys et al. — no
// trained style needed; the photo's pixels are optimised against any painting's VGG
// statistics. Minutes per image on a CPU, so sizes are small and there is a Cancel.
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { OptimizeOptions, OptimizeResult } from '../protocol/jobs';
import { IMAGE_EXTENSION_NAMES, IMAGE_FILTERS, isImagePath } from '../protocol/fileTypes';
import { codeOf, messageOf } from '../protocol/errors';
import type { CommandContext } from '../services/context';
import { ensureVggWeights, formatEta } from './train';
import { outputFolderFor } from '../services/settings';

async function pickImage(
  title: string,
  placeholder: string,
  sample?: { label: string; file: string },
): Promise<string | undefined> {
  type I = vscode.QuickPickItem & { file?: string; browse?: boolean };
  const found = vscode.workspace.workspaceFolders?.length
    ? await vscode.workspace.findFiles(
        `**/*.{${IMAGE_EXTENSION_NAMES.join(',')}}`,
        '**/{node_modules,.git,.vscode-test,dist,out}/**',
        500,
      )
    : [];
  const items: I[] = [
    { label: '$(folder-opened) Choose an image file…', browse: true },
    ...(sample && fs.existsSync(sample.file) ? [{ label: sample.label, file: sample.file }] : []),
    ...(found.length ? [{ label: 'Workspace', kind: vscode.QuickPickItemKind.Separator } as I] : []),
    ...found.map((u) => ({
      label: path.basename(u.fsPath),
      description: vscode.workspace.asRelativePath(u, true),
      iconPath: u,
      file: u.fsPath,
    })),
  ];
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: placeholder, matchOnDescription: true });
  if (!pick) return undefined;
  if (!pick.browse) return pick.file;
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: IMAGE_FILTERS, title });
  return picked?.[0]?.fsPath;
}

export async function stylizeAnyImageCommand(
  ctx: CommandContext,
  uri?: vscode.Uri,
  preset?: Partial<OptimizeOptions>,
): Promise<OptimizeResult | undefined> {
  const title = 'Stylize with Any Image (slow)';
  const image =
    preset?.image ??
    (uri instanceof vscode.Uri && isImagePath(uri.fsPath)
      ? uri.fsPath
      : await pickImage(`${title}: the photo`, 'The photo to stylize'));
  if (!image) return undefined;
  const styleImage =
    preset?.styleImage ??
    (await pickImage(`${title}: the style`, 'Any painting or picture whose look to copy', {
      label: 'Starry Night (sample painting)',
      file: ctx.extension.asAbsolutePath(path.join('media', 'samples', 'starry_night.jpg')),
    }));
  if (!styleImage) return undefined;
  let size = preset?.size;
  if (!size) {
    const pick = await vscode.window.showQuickPick(
      [
        { label: '256 px', description: 'a few minutes on a CPU', size: 256 },
        { label: '384 px', description: 'about twice as long', size: 384 },
        { label: '512 px', description: 'about four times as long', size: 512 },
      ],
      {
        title: `${title}: size`,
        placeHolder: 'Longer side of the result (the method optimises every pixel, so it is slow)',
      },
    );
    size = pick?.size;
  }
  if (!size) return undefined;
  const vggPath = preset?.vggPath ?? (await ensureVggWeights(ctx));
  if (!vggPath) return undefined;
  const outDir = outputFolderFor(vscode.Uri.file(image), ctx.settings(vscode.Uri.file(image)).outputFolder);
  const options: OptimizeOptions = {
    steps: 200,
    previewEvery: 0,
    ...preset,
    image,
    styleImage,
    vggPath,
    size,
    ...(outDir ? { outDir } : {}),
  };
  const status = ctx.status.begin(`Optimising ${path.basename(image)}`);
  ctx.log.info(`optimise ${image} with the style of ${styleImage} at ${size} px`);
  let result: OptimizeResult;
  try {
    result = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Stylizing ${path.basename(image)} like ${path.basename(styleImage)}`,
        cancellable: true,
      },
      (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        let last = 0;
        return ctx.engine.request(
          { type: 'optimize', options },
          {
            signal: controller.signal,
            onProgress: (p) => {
              if (p.type === 'phase') progress.report({ message: p.message });
              if (p.type !== 'optimize') return;
              const pct = (100 * p.step) / p.totalSteps;
              const eta = formatEta(p.etaSeconds);
              progress.report({
                increment: pct - last,
                message: `step ${p.step}/${p.totalSteps} · loss ${p.losses.total.toExponential(2)}${eta ? ` · ${eta} left` : ''}`,
              });
              status.update(`Optimising ${Math.floor(pct)}%`);
              last = pct;
            },
          },
        );
      },
    );
  } catch (e) {
    if (codeOf(e) !== 'cancelled')
      void vscode.window
        .showErrorMessage(`Could not stylize ${path.basename(image)}: ${messageOf(e)}`, 'Show Output')
        .then((a) => a && ctx.log.show());
    ctx.log.error(`optimise failed: ${messageOf(e)}`);
    return undefined;
  } finally {
    status.end();
  }
  if (result.cancelled || !result.output) {
    void vscode.window.showInformationMessage('Stylizing cancelled; nothing was written.');
    return result;
  }
  const drop = (1 - result.finalLosses.total / result.initialLosses.total) * 100;
  ctx.log.info(
    `wrote ${result.output} (${result.steps} steps, ${Math.round(result.seconds)} s, loss −${drop.toFixed(1)} %)`,
  );
  await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(result.output), {
    viewColumn: vscode.ViewColumn.Beside,
    preview: false,
  });
  return result;
}
