// Save and Save As for the gallery. Save runs the ordinary 'stylize' job on the real file with
// the chosen options (the engine picks a fresh name, never overwriting); Save As stylizes into
// a private folder and moves the result to the chosen name. Saved files may then be copied
// (their path) and opened from the webview.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_FORMAT, FORMAT_EXTENSION } from '../../protocol/fileTypes';
import type { WebviewToHost } from '../../protocol/gallery';
import type { StylizeOptions } from '../../protocol/jobs';
import { messageOf } from '../../protocol/errors';
import type { CommandContext } from '../../services/context';
import { outputFolderFor } from '../../services/settings';
import { retryWhileBusy } from '../../shared/busyRetry';
import type { GallerySession, UserJobs } from './gallerySession';
import type { ImageRegistry, RegisteredImage } from './imageRegistry';
import type { PathGuard } from './pathGuard';
import { resolveRequest } from './styleBlend';

type SaveRequest = Extract<WebviewToHost, { type: 'save' }>;

export interface SaveDeps {
  readonly ctx: CommandContext;
  readonly images: ImageRegistry;
  readonly guard: PathGuard;
  readonly jobs: UserJobs;
  /** Logs a refused request (bad input from the webview). */
  reject(reason: string): void;
}

/** Renames, or copies and deletes across file systems; replaces `target`. */
async function moveFile(from: string, target: string): Promise<void> {
  try {
    await retryWhileBusy(() => fsp.rename(from, target), process.platform);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    await fsp.copyFile(from, target);
    await fsp.rm(from, { force: true });
  }
}

export class Saver {
  /** The files saved in this session: the webview may name them (Copy Path, Open). */
  private readonly saved = new Set<string>();

  constructor(private readonly deps: SaveDeps) {}

  /** A file written for the webview elsewhere (a stylized clip): it may name it too. */
  produced(file: string): void {
    this.saved.add(file);
  }

  /** `file` if this session saved it, else what the path guard says of it. */
  async checkResult(file: string): Promise<string | Error> {
    return this.saved.has(file) ? file : this.deps.guard.checkFile(file);
  }

  async save(s: GallerySession, m: SaveRequest): Promise<void> {
    const { ctx, images } = this.deps;
    const r = resolveRequest(
      m,
      (t) => images.get(t),
      (id) => ctx.store.find(id),
    );
    if (!('img' in r)) {
      this.deps.reject(`save: ${r.reason}`);
      s.post({ type: 'saveFailed', message: r.message });
      return;
    }
    const { img, style, blend } = r;
    const options: StylizeOptions = {
      strength: m.strength,
      colorMode: m.colorMode,
      format: m.format,
      scale: m.scale,
      runtime: ctx.settings().stylizeRuntime,
      ...blend.options,
    };
    const folder = this.saveFolder(img);
    let target: string | undefined;
    if (!(m.mode === 'save' && folder)) {
      const chosen = await this.askTarget(img, folder, blend.outputName, blend.label, m.format);
      if (!chosen) {
        s.post({ type: 'saveCancelled' });
        return;
      }
      if (chosen.scheme !== 'file') {
        s.post({ type: 'saveFailed', message: "Choose a file on this computer's disk." });
        return;
      }
      target = chosen.fsPath;
    }
    s.post({ type: 'saving', message: `Stylizing ${img.info.name} at full size with ${blend.label}…` });
    let tmpDir: string | undefined;
    try {
      await this.deps.jobs.run(async () => {
        const input = await images.inputFileOf(img);
        let outDir = folder;
        let format = m.format;
        if (target) {
          tmpDir = path.join(ctx.storageDir, 'gallery', `save-${crypto.randomBytes(6).toString('hex')}`);
          await fsp.mkdir(tmpDir, { recursive: true });
          outDir = tmpDir;
          format = EXTENSION_FORMAT[path.extname(target).toLowerCase()] ?? (m.format === 'same' ? 'png' : m.format);
        }
        const result = await ctx.engine.request({
          type: 'stylize',
          inputs: [input],
          style: style.id,
          options: { ...options, format, outDir },
        });
        if (result.failures.length || !result.outputs.length)
          throw new Error(result.failures[0]?.error.message ?? 'nothing was written');
        let output = result.outputs[0].output;
        if (target) {
          // The save dialog asked about replacing an existing file already.
          await moveFile(output, target);
          output = target;
        }
        this.saved.add(output);
        await this.deps.guard.grant(output);
        const uri = vscode.Uri.file(output);
        const displayPath = vscode.workspace.getWorkspaceFolder(uri) ? vscode.workspace.asRelativePath(uri) : output;
        ctx.log.info(
          `gallery: saved ${output} (${blend.label}${blend.options.blendMode === 'norm' ? ', norm parameters mixed' : ''}, strength ${m.strength}, colours ${m.colorMode}, scale ${m.scale})`,
        );
        s.post({ type: 'saved', path: output, displayPath });
      });
    } catch (e) {
      ctx.log.error(`gallery: saving ${img.info.name} with ${blend.label} failed: ${messageOf(e)}`);
      s.post({ type: 'saveFailed', message: messageOf(e) });
    } finally {
      if (tmpDir) await fsp.rm(tmpDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Folder for a Save of `img`: the output folder setting, else beside a workspace file, else the first workspace folder. */
  saveFolder(img: RegisteredImage): string | undefined {
    const setting = (uri?: vscode.Uri) => this.deps.ctx.settings(uri).outputFolder;
    if ('path' in img.source && img.info.origin !== 'sample') {
      const uri = vscode.Uri.file(img.source.path);
      return outputFolderFor(uri, setting(uri)) ?? path.dirname(img.source.path);
    }
    const ws = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
    if (!ws) return undefined;
    return outputFolderFor(ws.uri, setting(ws.uri)) ?? ws.uri.fsPath;
  }

  /** Save As: the save dialog, proposing a name that is still free, as Save would choose it. */
  private askTarget(
    img: RegisteredImage,
    folder: string | undefined,
    outputName: string,
    label: string,
    format: SaveRequest['format'],
  ): Thenable<vscode.Uri | undefined> {
    const ext = format === 'same' ? path.extname(img.info.name) || '.png' : FORMAT_EXTENSION[format];
    const base = path.basename(img.info.name, path.extname(img.info.name));
    const defaultDir = folder ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? this.deps.ctx.storageDir;
    const stem = `${base}.${outputName.replace(/[<>:"/\\|?*\s]+/g, '-')}`;
    let proposal = path.join(defaultDir, `${stem}${ext}`);
    for (let i = 2; i < 1000 && fs.existsSync(proposal); i++) proposal = path.join(defaultDir, `${stem}-${i}${ext}`);
    return vscode.window.showSaveDialog({
      title: `Save ${img.info.name} stylized with ${label}`,
      defaultUri: vscode.Uri.file(proposal),
      filters: { Images: Object.values(FORMAT_EXTENSION).map((e) => e.slice(1)) },
      saveLabel: 'Save',
    });
  }
}
