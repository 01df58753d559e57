// Palette → "Train a Style…": style image → training photos → preset → name, then training in
// the worker with a progress notification (iteration, losses, ETA) and Cancel (which saves
// a checkpoint). "Resume Training" continues a checkpoint exactly where it stopped.
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { JobRequest, TrainingOverrides, TrainingPresetName, TrainResult } from '../protocol/jobs';
import type { StyleSummary } from '../protocol/styles';
import { isInsideFolder } from '../shared/paths';
import { BACK, showInput, showPathPick, showPick } from './multiStep';
import { IMAGE_EXTENSION_NAMES, IMAGE_FILTERS } from '../protocol/fileTypes';
import { codeOf, messageOf } from '../protocol/errors';
import { newStyleFolder, type CommandContext } from '../services/context';

const TITLE = 'Train a Style';
const PRESET_INFO: Record<TrainingPresetName, { label: string; detail: string }> = {
  quick: {
    label: 'Quick preview',
    detail: 'Lighter network, 128 px crops, 2,000 steps — about 10–30 minutes on a 2-core CPU',
  },
  standard: {
    label: 'Standard',
    detail: 'Full network, 256 px photos, 4,000 steps — several hours on a CPU, minutes on a GPU',
  },
  paper: {
    label: 'Paper',
    detail:
      "The paper's settings: 256 px, batch 4, 2 epochs, weights 7.5/100/200 — meant for a GPU and a large photo set",
  },
};

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function short(n: number): string {
  return n >= 1e4 ? n.toExponential(2) : n.toFixed(1);
}

/** Images in the workspace (capped), for the style image step and the data folder step. */
async function workspaceImages(): Promise<vscode.Uri[]> {
  if (!vscode.workspace.workspaceFolders?.length) return [];
  return vscode.workspace.findFiles(
    `**/*.{${IMAGE_EXTENSION_NAMES.join(',')}}`,
    '**/{node_modules,.git,.vscode-test,dist,out}/**',
    2000,
  );
}

function samplesDir(ctx: CommandContext): string {
  return ctx.extension.asAbsolutePath(path.join('media', 'samples'));
}

interface TrainChoices {
  styleImage: string;
  dataDir: string;
  preset: TrainingPresetName;
  name: string;
}

async function askChoices(ctx: CommandContext, initial: Partial<TrainChoices>): Promise<TrainChoices | undefined> {
  const images = await workspaceImages();
  const choices: Partial<TrainChoices> = { ...initial };
  const total = 4;
  let step = 1;
  while (step <= total) {
    if (step === 1) {
      const r = await showPathPick({
        title: TITLE,
        step,
        totalSteps: total,
        placeholder: 'The style image: a painting or any picture whose look you want',
        browse: {
          label: '$(folder-opened) Choose an image file…',
          dialog: { filters: IMAGE_FILTERS, title: 'Style image', openLabel: 'Use as Style' },
        },
        sample: {
          label: 'Starry Night (sample painting)',
          description: 'Vincent van Gogh, 1889 — public domain',
          path: path.join(samplesDir(ctx), 'starry_night.jpg'),
        },
        found: {
          label: 'Workspace',
          items: images.slice(0, 500).map((u) => ({
            label: path.basename(u.fsPath),
            description: vscode.workspace.asRelativePath(u, true),
            iconPath: u,
            path: u.fsPath,
          })),
        },
      });
      if (r === undefined) return undefined;
      if (r === BACK) {
        step--;
        continue;
      }
      choices.styleImage = r;
      step++;
    } else if (step === 2) {
      const counts = new Map<string, number>();
      for (const u of images) {
        // Count each image for its folder and every ancestor inside the workspace (training is recursive).
        let d = path.dirname(u.fsPath);
        const root = vscode.workspace.getWorkspaceFolder(u)?.uri.fsPath;
        while (root && d.startsWith(root)) {
          counts.set(d, (counts.get(d) ?? 0) + 1);
          if (d === root) break;
          d = path.dirname(d);
        }
      }
      const r = await showPathPick({
        title: TITLE,
        step,
        totalSteps: total,
        placeholder: 'Training photos: a folder of ordinary photographs (more variety = better; searched recursively)',
        browse: {
          label: '$(folder-opened) Choose a folder…',
          dialog: {
            canSelectFiles: false,
            canSelectFolders: true,
            title: 'Folder of training photos',
            openLabel: 'Train on This Folder',
          },
        },
        sample: {
          label: 'Sample photos',
          description: 'a few bundled photographs — enough for a quick preview',
          path: path.join(samplesDir(ctx), 'photos'),
        },
        found: {
          label: 'Workspace folders',
          items: [...counts]
            .sort((a, b) => b[1] - a[1])
            .slice(0, 200)
            .map(([dir, n]) => ({
              label: vscode.workspace.asRelativePath(dir, true) || path.basename(dir),
              description: `${n} image${n === 1 ? '' : 's'}`,
              iconPath: new vscode.ThemeIcon('folder'),
              path: dir,
            })),
        },
      });
      if (r === undefined) return undefined;
      if (r === BACK) {
        step--;
        continue;
      }
      choices.dataDir = r;
      step++;
    } else if (step === 3) {
      type I = vscode.QuickPickItem & { preset: TrainingPresetName };
      const def = ctx.settings().defaultPreset;
      const items: I[] = (['quick', 'standard', 'paper'] as const).map((p) => ({
        label: PRESET_INFO[p].label,
        description: p === def ? 'default' : undefined,
        detail: PRESET_INFO[p].detail,
        preset: p,
      }));
      const r = await showPick({
        title: TITLE,
        step,
        totalSteps: total,
        placeholder: 'How long to train',
        items,
        activeItem: items.find((i) => i.preset === (choices.preset ?? def)),
      });
      if (r === undefined) return undefined;
      if (r === BACK) {
        step--;
        continue;
      }
      choices.preset = r.preset;
      step++;
    } else {
      const taken = new Set(ctx.store.all.map((s) => s.name.toLowerCase()));
      const suggested =
        choices.name ??
        path
          .basename(choices.styleImage!, path.extname(choices.styleImage!))
          .replace(/[_-]+/g, ' ')
          .replace(/\b\w/g, (c) => c.toUpperCase());
      const r = await showInput({
        title: TITLE,
        step,
        totalSteps: total,
        prompt: 'A name for the new style',
        value: suggested,
        validate: (v) =>
          !v.trim()
            ? 'Enter a name.'
            : v.trim().length > 64
              ? 'Use at most 64 characters.'
              : taken.has(v.trim().toLowerCase())
                ? `A style named “${v.trim()}” already exists.`
                : undefined,
      });
      if (r === undefined) return undefined;
      if (r === BACK) {
        step--;
        continue;
      }
      choices.name = r;
      step++;
    }
  }
  return choices as TrainChoices;
}

/** VGG19 weights from the setting or the downloaded copy; otherwise asks to download or choose. */
export async function ensureVggWeights(ctx: CommandContext): Promise<string | undefined> {
  const configured = ctx.settings().vggWeightsPath;
  if (configured) {
    if (fs.existsSync(configured)) return configured;
    const a = await vscode.window.showErrorMessage(
      `The VGG19 weights set in fastStyleTransfer.vggWeightsPath do not exist: ${configured}`,
      'Open Settings',
    );
    if (a) await vscode.commands.executeCommand('workbench.action.openSettings', 'fastStyleTransfer.vggWeightsPath');
    return undefined;
  }
  const downloaded = path.join(ctx.storageDir, 'vgg', 'imagenet-vgg-verydeep-19.mat');
  if (fs.existsSync(downloaded)) return downloaded;
  const choice = await vscode.window.showWarningMessage(
    'Training needs the VGG19 network weights (the loss network of the paper).',
    {
      modal: true,
      detail:
        'Download them once (about 550 MB, checksum-verified) from the MatConvNet model zoo, or choose a file you already have: imagenet-vgg-verydeep-19.mat or a TensorFlow.js VGG19 layers model (model.json).',
    },
    'Download',
    'Choose File…',
  );
  if (choice === 'Download') return vscode.commands.executeCommand<string | undefined>('fastStyleTransfer.downloadVgg');
  if (choice === 'Choose File…') {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      canSelectFiles: true,
      canSelectFolders: true,
      filters: { 'VGG19 weights': ['mat', 'json'] },
      title: 'VGG19 weights (.mat, or a folder/model.json of a tfjs layers model)',
    });
    if (!picked?.length) return undefined;
    const p = picked[0].fsPath.endsWith('model.json') ? path.dirname(picked[0].fsPath) : picked[0].fsPath;
    await vscode.workspace
      .getConfiguration('fastStyleTransfer')
      .update('vggWeightsPath', p, vscode.ConfigurationTarget.Global);
    return p;
  }
  return undefined;
}

export async function downloadVggCommand(ctx: CommandContext): Promise<string | undefined> {
  try {
    const r = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Downloading VGG19 weights', cancellable: true },
      (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        let last = 0;
        return ctx.engine.request(
          { type: 'downloadVgg', cacheDir: path.join(ctx.storageDir, 'vgg') },
          {
            signal: controller.signal,
            onProgress: (p) => {
              if (p.type !== 'download') return;
              const pct = p.total ? (100 * p.bytes) / p.total : 0;
              progress.report({
                message: `${(p.bytes / 1e6).toFixed(0)}${p.total ? ` of ${(p.total / 1e6).toFixed(0)}` : ''} MB`,
                increment: pct - last,
              });
              last = pct;
            },
          },
        );
      },
    );
    ctx.log.info(`VGG19 weights ${r.cached ? 'already present' : 'downloaded'}: ${r.path}`);
    return r.path;
  } catch (e) {
    if (codeOf(e) !== 'cancelled')
      void vscode.window
        .showErrorMessage(`Could not download the VGG19 weights: ${messageOf(e)}`, 'Choose File…')
        .then(async (a) => {
          if (a)
            await vscode.commands.executeCommand('workbench.action.openSettings', 'fastStyleTransfer.vggWeightsPath');
        });
    return undefined;
  }
}

function insideWorkspace(p: string): boolean {
  // Not a prefix test: a workspace at a drive's root ('c:\\') and Windows' case-insensitive names.
  return (vscode.workspace.workspaceFolders ?? []).some((f) => isInsideFolder(p, f.uri.fsPath, path));
}

export async function trainCommand(
  ctx: CommandContext,
  preset?: Partial<TrainChoices> & { overrides?: TrainingOverrides },
): Promise<TrainResult | undefined> {
  if (ctx.training.running) {
    void vscode.window.showWarningMessage(
      `“${ctx.training.current?.name}” is still training; wait for it or cancel it first.`,
    );
    return undefined;
  }
  const complete = preset?.styleImage && preset.dataDir && preset.preset && preset.name;
  const choices = complete ? (preset as TrainChoices) : await askChoices(ctx, preset ?? {});
  if (!choices) return undefined;
  if (!vscode.workspace.isTrusted && (insideWorkspace(choices.styleImage) || insideWorkspace(choices.dataDir))) {
    const go = await vscode.window.showWarningMessage(
      'This workspace is not trusted.',
      {
        modal: true,
        detail: 'Training will read images from it (the files are only decoded as images, never executed). Continue?',
      },
      'Train Anyway',
    );
    if (go !== 'Train Anyway') return undefined;
  }
  const vggPath = await ensureVggWeights(ctx);
  if (!vggPath) return undefined;
  const output = newStyleFolder(ctx, choices.name);
  return runTraining(ctx, choices.name, {
    type: 'train',
    options: {
      styleImage: choices.styleImage,
      dataDir: choices.dataDir,
      output,
      name: choices.name,
      preset: choices.preset,
      vggPath,
      overrides: preset?.overrides,
    },
  });
}

export async function resumeTrainingCommand(
  ctx: CommandContext,
  target?: string | { style?: StyleSummary },
): Promise<TrainResult | undefined> {
  if (ctx.training.running) {
    void vscode.window.showWarningMessage(
      `“${ctx.training.current?.name}” is still training; wait for it or cancel it first.`,
    );
    return undefined;
  }
  await ctx.store.refresh();
  let style = typeof target === 'string' ? ctx.store.find(target) : target?.style;
  if (!style) {
    const resumable = ctx.store.all.filter((s) => s.resumable && !s.error);
    if (!resumable.length) {
      void vscode.window.showInformationMessage(
        'No style can be resumed: only styles trained here (with their optimizer state) can.',
      );
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      resumable.map((s) => ({
        label: s.name,
        description: `${s.iteration.toLocaleString('en-US')} iterations`,
        style: s,
      })),
      { title: 'Resume Training', placeHolder: 'Which style?' },
    );
    style = pick?.style;
  }
  if (!style) return undefined;
  const vggPath = await ensureVggWeights(ctx);
  if (!vggPath) return undefined;
  return runTraining(ctx, style.name, { type: 'resume', options: { checkpoint: style.id, vggPath } });
}

/** Runs a train or resume request with progress, Cancel and the training view's updates. */
export async function runTraining(
  ctx: CommandContext,
  name: string,
  job: Extract<JobRequest, { type: 'train' | 'resume' }>,
): Promise<TrainResult | undefined> {
  const controller = new AbortController();
  const resume = job.type === 'resume';
  const output = resume ? job.options.checkpoint : job.options.output;
  ctx.training.start(name, output, () => controller.abort());
  const status = ctx.status.begin(`Training ${name}`);
  ctx.log.info(`${job.type} “${name}” → ${output} (${resume ? 'saved settings' : `${job.options.preset} preset`})`);
  let result: TrainResult | undefined;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Training “${name}”`, cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => controller.abort());
        let lastPct = 0;
        return ctx.engine.request(job, {
          signal: controller.signal,
          onProgress: (p) => {
            ctx.training.update(p);
            if (p.type === 'phase') progress.report({ message: p.message });
            if (p.type === 'checkpoint') ctx.store.scheduleRefresh();
            if (p.type !== 'train') return;
            const pct = (100 * p.iteration) / p.totalIterations;
            const eta = formatEta(p.etaSeconds);
            progress.report({
              increment: pct - lastPct,
              message: `${p.iteration.toLocaleString('en-US')}/${p.totalIterations.toLocaleString('en-US')} · loss ${short(p.losses.total)}${eta ? ` · ${eta} left` : ''}`,
            });
            lastPct = pct;
            status.update(`Training ${name} ${Math.floor(pct)}%${eta ? ` · ${eta}` : ''}`);
            if (p.iteration % 50 === 0)
              ctx.log.info(
                `${name}: iteration ${p.iteration}/${p.totalIterations}, loss ${p.losses.total.toExponential(3)} (content ${p.losses.content.toExponential(2)}, style ${p.losses.style.toExponential(2)}, tv ${p.losses.tv.toExponential(2)})`,
              );
          },
        });
      },
    );
  } catch (e) {
    if (codeOf(e) === 'cancelled') {
      // Cancelled while loading, before the first step: nothing new was saved.
      ctx.training.finish('cancelled');
      ctx.log.info(
        `training “${name}” cancelled before its first step; ${resume ? 'the checkpoint is unchanged' : 'nothing was saved'}`,
      );
      return undefined;
    }
    ctx.training.finish('failed', messageOf(e));
    ctx.log.error(`training “${name}” failed: ${messageOf(e)}`);
    void vscode.window
      .showErrorMessage(`Training “${name}” failed: ${messageOf(e)}`, 'Show Output')
      .then((a) => a && ctx.log.show());
    return undefined;
  } finally {
    status.end();
    await ctx.store.refresh();
  }
  ctx.training.finish(result.cancelled ? 'cancelled' : 'done');
  ctx.log.info(
    `training “${name}” ${result.cancelled ? 'stopped' : 'finished'} at iteration ${result.iterations}: ${result.checkpoint}`,
  );
  if (result.cancelled) {
    void vscode.window
      .showInformationMessage(
        `Training “${name}” stopped at iteration ${result.iterations.toLocaleString('en-US')}; the checkpoint is saved.`,
        'Resume Training',
      )
      .then(async (a) => {
        if (a) await resumeTrainingCommand(ctx, result!.checkpoint);
      });
  } else {
    void vscode.window
      .showInformationMessage(
        `Style “${name}” is ready (${result.iterations.toLocaleString('en-US')} iterations).`,
        'Stylize Image…',
        'Open Gallery',
      )
      .then(async (a) => {
        if (a === 'Stylize Image…')
          await vscode.commands.executeCommand('fastStyleTransfer.stylizeWithStyle', result!.checkpoint);
        if (a === 'Open Gallery') await ctx.openGallery?.(result!.checkpoint);
      });
  }
  return result;
}
